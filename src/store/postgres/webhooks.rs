//! Webhook subscriptions and their deliveries. Several instances share the work:
//! one fans out at a time (an advisory lock), and claims skip rows another instance
//! holds (`FOR UPDATE SKIP LOCKED`), then lease them, so no delivery is attempted by
//! two instances at once.

use deadpool_postgres::{GenericClient, Transaction};
use jiff::Timestamp;

use super::{from_ms, outbox};
use crate::domain::event::{EventPattern, OutboxEvent};
use crate::store::rows::{self, WEBHOOK_COLUMNS as COLUMNS};
use crate::store::{
    DeliveryClaim, DeliveryJob, DeliveryRecord, FailingSince, FinishedDelivery, PROVIDER_OWNER,
    StoreError, StoreResult, WebhookRecord, delivery_state_name,
};

/// Any fixed number: the fan-out's advisory lock.
const DISPATCH_LOCK: i64 = 0x5350_4143_5745_4248;

pub async fn create(c: &impl GenericClient, w: &WebhookRecord) -> StoreResult<()> {
    c.execute(
        &format!(
            "INSERT INTO webhook_subscriptions ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            COLUMNS.replace("w.", "")
        ),
        &[
            &w.id,
            &w.owner,
            &w.url,
            &w.events.join(" "),
            &w.secret_sealed,
            &w.previous_secret_sealed,
            &w.previous_secret_until.map(Timestamp::as_millisecond),
            &w.enabled,
            &w.created_at.as_millisecond(),
        ],
    )
    .await?;
    Ok(())
}

pub async fn list(c: &impl GenericClient, owner: &str) -> StoreResult<Vec<WebhookRecord>> {
    c.query(
        &format!(
            "SELECT {COLUMNS} FROM webhook_subscriptions w WHERE w.owner = $1 \
             ORDER BY w.created_at, w.id"
        ),
        &[&owner],
    )
    .await?
    .iter()
    .map(rows::webhook)
    .collect()
}

fn found(changed: u64) -> StoreResult<()> {
    if changed == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

pub async fn delete(c: &impl GenericClient, owner: &str, id: &str) -> StoreResult<()> {
    found(
        c.execute(
            "DELETE FROM webhook_subscriptions WHERE owner = $1 AND id = $2",
            &[&owner, &id],
        )
        .await?,
    )
}

pub async fn rotate(
    c: &impl GenericClient,
    owner: &str,
    id: &str,
    sealed: &[u8],
    until: Timestamp,
) -> StoreResult<()> {
    found(
        c.execute(
            "UPDATE webhook_subscriptions SET previous_secret_ciphertext = secret_ciphertext, \
             previous_secret_until = $1, secret_ciphertext = $2 WHERE owner = $3 AND id = $4",
            &[&until.as_millisecond(), &sealed, &owner, &id],
        )
        .await?,
    )
}

/// Whether `w` receives `event`: its owner's (or the provider's) and a matching type.
fn receives(w: &WebhookRecord, event: &OutboxEvent) -> bool {
    (w.owner == PROVIDER_OWNER || w.owner == event.draft.customer_id)
        && w.events
            .iter()
            .any(|p| EventPattern::parse(p).is_some_and(|p| p.matches(event.draft.event_type)))
}

/// A leased delivery: its subscription, its event and the attempts made so far.
type Leased = (String, i64, i64);

/// Fans new events out, then leases due retries while there is room; see
/// `Store::claim_deliveries`.
pub async fn claim(
    tx: &Transaction<'_>,
    now: Timestamp,
    lease_until: Timestamp,
    limit: u32,
) -> StoreResult<DeliveryClaim> {
    let (dispatched, mut leased) = dispatch(tx, now, lease_until, limit).await?;
    let room = limit.saturating_sub(leased.len() as u32);
    if room > 0 {
        leased.extend(lease_due(tx, now, lease_until, room).await?);
    }
    Ok(DeliveryClaim {
        dispatched,
        jobs: jobs(tx, &leased).await?,
    })
}

/// Fans up to `limit` new events out, leasing each new delivery that is the oldest
/// undelivered one of its subscription and authorization as it is inserted.
async fn dispatch(
    tx: &Transaction<'_>,
    now: Timestamp,
    lease_until: Timestamp,
    limit: u32,
) -> StoreResult<(u32, Vec<Leased>)> {
    // One fan-out at a time: two taking disjoint events of one authorization could
    // otherwise create its deliveries out of order.
    let locked: bool = tx
        .query_one("SELECT pg_try_advisory_xact_lock($1)", &[&DISPATCH_LOCK])
        .await?
        .try_get(0)?;
    if !locked {
        return Ok((0, Vec::new()));
    }
    let events = outbox::undispatched(tx, limit).await?;
    if events.is_empty() {
        return Ok((0, Vec::new()));
    }
    let subscriptions = tx
        .query(
            &format!("SELECT {COLUMNS} FROM webhook_subscriptions w WHERE w.enabled"),
            &[],
        )
        .await?
        .iter()
        .map(rows::webhook)
        .collect::<StoreResult<Vec<_>>>()?;
    // Leased as inserted ($5: room left) unless an older delivery of the pair is waiting;
    // one round trip, and it says which it was (SQLite, with no round trips to save,
    // probes and inserts in two statements: see there).
    let insert = tx
        .prepare_cached(
            "INSERT INTO webhook_deliveries (subscription_id, event_id, authorization_id, state, \
             attempts, next_attempt_at, updated_at) \
             SELECT $1::text, $2::bigint, $3::bigint, 0, 0, \
               CASE WHEN $5::boolean AND NOT EXISTS ( \
                 SELECT 1 FROM webhook_deliveries WHERE subscription_id = $1 \
                 AND authorization_id = $3 AND state = 0) \
               THEN $6::bigint ELSE $4::bigint END, $4 \
             RETURNING next_attempt_at = $6",
        )
        .await?;
    let ms = now.as_millisecond();
    let lease_ms = lease_until.as_millisecond();
    let mut ids = Vec::with_capacity(events.len());
    let mut leased = Vec::new();
    for event in &events {
        let authorization = event.draft.authorization_id.map(|a| a.0);
        for w in subscriptions.iter().filter(|w| receives(w, event)) {
            let room = (leased.len() as u32) < limit;
            let is_leased: bool = tx
                .query_one(
                    &insert,
                    &[&w.id, &event.seq, &authorization, &ms, &room, &lease_ms],
                )
                .await?
                .try_get(0)?;
            if is_leased {
                leased.push((w.id.clone(), event.seq, 0));
            }
        }
        ids.push(event.seq);
    }
    tx.execute(
        "UPDATE outbox_events SET dispatched_at = $1 WHERE id = ANY($2)",
        &[&ms, &ids],
    )
    .await?;
    Ok((events.len() as u32, leased))
}

/// Leases up to `limit` due deliveries no other instance holds, at most the oldest
/// undelivered one per subscription and authorization.
async fn lease_due(
    tx: &Transaction<'_>,
    now: Timestamp,
    lease_until: Timestamp,
    limit: u32,
) -> StoreResult<Vec<Leased>> {
    let due = tx
        .query(
            "SELECT d.subscription_id, d.event_id, d.attempts FROM webhook_deliveries d \
             WHERE d.state = 0 AND d.next_attempt_at <= $1 AND NOT EXISTS ( \
               SELECT 1 FROM webhook_deliveries e WHERE e.subscription_id = d.subscription_id \
               AND e.authorization_id = d.authorization_id AND e.state = 0 \
               AND e.event_id < d.event_id) \
             ORDER BY d.next_attempt_at, d.event_id LIMIT $2 FOR UPDATE OF d SKIP LOCKED",
            &[&now.as_millisecond(), &i64::from(limit)],
        )
        .await?;
    let mut leased = Vec::with_capacity(due.len());
    for row in due {
        let (subscription_id, event_id): (String, i64) = (row.try_get(0)?, row.try_get(1)?);
        tx.execute(
            "UPDATE webhook_deliveries SET next_attempt_at = $1 \
             WHERE subscription_id = $2 AND event_id = $3",
            &[&lease_until.as_millisecond(), &subscription_id, &event_id],
        )
        .await?;
        leased.push((subscription_id, event_id, row.try_get(2)?));
    }
    Ok(leased)
}

/// The jobs of `leased` deliveries, with what their payloads need.
async fn jobs(tx: &Transaction<'_>, leased: &[Leased]) -> StoreResult<Vec<DeliveryJob>> {
    let mut jobs = Vec::with_capacity(leased.len());
    for (subscription_id, event_id, attempts) in leased {
        let subscription = rows::webhook(
            &tx.query_one(
                &format!("SELECT {COLUMNS} FROM webhook_subscriptions w WHERE w.id = $1"),
                &[subscription_id],
            )
            .await?,
        )?;
        let event = outbox::by_id(tx, *event_id).await?;
        let facts = match event.draft.authorization_id {
            Some(a) => tx
                .query_opt(
                    "SELECT a.incident_id, ARRAY(SELECT d.id FROM authorization_details d \
                     WHERE d.authorization_id = a.id ORDER BY d.position) \
                     FROM authorizations a WHERE a.id = $1",
                    &[&a.0],
                )
                .await?
                .map(|r| Ok::<_, StoreError>((r.try_get(0)?, r.try_get(1)?)))
                .transpose()?,
            None => None,
        };
        jobs.push(DeliveryJob::new(subscription, event, *attempts, facts));
    }
    Ok(jobs)
}

/// Records a round's attempts and, once per subscription, its failing streak.
pub async fn finish(
    c: &impl GenericClient,
    attempts: &[FinishedDelivery],
) -> StoreResult<Vec<FailingSince>> {
    let record = c.prepare_cached(FinishedDelivery::SQL).await?;
    for done in attempts {
        let (state, next) = done.state();
        c.execute(
            &record,
            &[
                &state,
                &next,
                &done.status.map(i64::from),
                &done.error,
                &done.now.as_millisecond(),
                &done.subscription_id,
                &done.event_id,
            ],
        )
        .await?;
    }
    let mut failing = Vec::new();
    for s in FinishedDelivery::streaks(attempts) {
        let since = c
            .query_opt(
                rows::RECORD_FAILING,
                &[&s.failed, &s.at.as_millisecond(), &s.subscription_id],
            )
            .await?;
        failing.push(FailingSince {
            subscription_id: s.subscription_id.to_owned(),
            since: match since {
                Some(r) => r.try_get::<_, Option<i64>>(0)?.map(from_ms),
                None => None,
            },
        });
    }
    Ok(failing)
}

pub async fn deliveries(
    c: &impl GenericClient,
    owner: &str,
    id: &str,
    limit: u32,
) -> StoreResult<Vec<DeliveryRecord>> {
    c.query(
        "SELECT d.subscription_id, d.event_id, o.type, d.state, d.attempts, d.last_status, \
         d.last_error, d.updated_at FROM webhook_deliveries d \
         JOIN webhook_subscriptions w ON w.id = d.subscription_id \
         JOIN outbox_events o ON o.id = d.event_id \
         WHERE w.owner = $1 AND w.id = $2 ORDER BY d.event_id DESC LIMIT $3",
        &[&owner, &id, &i64::from(limit)],
    )
    .await?
    .iter()
    .map(|r| {
        Ok(DeliveryRecord {
            subscription_id: r.try_get(0)?,
            event_id: r.try_get(1)?,
            event_type: r.try_get(2)?,
            state: delivery_state_name(r.try_get(3)?),
            attempts: r.try_get::<_, i64>(4)? as u32,
            last_status: r.try_get::<_, Option<i64>>(5)?.map(|s| s as u16),
            last_error: r.try_get(6)?,
            updated_at: from_ms(r.try_get(7)?),
        })
    })
    .collect()
}

pub async fn redeliver(c: &impl GenericClient, event_id: i64, now: Timestamp) -> StoreResult<u64> {
    let n = c
        .execute(
            "UPDATE webhook_deliveries SET state = 0, next_attempt_at = $1, updated_at = $1 \
             WHERE event_id = $2",
            &[&now.as_millisecond(), &event_id],
        )
        .await?;
    found(n).map(|()| n)
}
