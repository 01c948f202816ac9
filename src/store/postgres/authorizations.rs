//! Authorization rows: insert, scoped reads, conditional transitions, expiry.

use deadpool_postgres::{GenericClient, Transaction};
use jiff::Timestamp;

use super::audit;
use super::notify;
use super::outbox;
use super::query::Query;
use super::transitions;
use crate::domain::audit::AuditDraft;
use crate::domain::{Authorization, AuthorizationId, Scope, Status};
use crate::store::plan;
use crate::store::rows::{self, AUTHORIZATION_COLUMNS, AUTHORIZATION_WIDTH, DETAIL_COLUMNS};
use crate::store::{ListFilter, StoreResult, TransitionRequest};

fn code(s: Status) -> i64 {
    i64::from(s.code())
}

fn ms(t: Option<Timestamp>) -> Option<i64> {
    t.map(jiff::Timestamp::as_millisecond)
}

pub async fn insert(tx: &Transaction<'_>, a: &Authorization, event: AuditDraft) -> StoreResult<()> {
    let stmt = tx
        .prepare_cached(
            "INSERT INTO authorizations (id, customer_id, x_customer_id, xcustomer_name, incident_id, \
             simple_description, auth_describe, resource_type_id, visit_type_id, content_type_id, \
             content_of_auth_letter, status, site, created_at, pending_deadline, requested_effective_at, \
             requested_expire_at, effective_at, expire_at, reject_reason, handler_name, agency_id, \
             raised_by, raised_by_name, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
             $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)",
        )
        .await?;
    tx.execute(
        &stmt,
        &[
            &a.id.0,
            &a.customer_id,
            &a.x_customer_id,
            &a.xcustomer_name,
            &a.incident_id,
            &a.simple_description,
            &a.auth_describe,
            &a.resource_type_id,
            &a.visit_type_id,
            &a.content_type_id,
            &a.content_of_auth_letter,
            &code(a.status),
            &i64::from(a.site),
            &a.created_at.as_millisecond(),
            &a.pending_deadline.as_millisecond(),
            &ms(a.requested_effective_at),
            &ms(a.requested_expire_at),
            &ms(a.effective_at),
            &ms(a.expire_at),
            &a.reject_reason,
            &a.handler_name,
            &a.agency_id,
            &a.raised_by,
            &a.raised_by_name,
            &a.updated_at.as_millisecond(),
        ],
    )
    .await?;
    let insert_detail = tx
        .prepare_cached(
            "INSERT INTO authorization_details (id, authorization_id, position, type, instance_id, \
             instance_name, region_id, host, requested_port) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .await?;
    for (position, d) in a.details.iter().enumerate() {
        tx.execute(
            &insert_detail,
            &[
                &d.id.0,
                &a.id.0,
                &(position as i64),
                &i64::from(d.detail_type.code()),
                &d.instance_id,
                &d.instance_name,
                &d.region_id,
                &d.host,
                &d.requested_port.map(i64::from),
            ],
        )
        .await?;
    }
    outbox::append(tx, &plan::raised(a, &event.actor_id)).await?;
    notify::schedule(tx, &plan::raised_reminders(a)).await?;
    audit::append(tx, event, a.created_at).await
}

/// The total and the page in one statement: one round trip, and one snapshot, so the
/// count matches the page.
pub async fn list(
    c: &impl GenericClient,
    scope: &Scope,
    f: &ListFilter,
) -> StoreResult<(u64, Vec<Authorization>)> {
    let mut q = Query::default();
    let sql = condition(&mut q, scope, f);
    // The page joins the total, so an empty page still brings the total (with NULLs).
    // Its ids are found first, so that the rows skipped by OFFSET are read from the
    // index alone (an index-only scan) instead of each fetched from the table.
    let both = format!(
        "SELECT p.*, t.total FROM ({} WHERE {sql}) AS t (total) \
         LEFT JOIN LATERAL (SELECT {AUTHORIZATION_COLUMNS} FROM authorizations a WHERE a.id IN \
         (SELECT a.id FROM authorizations a WHERE {sql} \
         ORDER BY a.created_at DESC, a.id DESC LIMIT {} OFFSET {}) \
         ORDER BY a.created_at DESC, a.id DESC) AS p ON true",
        f.total_query(scope),
        q.bind(i64::from(f.page.limit)),
        q.bind(i64::from(f.page.offset))
    );
    let stmt = c.prepare_cached(&both).await?;
    let rows = c.query(&stmt, &q.params()).await?;
    let total: i64 = match rows.first() {
        Some(row) => row.try_get(AUTHORIZATION_WIDTH)?,
        None => 0,
    };
    let page = rows
        .iter()
        .filter(|r| matches!(r.try_get::<_, Option<i64>>(0), Ok(Some(_))))
        .map(rows::authorization)
        .collect::<StoreResult<Vec<_>>>()?;
    Ok((total as u64, page))
}

/// The scope and the filter (its status included, when it has one) as a condition on
/// `authorizations a`, its values bound in `q`.
fn condition(q: &mut Query, scope: &Scope, f: &ListFilter) -> String {
    let mut sql = q.scope(scope);
    if let Some(status) = f.status {
        sql += &format!(" AND a.status = {}", q.bind(status));
    }
    if let Some(incident) = &f.incident_id {
        sql += &format!(" AND a.incident_id = {}", q.bind(incident.clone()));
    }
    if let Some(name) = &f.sub_customer_name {
        sql += &format!(" AND a.xcustomer_name = {}", q.bind(name.clone()));
    }
    if let Some(text) = &f.simple_description {
        // ILIKE: SQLite's LIKE, which the other backend uses, ignores ASCII case too.
        let pattern = format!("%{}%", escape_like(text));
        sql += &format!(
            " AND a.simple_description ILIKE {} ESCAPE '\\'",
            q.bind(pattern)
        );
    }
    sql
}

pub async fn count_by_status(
    c: &impl GenericClient,
    scope: &Scope,
    f: &ListFilter,
) -> StoreResult<Vec<(Status, u64)>> {
    let mut q = Query::default();
    let f = f.any_status();
    let stmt = c
        .prepare_cached(&f.totals_by_status_sql(scope, &condition(&mut q, scope, &f)))
        .await?;
    let rows = c.query(&stmt, &q.params()).await?;
    rows.iter()
        .map(rows::status_count)
        .filter_map(Result::transpose)
        .collect()
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

pub async fn get(
    c: &impl GenericClient,
    scope: &Scope,
    id: AuthorizationId,
) -> StoreResult<Option<Authorization>> {
    let mut q = Query::default();
    // One statement, one round trip: a row per detail, the authorization repeated.
    let sql = format!(
        "SELECT {AUTHORIZATION_COLUMNS}, {DETAIL_COLUMNS} FROM authorizations a \
         LEFT JOIN authorization_details d ON d.authorization_id = a.id \
         WHERE a.id = {} AND {} ORDER BY d.position",
        q.bind(id.0),
        q.scope(scope)
    );
    let stmt = c.prepare_cached(&sql).await?;
    let rows = c.query(&stmt, &q.params()).await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let mut auth = rows::authorization(first)?;
    for row in &rows {
        auth.details.extend(rows::detail(row, AUTHORIZATION_WIDTH)?);
    }
    Ok(Some(auth))
}

/// Expires due authorizations, oldest deadline first. Rows another instance is
/// working on are locked: skip them rather than wait, so no row is expired twice and
/// no sweeper blocks another.
pub async fn expire_due(tx: &Transaction<'_>, now: Timestamp, limit: u32) -> StoreResult<u32> {
    let now_ms = now.as_millisecond();
    let mut due = Vec::new();
    for sql in [
        "SELECT id, customer_id FROM authorizations WHERE status = 0 AND pending_deadline <= $1 \
         ORDER BY pending_deadline LIMIT $2 FOR UPDATE SKIP LOCKED",
        "SELECT id, customer_id FROM authorizations WHERE status = 1 AND expire_at <= $1 \
         ORDER BY expire_at LIMIT $2 FOR UPDATE SKIP LOCKED",
    ] {
        let room = i64::from(limit) - due.len() as i64;
        if room <= 0 {
            break;
        }
        let stmt = tx.prepare_cached(sql).await?;
        for r in tx.query(&stmt, &[&now_ms, &room]).await? {
            due.push((r.try_get::<_, String>(1)?, r.try_get::<_, i64>(0)?));
        }
    }
    // One set-based transition for all (audit heads locked in domain order, so two
    // sweepers never wait on each other in a cycle); the rows are locked, so none is
    // refused.
    let requests: Vec<TransitionRequest> = due
        .into_iter()
        .map(|(_, id)| TransitionRequest::expire(AuthorizationId(id), now))
        .collect();
    let answers = transitions::transition_all(tx, &requests.iter().collect::<Vec<_>>()).await?;
    for answer in answers {
        answer?;
    }
    Ok(requests.len() as u32)
}
