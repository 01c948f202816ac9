//! Appending to and reading the per-domain audit chains.

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};

use super::all;
use crate::domain::Status;
use crate::domain::audit::{AuditDraft, GENESIS_HASH};
use crate::store::rows::{self, AUDIT_EVENT_COLUMNS, Columns};
use crate::store::{AuditChain, StoreResult};

/// Seals `draft` after its domain's current head. Runs inside the writer's transaction,
/// so the head read and the insert cannot interleave with another append.
pub fn append(conn: &Connection, draft: AuditDraft, at: Timestamp) -> StoreResult<()> {
    let head: Option<(i64, Vec<u8>)> = conn
        .prepare_cached("SELECT seq, hash FROM audit_heads WHERE domain_id = ?")?
        .query_row([&draft.domain_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (seq, prev) = head.map_or((1, GENESIS_HASH), |(seq, hash)| (seq + 1, rows::hash(hash)));
    let e = draft.seal(seq, at, prev);
    let d = &e.draft;
    conn.prepare_cached(
        "INSERT INTO audit_events (domain_id, seq, at, authorization_id, actor_id, actor_name, kind, \
         from_status, to_status, reason, note, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
    )?
    .execute(params![
        d.domain_id,
        e.seq,
        e.at.as_millisecond(),
        d.authorization_id.map(|a| a.0),
        d.actor_id,
        d.actor_name,
        d.kind,
        d.from_status.map(Status::code),
        d.to_status.map(Status::code),
        d.reason,
        d.note,
        &e.prev_hash[..],
        &e.hash[..],
    ])?;
    conn.prepare_cached(
        "INSERT INTO audit_heads (domain_id, seq, hash) VALUES (?1, ?2, ?3) \
         ON CONFLICT (domain_id) DO UPDATE SET seq = ?2, hash = ?3",
    )?
    .execute(params![d.domain_id, e.seq, &e.hash[..]])?;
    Ok(())
}

pub fn chains(conn: &Connection) -> StoreResult<Vec<AuditChain>> {
    let mut events = conn.prepare(&format!(
        "SELECT {AUDIT_EVENT_COLUMNS} FROM audit_events ORDER BY domain_id, seq"
    ))?;
    let events = all(&mut events, [], |r| rows::audit_event(r))?;
    let mut heads = conn.prepare("SELECT domain_id, seq, hash FROM audit_heads")?;
    let heads = all(&mut heads, [], |r| {
        Ok((r.text(0)?, r.int(1)?, rows::hash(r.bytes(2)?)))
    })?;
    Ok(rows::chains(events, heads))
}
