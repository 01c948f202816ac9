//! The one error type of the HTTP layer and its wire form
//! `{"error_code": "...", "error_msg": "..."}`, localised by `X-Language`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::domain::principal::Forbidden;
use crate::domain::{Language, TransitionError, ValidationError};
use crate::service::ServiceError;

/// The body of every error answer.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// e.g. `OSM.01010001` (invalid parameter) or `APIGW.0301` (authentication).
    pub error_code: &'static str,
    /// In the request's language (`X-Language`).
    pub error_msg: String,
}

#[derive(Debug, Clone)]
pub enum ApiError {
    Validation(ValidationError),
    /// 401; the reason is English and fixed (never echoes credentials).
    Unauthenticated(std::borrow::Cow<'static, str>),
    Forbidden(Forbidden),
    NotFound,
    Conflict(TransitionError),
    SessionConflict(&'static str),
    Duplicate(String),
    PayloadTooLarge(usize),
    /// 414: the request target is longer than `MAX_URI_BYTES`.
    UriTooLong,
    /// 431: the request's headers are larger than `MAX_HEADER_BYTES`.
    HeadersTooLarge,
    /// 429 with `Retry-After` in seconds.
    TooManyRequests(u64),
    /// 429 with `Retry-After` in seconds, after repeated failed credentials.
    Throttled(u64),
    RouteNotFound,
    MethodNotAllowed,
    Timeout,
    /// 503; the cause goes to the log only.
    Unavailable(String),
    /// 500; the cause goes to the log only.
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Validation(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound | ApiError::RouteNotFound => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) | ApiError::SessionConflict(_) | ApiError::Duplicate(_) => {
                StatusCode::CONFLICT
            }
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UriTooLong => StatusCode::URI_TOO_LONG,
            ApiError::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ApiError::TooManyRequests(_) | ApiError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Timeout | ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Validation(_) | ApiError::UriTooLong | ApiError::HeadersTooLarge => {
                "OSM.01010001"
            }
            ApiError::Unauthenticated(_) => "APIGW.0301",
            ApiError::Forbidden(_) => "OSM.01010002",
            ApiError::NotFound => "OSM.01010101",
            ApiError::Conflict(_) | ApiError::SessionConflict(_) | ApiError::Duplicate(_) => {
                "OSM.01010102"
            }
            ApiError::PayloadTooLarge(_) => "OSM.01010103",
            ApiError::TooManyRequests(_) | ApiError::Throttled(_) => "OSM.01010104",
            ApiError::RouteNotFound => "APIGW.0101",
            ApiError::MethodNotAllowed => "APIGW.0102",
            ApiError::Timeout | ApiError::Unavailable(_) | ApiError::Internal(_) => "OSM.01010014",
        }
    }

    pub fn message(&self, lang: Language) -> String {
        let pick = |en: &str, zh: &str| lang.pick(en, zh).to_string();
        match self {
            ApiError::Validation(e) => e.message(lang),
            ApiError::Unauthenticated(why) => {
                format!(
                    "{}: {why}",
                    lang.pick(
                        "Incorrect IAM authentication information",
                        "IAM 认证信息错误"
                    )
                )
            }
            ApiError::Forbidden(Forbidden::GroupNotUsable) => pick(
                "No operation permission: you are not an operator member of this group_id.",
                "无操作权限：您不是该 group_id 对应的工单组操作员成员。",
            ),
            ApiError::Forbidden(Forbidden::NotAnEngineer) => pick(
                "No operation permission: the provider API is for support engineers only.",
                "无操作权限：服务商接口仅供支持工程师使用。",
            ),
            ApiError::Forbidden(Forbidden::NotAProviderAdmin) => pick(
                "No operation permission: provider administrators only.",
                "无操作权限：仅限服务商管理员。",
            ),
            ApiError::Forbidden(Forbidden::NotADomainAdmin) => pick(
                "No operation permission: domain administrators only.",
                "无操作权限：仅限租户管理员。",
            ),
            ApiError::NotFound => pick(
                "The authorization, detail or session does not exist.",
                "授权、授权详情或会话不存在。",
            ),
            ApiError::Conflict(e) => e.message(lang),
            ApiError::SessionConflict(why) => format!(
                "{}: {why}.",
                lang.pick("Not allowed now", "当前不允许该操作")
            ),
            ApiError::Duplicate(what) => {
                format!("{} {what}", lang.pick("Already exists:", "已存在："))
            }
            ApiError::PayloadTooLarge(limit) => {
                format!(
                    "{} {limit} bytes.",
                    lang.pick(
                        "The request body is larger than the limit of",
                        "请求体超过上限"
                    )
                )
            }
            ApiError::TooManyRequests(secs) => format!(
                "{} {secs} s.",
                lang.pick(
                    "Too many requests are in progress; retry after",
                    "进行中的请求过多，请稍后重试，等待"
                )
            ),
            ApiError::Throttled(secs) => format!(
                "{} {secs} s.",
                lang.pick(
                    "Too many failed authentication attempts; retry after",
                    "认证失败次数过多，请稍后重试，等待"
                )
            ),
            ApiError::UriTooLong => pick("The request URI is too long.", "请求 URI 过长。"),
            ApiError::HeadersTooLarge => pick("The request headers are too large.", "请求头过大。"),
            ApiError::RouteNotFound => pick("The API does not exist.", "API 不存在。"),
            ApiError::MethodNotAllowed => pick(
                "The API does not support this HTTP method.",
                "API 不支持该 HTTP 方法。",
            ),
            ApiError::Timeout => pick(
                "Operation failed: the request timed out.",
                "操作失败：请求超时。",
            ),
            ApiError::Unavailable(_) => pick(
                "Operation failed: the service is temporarily unavailable, please retry.",
                "操作失败：服务暂不可用，请重试。",
            ),
            ApiError::Internal(_) => pick("Operation failed.", "操作失败。"),
        }
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        ApiError::Validation(e)
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid(v) => ApiError::Validation(v),
            ServiceError::Unauthenticated(why) => ApiError::Unauthenticated(why),
            ServiceError::Forbidden(f) => ApiError::Forbidden(f),
            ServiceError::NotFound | ServiceError::Missing(_) => ApiError::NotFound,
            ServiceError::Conflict(t) => ApiError::Conflict(t),
            ServiceError::SessionConflict(why) => ApiError::SessionConflict(why),
            ServiceError::Duplicate(what) => ApiError::Duplicate(what),
            ServiceError::Busy { retry_after_secs } => ApiError::TooManyRequests(retry_after_secs),
            ServiceError::Throttled { retry_after_secs } => ApiError::Throttled(retry_after_secs),
            ServiceError::Unavailable(why) => ApiError::Unavailable(why),
            ServiceError::Internal(why) => ApiError::Internal(why),
        }
    }
}

/// Rendering needs the request's language, which only the envelope middleware has; the
/// error travels to it in the response extensions.
impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = self.status().into_response();
        response.extensions_mut().insert(self);
        response
    }
}
