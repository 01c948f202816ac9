//! `/provider/v1/ssh-keys`: the calling engineer's keys for the SSH broker.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::input::{Caller, JsonBody, QueryParams};
use super::wire::Empty;
use crate::domain::time::format_utc;
use crate::domain::validation::{Rule, ValidationError};
use crate::service::App;
use crate::store::SshKeyRecord;

#[derive(Deserialize)]
pub struct AddSshKeyBody {
    public_key: Option<String>,
}

#[derive(Serialize)]
pub struct SshKey {
    fingerprint: String,
    algorithm: String,
    public_key: String,
    comment: String,
    created_at: String,
}

impl From<SshKeyRecord> for SshKey {
    fn from(k: SshKeyRecord) -> Self {
        SshKey {
            fingerprint: k.fingerprint,
            algorithm: k.algorithm,
            public_key: k.public_key,
            comment: k.comment,
            created_at: format_utc(k.created_at),
        }
    }
}

#[derive(Serialize)]
pub struct SshKeyList {
    ssh_keys: Vec<SshKey>,
}

pub async fn list(
    State(app): State<Arc<App>>,
    Caller(p): Caller,
) -> Result<Json<SshKeyList>, ApiError> {
    let keys = app.list_ssh_keys(&p).await?;
    Ok(Json(SshKeyList {
        ssh_keys: keys.into_iter().map(Into::into).collect(),
    }))
}

pub async fn add(
    State(app): State<Arc<App>>,
    Caller(p): Caller,
    JsonBody(body): JsonBody<AddSshKeyBody>,
) -> Result<(StatusCode, Json<SshKey>), ApiError> {
    let line = body
        .public_key
        .ok_or_else(|| ValidationError::new("public_key", Rule::Required))?;
    let key = app.add_ssh_key(&p, &line).await?;
    Ok((StatusCode::CREATED, Json(key.into())))
}

/// `DELETE /ssh-keys?fingerprint=SHA256:…`
pub async fn remove(
    State(app): State<Arc<App>>,
    Caller(p): Caller,
    q: QueryParams,
) -> Result<Json<Empty>, ApiError> {
    let fingerprint = q
        .text("fingerprint", 1, 128)?
        .ok_or_else(|| ValidationError::new("fingerprint", Rule::Required))?;
    app.remove_ssh_key(&p, &fingerprint).await?;
    Ok(Json(Empty {}))
}
