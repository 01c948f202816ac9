//! `GET /customer/v1/audit-events`: a domain administrator's own audit trail, with the
//! chain hashes so it can be verified offline.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::error::ApiError;
use super::input::{Caller, QueryParams};
use crate::domain::audit_export::event_json;
use crate::domain::validation::{Rule, ValidationError};
use crate::service::App;
use crate::store::AuditFilter;

fn time(q: &QueryParams, name: &'static str) -> Result<Option<jiff::Timestamp>, ApiError> {
    match q.text(name, 1, 64)? {
        None => Ok(None),
        Some(text) => text
            .parse()
            .map(Some)
            .map_err(|_| ValidationError::new(name, Rule::InvalidTime).into()),
    }
}

pub async fn list(
    State(app): State<Arc<App>>,
    Caller(p): Caller,
    q: QueryParams,
) -> Result<Json<Value>, ApiError> {
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
    let audit_events: Vec<Value> = events.iter().map(event_json).collect();
    Ok(Json(
        json!({ "count": count, "audit_events": audit_events }),
    ))
}
