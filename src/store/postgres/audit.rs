//! Appending to and reading the per-domain audit chains.

use deadpool_postgres::{GenericClient, Transaction};
use jiff::Timestamp;

use super::from_ms;
use crate::domain::audit::{AuditDraft, AuditEvent, GENESIS_HASH};
use crate::domain::{AuthorizationId, Status};
use crate::store::{AuditChain, AuditFilter, StoreResult};

fn hash_from(bytes: Vec<u8>) -> [u8; 32] {
    bytes.try_into().unwrap_or([0xff; 32])
}

fn status_code(s: Option<Status>) -> Option<i64> {
    s.map(|s| i64::from(s.code()))
}

/// Seals `draft` after its domain's current head. The head row is locked until the
/// caller's transaction ends, so appends from every instance take turns per domain.
pub async fn append(tx: &Transaction<'_>, draft: AuditDraft, at: Timestamp) -> StoreResult<()> {
    // Locks the head and reads it, in one round trip. A chain's first append creates
    // its head at "seq 0, genesis" so there is a row to lock; the no-op update of an
    // existing head locks it as `FOR UPDATE` would. Either way the head is moved to
    // this event below, in the same transaction.
    let lock = tx
        .prepare_cached(
            "INSERT INTO audit_heads (domain_id, seq, hash) VALUES ($1, 0, $2) \
             ON CONFLICT (domain_id) DO UPDATE SET seq = audit_heads.seq RETURNING seq, hash",
        )
        .await?;
    let head = tx
        .query_one(&lock, &[&draft.domain_id, &&GENESIS_HASH[..]])
        .await?;
    let seq: i64 = head.try_get(0)?;
    let prev = hash_from(head.try_get(1)?);
    let e = draft.seal(seq + 1, at, prev);
    let d = &e.draft;
    // The event and the head's advance to it, in one statement.
    let insert = tx
        .prepare_cached(
            "WITH event AS (INSERT INTO audit_events (domain_id, seq, at, authorization_id, \
             actor_id, actor_name, kind, from_status, to_status, reason, note, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)) \
             UPDATE audit_heads SET seq = $2, hash = $13 WHERE domain_id = $1",
        )
        .await?;
    tx.execute(
        &insert,
        &[
            &d.domain_id,
            &e.seq,
            &e.at.as_millisecond(),
            &d.authorization_id.map(|a| a.0),
            &d.actor_id,
            &d.actor_name,
            &d.kind,
            &status_code(d.from_status),
            &status_code(d.to_status),
            &d.reason,
            &d.note,
            &&e.prev_hash[..],
            &&e.hash[..],
        ],
    )
    .await?;
    Ok(())
}

const EVENT_COLUMNS: &str = "domain_id, seq, at, authorization_id, actor_id, actor_name, kind, \
    from_status, to_status, reason, note, prev_hash, hash";

fn event_from_row(r: &tokio_postgres::Row) -> Result<AuditEvent, tokio_postgres::Error> {
    let status = |v: Option<i64>| v.and_then(Status::from_code);
    Ok(AuditEvent {
        seq: r.try_get(1)?,
        at: from_ms(r.try_get(2)?),
        draft: AuditDraft {
            domain_id: r.try_get(0)?,
            authorization_id: r.try_get::<_, Option<i64>>(3)?.map(AuthorizationId),
            actor_id: r.try_get(4)?,
            actor_name: r.try_get(5)?,
            kind: r.try_get(6)?,
            from_status: status(r.try_get(7)?),
            to_status: status(r.try_get(8)?),
            reason: r.try_get(9)?,
            note: r.try_get(10)?,
        },
        prev_hash: hash_from(r.try_get(11)?),
        hash: hash_from(r.try_get(12)?),
    })
}

/// The events `filter` selects, newest first, with their total. Run inside one
/// snapshot so the total matches the page.
pub async fn events(
    c: &impl GenericClient,
    filter: &AuditFilter,
) -> StoreResult<(u64, Vec<AuditEvent>)> {
    const WHERE: &str = "WHERE ($1::text IS NULL OR domain_id = $1) \
        AND ($2::bigint IS NULL OR authorization_id = $2) AND ($3::bigint IS NULL OR at >= $3) \
        AND ($4::bigint IS NULL OR at <= $4) AND ($5::text IS NULL OR kind = $5)";
    let since = filter.since.map(jiff::Timestamp::as_millisecond);
    let until = filter.until.map(jiff::Timestamp::as_millisecond);
    let total: i64 = c
        .query_one(
            &format!("SELECT COUNT(*) FROM audit_events {WHERE}"),
            &[
                &filter.chain,
                &filter.authorization_id,
                &since,
                &until,
                &filter.kind,
            ],
        )
        .await?
        .try_get(0)?;
    let limit = filter.limit.map(i64::from);
    let offset = i64::from(filter.offset);
    let rows = c
        .query(
            &format!(
                "SELECT {EVENT_COLUMNS} FROM audit_events {WHERE} \
                 ORDER BY at DESC, domain_id COLLATE \"C\", seq DESC LIMIT $6 OFFSET $7"
            ),
            &[
                &filter.chain,
                &filter.authorization_id,
                &since,
                &until,
                &filter.kind,
                &limit,
                &offset,
            ],
        )
        .await?;
    let events = rows.iter().map(event_from_row).collect::<Result<_, _>>()?;
    Ok((total as u64, events))
}

/// Run inside one snapshot so the heads match the events read.
pub async fn chains(c: &impl GenericClient) -> StoreResult<Vec<AuditChain>> {
    let rows = c
        .query(
            &format!(
                "SELECT {EVENT_COLUMNS} FROM audit_events ORDER BY domain_id COLLATE \"C\", seq"
            ),
            &[],
        )
        .await?;
    let mut chains: Vec<AuditChain> = Vec::new();
    for r in rows {
        let event = event_from_row(&r)?;
        match chains.last_mut() {
            Some(c) if c.domain_id == event.draft.domain_id => c.events.push(event),
            _ => chains.push(AuditChain {
                domain_id: event.draft.domain_id.clone(),
                events: vec![event],
                head: None,
            }),
        }
    }
    for r in c
        .query("SELECT domain_id, seq, hash FROM audit_heads", &[])
        .await?
    {
        let domain_id: String = r.try_get(0)?;
        let head = Some((r.try_get(1)?, hash_from(r.try_get(2)?)));
        match chains.iter_mut().find(|c| c.domain_id == domain_id) {
            Some(c) => c.head = head,
            None => chains.push(AuditChain {
                domain_id,
                events: vec![],
                head,
            }),
        }
    }
    Ok(chains)
}
