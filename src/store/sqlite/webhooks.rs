//! Webhook subscriptions and their deliveries.

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};

use super::{all, first, from_ms, outbox};
use crate::domain::event::{EventPattern, OutboxEvent};
use crate::store::{
    DeliveryJob, DeliveryRecord, FailingSince, FinishedDelivery, PROVIDER_OWNER, StoreError,
    StoreResult, WebhookRecord, delivery_state_name,
};

use crate::store::rows::{self, WEBHOOK_COLUMNS as COLUMNS};

pub fn create(conn: &Connection, w: &WebhookRecord) -> StoreResult<()> {
    conn.prepare_cached(&format!(
        "INSERT INTO webhook_subscriptions ({}) VALUES (?,?,?,?,?,?,?,?,?)",
        COLUMNS.replace("w.", "")
    ))?
    .execute(params![
        w.id,
        w.owner,
        w.url,
        w.events.join(" "),
        w.secret_sealed,
        w.previous_secret_sealed,
        w.previous_secret_until.map(Timestamp::as_millisecond),
        w.enabled,
        w.created_at.as_millisecond(),
    ])?;
    Ok(())
}

pub fn list(conn: &Connection, owner: &str) -> StoreResult<Vec<WebhookRecord>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM webhook_subscriptions w WHERE w.owner = ? ORDER BY w.created_at, w.id"
    ))?;
    all(&mut stmt, [owner], |r| rows::webhook(r))
}

fn found(changed: usize) -> StoreResult<()> {
    if changed == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

pub fn delete(conn: &Connection, owner: &str, id: &str) -> StoreResult<()> {
    found(
        conn.prepare_cached("DELETE FROM webhook_subscriptions WHERE owner = ? AND id = ?")?
            .execute([owner, id])?,
    )
}

/// The arguments in the order the statement binds them.
pub fn rotate(
    conn: &Connection,
    until: Timestamp,
    sealed: &[u8],
    owner: &str,
    id: &str,
) -> StoreResult<()> {
    found(
        conn.prepare_cached(
            "UPDATE webhook_subscriptions SET previous_secret_ciphertext = secret_ciphertext, \
             previous_secret_until = ?, secret_ciphertext = ? WHERE owner = ? AND id = ?",
        )?
        .execute(params![until.as_millisecond(), sealed, owner, id])?,
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
pub type Leased = (String, i64, i64);

/// The writer's part of a claim: fans up to `limit` new events out (leasing each new
/// delivery that is the oldest undelivered one of its subscription and authorization
/// as it is inserted), then leases due retries while there is room. Returns how many
/// events it fanned out and what it leased.
pub fn claim(
    conn: &Connection,
    now: Timestamp,
    lease_until: Timestamp,
    limit: u32,
) -> StoreResult<(u32, Vec<Leased>)> {
    let (dispatched, mut leased) = dispatch(conn, now, lease_until, limit)?;
    let room = limit.saturating_sub(leased.len() as u32);
    if room > 0 {
        leased.extend(lease_due(conn, now, lease_until, room)?);
    }
    Ok((dispatched, leased))
}

fn dispatch(
    conn: &Connection,
    now: Timestamp,
    lease_until: Timestamp,
    limit: u32,
) -> StoreResult<(u32, Vec<Leased>)> {
    let events = outbox::undispatched(conn, limit)?;
    if events.is_empty() {
        return Ok((0, Vec::new()));
    }
    let mut enabled = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM webhook_subscriptions w WHERE w.enabled"
    ))?;
    let subscriptions = all(&mut enabled, [], |r| rows::webhook(r))?;
    // A probe and a plain insert, not PostgreSQL's one `INSERT … SELECT … RETURNING`
    // (which saves it a round trip): SQLite runs an insert whose SELECT reads the same
    // table through a temporary table, and its RETURNING through another, and that
    // made a round's fan-out of 128 about three times as slow in the one writer.
    let mut waiting = conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM webhook_deliveries WHERE subscription_id = ? \
         AND authorization_id = ? AND state = 0)",
    )?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO webhook_deliveries (subscription_id, event_id, authorization_id, state, \
         attempts, next_attempt_at, updated_at) VALUES (?, ?, ?, 0, 0, ?, ?)",
    )?;
    let mut mark =
        conn.prepare_cached("UPDATE outbox_events SET dispatched_at = ? WHERE id = ?")?;
    let ms = now.as_millisecond();
    let mut leased = Vec::new();
    for event in &events {
        let authorization = event.draft.authorization_id.map(|a| a.0);
        for w in subscriptions.iter().filter(|w| receives(w, event)) {
            let lease = (leased.len() as u32) < limit
                && !waiting.query_row(params![w.id, authorization], |r| r.get::<_, bool>(0))?;
            let due = if lease { lease_until } else { now };
            insert.execute(params![
                w.id,
                event.seq,
                authorization,
                due.as_millisecond(),
                ms
            ])?;
            if lease {
                leased.push((w.id.clone(), event.seq, 0));
            }
        }
        mark.execute(params![ms, event.seq])?;
    }
    Ok((events.len() as u32, leased))
}

/// Leases up to `limit` due deliveries until `lease_until`, at most the oldest
/// undelivered one per subscription and authorization.
fn lease_due(
    conn: &Connection,
    now: Timestamp,
    lease_until: Timestamp,
    limit: u32,
) -> StoreResult<Vec<Leased>> {
    let due: Vec<Leased> = conn
        .prepare_cached(
            "SELECT d.subscription_id, d.event_id, d.attempts FROM webhook_deliveries d \
             WHERE d.state = 0 AND d.next_attempt_at <= ?1 AND NOT EXISTS ( \
               SELECT 1 FROM webhook_deliveries e WHERE e.subscription_id = d.subscription_id \
               AND e.authorization_id = d.authorization_id AND e.state = 0 \
               AND e.event_id < d.event_id) \
             ORDER BY d.next_attempt_at, d.event_id LIMIT ?2",
        )?
        .query_map(params![now.as_millisecond(), limit], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut extend = conn.prepare_cached(
        "UPDATE webhook_deliveries SET next_attempt_at = ? WHERE subscription_id = ? AND event_id = ?",
    )?;
    for (subscription_id, event_id, _) in &due {
        extend.execute(params![
            lease_until.as_millisecond(),
            subscription_id,
            event_id
        ])?;
    }
    Ok(due)
}

/// The jobs of `leased` deliveries, with what their payloads need. A reader's work: the
/// authorizations read here sit anywhere in the file, and the writer has better to do.
/// A subscription deleted since its lease is left out (its deliveries went with it).
pub fn jobs(conn: &Connection, leased: &[Leased]) -> StoreResult<Vec<DeliveryJob>> {
    let mut jobs = Vec::with_capacity(leased.len());
    for (subscription_id, event_id, attempts) in leased {
        let (event_id, attempts) = (*event_id, *attempts);
        let mut by_id = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM webhook_subscriptions w WHERE w.id = ?"
        ))?;
        let Some(subscription) = first(&mut by_id, [subscription_id], |r| rows::webhook(r))? else {
            continue;
        };
        let event = outbox::by_id(conn, event_id)?;
        let facts = match event.draft.authorization_id {
            Some(a) => {
                let incident: Option<String> = conn
                    .prepare_cached("SELECT incident_id FROM authorizations WHERE id = ?")?
                    .query_row([a.0], |r| r.get(0))
                    .optional()?;
                let details = conn
                    .prepare_cached(
                        "SELECT id FROM authorization_details WHERE authorization_id = ? ORDER BY position",
                    )?
                    .query_map([a.0], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                Some((incident, details))
            }
            None => None,
        };
        jobs.push(DeliveryJob::new(subscription, event, attempts, facts));
    }
    Ok(jobs)
}

/// Records a round's attempts and, once per subscription, its failing streak.
pub fn finish(conn: &Connection, attempts: &[FinishedDelivery]) -> StoreResult<Vec<FailingSince>> {
    let mut record = conn.prepare_cached(FinishedDelivery::SQL)?;
    for done in attempts {
        let (state, next) = done.state();
        record.execute(params![
            state,
            next,
            done.status,
            done.error,
            done.now.as_millisecond(),
            done.subscription_id,
            done.event_id
        ])?;
    }
    let mut streak = conn.prepare_cached(rows::RECORD_FAILING)?;
    FinishedDelivery::streaks(attempts)
        .into_iter()
        .map(|s| {
            let since: Option<Option<i64>> = streak
                .query_row(
                    params![s.failed, s.at.as_millisecond(), s.subscription_id],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(FailingSince {
                subscription_id: s.subscription_id.to_owned(),
                since: since.flatten().map(from_ms),
            })
        })
        .collect()
}

pub fn deliveries(
    conn: &Connection,
    owner: &str,
    id: &str,
    limit: u32,
) -> StoreResult<Vec<DeliveryRecord>> {
    Ok(conn
        .prepare_cached(
            "SELECT d.subscription_id, d.event_id, o.type, d.state, d.attempts, d.last_status, \
             d.last_error, d.updated_at FROM webhook_deliveries d \
             JOIN webhook_subscriptions w ON w.id = d.subscription_id \
             JOIN outbox_events o ON o.id = d.event_id \
             WHERE w.owner = ? AND w.id = ? ORDER BY d.event_id DESC LIMIT ?",
        )?
        .query_map(params![owner, id, limit], |r| {
            Ok(DeliveryRecord {
                subscription_id: r.get(0)?,
                event_id: r.get(1)?,
                event_type: r.get(2)?,
                state: delivery_state_name(r.get(3)?),
                attempts: r.get(4)?,
                last_status: r.get(5)?,
                last_error: r.get(6)?,
                updated_at: from_ms(r.get(7)?),
            })
        })?
        .collect::<rusqlite::Result<_>>()?)
}

pub fn redeliver(conn: &Connection, event_id: i64, now: Timestamp) -> StoreResult<u64> {
    let n = conn
        .prepare_cached(
            "UPDATE webhook_deliveries SET state = 0, next_attempt_at = ?, updated_at = ? \
             WHERE event_id = ?",
        )?
        .execute(params![
            now.as_millisecond(),
            now.as_millisecond(),
            event_id
        ])?;
    found(n).map(|()| n as u64)
}
