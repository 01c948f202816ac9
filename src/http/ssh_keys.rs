//! `/provider/v1/ssh-keys`: the calling engineer's keys for the SSH broker.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::error::{ApiError, ErrorBody};
use super::input::{Caller, JsonBody, QueryParams};
use super::wire::Empty;
use crate::domain::time::format_utc;
use crate::domain::validation::{Rule, ValidationError};
use crate::service::App;
use crate::store::SshKeyRecord;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct AddSshKeyBody {
    public_key: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
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

#[derive(Serialize, utoipa::ToSchema)]
pub struct SshKeyList {
    ssh_keys: Vec<SshKey>,
}

/// The calling engineer's SSH public keys.
#[utoipa::path(get, path = "/provider/v1/ssh-keys", tag = "provider",
  operation_id = "ListSshKeys",
  responses((status = 200, description = "The keys", body = SshKeyList),
    (status = 403, description = "Not a support engineer", body = ErrorBody)),
)]
pub async fn list(
    State(app): State<Arc<App>>,
    Caller(p): Caller,
) -> Result<Json<SshKeyList>, ApiError> {
    let keys = app.list_ssh_keys(&p).await?;
    Ok(Json(SshKeyList {
        ssh_keys: keys.into_iter().map(Into::into).collect(),
    }))
}

/// Add an SSH public key (an OpenSSH `authorized_keys` line) for the broker.
#[utoipa::path(post, path = "/provider/v1/ssh-keys", tag = "provider",
  operation_id = "AddSshKey",
  request_body = AddSshKeyBody,
  responses((status = 201, description = "Added", body = SshKey),
    (status = 403, description = "Not a support engineer", body = ErrorBody),
    (status = 409, description = "The key is already registered", body = ErrorBody)),
)]
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

/// Remove one of the caller's SSH keys by fingerprint (`SHA256:…`).
#[utoipa::path(delete, path = "/provider/v1/ssh-keys", tag = "provider",
  operation_id = "RemoveSshKey",
  params(("fingerprint" = String, Query, max_length = 128, description = "The key's `SHA256:…` fingerprint")),
  responses((status = 200, description = "Removed", body = Empty),
    (status = 403, description = "Not a support engineer", body = ErrorBody),
    (status = 404, description = "The caller has no such key", body = ErrorBody)),
)]
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
