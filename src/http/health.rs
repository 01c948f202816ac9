//! Liveness and readiness probes.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use super::error::ApiError;
use crate::service::App;

/// A probe's answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok` (healthz) or `ready` (readyz).
    status: &'static str,
}

/// Liveness: the process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", operation_id = "Healthz",
  responses((status = 200, description = "Up", body = Health)), security(()))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// Readiness: the process can serve, its database answers.
#[utoipa::path(get, path = "/readyz", tag = "operations", operation_id = "Readyz",
  responses((status = 200, description = "Ready", body = Health)), security(()))]
pub async fn readyz(State(app): State<Arc<App>>) -> Result<Json<Health>, ApiError> {
    app.ready().await.map_err(ApiError::not_ready)?;
    Ok(Json(Health { status: "ready" }))
}
