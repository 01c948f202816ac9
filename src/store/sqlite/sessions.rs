//! Engineer sessions and their append-only records.

use jiff::Timestamp;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use super::authorizations::status_from;
use super::{all, audit, opt_from_ms, scope};
use crate::domain::audit::Actor;
use crate::domain::session::{self, Access, FileTransfer, Operation, Session};
use crate::domain::{AuthorizationId, DetailId, Scope};
use crate::store::rows::{self, SessionEvent};
use crate::store::{Order, Page, SessionRef, StoreError, StoreResult};

/// A visible authorization's facts that session rules need.
struct AuthFacts {
    domain_id: String,
    access: Access,
}

/// The authorization, if visible in `scope` and owning `detail`.
fn auth_with_detail(
    conn: &Connection,
    scope: &Scope,
    id: AuthorizationId,
    detail: DetailId,
) -> StoreResult<AuthFacts> {
    let (sql, mut args) = scope::condition(scope);
    args.insert(0, Value::Integer(detail.0));
    args.insert(1, Value::Integer(id.0));
    conn.prepare_cached(&format!(
        "SELECT a.customer_id, a.status, a.effective_at, a.expire_at FROM authorizations a \
         JOIN authorization_details d ON d.authorization_id = a.id AND d.id = ? \
         WHERE a.id = ? AND {sql}"
    ))?
    .query_row(params_from_iter(args.iter()), |r| {
        Ok(AuthFacts {
            domain_id: r.get(0)?,
            access: Access {
                status: status_from(r.get(1)?)?,
                effective_at: opt_from_ms(r.get(2)?),
                expire_at: opt_from_ms(r.get(3)?),
            },
        })
    })
    .optional()?
    .ok_or(StoreError::NotFound)
}

/// The session's end time (`None` while open), if it belongs to the addressed detail.
fn session_state(conn: &Connection, target: &SessionRef) -> StoreResult<(AuthFacts, Option<i64>)> {
    let facts = auth_with_detail(
        conn,
        &target.scope,
        target.authorization_id,
        target.detail_id,
    )?;
    let ended_at: Option<i64> = conn
        .prepare_cached(
            "SELECT ended_at FROM sessions WHERE id = ? AND detail_id = ? AND authorization_id = ?",
        )?
        .query_row(
            params![
                target.session_id.0,
                target.detail_id.0,
                target.authorization_id.0
            ],
            |r| r.get(0),
        )
        .optional()?
        .ok_or(StoreError::NotFound)?;
    Ok((facts, ended_at))
}

/// When the session started, if it is visible in its scope.
pub fn started_at(conn: &Connection, target: &SessionRef) -> StoreResult<Timestamp> {
    auth_with_detail(
        conn,
        &target.scope,
        target.authorization_id,
        target.detail_id,
    )?;
    let ms: i64 = conn
        .prepare_cached(rows::SESSION_STARTED)?
        .query_row(
            params![
                target.session_id.0,
                target.detail_id.0,
                target.authorization_id.0
            ],
            |r| r.get(0),
        )
        .optional()?
        .ok_or(StoreError::NotFound)?;
    Ok(rows::from_ms(ms))
}

/// Appends and closes need an open session of an authorization that is still authorized.
fn require_writable(conn: &Connection, target: &SessionRef) -> StoreResult<String> {
    let (facts, ended_at) = session_state(conn, target)?;
    facts.access.may_record(ended_at.is_some())?;
    Ok(facts.domain_id)
}

pub fn open(conn: &Connection, scope: &Scope, s: &Session, actor: &Actor) -> StoreResult<()> {
    let facts = auth_with_detail(conn, scope, s.authorization_id, s.detail_id)?;
    let now = s.started_at.as_millisecond();
    facts.access.may_open(s.started_at)?;
    conn.prepare_cached(
        "INSERT INTO sessions (id, authorization_id, detail_id, engineer_id, started_at, source) \
         VALUES (?,?,?,?,?,?)",
    )?
    .execute(params![
        s.id.0,
        s.authorization_id.0,
        s.detail_id.0,
        s.engineer_id,
        now,
        s.source.as_str()
    ])?;
    let target = SessionRef::of(scope, s);
    let event = rows::session_event(&facts.domain_id, &target, actor, SessionEvent::Opened);
    audit::append(conn, event, s.started_at)
}

pub fn append_operations(
    conn: &Connection,
    target: &SessionRef,
    ops: &[Operation],
    actor: &Actor,
    now: Timestamp,
) -> StoreResult<()> {
    let domain = require_writable(conn, target)?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO session_operations (session_id, oper, operate_time) VALUES (?,?,?)",
    )?;
    for op in ops {
        insert.execute(params![
            target.session_id.0,
            op.oper,
            op.operate_time.as_millisecond()
        ])?;
    }
    let event = rows::session_event(&domain, target, actor, SessionEvent::Operations(ops));
    audit::append(conn, event, now)
}

pub fn append_file_transfers(
    conn: &Connection,
    target: &SessionRef,
    items: &[FileTransfer],
    actor: &Actor,
    now: Timestamp,
) -> StoreResult<()> {
    let domain = require_writable(conn, target)?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO session_file_transfers (session_id, operate_type, file_name, from_path, to_path, \
         file_size_bytes, duration_ms, oper_result, operate_time) VALUES (?,?,?,?,?,?,?,?,?)",
    )?;
    for t in items {
        insert.execute(params![
            target.session_id.0,
            t.operate_type,
            t.file_name,
            t.from_path,
            t.to_path,
            t.file_size_bytes,
            t.duration_ms,
            t.oper_result,
            t.operate_time.as_millisecond()
        ])?;
    }
    let event = rows::session_event(&domain, target, actor, SessionEvent::FileTransfers(items));
    audit::append(conn, event, now)
}

pub fn close(
    conn: &Connection,
    target: &SessionRef,
    now: Timestamp,
    actor: &Actor,
) -> StoreResult<()> {
    let (facts, ended_at) = session_state(conn, target)?;
    session::may_close(ended_at.is_some())?;
    conn.prepare_cached("UPDATE sessions SET ended_at = ? WHERE id = ? AND ended_at IS NULL")?
        .execute(params![now.as_millisecond(), target.session_id.0])?;
    let event = rows::session_event(&facts.domain_id, target, actor, SessionEvent::Closed);
    audit::append(conn, event, now)
}

pub fn list(
    conn: &Connection,
    scope: &Scope,
    id: AuthorizationId,
    detail: DetailId,
    page: Page,
) -> StoreResult<(u64, Vec<Session>)> {
    auth_with_detail(conn, scope, id, detail)?;
    let total: i64 = conn
        .prepare_cached("SELECT COUNT(*) FROM sessions WHERE detail_id = ?")?
        .query_row([detail.0], |r| r.get(0))?;
    let mut stmt = conn.prepare_cached(rows::SESSION_PAGE)?;
    let sessions = all(&mut stmt, params![detail.0, page.limit, page.offset], |r| {
        rows::session(r, id, detail)
    })?;
    Ok((total as u64, sessions))
}

/// A page of the session's records in `table`, with their total.
fn records<T>(
    conn: &Connection,
    target: &SessionRef,
    (table, columns): (&str, &str),
    order: Order,
    page: Page,
    map: impl Fn(&rusqlite::Row) -> StoreResult<T>,
) -> StoreResult<(u64, Vec<T>)> {
    session_state(conn, target)?;
    let sid = target.session_id.0;
    let total: i64 = conn
        .prepare_cached(&format!(
            "SELECT COUNT(*) FROM {table} WHERE session_id = ?"
        ))?
        .query_row([sid], |r| r.get(0))?;
    let mut stmt = conn.prepare_cached(&rows::records_page(table, columns, order))?;
    let items = all(&mut stmt, params![sid, page.limit, page.offset], map)?;
    Ok((total as u64, items))
}

pub fn list_operations(
    conn: &Connection,
    target: &SessionRef,
    order: Order,
    page: Page,
) -> StoreResult<(u64, Vec<Operation>)> {
    let table = ("session_operations", rows::OPERATION_COLUMNS);
    records(conn, target, table, order, page, |r| rows::operation(r))
}

pub fn list_file_transfers(
    conn: &Connection,
    target: &SessionRef,
    order: Order,
    page: Page,
) -> StoreResult<(u64, Vec<FileTransfer>)> {
    let table = ("session_file_transfers", rows::FILE_TRANSFER_COLUMNS);
    records(conn, target, table, order, page, |r| rows::file_transfer(r))
}
