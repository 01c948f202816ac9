//! Engineer sessions and their append-only records.

use deadpool_postgres::{GenericClient, Transaction};
use jiff::Timestamp;

use super::authorizations::status_from;
use super::query::Query;
use super::{PgResult, audit, from_ms, opt_from_ms};
use crate::domain::audit::AuditDraft;
use crate::domain::session::{self, Access, FileTransfer, Operation, Session, flagged_count};
use crate::domain::{AuthorizationId, DetailId, Scope, SessionId};
use crate::store::{Order, Page, SessionRef, StoreError, StoreResult};

/// A visible authorization's facts that session rules need.
struct AuthFacts {
    domain_id: String,
    access: Access,
}

/// Whether reading the authorization also holds it still until the transaction ends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Hold {
    /// Writers: a transition of the authorization waits for this transaction, so no
    /// session is opened or written after access ended.
    Share,
    None,
}

/// The authorization, if visible in `scope` and owning `detail`.
async fn auth_with_detail(
    c: &impl GenericClient,
    scope: &Scope,
    id: AuthorizationId,
    detail: DetailId,
    hold: Hold,
) -> StoreResult<AuthFacts> {
    let mut q = Query::default();
    let sql = format!(
        "SELECT a.customer_id, a.status, a.effective_at, a.expire_at FROM authorizations a \
         JOIN authorization_details d ON d.authorization_id = a.id AND d.id = {} \
         WHERE a.id = {} AND {}{}",
        q.bind(detail.0),
        q.bind(id.0),
        q.scope(scope),
        if hold == Hold::Share {
            " FOR SHARE OF a"
        } else {
            ""
        }
    );
    let stmt = c.prepare_cached(&sql).await?;
    let r = c
        .query_opt(&stmt, &q.params())
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok(AuthFacts {
        domain_id: r.try_get(0)?,
        access: Access {
            status: status_from(r.try_get(1)?)?,
            effective_at: opt_from_ms(r.try_get(2)?),
            expire_at: opt_from_ms(r.try_get(3)?),
        },
    })
}

/// The session's end time (`None` while open), if it belongs to the addressed detail.
async fn session_state(
    c: &impl GenericClient,
    target: &SessionRef,
    hold: Hold,
) -> StoreResult<(AuthFacts, Option<i64>)> {
    let facts = auth_with_detail(
        c,
        &target.scope,
        target.authorization_id,
        target.detail_id,
        hold,
    )
    .await?;
    let stmt = c
        .prepare_cached(
            "SELECT ended_at FROM sessions WHERE id = $1 AND detail_id = $2 AND authorization_id = $3",
        )
        .await?;
    let row = c
        .query_opt(
            &stmt,
            &[
                &target.session_id.0,
                &target.detail_id.0,
                &target.authorization_id.0,
            ],
        )
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok((facts, row.try_get(0)?))
}

/// Appends need an open session of an authorization that is still authorized.
async fn require_writable(tx: &Transaction<'_>, target: &SessionRef) -> StoreResult<String> {
    let (facts, ended_at) = session_state(tx, target, Hold::Share).await?;
    facts.access.may_record(ended_at.is_some())?;
    Ok(facts.domain_id)
}

async fn record(
    tx: &Transaction<'_>,
    domain: &str,
    target: &SessionRef,
    actor: &(String, String),
    kind: &str,
    note: String,
    now: Timestamp,
) -> StoreResult<()> {
    let event = AuditDraft::new(
        domain,
        Some(target.authorization_id),
        (&actor.0, &actor.1),
        kind,
    )
    .note(note);
    audit::append(tx, event, now).await
}

pub async fn open(
    tx: &Transaction<'_>,
    scope: &Scope,
    s: &Session,
    actor: &(String, String),
) -> StoreResult<()> {
    let facts = auth_with_detail(tx, scope, s.authorization_id, s.detail_id, Hold::Share).await?;
    let now = s.started_at.as_millisecond();
    facts.access.may_open(s.started_at)?;
    tx.execute(
        "INSERT INTO sessions (id, authorization_id, detail_id, engineer_id, started_at) \
         VALUES ($1, $2, $3, $4, $5)",
        &[
            &s.id.0,
            &s.authorization_id.0,
            &s.detail_id.0,
            &s.engineer_id,
            &now,
        ],
    )
    .await?;
    let target = SessionRef {
        scope: scope.clone(),
        authorization_id: s.authorization_id,
        detail_id: s.detail_id,
        session_id: s.id,
    };
    let note = format!("session={} detail={}", s.id.0, s.detail_id.0);
    record(
        tx,
        &facts.domain_id,
        &target,
        actor,
        "session_opened",
        note,
        s.started_at,
    )
    .await
}

pub async fn append_operations(
    tx: &Transaction<'_>,
    target: &SessionRef,
    ops: &[Operation],
    actor: &(String, String),
    now: Timestamp,
) -> StoreResult<()> {
    let domain = require_writable(tx, target).await?;
    let insert = tx
        .prepare_cached(
            "INSERT INTO session_operations (session_id, oper, operate_time) VALUES ($1, $2, $3)",
        )
        .await?;
    for op in ops {
        tx.execute(
            &insert,
            &[
                &target.session_id.0,
                &op.oper,
                &op.operate_time.as_millisecond(),
            ],
        )
        .await?;
    }
    let flagged = flagged_count(ops.iter().map(|o| o.oper.as_str()));
    let note = format!(
        "session={} operations={} control_characters={flagged}",
        target.session_id.0,
        ops.len()
    );
    record(tx, &domain, target, actor, "operations_recorded", note, now).await
}

pub async fn append_file_transfers(
    tx: &Transaction<'_>,
    target: &SessionRef,
    items: &[FileTransfer],
    actor: &(String, String),
    now: Timestamp,
) -> StoreResult<()> {
    let domain = require_writable(tx, target).await?;
    let insert = tx
        .prepare_cached(
            "INSERT INTO session_file_transfers (session_id, operate_type, file_name, from_path, \
             to_path, file_size_bytes, duration_ms, oper_result, operate_time) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .await?;
    for t in items {
        tx.execute(
            &insert,
            &[
                &target.session_id.0,
                &t.operate_type,
                &t.file_name,
                &t.from_path,
                &t.to_path,
                &t.file_size_bytes,
                &t.duration_ms,
                &t.oper_result,
                &t.operate_time.as_millisecond(),
            ],
        )
        .await?;
    }
    let flagged = flagged_count(items.iter().flat_map(|t| {
        [
            t.file_name.as_str(),
            t.from_path.as_str(),
            t.to_path.as_str(),
        ]
    }));
    let note = format!(
        "session={} file_transfers={} control_characters={flagged}",
        target.session_id.0,
        items.len()
    );
    record(
        tx,
        &domain,
        target,
        actor,
        "file_transfers_recorded",
        note,
        now,
    )
    .await
}

pub async fn close(
    tx: &Transaction<'_>,
    target: &SessionRef,
    now: Timestamp,
    actor: &(String, String),
) -> StoreResult<()> {
    let (facts, _) = session_state(tx, target, Hold::Share).await?;
    // The condition decides between two racing closes.
    let closed = tx
        .execute(
            "UPDATE sessions SET ended_at = $1 WHERE id = $2 AND ended_at IS NULL",
            &[&now.as_millisecond(), &target.session_id.0],
        )
        .await?;
    session::may_close(closed == 0)?;
    let note = format!("session={}", target.session_id.0);
    record(
        tx,
        &facts.domain_id,
        target,
        actor,
        "session_closed",
        note,
        now,
    )
    .await
}

pub async fn list(
    c: &impl GenericClient,
    scope: &Scope,
    id: AuthorizationId,
    detail: DetailId,
    page: Page,
) -> StoreResult<(u64, Vec<Session>)> {
    auth_with_detail(c, scope, id, detail, Hold::None).await?;
    let total: i64 = c
        .query_one(
            "SELECT COUNT(*) FROM sessions WHERE detail_id = $1",
            &[&detail.0],
        )
        .await?
        .try_get(0)?;
    let stmt = c
        .prepare_cached(
            "SELECT id, engineer_id, started_at, ended_at FROM sessions WHERE detail_id = $1 \
             ORDER BY started_at DESC, id DESC LIMIT $2 OFFSET $3",
        )
        .await?;
    let sessions = c
        .query(&stmt, &[&detail.0, &limit(page), &offset(page)])
        .await?
        .iter()
        .map(|r| {
            Ok(Session {
                id: SessionId(r.try_get(0)?),
                authorization_id: id,
                detail_id: detail,
                engineer_id: r.try_get(1)?,
                started_at: from_ms(r.try_get(2)?),
                ended_at: opt_from_ms(r.try_get(3)?),
            })
        })
        .collect::<PgResult<_>>()?;
    Ok((total as u64, sessions))
}

fn limit(page: Page) -> i64 {
    i64::from(page.limit)
}

fn offset(page: Page) -> i64 {
    i64::from(page.offset)
}

fn direction(order: Order) -> &'static str {
    match order {
        Order::NewestFirst => "DESC",
        Order::OldestFirst => "ASC",
    }
}

pub async fn list_operations(
    c: &impl GenericClient,
    target: &SessionRef,
    order: Order,
    page: Page,
) -> StoreResult<(u64, Vec<Operation>)> {
    session_state(c, target, Hold::None).await?;
    let sid = target.session_id.0;
    let total: i64 = c
        .query_one(
            "SELECT COUNT(*) FROM session_operations WHERE session_id = $1",
            &[&sid],
        )
        .await?
        .try_get(0)?;
    let dir = direction(order);
    let stmt = c
        .prepare_cached(&format!(
            "SELECT oper, operate_time FROM session_operations WHERE session_id = $1 \
             ORDER BY operate_time {dir}, id {dir} LIMIT $2 OFFSET $3"
        ))
        .await?;
    let ops = c
        .query(&stmt, &[&sid, &limit(page), &offset(page)])
        .await?
        .iter()
        .map(|r| {
            Ok(Operation {
                oper: r.try_get(0)?,
                operate_time: from_ms(r.try_get(1)?),
            })
        })
        .collect::<PgResult<_>>()?;
    Ok((total as u64, ops))
}

pub async fn list_file_transfers(
    c: &impl GenericClient,
    target: &SessionRef,
    order: Order,
    page: Page,
) -> StoreResult<(u64, Vec<FileTransfer>)> {
    session_state(c, target, Hold::None).await?;
    let sid = target.session_id.0;
    let total: i64 = c
        .query_one(
            "SELECT COUNT(*) FROM session_file_transfers WHERE session_id = $1",
            &[&sid],
        )
        .await?
        .try_get(0)?;
    let dir = direction(order);
    let stmt = c
        .prepare_cached(&format!(
            "SELECT operate_type, file_name, from_path, to_path, file_size_bytes, duration_ms, \
             oper_result, operate_time FROM session_file_transfers WHERE session_id = $1 \
             ORDER BY operate_time {dir}, id {dir} LIMIT $2 OFFSET $3"
        ))
        .await?;
    let items = c
        .query(&stmt, &[&sid, &limit(page), &offset(page)])
        .await?
        .iter()
        .map(|r| {
            Ok(FileTransfer {
                operate_type: r.try_get(0)?,
                file_name: r.try_get(1)?,
                from_path: r.try_get(2)?,
                to_path: r.try_get(3)?,
                file_size_bytes: r.try_get(4)?,
                duration_ms: r.try_get(5)?,
                oper_result: r.try_get(6)?,
                operate_time: from_ms(r.try_get(7)?),
            })
        })
        .collect::<PgResult<_>>()?;
    Ok((total as u64, items))
}
