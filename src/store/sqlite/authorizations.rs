//! Authorization rows: insert, scoped reads, conditional transitions, expiry.

use jiff::Timestamp;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};

use super::audit;
use super::scope;
use super::{from_ms, opt_from_ms};
use crate::domain::audit::{AuditDraft, SYSTEM_ACTOR};
use crate::domain::{
    Action, Authorization, AuthorizationId, Detail, DetailId, DetailType, Scope, Status,
};
use crate::store::{ListFilter, StoreError, StoreResult, StoredGrant, TransitionRequest};

const COLUMNS: &str = "a.id, a.customer_id, a.x_customer_id, a.xcustomer_name, a.incident_id, \
    a.simple_description, a.auth_describe, a.resource_type_id, a.visit_type_id, a.content_type_id, \
    a.content_of_auth_letter, a.status, a.site, a.created_at, a.pending_deadline, \
    a.requested_effective_at, a.requested_expire_at, a.effective_at, a.expire_at, a.reject_reason, \
    a.handler_name, a.agency_id, a.raised_by, a.raised_by_name, a.updated_at";

fn status_from(code: i64) -> rusqlite::Result<Status> {
    Status::from_code(code).ok_or(rusqlite::Error::IntegralValueOutOfRange(11, code))
}

fn authorization_from_row(r: &Row) -> rusqlite::Result<Authorization> {
    Ok(Authorization {
        id: AuthorizationId(r.get(0)?),
        customer_id: r.get(1)?,
        x_customer_id: r.get(2)?,
        xcustomer_name: r.get(3)?,
        incident_id: r.get(4)?,
        simple_description: r.get(5)?,
        auth_describe: r.get(6)?,
        resource_type_id: r.get(7)?,
        visit_type_id: r.get(8)?,
        content_type_id: r.get(9)?,
        content_of_auth_letter: r.get(10)?,
        status: status_from(r.get(11)?)?,
        site: r.get(12)?,
        created_at: from_ms(r.get(13)?),
        pending_deadline: from_ms(r.get(14)?),
        requested_effective_at: opt_from_ms(r.get(15)?),
        requested_expire_at: opt_from_ms(r.get(16)?),
        effective_at: opt_from_ms(r.get(17)?),
        expire_at: opt_from_ms(r.get(18)?),
        reject_reason: r.get(19)?,
        handler_name: r.get(20)?,
        agency_id: r.get(21)?,
        raised_by: r.get(22)?,
        raised_by_name: r.get(23)?,
        updated_at: from_ms(r.get(24)?),
        details: Vec::new(),
    })
}

fn detail_from_row(r: &Row) -> rusqlite::Result<Detail> {
    let port = |v: Option<i64>| v.map(|p| p as u16);
    Ok(Detail {
        id: DetailId(r.get(0)?),
        detail_type: DetailType::from_code(r.get(1)?).unwrap_or(DetailType::Console),
        instance_id: r.get(2)?,
        instance_name: r.get(3)?,
        region_id: r.get(4)?,
        host: r.get(5)?,
        requested_port: port(r.get(6)?),
        granted_port: port(r.get(7)?),
        account: r.get(8)?,
        has_credential: r.get(9)?,
        host_key_fingerprint: r.get(10)?,
    })
}

pub fn insert(conn: &Connection, a: &Authorization, event: AuditDraft) -> StoreResult<()> {
    let ms = |t: Option<Timestamp>| t.map(|t| t.as_millisecond());
    conn.prepare_cached(
        "INSERT INTO authorizations (id, customer_id, x_customer_id, xcustomer_name, incident_id, \
         simple_description, auth_describe, resource_type_id, visit_type_id, content_type_id, \
         content_of_auth_letter, status, site, created_at, pending_deadline, requested_effective_at, \
         requested_expire_at, effective_at, expire_at, reject_reason, handler_name, agency_id, \
         raised_by, raised_by_name, updated_at) \
         VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    )?
    .execute(params![
        a.id.0,
        a.customer_id,
        a.x_customer_id,
        a.xcustomer_name,
        a.incident_id,
        a.simple_description,
        a.auth_describe,
        a.resource_type_id,
        a.visit_type_id,
        a.content_type_id,
        a.content_of_auth_letter,
        a.status.code(),
        a.site,
        a.created_at.as_millisecond(),
        a.pending_deadline.as_millisecond(),
        ms(a.requested_effective_at),
        ms(a.requested_expire_at),
        ms(a.effective_at),
        ms(a.expire_at),
        a.reject_reason,
        a.handler_name,
        a.agency_id,
        a.raised_by,
        a.raised_by_name,
        a.updated_at.as_millisecond(),
    ])?;
    let mut insert_detail = conn.prepare_cached(
        "INSERT INTO authorization_details (id, authorization_id, position, type, instance_id, \
         instance_name, region_id, host, requested_port) VALUES (?,?,?,?,?,?,?,?,?)",
    )?;
    for (position, d) in a.details.iter().enumerate() {
        insert_detail.execute(params![
            d.id.0,
            a.id.0,
            position as i64,
            d.detail_type.code(),
            d.instance_id,
            d.instance_name,
            d.region_id,
            d.host,
            d.requested_port,
        ])?;
    }
    audit::append(conn, event, a.created_at)
}

pub fn list(
    conn: &Connection,
    scope: &Scope,
    f: &ListFilter,
) -> StoreResult<(u64, Vec<Authorization>)> {
    let (sql, mut args) = condition(scope, f);
    let count: i64 = conn
        .prepare_cached(&format!("{} WHERE {sql}", f.total_query(scope)))?
        .query_row(params_from_iter(args.iter()), |r| r.get(0))?;
    args.push(Value::Integer(i64::from(f.page.limit)));
    args.push(Value::Integer(i64::from(f.page.offset)));
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM authorizations a WHERE {sql} \
         ORDER BY a.created_at DESC, a.id DESC LIMIT ? OFFSET ?"
    ))?;
    let rows = stmt
        .query_map(params_from_iter(args.iter()), authorization_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((count as u64, rows))
}

/// The scope and the filter (its status included, when it has one) as a condition on
/// `authorizations a`, with its parameters.
fn condition(scope: &Scope, f: &ListFilter) -> (String, Vec<Value>) {
    let (mut sql, mut args) = scope::condition(scope);
    if let Some(status) = f.status {
        sql.push_str(" AND a.status = ?");
        args.push(Value::Integer(status));
    }
    if let Some(incident) = &f.incident_id {
        sql.push_str(" AND a.incident_id = ?");
        args.push(Value::Text(incident.clone()));
    }
    if let Some(name) = &f.sub_customer_name {
        sql.push_str(" AND a.xcustomer_name = ?");
        args.push(Value::Text(name.clone()));
    }
    if let Some(text) = &f.simple_description {
        sql.push_str(" AND a.simple_description LIKE ? ESCAPE '\\'");
        args.push(Value::Text(format!("%{}%", escape_like(text))));
    }
    (sql, args)
}

pub fn count_by_status(
    conn: &Connection,
    scope: &Scope,
    f: &ListFilter,
) -> StoreResult<Vec<(Status, u64)>> {
    let any_status = ListFilter {
        status: None,
        ..f.clone()
    };
    let (sql, args) = condition(scope, &any_status);
    let mut stmt = conn.prepare_cached(&format!(
        "{} WHERE {sql} GROUP BY a.status",
        any_status.totals_by_status_query(scope)
    ))?;
    let rows = stmt
        .query_map(params_from_iter(args.iter()), |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows
        .into_iter()
        .filter_map(|(status, n)| Some((Status::from_code(status)?, n.max(0) as u64)))
        .collect())
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

pub fn get(
    conn: &Connection,
    scope: &Scope,
    id: AuthorizationId,
) -> StoreResult<Option<Authorization>> {
    let (sql, mut args) = scope::condition(scope);
    args.insert(0, Value::Integer(id.0));
    let auth = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM authorizations a WHERE a.id = ? AND {sql}"
        ))?
        .query_row(params_from_iter(args.iter()), authorization_from_row)
        .optional()?;
    let Some(mut auth) = auth else {
        return Ok(None);
    };
    auth.details = conn
        .prepare_cached(
            "SELECT id, type, instance_id, instance_name, region_id, host, requested_port, granted_port, \
             account, password_ciphertext IS NOT NULL, host_key_fingerprint \
             FROM authorization_details WHERE authorization_id = ? ORDER BY position",
        )?
        .query_map([id.0], detail_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Some(auth))
}

/// The current status of a visible authorization.
fn visible_status(
    conn: &Connection,
    scope: &Scope,
    id: AuthorizationId,
) -> StoreResult<Option<(Status, String)>> {
    let (sql, mut args) = scope::condition(scope);
    args.insert(0, Value::Integer(id.0));
    let row = conn
        .prepare_cached(&format!(
            "SELECT a.status, a.customer_id FROM authorizations a WHERE a.id = ? AND {sql}"
        ))?
        .query_row(params_from_iter(args.iter()), |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })
        .optional()?;
    match row {
        Some((code, domain)) => Ok(Some((status_from(code)?, domain))),
        None => Ok(None),
    }
}

pub fn transition(conn: &Connection, req: &TransitionRequest) -> StoreResult<Status> {
    let (from, domain_id) =
        visible_status(conn, &req.scope, req.id)?.ok_or(StoreError::NotFound)?;
    let to = req
        .action
        .apply(from)
        .map_err(|e| StoreError::Conflict(e.current))?;
    let now = req.now.as_millisecond();
    // The status condition makes this safe on any database, even though this writer
    // is the only one: zero rows means another transaction moved it first. A reject
    // keeps its reason and a reject or cancel its handler, in the same statement.
    let reason = req.recorded_reason();
    let changed = conn
        .prepare_cached(
            "UPDATE authorizations SET status = ?1, updated_at = ?2, \
             reject_reason = CASE WHEN ?5 THEN ?6 ELSE reject_reason END, \
             handler_name = COALESCE(?7, handler_name) WHERE id = ?3 AND status = ?4",
        )?
        .execute(params![
            to.code(),
            now,
            req.id.0,
            from.code(),
            reason.is_some(),
            reason.flatten(),
            req.recorded_handler()
        ])?;
    if changed == 0 {
        return Err(StoreError::Conflict(from));
    }
    match req.action {
        Action::Confirm => {
            let grant = req
                .grant
                .as_ref()
                .ok_or_else(|| StoreError::Internal("confirm without a grant".into()))?;
            store_grant(conn, req.id, &req.actor.1, grant)?;
        }
        Action::Reject | Action::Cancel | Action::Recall | Action::Expire => {}
    }
    // Leaving `authorized` ends access at once; the transition's one audit event
    // records what was purged and closed.
    let note = if from == Status::Authorized {
        let (purged, closed) = leave_authorized(conn, req.id, req.now)?;
        format!("credentials_purged={purged} sessions_closed={closed}")
    } else {
        String::new()
    };
    let actor = (req.actor.0.as_str(), req.actor.1.as_str());
    let event = AuditDraft::new(&domain_id, Some(req.id), actor, req.action.name())
        .transition(from, to)
        .reason(req.reason.clone())
        .note(note);
    audit::append(conn, event, req.now)?;
    Ok(from)
}

fn store_grant(
    conn: &Connection,
    id: AuthorizationId,
    handler: &str,
    grant: &StoredGrant,
) -> StoreResult<()> {
    conn.prepare_cached(
        "UPDATE authorizations SET effective_at = ?, expire_at = ?, agency_id = ?, handler_name = ? WHERE id = ?",
    )?
    .execute(params![
        grant.effective_at.as_millisecond(),
        grant.expire_at.as_millisecond(),
        grant.agency_id,
        handler,
        id.0
    ])?;
    let mut update = conn.prepare_cached(
        "UPDATE authorization_details SET granted_port = ?, account = ?, password_ciphertext = ? \
         WHERE id = ? AND authorization_id = ?",
    )?;
    for d in &grant.details {
        update.execute(params![
            d.port,
            d.account,
            d.password_ciphertext,
            d.detail_id.0,
            id.0
        ])?;
    }
    Ok(())
}

/// Closes open sessions and purges host credentials; returns (purged, closed).
fn leave_authorized(
    conn: &Connection,
    id: AuthorizationId,
    now: Timestamp,
) -> StoreResult<(usize, usize)> {
    let closed = conn
        .prepare_cached(
            "UPDATE sessions SET ended_at = ? WHERE authorization_id = ? AND ended_at IS NULL",
        )?
        .execute(params![now.as_millisecond(), id.0])?;
    let purged = conn
        .prepare_cached(
            "UPDATE authorization_details SET password_ciphertext = NULL \
             WHERE authorization_id = ? AND password_ciphertext IS NOT NULL",
        )?
        .execute([id.0])?;
    Ok((purged, closed))
}

/// Expires due authorizations, oldest deadline first.
pub fn expire_due(conn: &Connection, now: Timestamp, limit: u32) -> StoreResult<u32> {
    let ms = now.as_millisecond();
    let due: Vec<i64> = conn
        .prepare_cached(
            "SELECT id FROM (
                SELECT id, pending_deadline AS due FROM authorizations WHERE status = 0 AND pending_deadline <= ?1
                UNION ALL
                SELECT id, expire_at AS due FROM authorizations WHERE status = 1 AND expire_at <= ?1
             ) ORDER BY due LIMIT ?2",
        )?
        .query_map(params![ms, limit], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut expired = 0;
    for id in due {
        let req = TransitionRequest {
            id: AuthorizationId(id),
            scope: Scope::Provider { raised_by: None },
            action: Action::Expire,
            now,
            actor: (SYSTEM_ACTOR.into(), SYSTEM_ACTOR.into()),
            reason: None,
            grant: None,
        };
        match transition(conn, &req) {
            Ok(_) => expired += 1,
            Err(StoreError::Conflict(_)) | Err(StoreError::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(expired)
}
