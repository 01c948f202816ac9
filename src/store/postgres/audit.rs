//! Appending to and reading the per-domain audit chains.

use std::collections::{BTreeMap, HashMap};

use deadpool_postgres::{GenericClient, Transaction};
use jiff::Timestamp;

use crate::domain::audit::AuditEvent;
use crate::domain::audit::{AuditDraft, GENESIS_HASH};
use crate::domain::{AuthorizationId, Status};
use crate::store::rows::{self, AUDIT_EVENT_COLUMNS, Columns};
use crate::store::{AuditChain, AuditFilter, StoreError, StoreResult};

fn status_code(s: Option<Status>) -> Option<i64> {
    s.map(|s| i64::from(s.code()))
}

/// Seals `draft` after its domain's current head. The head row is locked until the
/// caller's transaction ends, so appends from every instance take turns per domain.
pub async fn append(tx: &Transaction<'_>, draft: AuditDraft, at: Timestamp) -> StoreResult<()> {
    let chain = BTreeMap::from([(draft.domain_id.clone(), vec![(draft, at)])]);
    append_chains(tx, chain).await
}

/// Seals each domain's drafts in order after that domain's current head, in two
/// statements whatever the number of drafts and domains: a batch of transitions, one
/// hot domain's or many domains', appends its events together instead of one locked
/// append after another.
pub async fn append_chains(
    tx: &Transaction<'_>,
    chains: BTreeMap<String, Vec<(AuditDraft, Timestamp)>>,
) -> StoreResult<()> {
    if chains.is_empty() {
        return Ok(());
    }
    let domains: Vec<&str> = chains.keys().map(String::as_str).collect();
    // Locks the heads and reads them, in one round trip, in domain order (bytewise, as
    // every writer does) so that two writers never wait on each other in a cycle. A
    // chain's first append creates its head at "seq 0, genesis" so there is a row to
    // lock; the no-op update of an existing head locks it as `FOR UPDATE` would. Either
    // way each head is moved to its last event below, in the same transaction.
    let lock = tx
        .prepare_cached(
            "INSERT INTO audit_heads (domain_id, seq, hash) \
             SELECT d, 0, $2 FROM UNNEST($1::text[]) AS d ORDER BY d COLLATE \"C\" \
             ON CONFLICT (domain_id) DO UPDATE SET seq = audit_heads.seq \
             RETURNING domain_id, seq, hash",
        )
        .await?;
    let mut heads = HashMap::new();
    for row in tx.query(&lock, &[&domains, &&GENESIS_HASH[..]]).await? {
        heads.insert(row.text(0)?, (row.int(1)?, rows::hash(row.bytes(2)?)));
    }
    let mut events = Vec::new();
    let mut moved = Vec::with_capacity(chains.len());
    for (domain_id, drafts) in chains {
        let (mut seq, mut prev) = heads
            .remove(&domain_id)
            .ok_or_else(|| StoreError::Internal(format!("no audit head for {domain_id}").into()))?;
        for (draft, at) in drafts {
            debug_assert_eq!(draft.domain_id, domain_id);
            seq += 1;
            let e = draft.seal(seq, at, prev);
            prev = e.hash;
            events.push(e);
        }
        moved.push((domain_id, seq, prev));
    }
    let column = |f: fn(&AuditEvent) -> Option<i64>| events.iter().map(f).collect::<Vec<_>>();
    let text = |f: fn(&AuditEvent) -> Option<&str>| events.iter().map(f).collect::<Vec<_>>();
    // The events and the heads' advance to the last of them, in one statement.
    let insert = tx
        .prepare_cached(
            "WITH event AS (INSERT INTO audit_events (domain_id, seq, at, authorization_id, \
             actor_id, actor_name, kind, from_status, to_status, reason, note, prev_hash, hash) \
             SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], \
             $5::text[], $6::text[], $7::text[], $8::bigint[], $9::bigint[], $10::text[], \
             $11::text[], $12::bytea[], $13::bytea[])) \
             UPDATE audit_heads h SET seq = u.seq, hash = u.hash \
             FROM UNNEST($14::text[], $15::bigint[], $16::bytea[]) AS u (domain_id, seq, hash) \
             WHERE h.domain_id = u.domain_id",
        )
        .await?;
    tx.execute(
        &insert,
        &[
            &text(|e| Some(e.draft.domain_id.as_str())),
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
            &moved.iter().map(|m| m.0.as_str()).collect::<Vec<_>>(),
            &moved.iter().map(|m| m.1).collect::<Vec<_>>(),
            &moved.iter().map(|m| &m.2[..]).collect::<Vec<_>>(),
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
