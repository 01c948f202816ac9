//! Customer API handlers (`/v2/servicerequest`): extract, call the service, shape the reply.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};

use super::error::{ApiError, ErrorBody};
use super::input::{self, Caller, JsonBody, QueryParams, RequestContext};
use super::params::{
    AuthorizationDetailIdPath, AuthorizationIdPath, GroupQuery, LanguageHeader, PageQuery,
    SessionIdPath, SortQuery, TimeZoneHeader,
};
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

/// ListAuthorizations: the authorizations the caller may see, newest first.
#[utoipa::path(get, path = "/v2/servicerequest/authorizations", tag = "customer",
  operation_id = "ListAuthorizations",
  params(
    ("sub_customer_name" = Option<String>, Query, max_length = 64, description = "Only this sub-customer's"),
    ("incident_id" = Option<String>, Query, max_length = 64, description = "Only this incident's"),
    ("status" = Option<i32>, Query, minimum = -1, maximum = 10, description = "Only this status (-1: any)"),
    ("simple_description" = Option<String>, Query, max_length = 2000, description = "Description contains"),
    GroupQuery,
    PageQuery,
    LanguageHeader,
  ),
  responses((status = 200, description = "A page of authorizations", body = ListAuthorizationsResponse),
    (status = 403, description = "Not an operator of `group_id`", body = ErrorBody)),
)]
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

/// ShowAuthorizationDetail: one authorization with its details.
#[utoipa::path(get, path = "/v2/servicerequest/authorizations/{authorization_id}", tag = "customer",
  operation_id = "ShowAuthorizationDetail",
  params(
    AuthorizationIdPath,
    GroupQuery,
    LanguageHeader,
  ),
  responses((status = 200, description = "The authorization", body = AuthorizationDetailResponse),
    (status = 403, description = "Not an operator of `group_id`", body = ErrorBody),
    (status = 404, description = "No such authorization visible to the caller", body = ErrorBody)),
)]
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

/// AgreeTenantAuthorizationV2: approve an authorization.
///
/// Grants the host credentials and the access window.
#[utoipa::path(put, path = "/v2/servicerequest/authorizations/{authorization_id}", tag = "customer",
  operation_id = "AgreeTenantAuthorization",
  params(
    AuthorizationIdPath,
    GroupQuery,
    LanguageHeader,
  ),
  request_body = ConfirmBody,
  responses((status = 200, description = "Approved", body = Empty),
    (status = 403, description = "Not allowed to approve it", body = ErrorBody),
    (status = 404, description = "No such authorization visible to the caller", body = ErrorBody),
    (status = 409, description = "Not pending (already decided, expired, recalled)", body = ErrorBody)),
)]
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

/// OperateAuthorization: reject a pending authorization or cancel a granted one.
#[utoipa::path(put, path = "/v2/servicerequest/authorizations/{authorization_id}/action", tag = "customer",
  operation_id = "OperateAuthorization",
  params(
    AuthorizationIdPath,
    ("action_id" = String, Query, description = "`reject` or `cancel`"),
    LanguageHeader,
  ),
  request_body = ActionBody,
  responses((status = 200, description = "Done", body = Empty),
    (status = 403, description = "Not allowed", body = ErrorBody),
    (status = 404, description = "No such authorization visible to the caller", body = ErrorBody),
    (status = 409, description = "Not in a status that allows it", body = ErrorBody)),
)]
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

/// CheckHosts: try the credentials on the detail's host.
///
/// A real SSH password login; its outcome is the 200 body (`{}` when the login
/// succeeded), not an HTTP error.
#[utoipa::path(post, path = "/v2/servicerequest/authorizations/authorization-details/{authorization_detail_id}/verify-host", tag = "customer",
  operation_id = "CheckHosts",
  params(
    AuthorizationDetailIdPath,
    LanguageHeader,
  ),
  request_body = VerifyHostBody,
  responses((status = 200, description = "The outcome of the login", body = CheckHostsResponse),
    (status = 403, description = "Not allowed", body = ErrorBody),
    (status = 404, description = "No such detail visible to the caller", body = ErrorBody),
    (status = 409, description = "The authorization is not pending", body = ErrorBody)),
)]
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

/// ListHistorySessions: the sessions opened on one detail.
#[utoipa::path(get, path = "/v2/servicerequest/authorizations/{authorization_id}/authorization-details/{authorization_detail_id}/history-sessions", tag = "customer",
  operation_id = "ListHistorySessions",
  params(
    AuthorizationIdPath,
    AuthorizationDetailIdPath,
    GroupQuery,
    PageQuery,
    LanguageHeader,
    TimeZoneHeader,
  ),
  responses((status = 200, description = "A page of sessions", body = ListHistorySessionsResponse),
    (status = 403, description = "Not an operator of `group_id`", body = ErrorBody),
    (status = 404, description = "No such authorization or detail visible to the caller", body = ErrorBody)),
)]
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

/// ListHistoryOperateLogs: the commands run in one session.
#[utoipa::path(get, path = "/v2/servicerequest/authorizations/{authorization_id}/authorization-details/{authorization_detail_id}/sessions/{session_id}/operation-logs", tag = "customer",
  operation_id = "ListHistoryOperateLogs",
  params(
    AuthorizationIdPath,
    AuthorizationDetailIdPath,
    SessionIdPath,
    GroupQuery,
    SortQuery,
    PageQuery,
    LanguageHeader,
    TimeZoneHeader,
  ),
  responses((status = 200, description = "A page of commands", body = ListHistoryOperateLogsResponse),
    (status = 403, description = "Not an operator of `group_id`", body = ErrorBody),
    (status = 404, description = "No such session visible to the caller", body = ErrorBody)),
)]
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

/// ListTransportHistories: the files transferred in one session.
#[utoipa::path(get, path = "/v2/servicerequest/authorizations/{authorization_id}/authorization-details/{authorization_detail_id}/sessions/{session_id}/operation-file-logs", tag = "customer",
  operation_id = "ListTransportHistories",
  params(
    AuthorizationIdPath,
    AuthorizationDetailIdPath,
    SessionIdPath,
    GroupQuery,
    SortQuery,
    PageQuery,
    LanguageHeader,
    TimeZoneHeader,
  ),
  responses((status = 200, description = "A page of file transfers", body = ListTransportHistoriesResponse),
    (status = 403, description = "Not an operator of `group_id`", body = ErrorBody),
    (status = 404, description = "No such session visible to the caller", body = ErrorBody)),
)]
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

/// ShowLoginType: how the caller authenticated.
#[utoipa::path(get, path = "/v2/servicerequest/authorizations/login-type", tag = "customer",
  operation_id = "ShowLoginType",
  responses((status = 200, description = "The caller's login type", body = LoginTypeResponse)),
)]
pub async fn login_type(_ctx: RequestContext, Caller(p): Caller) -> ApiResult<LoginTypeResponse> {
    Ok(Json(LoginTypeResponse {
        login_type: p.credential.login_type(),
    }))
}
