//! Appending to and reading the per-domain audit chains.

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};

use super::all;
use crate::domain::audit::AuditEvent;
use crate::domain::audit::{AuditDraft, GENESIS_HASH};
use crate::domain::{AuthorizationId, Status};
use crate::store::rows::{self, AUDIT_EVENT_COLUMNS, Columns};
use crate::store::{AuditChain, AuditFilter, StoreResult};

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

/// The events `filter` selects, newest first, with their total.
pub fn events(conn: &Connection, filter: &AuditFilter) -> StoreResult<(u64, Vec<AuditEvent>)> {
    const WHERE: &str = "WHERE (?1 IS NULL OR domain_id = ?1) AND (?2 IS NULL OR authorization_id = ?2) \
        AND (?3 IS NULL OR at >= ?3) AND (?4 IS NULL OR at <= ?4) AND (?5 IS NULL OR kind = ?5)";
    let values = params![
        filter.chain,
        filter.authorization_id,
        filter.since.map(jiff::Timestamp::as_millisecond),
        filter.until.map(jiff::Timestamp::as_millisecond),
        filter.kind,
    ];
    let total: i64 = conn
        .prepare_cached(&format!("SELECT COUNT(*) FROM audit_events {WHERE}"))?
        .query_row(values, |r| r.get(0))?;
    let sql = format!(
        "SELECT {AUDIT_EVENT_COLUMNS} FROM audit_events {WHERE} \
         ORDER BY at DESC, domain_id, seq DESC LIMIT ?6 OFFSET ?7"
    );
    let limit = filter.limit.map_or(-1, i64::from);
    let events = all(
        &mut *conn.prepare_cached(&sql)?,
        params![
            filter.chain,
            filter.authorization_id,
            filter.since.map(jiff::Timestamp::as_millisecond),
            filter.until.map(jiff::Timestamp::as_millisecond),
            filter.kind,
            limit,
            filter.offset,
        ],
        |r| rows::audit_event(r),
    )?;
    Ok((total as u64, events))
}

pub fn authorization_statuses(conn: &Connection) -> StoreResult<Vec<(AuthorizationId, Status)>> {
    let mut scan = conn.prepare(rows::AUTHORIZATION_STATUSES)?;
    all(&mut scan, [], |r| rows::authorization_status(r))
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
