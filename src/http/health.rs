//! Liveness and readiness probes.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::error::ApiError;
use crate::service::App;

/// The process is up.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// The process can serve: its database answers.
pub async fn readyz(State(app): State<Arc<App>>) -> Result<Json<Value>, ApiError> {
    app.ready().await.map_err(ApiError::not_ready)?;
    Ok(Json(json!({ "status": "ready" })))
}
