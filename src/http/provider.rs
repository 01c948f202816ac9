//! Provider API handlers (`/provider/v1`): the engineer's side.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::error::ApiError;
use super::input::{self, Caller, JsonBody, QueryParams, RequestContext};
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

pub async fn show(
    State(app): State<Arc<App>>,
    ctx: RequestContext,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> Result<Json<ProviderAuthorization>, ApiError> {
    let auth = app.provider_show(&p, AuthorizationId::parse(&id)?).await?;
    Ok(Json(ProviderAuthorization::new(auth, ctx.lang, true)))
}

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

pub async fn close_session(
    State(app): State<Arc<App>>,
    Caller(p): Caller,
    Path((id, detail, session)): Path<(String, String, String)>,
) -> Result<Json<Empty>, ApiError> {
    app.close_session(&p, session_path(&id, &detail, &session)?)
        .await?;
    Ok(Json(Empty {}))
}

/// Unpins a detail's host key after the host's key really changed (provider admins).
pub async fn reset_host_key(
    State(app): State<Arc<App>>,
    Caller(p): Caller,
    Path((id, detail)): Path<(String, String)>,
) -> Result<Json<Empty>, ApiError> {
    app.reset_host_key(&p, AuthorizationId::parse(&id)?, detail_id(&detail)?)
        .await?;
    Ok(Json(Empty {}))
}
