//! `GET /customer/v1/audit-events`: a domain administrator's own audit trail, with the
//! chain hashes so it can be verified offline.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use serde_json::Value;

use super::error::{ApiError, ErrorBody};
use super::input::{Caller, QueryParams};
use super::params::PageQuery;
use crate::domain::audit_export::event_json;
use crate::domain::validation::{Rule, ValidationError};
use crate::service::App;
use crate::store::AuditFilter;

/// A page of audit events.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditEventList {
    count: u64,
    /// Events as `audit export` writes them (docs/API.md, Audit events).
    audit_events: Vec<Value>,
}

fn time(q: &QueryParams, name: &'static str) -> Result<Option<jiff::Timestamp>, ApiError> {
    match q.text(name, 1, 64)? {
        None => Ok(None),
        Some(text) => text
            .parse()
            .map(Some)
            .map_err(|_| ValidationError::new(name, Rule::InvalidTime).into()),
    }
}

/// The audit trail of the caller's domain (domain administrators).
///
/// Newest first, with the chain hashes so it can be verified offline.
#[utoipa::path(get, path = "/customer/v1/audit-events", tag = "extensions",
  operation_id = "ListAuditEvents",
  params(
    ("authorization_id" = Option<i64>, Query, minimum = 1, description = "Only this authorization's events"),
    ("since" = Option<String>, Query, description = "RFC 3339 time: events at or after it"),
    ("until" = Option<String>, Query, description = "RFC 3339 time: events before it"),
    ("type" = Option<String>, Query, max_length = 64, description = "Only events of this type"),
    PageQuery,
  ),
  responses((status = 200, description = "A page of events", body = AuditEventList),
    (status = 403, description = "Not a domain administrator", body = ErrorBody)),
)]
pub async fn list(
    State(app): State<Arc<App>>,
    Caller(p): Caller,
    q: QueryParams,
) -> Result<Json<AuditEventList>, ApiError> {
    let page = q.page()?;
    let filter = AuditFilter {
        chain: None,
        authorization_id: q.int("authorization_id", 1, i64::MAX)?,
        since: time(&q, "since")?,
        until: time(&q, "until")?,
        kind: q.text("type", 1, 64)?,
        offset: page.offset,
        limit: Some(page.limit),
    };
    let (count, events) = app.domain_audit_events(&p, filter).await?;
    Ok(Json(AuditEventList {
        count,
        audit_events: events.iter().map(event_json).collect(),
    }))
}
