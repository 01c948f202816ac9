//! Authorization rows: insert, scoped reads, conditional transitions, expiry.

use jiff::Timestamp;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use super::audit;
use super::notify;
use super::outbox;
use super::scope;
use super::{all, first};
use crate::domain::audit::AuditDraft;
use crate::domain::{Authorization, AuthorizationId, Scope, Status};
use crate::store::plan::{self, AccessEnded, TransitionFacts, TransitionPlan};
use crate::store::rows::{self, AUTHORIZATION_COLUMNS, DETAIL_COLUMNS};
use crate::store::{ListFilter, StoreError, StoreResult, StoredGrant, TransitionRequest};

pub(super) fn status_from(code: i64) -> rusqlite::Result<Status> {
    Status::from_code(code).ok_or(rusqlite::Error::IntegralValueOutOfRange(11, code))
}

pub fn insert(conn: &Connection, a: &Authorization, event: AuditDraft) -> StoreResult<()> {
    let ms = |t: Option<Timestamp>| t.map(jiff::Timestamp::as_millisecond);
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
    outbox::append(conn, &plan::raised(a, &event.actor_id))?;
    notify::schedule(conn, &plan::raised_reminders(a))?;
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
        "SELECT {AUTHORIZATION_COLUMNS} FROM authorizations a WHERE {sql} \
         ORDER BY a.created_at DESC, a.id DESC LIMIT ? OFFSET ?"
    ))?;
    let rows = all(&mut stmt, params_from_iter(args.iter()), |r| {
        rows::authorization(r)
    })?;
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
    let f = f.any_status();
    let (sql, args) = condition(scope, &f);
    let mut stmt = conn.prepare_cached(&f.totals_by_status_sql(scope, &sql))?;
    let counts = all(&mut stmt, params_from_iter(args.iter()), |r| {
        rows::status_count(r)
    })?;
    Ok(counts.into_iter().flatten().collect())
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
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {AUTHORIZATION_COLUMNS} FROM authorizations a WHERE a.id = ? AND {sql}"
    ))?;
    let Some(mut auth) = first(&mut stmt, params_from_iter(args.iter()), |r| {
        rows::authorization(r)
    })?
    else {
        return Ok(None);
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {DETAIL_COLUMNS} FROM authorization_details d \
         WHERE d.authorization_id = ? ORDER BY d.position"
    ))?;
    auth.details = all(&mut stmt, [id.0], |r| rows::detail(r, 0))?
        .into_iter()
        .flatten()
        .collect();
    Ok(Some(auth))
}

/// The facts a transition is decided on, if the row is visible in `scope`.
fn transition_facts(
    conn: &Connection,
    scope: &Scope,
    id: AuthorizationId,
) -> StoreResult<Option<TransitionFacts>> {
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
        Some((code, domain_id)) => Ok(Some(TransitionFacts {
            status: status_from(code)?,
            domain_id,
        })),
        None => Ok(None),
    }
}

/// Carries out the transition's plan; returns the status it left.
pub fn transition(conn: &Connection, req: &TransitionRequest) -> StoreResult<Status> {
    let plan = TransitionPlan::decide(req, transition_facts(conn, &req.scope, req.id)?)?;
    // The status condition makes this safe on any database, even though this writer
    // is the only one: zero rows means another transaction moved it first.
    let changed = conn
        .prepare_cached(
            "UPDATE authorizations SET status = ?1, updated_at = ?2, \
             reject_reason = CASE WHEN ?5 THEN ?6 ELSE reject_reason END, \
             handler_name = COALESCE(?7, handler_name) WHERE id = ?3 AND status = ?4",
        )?
        .execute(params![
            plan.to.code(),
            plan.updated_at_ms,
            plan.id.0,
            plan.from.code(),
            plan.reject_reason.is_some(),
            plan.reject_reason.flatten(),
            plan.handler
        ])?;
    if changed == 0 {
        let now_in = transition_facts(conn, &req.scope, req.id)?;
        return Err(plan.lost_race(now_in.map(|f| f.status)));
    }
    if let Some((grant, handler)) = plan.grant {
        store_grant(conn, plan.id, handler, grant)?;
    }
    let (ended, closed) = if plan.ends_access {
        let (ended, closed) = end_access(conn, plan.id, req.now, &plan.close_reason())?;
        (Some(ended), closed)
    } else {
        (None, Vec::new())
    };
    outbox::append(conn, &plan.outbox)?;
    for event in plan.sessions_closed(&closed) {
        outbox::append(conn, &event)?;
    }
    notify::schedule(conn, &plan.reminders)?;
    audit::append(conn, plan.event(ended), req.now)?;
    Ok(plan.from)
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

/// Closes open sessions and purges host credentials; what it touched, and the ids of
/// the sessions it closed.
fn end_access(
    conn: &Connection,
    id: AuthorizationId,
    now: Timestamp,
    reason: &str,
) -> StoreResult<(AccessEnded, Vec<i64>)> {
    let closed: Vec<i64> = conn
        .prepare_cached(rows::SESSIONS_END_ACCESS)?
        .query_map(params![now.as_millisecond(), reason, id.0], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let purged = conn
        .prepare_cached(
            "UPDATE authorization_details SET password_ciphertext = NULL \
             WHERE authorization_id = ? AND password_ciphertext IS NOT NULL",
        )?
        .execute([id.0])?;
    Ok((AccessEnded::new(&closed, purged as u64), closed))
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
        let req = TransitionRequest::expire(AuthorizationId(id), now);
        match transition(conn, &req) {
            Ok(_) => expired += 1,
            Err(StoreError::Transition(_) | StoreError::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(expired)
}
