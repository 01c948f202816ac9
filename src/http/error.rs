//! The one error type of the HTTP layer and its wire form
//! `{"error_code": "...", "error_msg": "..."}`, localised by `X-Language`.
//!
//! An [`ApiError`] holds only what is HTTP's own: a status, an error code, the message
//! in each language and perhaps a `Retry-After`. It is made by one mapping from the
//! service's [`ServiceError`] (`From`), or by the HTTP layer's own refusals (oversized
//! requests, unknown routes, timeouts). What failed beneath a 5xx travels along, for the
//! log only.

use std::borrow::Cow;
use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::domain::principal::Forbidden;
use crate::domain::{Language, ValidationError};
use crate::service::ServiceError;
use crate::store::StoreError;

/// How long a client should wait after a 503 before retrying.
const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 1;

const INVALID: &str = "OSM.01010001";
const UNAUTHENTICATED: &str = "APIGW.0301";
const FORBIDDEN: &str = "OSM.01010002";
const NOT_FOUND: &str = "OSM.01010101";
const CONFLICT: &str = "OSM.01010102";
const TOO_LARGE: &str = "OSM.01010103";
const TOO_MANY: &str = "OSM.01010104";
const IDEMPOTENCY_KEY_REUSED: &str = "OSM.01010105";
const FAILED: &str = "OSM.01010014";

#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    en: Cow<'static, str>,
    zh: Cow<'static, str>,
    retry_after: Option<u64>,
    /// What failed beneath a 5xx: logged with its causes, never sent.
    cause: Option<Arc<ServiceError>>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Fn(Language) -> String) -> Self {
        ApiError {
            status,
            code,
            en: message(Language::En).into(),
            zh: message(Language::Zh).into(),
            retry_after: None,
            cause: None,
        }
    }

    fn fixed(status: StatusCode, code: &'static str, en: &'static str, zh: &'static str) -> Self {
        ApiError {
            status,
            code,
            en: en.into(),
            zh: zh.into(),
            retry_after: None,
            cause: None,
        }
    }

    fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    /// 413: the body is larger than `limit` bytes.
    pub fn payload_too_large(limit: usize) -> Self {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, TOO_LARGE, |lang| {
            format!(
                "{} {limit} bytes.",
                lang.pick(
                    "The request body is larger than the limit of",
                    "请求体超过上限"
                )
            )
        })
    }

    /// 414: the request target is too long.
    pub fn uri_too_long() -> Self {
        ApiError::fixed(
            StatusCode::URI_TOO_LONG,
            INVALID,
            "The request URI is too long.",
            "请求 URI 过长。",
        )
    }

    /// 431: the request's headers are too large.
    pub fn headers_too_large() -> Self {
        ApiError::fixed(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            INVALID,
            "The request headers are too large.",
            "请求头过大。",
        )
    }

    pub fn route_not_found() -> Self {
        ApiError::fixed(
            StatusCode::NOT_FOUND,
            "APIGW.0101",
            "The API does not exist.",
            "API 不存在。",
        )
    }

    pub fn method_not_allowed() -> Self {
        ApiError::fixed(
            StatusCode::METHOD_NOT_ALLOWED,
            "APIGW.0102",
            "The API does not support this HTTP method.",
            "API 不支持该 HTTP 方法。",
        )
    }

    /// 503: the request took longer than `request_timeout`.
    pub fn timeout() -> Self {
        ApiError::fixed(
            StatusCode::SERVICE_UNAVAILABLE,
            FAILED,
            "Operation failed: the request timed out.",
            "操作失败：请求超时。",
        )
        .retry_after(UNAVAILABLE_RETRY_AFTER_SECS)
    }

    /// 503 for whatever keeps the service from serving (the readiness probe).
    pub fn not_ready(cause: ServiceError) -> Self {
        ApiError::unavailable().caused_by(cause)
    }

    fn unavailable() -> Self {
        ApiError::fixed(
            StatusCode::SERVICE_UNAVAILABLE,
            FAILED,
            "Operation failed: the service is temporarily unavailable, please retry.",
            "操作失败：服务暂不可用，请重试。",
        )
        .retry_after(UNAVAILABLE_RETRY_AFTER_SECS)
    }

    fn internal() -> Self {
        ApiError::fixed(
            StatusCode::INTERNAL_SERVER_ERROR,
            FAILED,
            "Operation failed.",
            "操作失败。",
        )
    }

    fn caused_by(mut self, cause: ServiceError) -> Self {
        self.cause = Some(Arc::new(cause));
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    pub fn message(&self, lang: Language) -> &str {
        lang.pick(&self.en, &self.zh)
    }

    /// Seconds for `Retry-After`, when waiting is worth it.
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after
    }

    /// What failed beneath a 5xx, for the log.
    pub fn cause(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

fn forbidden(f: Forbidden) -> ApiError {
    let (en, zh) = match f {
        Forbidden::GroupNotUsable => (
            "No operation permission: you are not an operator member of this group_id.",
            "无操作权限：您不是该 group_id 对应的工单组操作员成员。",
        ),
        Forbidden::NotAnEngineer => (
            "No operation permission: the provider API is for support engineers only.",
            "无操作权限：服务商接口仅供支持工程师使用。",
        ),
        Forbidden::NotAProviderAdmin => (
            "No operation permission: provider administrators only.",
            "无操作权限：仅限服务商管理员。",
        ),
        Forbidden::NotADomainAdmin => (
            "No operation permission: domain administrators only.",
            "无操作权限：仅限租户管理员。",
        ),
    };
    ApiError::fixed(StatusCode::FORBIDDEN, FORBIDDEN, en, zh)
}

fn duplicate(what: &str) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, CONFLICT, |lang| {
        format!("{} {what}", lang.pick("Already exists:", "已存在："))
    })
}

fn too_many(secs: u64, en: &'static str, zh: &'static str) -> ApiError {
    ApiError::new(StatusCode::TOO_MANY_REQUESTS, TOO_MANY, |lang| {
        format!("{} {secs} s.", lang.pick(en, zh))
    })
    .retry_after(secs)
}

/// The one mapping from the service's errors to the wire.
impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match &e {
            ServiceError::Invalid(v) => {
                ApiError::new(StatusCode::BAD_REQUEST, INVALID, |lang| v.message(lang))
            }
            ServiceError::Unauthenticated(why) => {
                ApiError::new(StatusCode::UNAUTHORIZED, UNAUTHENTICATED, |lang| {
                    format!(
                        "{}: {why}",
                        lang.pick(
                            "Incorrect IAM authentication information",
                            "IAM 认证信息错误"
                        )
                    )
                })
            }
            ServiceError::Forbidden(f) => forbidden(*f),
            ServiceError::NotFound
            | ServiceError::Missing(_)
            | ServiceError::Store(StoreError::NotFound) => ApiError::fixed(
                StatusCode::NOT_FOUND,
                NOT_FOUND,
                "The authorization, detail or session does not exist.",
                "授权、授权详情或会话不存在。",
            ),
            ServiceError::Conflict(t) | ServiceError::Store(StoreError::Transition(t)) => {
                ApiError::new(StatusCode::CONFLICT, CONFLICT, |lang| t.message(lang))
            }
            ServiceError::SessionConflict(why) => session_conflict(why),
            ServiceError::Store(StoreError::Session(why)) => session_conflict(why.message()),
            ServiceError::Duplicate(what) => duplicate(what),
            ServiceError::Store(StoreError::Duplicate(cause)) => duplicate(&cause.to_string()),
            ServiceError::IdempotencyKeyReused => ApiError::fixed(
                StatusCode::UNPROCESSABLE_ENTITY,
                IDEMPOTENCY_KEY_REUSED,
                "The Idempotency-Key was already used with a different request (method, path or body); use a new key for a new request.",
                "该 Idempotency-Key 已用于另一个不同的请求（方法、路径或请求体不同）；新请求请使用新的键。",
            ),
            ServiceError::Busy { retry_after_secs } => too_many(
                *retry_after_secs,
                "Too many requests are in progress; retry after",
                "进行中的请求过多，请稍后重试，等待",
            ),
            ServiceError::Throttled { retry_after_secs } => too_many(
                *retry_after_secs,
                "Too many failed authentication attempts; retry after",
                "认证失败次数过多，请稍后重试，等待",
            ),
            ServiceError::Store(StoreError::Unavailable(_)) => ApiError::unavailable().caused_by(e),
            ServiceError::Store(StoreError::Internal(_)) | ServiceError::Internal { .. } => {
                ApiError::internal().caused_by(e)
            }
        }
    }
}

fn session_conflict(why: &str) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, CONFLICT, |lang| {
        format!(
            "{}: {why}.",
            lang.pick("Not allowed now", "当前不允许该操作")
        )
    })
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        ServiceError::Invalid(e).into()
    }
}

impl From<Forbidden> for ApiError {
    fn from(f: Forbidden) -> Self {
        ServiceError::Forbidden(f).into()
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
