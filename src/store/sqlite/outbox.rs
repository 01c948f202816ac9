//! The notification outbox: appended inside each change's transaction, read in order.

use rusqlite::{Connection, Row, params};

use super::from_ms;
use crate::domain::event::{EventType, OutboxDraft, OutboxEvent};
use crate::domain::{AuthorizationId, Status};
use crate::store::{StoreError, StoreResult};

/// Appends `draft`; runs inside the caller's transaction.
pub fn append(conn: &Connection, draft: &OutboxDraft) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO outbox_events (type, customer_id, authorization_id, status, actor_id, \
         session_id, created_at) VALUES (?,?,?,?,?,?,?)",
    )?
    .execute(params![
        draft.event_type.name(),
        draft.customer_id,
        draft.authorization_id.map(|a| a.0),
        draft.status.map(Status::code),
        draft.actor_id,
        draft.session_id,
        draft.at.as_millisecond(),
    ])?;
    Ok(())
}

fn event_from_row(r: &Row) -> rusqlite::Result<Result<OutboxEvent, String>> {
    let type_name: String = r.get(1)?;
    let status: Option<i64> = r.get(4)?;
    let Some(event_type) = EventType::from_name(&type_name) else {
        return Ok(Err(format!("stored event type {type_name}")));
    };
    Ok(Ok(OutboxEvent {
        seq: r.get(0)?,
        draft: OutboxDraft {
            event_type,
            customer_id: r.get(2)?,
            authorization_id: r.get::<_, Option<i64>>(3)?.map(AuthorizationId),
            status: status.and_then(Status::from_code),
            actor_id: r.get(5)?,
            session_id: r.get(6)?,
            at: from_ms(r.get(7)?),
        },
    }))
}

/// Up to `limit` events after `after_seq`, in order.
pub fn after(conn: &Connection, after_seq: i64, limit: u32) -> StoreResult<Vec<OutboxEvent>> {
    conn.prepare_cached(
        "SELECT id, type, customer_id, authorization_id, status, actor_id, session_id, created_at \
         FROM outbox_events WHERE id > ? ORDER BY id LIMIT ?",
    )?
    .query_map(params![after_seq, limit], event_from_row)?
    .map(|r| r?.map_err(|e| StoreError::Internal(e.into())))
    .collect()
}

const SELECT: &str = "SELECT id, type, customer_id, authorization_id, status, actor_id, \
    session_id, created_at FROM outbox_events";

/// Up to `limit` events not yet fanned out to subscriptions, in order.
pub fn undispatched(conn: &Connection, limit: u32) -> StoreResult<Vec<OutboxEvent>> {
    conn.prepare_cached(&format!(
        "{SELECT} WHERE dispatched_at IS NULL ORDER BY id LIMIT ?"
    ))?
    .query_map([limit], event_from_row)?
    .map(|r| r?.map_err(|e| StoreError::Internal(e.into())))
    .collect()
}

pub fn by_id(conn: &Connection, id: i64) -> StoreResult<OutboxEvent> {
    conn.prepare_cached(&format!("{SELECT} WHERE id = ?"))?
        .query_row([id], event_from_row)?
        .map_err(|e| StoreError::Internal(e.into()))
}
