//! Appending to and reading the per-domain audit chains.

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};

use super::from_ms;
use crate::domain::audit::{AuditDraft, AuditEvent, GENESIS_HASH};
use crate::domain::{AuthorizationId, Status};
use crate::store::{AuditChain, StoreResult};

fn hash_from(bytes: Vec<u8>) -> [u8; 32] {
    bytes.try_into().unwrap_or([0xff; 32])
}

/// Seals `draft` after its domain's current head. Runs inside the writer's transaction,
/// so the head read and the insert cannot interleave with another append.
pub fn append(conn: &Connection, draft: AuditDraft, at: Timestamp) -> StoreResult<()> {
    let head: Option<(i64, Vec<u8>)> = conn
        .prepare_cached("SELECT seq, hash FROM audit_heads WHERE domain_id = ?")?
        .query_row([&draft.domain_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (seq, prev) = head.map_or((1, GENESIS_HASH), |(seq, hash)| (seq + 1, hash_from(hash)));
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

/// The columns `event_from_row` reads, in its order.
const EVENT_COLUMNS: &str = "domain_id, seq, at, authorization_id, actor_id, actor_name, kind, \
    from_status, to_status, reason, note, prev_hash, hash";

fn event_from_row(r: &rusqlite::Row) -> rusqlite::Result<AuditEvent> {
    let status = |v: Option<i64>| v.and_then(Status::from_code);
    Ok(AuditEvent {
        seq: r.get(1)?,
        at: from_ms(r.get(2)?),
        draft: AuditDraft {
            domain_id: r.get(0)?,
            authorization_id: r.get::<_, Option<i64>>(3)?.map(AuthorizationId),
            actor_id: r.get(4)?,
            actor_name: r.get(5)?,
            kind: r.get(6)?,
            from_status: status(r.get(7)?),
            to_status: status(r.get(8)?),
            reason: r.get(9)?,
            note: r.get(10)?,
        },
        prev_hash: hash_from(r.get(11)?),
        hash: hash_from(r.get(12)?),
    })
}

/// One authorization's events, oldest first.
pub fn of_authorization(
    conn: &Connection,
    domain_id: &str,
    id: AuthorizationId,
) -> StoreResult<Vec<AuditEvent>> {
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM audit_events WHERE authorization_id = ? AND domain_id = ? ORDER BY seq"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let events = stmt.query_map(params![id.0, domain_id], event_from_row)?;
    Ok(events.collect::<Result<_, _>>()?)
}

pub fn chains(conn: &Connection) -> StoreResult<Vec<AuditChain>> {
    let mut chains: Vec<AuditChain> = Vec::new();
    let mut stmt = conn.prepare(&format!(
        "SELECT {EVENT_COLUMNS} FROM audit_events ORDER BY domain_id, seq"
    ))?;
    let events = stmt.query_map([], event_from_row)?;
    for event in events {
        let event = event?;
        match chains.last_mut() {
            Some(c) if c.domain_id == event.draft.domain_id => c.events.push(event),
            _ => chains.push(AuditChain {
                domain_id: event.draft.domain_id.clone(),
                events: vec![event],
                head: None,
            }),
        }
    }
    let mut heads = conn.prepare("SELECT domain_id, seq, hash FROM audit_heads")?;
    let heads = heads.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, Vec<u8>>(2)?,
        ))
    })?;
    for head in heads {
        let (domain_id, seq, hash) = head?;
        match chains.iter_mut().find(|c| c.domain_id == domain_id) {
            Some(c) => c.head = Some((seq, hash_from(hash))),
            None => chains.push(AuditChain {
                domain_id,
                events: vec![],
                head: Some((seq, hash_from(hash))),
            }),
        }
    }
    Ok(chains)
}
