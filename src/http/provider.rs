//! Provider API handlers (`/provider/v1`): the engineer's side.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::error::{ApiError, ErrorBody};
use super::input::{self, Caller, JsonBody, QueryParams, RequestContext};
use super::params::{
    AuthorizationIdPath, DetailIdPath, IdempotencyKeyHeader, LanguageHeader, PageQuery,
    SessionIdPath,
};
use super::wire::*;
use crate::domain::validation::{Rule, ValidationError};
use crate::domain::{AuthorizationId, DetailId};
use crate::service::App;
use crate::service::SessionPath;
use crate::store::ListFilter;

fn detail_id(raw: &str) -> Result<Option<DetailId>, ApiError> {
    input::detail_id("detail_id", raw)
}

fn session_path(id: &str, detail: &str, session: &str) -> Result<SessionPath, ApiError> {
    input::session_path(id, ("detail_id", detail), session)
}

fn required<T>(field: &str, value: Option<T>) -> Result<T, ApiError> {
    value.ok_or_else(|| ValidationError::new(field, Rule::Required).into())
}

/// Raise an authorization request for a customer to review.
#[utoipa::path(post, path = "/provider/v1/authorizations", tag = "provider",
  operation_id = "RaiseAuthorization",
  params(
    IdempotencyKeyHeader,
    ("X-Site" = Option<u8>, Header, maximum = 1, description = "0 (default) or 1"),
    LanguageHeader,
  ),
  request_body = RaiseBody,
  responses((status = 201, description = "Raised, pending the customer's decision", body = ProviderAuthorization),
    (status = 403, description = "Not a support engineer", body = ErrorBody),
    (status = 409, description = "A duplicate", body = ErrorBody),
    (status = 422, description = "The Idempotency-Key was used with another request", body = ErrorBody)),
)]
pub async fn raise(
    State(app): State<Arc<App>>,
    ctx: RequestContext,
    Caller(p): Caller,
    JsonBody(body): JsonBody<RaiseBody>,
) -> Result<(StatusCode, Json<ProviderAuthorization>), ApiError> {
    let auth = app.raise(&p, body.into(), ctx.site).await?;
    Ok((
        StatusCode::CREATED,
        Json(ProviderAuthorization::new(auth, ctx.lang, true)),
    ))
}

/// The caller's authorization requests (all of them for provider administrators).
#[utoipa::path(get, path = "/provider/v1/authorizations", tag = "provider",
  operation_id = "ListRaisedAuthorizations",
  params(
    ("incident_id" = Option<String>, Query, max_length = 64, description = "Only this incident's"),
    ("status" = Option<i32>, Query, minimum = -1, maximum = 10, description = "Only this status (-1: any)"),
    PageQuery,
    LanguageHeader,
  ),
  responses((status = 200, description = "A page of authorizations (without details)", body = ProviderListResponse),
    (status = 403, description = "Not a support engineer", body = ErrorBody)),
)]
pub async fn list(
    State(app): State<Arc<App>>,
    ctx: RequestContext,
    Caller(p): Caller,
    q: QueryParams,
) -> Result<Json<ProviderListResponse>, ApiError> {
    let filter = ListFilter {
        sub_customer_name: None,
        incident_id: q.text("incident_id", 0, 64)?,
        status: q.int("status", -1, 10)?.filter(|s| *s != -1),
        simple_description: None,
        page: q.page()?,
    };
    let (count, rows) = app.provider_list(&p, &filter).await?;
    let authorizations = rows
        .into_iter()
        .map(|a| ProviderAuthorization::new(a, ctx.lang, false))
        .collect();
    Ok(Json(ProviderListResponse {
        count,
        authorizations,
    }))
}

/// One authorization request with its details.
#[utoipa::path(get, path = "/provider/v1/authorizations/{authorization_id}", tag = "provider",
  operation_id = "ShowRaisedAuthorization",
  params(
    AuthorizationIdPath,
    LanguageHeader,
  ),
  responses((status = 200, description = "The authorization", body = ProviderAuthorization),
    (status = 403, description = "Not a support engineer", body = ErrorBody),
    (status = 404, description = "No such authorization, detail or session of the caller's", body = ErrorBody)),
)]
pub async fn show(
    State(app): State<Arc<App>>,
    ctx: RequestContext,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> Result<Json<ProviderAuthorization>, ApiError> {
    let auth = app.provider_show(&p, AuthorizationId::parse(&id)?).await?;
    Ok(Json(ProviderAuthorization::new(auth, ctx.lang, true)))
}

/// Recall a pending authorization request.
#[utoipa::path(post, path = "/provider/v1/authorizations/{authorization_id}/recall", tag = "provider",
  operation_id = "RecallAuthorization",
  params(
    AuthorizationIdPath,
  ),
  request_body = RecallBody,
  responses((status = 200, description = "Recalled", body = Empty),
    (status = 403, description = "Not a support engineer", body = ErrorBody),
    (status = 404, description = "No such authorization, detail or session of the caller's", body = ErrorBody),
    (status = 409, description = "Not pending", body = ErrorBody)),
)]
pub async fn recall(
    State(app): State<Arc<App>>,
    Caller(p): Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<RecallBody>,
) -> Result<Json<Empty>, ApiError> {
    app.recall(&p, AuthorizationId::parse(&id)?, body.reason)
        .await?;
    Ok(Json(Empty {}))
}

/// Open a session on a granted detail (reported sessions; the SSH broker opens its own).
#[utoipa::path(post, path = "/provider/v1/authorizations/{authorization_id}/details/{detail_id}/sessions", tag = "provider",
  operation_id = "OpenSession",
  params(
    IdempotencyKeyHeader,
    AuthorizationIdPath,
    DetailIdPath,
  ),
  responses((status = 201, description = "Opened", body = SessionOpened),
    (status = 403, description = "Not the engineer who raised it", body = ErrorBody),
    (status = 404, description = "No such authorization, detail or session of the caller's", body = ErrorBody),
    (status = 409, description = "Outside the access window", body = ErrorBody),
    (status = 422, description = "The Idempotency-Key was used with another request", body = ErrorBody)),
)]
pub async fn open_session(
    State(app): State<Arc<App>>,
    Caller(p): Caller,
    Path((id, detail)): Path<(String, String)>,
) -> Result<(StatusCode, Json<SessionOpened>), ApiError> {
    let session = app
        .open_session(&p, AuthorizationId::parse(&id)?, detail_id(&detail)?)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(SessionOpened {
            session_id: session.0,
        }),
    ))
}

/// Append commands run in a reported session.
#[utoipa::path(post, path = "/provider/v1/authorizations/{authorization_id}/details/{detail_id}/sessions/{session_id}/operations", tag = "provider",
  operation_id = "AppendOperations",
  params(
    IdempotencyKeyHeader,
    AuthorizationIdPath,
    DetailIdPath,
    SessionIdPath,
  ),
  request_body = OperationsBody,
  responses((status = 200, description = "Appended", body = Appended),
    (status = 403, description = "Not the session's engineer", body = ErrorBody),
    (status = 404, description = "No such authorization, detail or session of the caller's", body = ErrorBody),
    (status = 409, description = "The session is closed", body = ErrorBody),
    (status = 422, description = "The Idempotency-Key was used with another request", body = ErrorBody)),
)]
pub async fn append_operations(
    State(app): State<Arc<App>>,
    Caller(p): Caller,
    Path((id, detail, session)): Path<(String, String, String)>,
    JsonBody(body): JsonBody<OperationsBody>,
) -> Result<Json<Appended>, ApiError> {
    let path = session_path(&id, &detail, &session)?;
    let items: Vec<_> = required("operations", body.operations)?
        .into_iter()
        .map(Into::into)
        .collect();
    let appended = app.append_operations(&p, path, &items).await?;
    Ok(Json(Appended { appended }))
}

/// Append file transfers made in a reported session.
#[utoipa::path(post, path = "/provider/v1/authorizations/{authorization_id}/details/{detail_id}/sessions/{session_id}/file-transfers", tag = "provider",
  operation_id = "AppendFileTransfers",
  params(
    IdempotencyKeyHeader,
    AuthorizationIdPath,
    DetailIdPath,
    SessionIdPath,
  ),
  request_body = FileTransfersBody,
  responses((status = 200, description = "Appended", body = Appended),
    (status = 403, description = "Not the session's engineer", body = ErrorBody),
    (status = 404, description = "No such authorization, detail or session of the caller's", body = ErrorBody),
    (status = 409, description = "The session is closed", body = ErrorBody),
    (status = 422, description = "The Idempotency-Key was used with another request", body = ErrorBody)),
)]
pub async fn append_file_transfers(
    State(app): State<Arc<App>>,
    Caller(p): Caller,
    Path((id, detail, session)): Path<(String, String, String)>,
    JsonBody(body): JsonBody<FileTransfersBody>,
) -> Result<Json<Appended>, ApiError> {
    let path = session_path(&id, &detail, &session)?;
    let items: Vec<_> = required("file_transfers", body.file_transfers)?
        .into_iter()
        .map(Into::into)
        .collect();
    let appended = app.append_file_transfers(&p, path, &items).await?;
    Ok(Json(Appended { appended }))
}

/// Close a reported session.
#[utoipa::path(post, path = "/provider/v1/authorizations/{authorization_id}/details/{detail_id}/sessions/{session_id}/close", tag = "provider",
  operation_id = "CloseSession",
  params(
    AuthorizationIdPath,
    DetailIdPath,
    SessionIdPath,
  ),
  responses((status = 200, description = "Closed", body = Empty),
    (status = 403, description = "Not the session's engineer", body = ErrorBody),
    (status = 404, description = "No such authorization, detail or session of the caller's", body = ErrorBody),
    (status = 409, description = "Already closed", body = ErrorBody)),
)]
pub async fn close_session(
    State(app): State<Arc<App>>,
    Caller(p): Caller,
    Path((id, detail, session)): Path<(String, String, String)>,
) -> Result<Json<Empty>, ApiError> {
    app.close_session(&p, session_path(&id, &detail, &session)?)
        .await?;
    Ok(Json(Empty {}))
}

/// Unpin a detail's host key after the host's key really changed (provider admins).
#[utoipa::path(post, path = "/provider/v1/authorizations/{authorization_id}/details/{detail_id}/host-key/reset", tag = "provider",
  operation_id = "ResetHostKey",
  params(
    AuthorizationIdPath,
    DetailIdPath,
  ),
  responses((status = 200, description = "Unpinned", body = Empty),
    (status = 403, description = "Not a provider administrator", body = ErrorBody),
    (status = 404, description = "No such authorization, detail or session of the caller's", body = ErrorBody)),
)]
pub async fn reset_host_key(
    State(app): State<Arc<App>>,
    Caller(p): Caller,
    Path((id, detail)): Path<(String, String)>,
) -> Result<Json<Empty>, ApiError> {
    app.reset_host_key(&p, AuthorizationId::parse(&id)?, detail_id(&detail)?)
        .await?;
    Ok(Json(Empty {}))
}
