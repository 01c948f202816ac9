//! The parameters many operations share, described once for the OpenAPI document.
//!
//! Handlers do not extract these structs: they read paths, queries and headers
//! through `input` so that every malformed value gets the API's own error body. These
//! types exist for `#[utoipa::path(params(...))]` only, hence never constructed.
#![allow(dead_code)]

use utoipa::IntoParams;

/// `{authorization_id}` in the path.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AuthorizationIdPath {
    /// The authorization's id
    authorization_id: String,
}

/// `{authorization_detail_id}` in the path (the customer API's name).
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AuthorizationDetailIdPath {
    /// The authorization detail's id (a decimal number)
    authorization_detail_id: String,
}

/// `{detail_id}` in the path (the provider API's name).
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DetailIdPath {
    /// The detail's id (a decimal number)
    detail_id: String,
}

/// `{session_id}` in the path.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SessionIdPath {
    /// The session's id (a decimal number)
    session_id: String,
}

/// `group_id` in the query.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GroupQuery {
    /// A ticket group the caller operates: widens the view to the group's tickets
    group_id: Option<String>,
}

/// `offset` and `limit` in the query.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Rows to skip (default 0)
    #[param(maximum = 65535)]
    offset: Option<u32>,
    /// Rows to return (default 10)
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
}

/// `sort` in the query.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SortQuery {
    /// 0 newest first (default), 1 oldest first
    #[param(maximum = 1)]
    sort: Option<u8>,
}

/// The `X-Language` header.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub struct LanguageHeader {
    /// `zh-cn` or `en-us`: the language of names and error messages
    #[param(rename = "X-Language")]
    language: Option<String>,
}

/// The `X-Time-Zone` header.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub struct TimeZoneHeader {
    /// IANA zone (or UTC offset) in which wall-clock times are shown
    #[param(rename = "X-Time-Zone")]
    time_zone: Option<String>,
}

/// The `Idempotency-Key` header of the provider's retryable writes.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyKeyHeader {
    /// A client-chosen key (at most 255 printable characters): a retry with the same key and body answers the first result again for 24 hours
    #[param(rename = "Idempotency-Key")]
    idempotency_key: Option<String>,
}
