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
    append_chain(tx, vec![(draft, at)]).await
}

/// Seals `drafts` (all of one domain) in order after the domain's current head, in two
/// statements whatever their number: a batch of rejects in one hot domain appends its
/// events together instead of one locked append after another.
pub async fn append_chain(
    tx: &Transaction<'_>,
    drafts: Vec<(AuditDraft, Timestamp)>,
) -> StoreResult<()> {
    let Some(domain_id) = drafts.first().map(|(d, _)| d.domain_id.clone()) else {
        return Ok(());
    };
    // Locks the head and reads it, in one round trip. A chain's first append creates
    // its head at "seq 0, genesis" so there is a row to lock; the no-op update of an
    // existing head locks it as `FOR UPDATE` would. Either way the head is moved to
    // the last event below, in the same transaction.
    let lock = tx
        .prepare_cached(
            "INSERT INTO audit_heads (domain_id, seq, hash) VALUES ($1, 0, $2) \
             ON CONFLICT (domain_id) DO UPDATE SET seq = audit_heads.seq RETURNING seq, hash",
        )
        .await?;
    let head = tx
        .query_one(&lock, &[&domain_id, &&GENESIS_HASH[..]])
        .await?;
    let mut seq: i64 = head.try_get(0)?;
    let mut prev = rows::hash(head.try_get(1)?);
    let mut events = Vec::with_capacity(drafts.len());
    for (draft, at) in drafts {
        debug_assert_eq!(draft.domain_id, domain_id);
        seq += 1;
        let e = draft.seal(seq, at, prev);
        prev = e.hash;
        events.push(e);
    }
    let column = |f: fn(&AuditEvent) -> Option<i64>| events.iter().map(f).collect::<Vec<_>>();
    let text = |f: fn(&AuditEvent) -> Option<&str>| events.iter().map(f).collect::<Vec<_>>();
    // The events and the head's advance to the last of them, in one statement.
    let insert = tx
        .prepare_cached(
            "WITH event AS (INSERT INTO audit_events (domain_id, seq, at, authorization_id, \
             actor_id, actor_name, kind, from_status, to_status, reason, note, prev_hash, hash) \
             SELECT $1::text, * FROM UNNEST($2::bigint[], $3::bigint[], $4::bigint[], $5::text[], \
             $6::text[], $7::text[], $8::bigint[], $9::bigint[], $10::text[], $11::text[], \
             $12::bytea[], $13::bytea[])) \
             UPDATE audit_heads SET seq = $14, hash = $15 WHERE domain_id = $1",
        )
        .await?;
    tx.execute(
        &insert,
        &[
            &domain_id,
            &column(|e| Some(e.seq)),
            &column(|e| Some(e.at.as_millisecond())),
            &column(|e| e.draft.authorization_id.map(|a| a.0)),
            &text(|e| Some(e.draft.actor_id.as_str())),
            &text(|e| Some(e.draft.actor_name.as_str())),
            &text(|e| Some(e.draft.kind.as_str())),
            &column(|e| status_code(e.draft.from_status)),
            &column(|e| status_code(e.draft.to_status)),
            &text(|e| e.draft.reason.as_deref()),
            &text(|e| Some(e.draft.note.as_str())),
            &events.iter().map(|e| &e.prev_hash[..]).collect::<Vec<_>>(),
            &events.iter().map(|e| &e.hash[..]).collect::<Vec<_>>(),
            &seq,
            &&prev[..],
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
