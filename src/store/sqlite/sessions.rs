//! Engineer sessions and their append-only records.

use jiff::Timestamp;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use super::authorizations::status_from;
use super::{audit, from_ms, opt_from_ms, scope};
use crate::domain::audit::AuditDraft;
use crate::domain::session::{self, Access, FileTransfer, Operation, Session, flagged_count};
use crate::domain::{AuthorizationId, DetailId, Scope, SessionId};
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

/// Appends and closes need an open session of an authorization that is still authorized.
fn require_writable(conn: &Connection, target: &SessionRef) -> StoreResult<String> {
    let (facts, ended_at) = session_state(conn, target)?;
    facts.access.may_record(ended_at.is_some())?;
    Ok(facts.domain_id)
}

fn record(
    conn: &Connection,
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
    audit::append(conn, event, now)
}

pub fn open(
    conn: &Connection,
    scope: &Scope,
    s: &Session,
    actor: &(String, String),
) -> StoreResult<()> {
    let facts = auth_with_detail(conn, scope, s.authorization_id, s.detail_id)?;
    let now = s.started_at.as_millisecond();
    facts.access.may_open(s.started_at)?;
    conn.prepare_cached(
        "INSERT INTO sessions (id, authorization_id, detail_id, engineer_id, started_at) VALUES (?,?,?,?,?)",
    )?
    .execute(params![s.id.0, s.authorization_id.0, s.detail_id.0, s.engineer_id, now])?;
    let target = SessionRef {
        scope: scope.clone(),
        authorization_id: s.authorization_id,
        detail_id: s.detail_id,
        session_id: s.id,
    };
    let note = format!("session={} detail={}", s.id.0, s.detail_id.0);
    record(
        conn,
        &facts.domain_id,
        &target,
        actor,
        "session_opened",
        note,
        s.started_at,
    )
}

pub fn append_operations(
    conn: &Connection,
    target: &SessionRef,
    ops: &[Operation],
    actor: &(String, String),
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
    let flagged = flagged_count(ops.iter().map(|o| o.oper.as_str()));
    let note = format!(
        "session={} operations={} control_characters={flagged}",
        target.session_id.0,
        ops.len()
    );
    record(
        conn,
        &domain,
        target,
        actor,
        "operations_recorded",
        note,
        now,
    )
}

pub fn append_file_transfers(
    conn: &Connection,
    target: &SessionRef,
    items: &[FileTransfer],
    actor: &(String, String),
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
        conn,
        &domain,
        target,
        actor,
        "file_transfers_recorded",
        note,
        now,
    )
}

pub fn close(
    conn: &Connection,
    target: &SessionRef,
    now: Timestamp,
    actor: &(String, String),
) -> StoreResult<()> {
    let (facts, ended_at) = session_state(conn, target)?;
    session::may_close(ended_at.is_some())?;
    conn.prepare_cached("UPDATE sessions SET ended_at = ? WHERE id = ? AND ended_at IS NULL")?
        .execute(params![now.as_millisecond(), target.session_id.0])?;
    let note = format!("session={}", target.session_id.0);
    record(
        conn,
        &facts.domain_id,
        target,
        actor,
        "session_closed",
        note,
        now,
    )
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
    let sessions = conn
        .prepare_cached(
            "SELECT id, engineer_id, started_at, ended_at FROM sessions WHERE detail_id = ? \
             ORDER BY started_at DESC, id DESC LIMIT ? OFFSET ?",
        )?
        .query_map(params![detail.0, page.limit, page.offset], |r| {
            Ok(Session {
                id: SessionId(r.get(0)?),
                authorization_id: id,
                detail_id: detail,
                engineer_id: r.get(1)?,
                started_at: from_ms(r.get(2)?),
                ended_at: opt_from_ms(r.get(3)?),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok((total as u64, sessions))
}

fn direction(order: Order) -> &'static str {
    match order {
        Order::NewestFirst => "DESC",
        Order::OldestFirst => "ASC",
    }
}

pub fn list_operations(
    conn: &Connection,
    target: &SessionRef,
    order: Order,
    page: Page,
) -> StoreResult<(u64, Vec<Operation>)> {
    session_state(conn, target)?;
    let sid = target.session_id.0;
    let total: i64 = conn
        .prepare_cached("SELECT COUNT(*) FROM session_operations WHERE session_id = ?")?
        .query_row([sid], |r| r.get(0))?;
    let dir = direction(order);
    let ops = conn
        .prepare_cached(&format!(
            "SELECT oper, operate_time FROM session_operations WHERE session_id = ? \
             ORDER BY operate_time {dir}, id {dir} LIMIT ? OFFSET ?"
        ))?
        .query_map(params![sid, page.limit, page.offset], |r| {
            Ok(Operation {
                oper: r.get(0)?,
                operate_time: from_ms(r.get(1)?),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok((total as u64, ops))
}

pub fn list_file_transfers(
    conn: &Connection,
    target: &SessionRef,
    order: Order,
    page: Page,
) -> StoreResult<(u64, Vec<FileTransfer>)> {
    session_state(conn, target)?;
    let sid = target.session_id.0;
    let total: i64 = conn
        .prepare_cached("SELECT COUNT(*) FROM session_file_transfers WHERE session_id = ?")?
        .query_row([sid], |r| r.get(0))?;
    let dir = direction(order);
    let items = conn
        .prepare_cached(&format!(
            "SELECT operate_type, file_name, from_path, to_path, file_size_bytes, duration_ms, oper_result, \
             operate_time FROM session_file_transfers WHERE session_id = ? \
             ORDER BY operate_time {dir}, id {dir} LIMIT ? OFFSET ?"
        ))?
        .query_map(params![sid, page.limit, page.offset], |r| {
            Ok(FileTransfer {
                operate_type: r.get(0)?,
                file_name: r.get(1)?,
                from_path: r.get(2)?,
                to_path: r.get(3)?,
                file_size_bytes: r.get(4)?,
                duration_ms: r.get(5)?,
                oper_result: r.get(6)?,
                operate_time: from_ms(r.get(7)?),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok((total as u64, items))
}
