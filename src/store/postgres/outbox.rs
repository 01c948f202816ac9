//! The notification outbox: appended inside each change's transaction, read in order.

use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::Row;

use super::from_ms;
use crate::domain::event::{EventType, OutboxDraft, OutboxEvent};
use crate::domain::{AuthorizationId, Status};
use crate::store::{StoreError, StoreResult};

/// Appends `draft`; runs inside the caller's transaction.
pub async fn append(tx: &Transaction<'_>, draft: &OutboxDraft) -> StoreResult<()> {
    append_all(tx, [draft]).await
}

/// Appends `drafts` in order, in one statement; runs inside the caller's transaction.
pub async fn append_all<'d>(
    tx: &Transaction<'_>,
    drafts: impl IntoIterator<Item = &'d OutboxDraft>,
) -> StoreResult<()> {
    let drafts: Vec<&OutboxDraft> = drafts.into_iter().collect();
    if drafts.is_empty() {
        return Ok(());
    }
    let column =
        |f: fn(&OutboxDraft) -> Option<i64>| drafts.iter().map(|d| f(d)).collect::<Vec<_>>();
    let text =
        |f: fn(&OutboxDraft) -> Option<&str>| drafts.iter().map(|d| f(d)).collect::<Vec<_>>();
    // UNNEST yields the rows in array order, so the ids follow the drafts' order.
    let insert = tx
        .prepare_cached(
            "INSERT INTO outbox_events (type, customer_id, authorization_id, status, actor_id, \
             session_id, created_at, close_reason, sha256, webhook_id) \
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::text[], \
             $6::bigint[], $7::bigint[], $8::text[], $9::text[], $10::text[])",
        )
        .await?;
    tx.execute(
        &insert,
        &[
            &text(|d| Some(d.event_type.name())),
            &text(|d| Some(d.customer_id.as_str())),
            &column(|d| d.authorization_id.map(|a| a.0)),
            &column(|d| d.status.map(|s| i64::from(s.code()))),
            &text(|d| Some(d.actor_id.as_str())),
            &column(|d| d.session_id),
            &column(|d| Some(d.at.as_millisecond())),
            &text(|d| d.close_reason.as_deref()),
            &text(|d| d.sha256.as_deref()),
            &text(|d| d.webhook_id.as_deref()),
        ],
    )
    .await?;
    Ok(())
}

fn event_from_row(r: &Row) -> StoreResult<OutboxEvent> {
    let type_name: String = r.try_get(1)?;
    let event_type = EventType::from_name(&type_name)
        .ok_or_else(|| StoreError::Internal(format!("stored event type {type_name}").into()))?;
    Ok(OutboxEvent {
        seq: r.try_get(0)?,
        draft: OutboxDraft {
            event_type,
            customer_id: r.try_get(2)?,
            authorization_id: r.try_get::<_, Option<i64>>(3)?.map(AuthorizationId),
            status: r.try_get::<_, Option<i64>>(4)?.and_then(Status::from_code),
            actor_id: r.try_get(5)?,
            session_id: r.try_get(6)?,
            at: from_ms(r.try_get(7)?),
            close_reason: r.try_get(8)?,
            sha256: r.try_get(9)?,
            webhook_id: r.try_get(10)?,
        },
    })
}

/// Up to `limit` events after `after_seq`, in order.
pub async fn after(
    c: &impl GenericClient,
    after_seq: i64,
    limit: u32,
) -> StoreResult<Vec<OutboxEvent>> {
    let stmt = c
        .prepare_cached(
            "SELECT id, type, customer_id, authorization_id, status, actor_id, session_id, \
             created_at, close_reason, sha256, webhook_id FROM outbox_events WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .await?;
    c.query(&stmt, &[&after_seq, &i64::from(limit)])
        .await?
        .iter()
        .map(event_from_row)
        .collect()
}

const SELECT: &str = "SELECT id, type, customer_id, authorization_id, status, actor_id, \
    session_id, created_at, close_reason, sha256, webhook_id FROM outbox_events";

/// Up to `limit` events not yet fanned out to subscriptions, in order.
pub async fn undispatched(c: &impl GenericClient, limit: u32) -> StoreResult<Vec<OutboxEvent>> {
    let stmt = c
        .prepare_cached(&format!(
            "{SELECT} WHERE dispatched_at IS NULL ORDER BY id LIMIT $1"
        ))
        .await?;
    c.query(&stmt, &[&i64::from(limit)])
        .await?
        .iter()
        .map(event_from_row)
        .collect()
}

pub async fn by_id(c: &impl GenericClient, id: i64) -> StoreResult<OutboxEvent> {
    let stmt = c.prepare_cached(&format!("{SELECT} WHERE id = $1")).await?;
    event_from_row(&c.query_one(&stmt, &[&id]).await?)
}
