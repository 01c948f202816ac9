//! Customer API handlers (`/v2/servicerequest`): extract, call the service, shape the reply.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};

use super::error::ApiError;
use super::input::{self, Caller, JsonBody, QueryParams, RequestContext};
use super::wire::*;
use crate::domain::validation::{Rule, ValidationError, optional_text};
use crate::domain::{Action, AuthorizationId, DetailId};
use crate::service::App;
use crate::service::SessionPath;
use crate::store::ListFilter;

type ApiResult<T> = Result<Json<T>, ApiError>;

/// Huawei's name for the detail id in paths.
const DETAIL: &str = "authorization_detail_id";

fn detail_id(raw: &str) -> Result<Option<DetailId>, ApiError> {
    input::detail_id(DETAIL, raw)
}

fn session_path(auth: &str, detail: &str, session: &str) -> Result<SessionPath, ApiError> {
    input::session_path(auth, (DETAIL, detail), session)
}

/// `group_id` as a query parameter: 0..64, empty meaning none.
fn query_group(q: &QueryParams) -> Result<Option<String>, ApiError> {
    q.text("group_id", 0, 64)
}

pub async fn list_authorizations(
    State(app): State<Arc<App>>,
    ctx: RequestContext,
    Caller(p): Caller,
    q: QueryParams,
) -> ApiResult<ListAuthorizationsResponse> {
    let status = q.int("status", -1, 10)?.filter(|s| *s != -1);
    let filter = ListFilter {
        sub_customer_name: q.text("sub_customer_name", 0, 64)?,
        incident_id: q.text("incident_id", 0, 64)?,
        status,
        simple_description: q.text("simple_description", 0, 2000)?,
        page: q.page()?,
    };
    let (count, rows) = app
        .list_authorizations(&p, query_group(&q)?.as_deref(), &filter)
        .await?;
    let incident_auth_list = rows
        .into_iter()
        .map(|a| IncidentOrderAuthV2::new(a, ctx.lang))
        .collect();
    Ok(Json(ListAuthorizationsResponse {
        count,
        incident_auth_list,
    }))
}

pub async fn show_authorization(
    State(app): State<Arc<App>>,
    ctx: RequestContext,
    Caller(p): Caller,
    Path(id): Path<String>,
    q: QueryParams,
) -> ApiResult<AuthorizationDetailResponse> {
    let id = AuthorizationId::parse(&id)?;
    let group = q.text("group_id", 1, 64)?;
    let auth = app.show_authorization(&p, group.as_deref(), id).await?;
    Ok(Json(AuthorizationDetailResponse::new(auth, ctx.lang)))
}

pub async fn confirm(
    State(app): State<Arc<App>>,
    _ctx: RequestContext,
    Caller(p): Caller,
    Path(id): Path<String>,
    q: QueryParams,
    JsonBody(body): JsonBody<ConfirmBody>,
) -> ApiResult<Empty> {
    let id = AuthorizationId::parse(&id)?;
    optional_text("group_id", body.group_id.as_deref(), 0, 64)?;
    // Huawei's own example passes group_id in the query string; the SDKs use the body.
    let group = body
        .group_id
        .clone()
        .filter(|g| !g.is_empty())
        .or(query_group(&q)?);
    app.confirm(&p, group.as_deref(), id, body.into_input())
        .await?;
    Ok(Json(Empty {}))
}

pub async fn update(
    State(app): State<Arc<App>>,
    _ctx: RequestContext,
    Caller(p): Caller,
    Path(id): Path<String>,
    q: QueryParams,
    JsonBody(body): JsonBody<ActionBody>,
) -> ApiResult<Empty> {
    let id = AuthorizationId::parse(&id)?;
    const ACTIONS: &[&str] = &["reject", "cancel"];
    let action = match q.text("action_id", 0, 16)?.as_deref() {
        Some("reject") => Action::Reject,
        Some("cancel") => Action::Cancel,
        Some(_) => return Err(ValidationError::new("action_id", Rule::OneOf(ACTIONS)).into()),
        None => return Err(ValidationError::new("action_id", Rule::Required).into()),
    };
    optional_text("group_id", body.group_id.as_deref(), 1, 64)?;
    app.reject_or_cancel(&p, body.group_id.as_deref(), id, action, body.reject_reason)
        .await?;
    Ok(Json(Empty {}))
}

/// CheckHosts: a real SSH login; its outcome is a 200 body, not an HTTP error.
pub async fn check_hosts(
    State(app): State<Arc<App>>,
    ctx: RequestContext,
    Caller(p): Caller,
    Path(detail): Path<String>,
    JsonBody(body): JsonBody<VerifyHostBody>,
) -> ApiResult<CheckHostsResponse> {
    let detail = detail_id(&detail)?;
    optional_text("group_id", body.group_id.as_deref(), 0, 64)?;
    let group = body.group_id.clone().filter(|g| !g.is_empty());
    let outcome = app
        .check_host(&p, group.as_deref(), detail, body.into_input())
        .await?;
    Ok(Json(CheckHostsResponse::new(outcome, ctx.lang)))
}

pub async fn list_sessions(
    State(app): State<Arc<App>>,
    ctx: RequestContext,
    Caller(p): Caller,
    Path((id, detail)): Path<(String, String)>,
    q: QueryParams,
) -> ApiResult<ListHistorySessionsResponse> {
    let (id, detail) = (AuthorizationId::parse(&id)?, detail_id(&detail)?);
    let page = q.page()?;
    let (total_count, sessions) = app
        .list_sessions(&p, query_group(&q)?.as_deref(), id, detail, page)
        .await?;
    let now = app.clock.now();
    let session_list = sessions
        .into_iter()
        .map(|s| OperateHistorySession::new(s, &ctx.tz, now))
        .collect();
    Ok(Json(ListHistorySessionsResponse {
        total_count,
        session_list,
    }))
}

pub async fn list_operations(
    State(app): State<Arc<App>>,
    ctx: RequestContext,
    Caller(p): Caller,
    Path((id, detail, session)): Path<(String, String, String)>,
    q: QueryParams,
) -> ApiResult<ListHistoryOperateLogsResponse> {
    let path = session_path(&id, &detail, &session)?;
    let (order, page) = (q.order()?, q.page()?);
    let (total_count, ops) = app
        .list_operations(&p, query_group(&q)?.as_deref(), path, order, page)
        .await?;
    let ops_list = ops
        .into_iter()
        .map(|o| OperateLog::new(o, &ctx.tz))
        .collect();
    Ok(Json(ListHistoryOperateLogsResponse {
        total_count,
        ops_list,
    }))
}

pub async fn list_file_transfers(
    State(app): State<Arc<App>>,
    ctx: RequestContext,
    Caller(p): Caller,
    Path((id, detail, session)): Path<(String, String, String)>,
    q: QueryParams,
) -> ApiResult<ListTransportHistoriesResponse> {
    let path = session_path(&id, &detail, &session)?;
    let (order, page) = (q.order()?, q.page()?);
    let (total_count, items) = app
        .list_file_transfers(&p, query_group(&q)?.as_deref(), path, order, page)
        .await?;
    let file_ops_list = items
        .into_iter()
        .map(|t| FileOperateLog::new(t, &ctx.tz))
        .collect();
    Ok(Json(ListTransportHistoriesResponse {
        total_count,
        file_ops_list,
    }))
}

pub async fn login_type(_ctx: RequestContext, Caller(p): Caller) -> ApiResult<LoginTypeResponse> {
    Ok(Json(LoginTypeResponse {
        login_type: p.credential.login_type(),
    }))
}
