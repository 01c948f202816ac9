//! Appending to and reading the per-domain audit chains.

use deadpool_postgres::{GenericClient, Transaction};
use jiff::Timestamp;

use crate::domain::audit::AuditEvent;
use crate::domain::audit::{AuditDraft, GENESIS_HASH};
use crate::domain::{AuthorizationId, Status};
use crate::store::rows::{self, AUDIT_EVENT_COLUMNS, Columns};
use crate::store::{AuditChain, AuditFilter, StoreResult};

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
    let prev = rows::hash(head.try_get(1)?);
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
                "SELECT {AUDIT_EVENT_COLUMNS} FROM audit_events {WHERE} \
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
    let events = rows
        .iter()
        .map(rows::audit_event)
        .collect::<StoreResult<_>>()?;
    Ok((total as u64, events))
}

/// Run inside one snapshot so the heads match the events read.
pub async fn authorization_statuses(
    c: &impl GenericClient,
) -> StoreResult<Vec<(AuthorizationId, Status)>> {
    c.query(rows::AUTHORIZATION_STATUSES, &[])
        .await?
        .iter()
        .map(rows::authorization_status)
        .collect()
}

pub async fn chains(c: &impl GenericClient) -> StoreResult<Vec<AuditChain>> {
    let sql = format!(
        "SELECT {AUDIT_EVENT_COLUMNS} FROM audit_events ORDER BY domain_id COLLATE \"C\", seq"
    );
    let events = c
        .query(&sql, &[])
        .await?
        .iter()
        .map(rows::audit_event)
        .collect::<StoreResult<Vec<_>>>()?;
    let heads = c
        .query("SELECT domain_id, seq, hash FROM audit_heads", &[])
        .await?
        .iter()
        .map(|r| Ok((r.text(0)?, r.int(1)?, rows::hash(r.bytes(2)?))))
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(rows::chains(events, heads))
}
