//! Extractors that turn raw requests into validated values, refusing bad input with
//! the API's error body instead of axum's plain-text rejections.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use jiff::tz::TimeZone;
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_path_to_error::{Path, Segment};

use super::error::ApiError;
use crate::domain::ids::parse_long_id;
use crate::domain::time::parse_time_zone;
use crate::domain::validation::{Rule, ValidationError, parse_int, text};
use crate::domain::{AuthorizationId, DetailId, Language, Principal, SessionId};
use crate::service::{ServiceError, SessionPath};
use crate::store::{Order, Page};

/// The optional headers every customer operation takes (docs/API.md, Common rules).
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub lang: Language,
    pub tz: TimeZone,
    pub site: i32,
}

fn header<'a>(parts: &'a Parts, name: &'static str) -> Result<Option<&'a str>, ApiError> {
    match parts.headers.get(name) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .map(Some)
            .map_err(|_| ValidationError::new(name, Rule::Length { min: 1, max: 32 }).into()),
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestContext {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        // The envelope negotiated it; an explicit `X-Language` is validated here.
        let lang = match header(parts, "x-language")? {
            Some(value) => Language::from_header(value)?,
            None => parts
                .extensions
                .get::<Language>()
                .copied()
                .unwrap_or_default(),
        };
        let tz = parse_time_zone(header(parts, "x-time-zone")?)?;
        let site = match header(parts, "x-site")? {
            None => 0,
            Some(raw) => parse_int("X-Site", raw, 0, 1)? as i32,
        };
        Ok(RequestContext { lang, tz, site })
    }
}

/// The authenticated caller, put there by the authentication middleware.
pub struct Caller(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .map(Caller)
            .ok_or_else(|| {
                ServiceError::Unauthenticated("no credentials were presented".into()).into()
            })
    }
}

/// The address the request came from (the TCP peer: a proxy's `X-Forwarded-For` is
/// not trusted), for throttling.
pub struct Source(pub std::net::IpAddr);

impl Source {
    pub fn of(extensions: &axum::http::Extensions) -> Source {
        use axum::extract::ConnectInfo;
        Source(
            extensions
                .get::<ConnectInfo<std::net::SocketAddr>>()
                .map_or(std::net::Ipv4Addr::UNSPECIFIED.into(), |c| c.0.ip()),
        )
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Source {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Source::of(&parts.extensions))
    }
}

/// Query parameters, read by name with per-field validation. Unknown ones are ignored.
pub struct QueryParams(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(pairs) = Query::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(|_| ValidationError::new("query string", Rule::Malformed))?;
        Ok(QueryParams(pairs))
    }
}

impl QueryParams {
    fn raw(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// An optional string of `min..=max` characters; empty counts as absent when allowed.
    pub fn text(&self, name: &str, min: usize, max: usize) -> Result<Option<String>, ApiError> {
        let Some(v) = self.raw(name) else {
            return Ok(None);
        };
        if v.is_empty() && min == 0 {
            return Ok(None);
        }
        text(name, v, min, max)?;
        Ok(Some(v.to_owned()))
    }

    /// An optional integer in `min..=max`.
    pub fn int(&self, name: &str, min: i64, max: i64) -> Result<Option<i64>, ApiError> {
        self.raw(name)
            .map(|v| parse_int(name, v, min, max).map_err(ApiError::from))
            .transpose()
    }

    /// `offset` 0..65535 (default 0) and `limit` 1..100 (default 10).
    pub fn page(&self) -> Result<Page, ApiError> {
        Ok(Page {
            offset: self.int("offset", 0, 65_535)?.unwrap_or(0) as u32,
            limit: self.int("limit", 1, 100)?.unwrap_or(10) as u32,
        })
    }

    /// `sort`: 0 newest first (default), 1 oldest first.
    pub fn order(&self) -> Result<Order, ApiError> {
        Ok(match self.int("sort", 0, 1)? {
            Some(1) => Order::OldestFirst,
            _ => Order::NewestFirst,
        })
    }
}

/// A detail id from the path: non-numeric is a validation error naming `field`.
pub fn detail_id(field: &str, raw: &str) -> Result<Option<DetailId>, ApiError> {
    Ok(parse_long_id(field, raw)?.map(DetailId))
}

/// The three ids that address a session; `detail` is (field name, raw value).
pub fn session_path(
    auth: &str,
    detail: (&str, &str),
    session: &str,
) -> Result<SessionPath, ApiError> {
    Ok(SessionPath {
        authorization_id: AuthorizationId::parse(auth)?,
        detail_id: detail_id(detail.0, detail.1)?,
        session_id: parse_long_id("session_id", session)?.map(SessionId),
    })
}

/// A JSON body. An empty body reads as `{}`; syntax errors, wrong member types and
/// oversize bodies are refused with the field named.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                // The envelope knows the configured limit and says it.
                ApiError::payload_too_large(0)
            } else {
                ApiError::from(ValidationError::new("body", Rule::InvalidJson))
            }
        })?;
        Ok(JsonBody(parse_json(&bytes)?))
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ValidationError> {
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    let invalid_json = || ValidationError::new("body", Rule::InvalidJson);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        // A syntax error is the body's fault wherever the parser stopped; a type error
        // belongs to the member it was found in.
        if !e.inner().is_data() {
            return invalid_json();
        }
        let Ok(body) = serde_json::from_slice::<Value>(bytes) else {
            return invalid_json();
        };
        let field = match e.path().iter().next() {
            None => "body".to_string(),
            Some(_) => e.path().to_string(),
        };
        let expected = expected_at::<T>(&body, e.path());
        ValidationError::new(field, Rule::WrongType { expected })
    })?;
    de.end().map_err(|_| invalid_json())?;
    Ok(value)
}

/// The JSON type `T` takes at `path` of `body`: the first sample value that, put
/// there, moves the error away from `path` (or ends it). Asked of the type itself, not
/// read out of serde's message.
fn expected_at<T: DeserializeOwned>(body: &Value, path: &Path) -> &'static str {
    let samples: [(&'static str, Value); 5] = [
        ("integer", Value::from(0)),
        ("string", Value::from("")),
        ("array", Value::Array(Vec::new())),
        ("boolean", Value::Bool(true)),
        ("object", Value::Object(serde_json::Map::new())),
    ];
    for (name, sample) in samples {
        let mut probe = body.clone();
        let Some(slot) = member_mut(&mut probe, path) else {
            break;
        };
        *slot = sample;
        match serde_path_to_error::deserialize::<_, T>(&probe) {
            Ok(_) => return name,
            Err(e) if e.path().to_string() != path.to_string() => return name,
            Err(_) => {}
        }
    }
    "object"
}

/// The member of `value` at `path`, if the path leads to one.
fn member_mut<'v>(value: &'v mut Value, path: &Path) -> Option<&'v mut Value> {
    path.iter().try_fold(value, |v, segment| match segment {
        Segment::Seq { index } => v.get_mut(*index),
        Segment::Map { key } => v.get_mut(key.as_str()),
        Segment::Enum { .. } | Segment::Unknown => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Body {
        port: Option<i64>,
        items: Option<Vec<Item>>,
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Item {
        name: Option<String>,
    }

    fn field_of(json: &str) -> (String, Rule) {
        match parse_json::<Body>(json.as_bytes()) {
            Err(v) => (v.field, v.rule),
            other => panic!("{json}: {other:?}"),
        }
    }

    #[test]
    fn wrong_types_name_the_member() {
        assert_eq!(
            field_of(r#"{"port": "22"}"#),
            (
                "port".into(),
                Rule::WrongType {
                    expected: "integer"
                }
            )
        );
        assert_eq!(
            field_of(r#"{"items": [{"name": 5}]}"#),
            (
                "items[0].name".into(),
                Rule::WrongType { expected: "string" }
            )
        );
        assert_eq!(
            field_of(r#"{"items": "x"}"#),
            ("items".into(), Rule::WrongType { expected: "array" })
        );
        assert_eq!(
            field_of(r#"{"items": [{"name": {}}], "port": 1}"#),
            (
                "items[0].name".into(),
                Rule::WrongType { expected: "string" }
            )
        );
        assert_eq!(
            field_of(r#"[1]"#),
            ("body".into(), Rule::WrongType { expected: "object" })
        );
    }

    #[test]
    fn syntax_errors_and_trailing_garbage_are_invalid_json() {
        assert_eq!(field_of(r#"{"port": 2"#).1, Rule::InvalidJson);
        assert_eq!(field_of(r#"{} {}"#).1, Rule::InvalidJson);
    }

    #[test]
    fn empty_bodies_and_unknown_members_are_fine() {
        assert!(parse_json::<Body>(b"").is_ok());
        assert!(parse_json::<Body>(br#"{"other": 1}"#).is_ok());
    }
}
