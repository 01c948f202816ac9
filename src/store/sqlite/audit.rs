//! Appending to and reading the per-domain audit chains.

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};

use super::from_ms;
use crate::domain::audit::{AuditDraft, AuditEvent, GENESIS_HASH};
use crate::domain::{AuthorizationId, Status};
use crate::store::{AuditChain, AuditFilter, StoreResult};

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
        "SELECT {EVENT_COLUMNS} FROM audit_events {WHERE} \
         ORDER BY at DESC, domain_id, seq DESC LIMIT ?6 OFFSET ?7"
    );
    let limit = filter.limit.map_or(-1, i64::from);
    let events = conn
        .prepare_cached(&sql)?
        .query_map(
            params![
                filter.chain,
                filter.authorization_id,
                filter.since.map(jiff::Timestamp::as_millisecond),
                filter.until.map(jiff::Timestamp::as_millisecond),
                filter.kind,
                limit,
                filter.offset,
            ],
            event_from_row,
        )?
        .collect::<rusqlite::Result<_>>()?;
    Ok((total as u64, events))
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
