//! Engineer sessions and their append-only records.

use deadpool_postgres::{GenericClient, Transaction};
use jiff::Timestamp;

use super::audit;
use super::query::Query;
use crate::domain::audit::Actor;
use crate::domain::session::{self, Access, FileTransfer, Operation, Session};
use crate::domain::{AuthorizationId, DetailId, Scope};
use crate::store::rows::{self, Columns, SessionEvent};
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
            status: r.status(1)?,
            effective_at: r.opt_time(2)?,
            expire_at: r.opt_time(3)?,
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

/// When the session started, if it is visible in its scope.
pub async fn started_at(c: &impl GenericClient, target: &SessionRef) -> StoreResult<Timestamp> {
    auth_with_detail(
        c,
        &target.scope,
        target.authorization_id,
        target.detail_id,
        Hold::None,
    )
    .await?;
    let row = c
        .query_opt(
            rows::SESSION_STARTED,
            &[
                &target.session_id.0,
                &target.detail_id.0,
                &target.authorization_id.0,
            ],
        )
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok(rows::from_ms(row.try_get(0)?))
}

/// Appends need an open session of an authorization that is still authorized.
async fn require_writable(tx: &Transaction<'_>, target: &SessionRef) -> StoreResult<String> {
    let (facts, ended_at) = session_state(tx, target, Hold::Share).await?;
    facts.access.may_record(ended_at.is_some())?;
    Ok(facts.domain_id)
}

pub async fn open(
    tx: &Transaction<'_>,
    scope: &Scope,
    s: &Session,
    actor: &Actor,
) -> StoreResult<()> {
    let facts = auth_with_detail(tx, scope, s.authorization_id, s.detail_id, Hold::Share).await?;
    let now = s.started_at.as_millisecond();
    facts.access.may_open(s.started_at)?;
    tx.execute(
        "INSERT INTO sessions (id, authorization_id, detail_id, engineer_id, started_at, source) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &s.id.0,
            &s.authorization_id.0,
            &s.detail_id.0,
            &s.engineer_id,
            &now,
            &s.source.as_str(),
        ],
    )
    .await?;
    let target = SessionRef::of(scope, s);
    let event = rows::session_event(&facts.domain_id, &target, actor, SessionEvent::Opened);
    audit::append(tx, event, s.started_at).await
}

pub async fn append_operations(
    tx: &Transaction<'_>,
    target: &SessionRef,
    ops: &[Operation],
    actor: &Actor,
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
    let event = rows::session_event(&domain, target, actor, SessionEvent::Operations(ops));
    audit::append(tx, event, now).await
}

pub async fn append_file_transfers(
    tx: &Transaction<'_>,
    target: &SessionRef,
    items: &[FileTransfer],
    actor: &Actor,
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
    let event = rows::session_event(&domain, target, actor, SessionEvent::FileTransfers(items));
    audit::append(tx, event, now).await
}

pub async fn close(
    tx: &Transaction<'_>,
    target: &SessionRef,
    now: Timestamp,
    actor: &Actor,
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
    let event = rows::session_event(&facts.domain_id, target, actor, SessionEvent::Closed);
    audit::append(tx, event, now).await
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
    let stmt = c.prepare_cached(rows::SESSION_PAGE).await?;
    let sessions = c
        .query(&stmt, &[&detail.0, &limit(page), &offset(page)])
        .await?
        .iter()
        .map(|r| rows::session(r, id, detail))
        .collect::<StoreResult<_>>()?;
    Ok((total as u64, sessions))
}

fn limit(page: Page) -> i64 {
    i64::from(page.limit)
}

fn offset(page: Page) -> i64 {
    i64::from(page.offset)
}

/// A page of the session's records in `table`, with their total.
async fn records<T>(
    c: &impl GenericClient,
    target: &SessionRef,
    (table, columns): (&str, &str),
    order: Order,
    page: Page,
    map: impl Fn(&tokio_postgres::Row) -> StoreResult<T>,
) -> StoreResult<(u64, Vec<T>)> {
    session_state(c, target, Hold::None).await?;
    let sid = target.session_id.0;
    let total: i64 = c
        .query_one(
            &format!("SELECT COUNT(*) FROM {table} WHERE session_id = $1"),
            &[&sid],
        )
        .await?
        .try_get(0)?;
    let stmt = c
        .prepare_cached(&rows::records_page(table, columns, order))
        .await?;
    let items = c
        .query(&stmt, &[&sid, &limit(page), &offset(page)])
        .await?
        .iter()
        .map(map)
        .collect::<StoreResult<_>>()?;
    Ok((total as u64, items))
}

pub async fn list_operations(
    c: &impl GenericClient,
    target: &SessionRef,
    order: Order,
    page: Page,
) -> StoreResult<(u64, Vec<Operation>)> {
    let table = ("session_operations", rows::OPERATION_COLUMNS);
    records(c, target, table, order, page, rows::operation).await
}

pub async fn list_file_transfers(
    c: &impl GenericClient,
    target: &SessionRef,
    order: Order,
    page: Page,
) -> StoreResult<(u64, Vec<FileTransfer>)> {
    let table = ("session_file_transfers", rows::FILE_TRANSFER_COLUMNS);
    records(c, target, table, order, page, rows::file_transfer).await
}
