//! Cross-cutting request handling: request ids, error rendering, timeouts, logging,
//! and authentication.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{MatchedPath, OriginalUri, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use crate::auth::sdk_signature::RawRequest;
use crate::causes::Causes;
use crate::domain::Language;
use crate::service::{App, ServiceError};

const REQUEST_ID: &str = "x-request-id";

/// Settings the envelope needs.
#[derive(Clone, Copy)]
pub struct EnvelopeConfig {
    pub request_timeout: Duration,
    pub body_limit: usize,
    /// The language of answers to requests that name none.
    pub default_language: Language,
}

/// The authenticated caller's id, handed back to the envelope on the response for the
/// log line (an id only, never a credential).
#[derive(Clone)]
struct PrincipalId(String);

/// A caller's own request id is echoed if it is of sane form; otherwise a fresh one.
fn request_id(req: &Request) -> String {
    req.headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 128
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .map(str::to_owned)
        .unwrap_or_else(crate::service::new_hex_id)
}

/// The request's language; an invalid `X-Language` counts as absent here (the handler
/// refuses it, in the language chosen without it).
fn language(req: &Request, default: Language) -> Language {
    let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    Language::negotiate(header("x-language"), header("accept-language"), default)
        .or_else(|_| Language::negotiate(None, header("accept-language"), default))
        .unwrap_or(default)
}

/// The outermost layer: every response gets `X-Request-Id`, every error its JSON body
/// in the caller's language, every request one log line.
pub async fn envelope(
    State(config): State<EnvelopeConfig>,
    mut req: Request,
    next: Next,
) -> Response {
    let id = request_id(&req);
    let lang = language(&req, config.default_language);
    req.extensions_mut().insert(lang);
    let method = req.method().clone();
    let started = Instant::now();

    let mut response = match refused_before_reading(&req, config) {
        Some(error) => error.into_response(),
        None => match tokio::time::timeout(config.request_timeout, next.run(req)).await {
            Ok(response) => response,
            Err(_) => ApiError::timeout().into_response(),
        },
    };
    // Taken before an error is rendered into a fresh response.
    let route = response.extensions_mut().remove::<MatchedPath>();
    let principal = response.extensions_mut().remove::<PrincipalId>();
    if let Some(error) = response.extensions_mut().remove::<ApiError>() {
        response = render(&error, lang, config, &id);
    } else if response.status() == StatusCode::METHOD_NOT_ALLOWED {
        response = render(&ApiError::method_not_allowed(), lang, config, &id);
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    // Answers carry credentials and customers' data: never cached, never sniffed. (The
    // console's content-hashed static files say otherwise themselves.)
    let headers = response.headers_mut();
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let status = response.status().as_u16();
    let latency_ms = format!("{:.3}", started.elapsed().as_secs_f64() * 1000.0);
    let route = route.as_ref().map_or("(unmatched)", |m| m.as_str());
    let principal = principal.as_ref().map_or("-", |p| p.0.as_str());
    tracing::info!(request_id = %id, %method, %route, status, %latency_ms, %principal, "request");
    crate::telemetry::http_request(route, method.as_str(), status, started.elapsed());
    response
}

/// Longer request targets are answered 414, larger header sections 431, both with the
/// error body (hyper's own, higher limits answer without one).
const MAX_URI_BYTES: usize = 8 * 1024;
const MAX_HEADER_BYTES: usize = 32 * 1024;

/// What can be refused from the head alone: an oversized target or header section, or a
/// body declared larger than the limit (413 before a byte of it is read).
fn refused_before_reading(req: &Request, config: EnvelopeConfig) -> Option<ApiError> {
    if req.uri().to_string().len() > MAX_URI_BYTES {
        return Some(ApiError::uri_too_long());
    }
    let header_bytes: usize = req
        .headers()
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len() + 4)
        .sum();
    if header_bytes > MAX_HEADER_BYTES {
        return Some(ApiError::headers_too_large());
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(length) if length > config.body_limit as u64 => {
            Some(ApiError::payload_too_large(config.body_limit))
        }
        _ => None,
    }
}

fn render(error: &ApiError, lang: Language, config: EnvelopeConfig, request_id: &str) -> Response {
    if let Some(cause) = error.cause() {
        tracing::error!(request_id, cause = %Causes(cause), code = error.code(), "request failed");
    }
    // Extractors refuse an oversized body without knowing the configured limit.
    let error = if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::payload_too_large(config.body_limit)
    } else {
        error.clone()
    };
    let body = super::error::ErrorBody {
        error_code: error.code(),
        error_msg: error.message(lang).to_owned(),
    };
    let body = serde_json::to_string(&body).unwrap_or_default();
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = error.status();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    // Passing conditions: say when to come back.
    if let Some(secs) = error.retry_after_secs() {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// Routing happens inside the envelope, so the matched route template is handed back
/// to it on the response, for the log line.
pub async fn tag_route(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().cloned();
    let mut response = next.run(req).await;
    if let Some(route) = route {
        response.extensions_mut().insert(route);
    }
    response
}

/// What authentication needs: the service, and how much body a signed request may carry.
#[derive(Clone)]
pub struct AuthState {
    pub app: Arc<App>,
    pub body_limit: usize,
}

/// Resolves the caller from `X-Auth-Token` or an `SDK-HMAC-SHA256` signature and puts
/// the `Principal` in the request.
pub async fn authenticate(
    State(auth): State<AuthState>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    // Copied out: a borrow of the request may not be held across an await (Body is not Sync).
    let token = req
        .headers()
        .get("x-auth-token")
        .map(|t| t.to_str().map(str::to_owned));
    let (principal, req) = match token {
        Some(Ok(token)) if !token.is_empty() && token.len() <= 5000 => {
            (auth.app.authenticate_token(&token).await?, req)
        }
        Some(_) => {
            return Err(ServiceError::Unauthenticated("X-Auth-Token is malformed".into()).into());
        }
        None if req.headers().contains_key(header::AUTHORIZATION) => {
            authenticate_signed(&auth, req).await?
        }
        None => {
            let why = "neither X-Auth-Token nor an SDK-HMAC-SHA256 signature was sent";
            return Err(ServiceError::Unauthenticated(why.into()).into());
        }
    };
    let principal_id = PrincipalId(principal.user_id.clone());
    let mut req = req;
    req.extensions_mut().insert(principal);
    let mut response = next.run(req).await;
    response.extensions_mut().insert(principal_id);
    Ok(response)
}

/// The signature covers the raw body, so it is read here and put back for the handler.
async fn authenticate_signed(
    auth: &AuthState,
    req: Request,
) -> Result<(crate::domain::Principal, Request), ApiError> {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, auth.body_limit)
        .await
        .map_err(|_| ApiError::payload_too_large(auth.body_limit))?;
    // Nested routers see a shortened path; the signature covers the one the client sent.
    let uri = parts
        .extensions
        .get::<OriginalUri>()
        .map_or(&parts.uri, |o| &o.0);
    let authorization = parts.headers[header::AUTHORIZATION].to_str().map_err(|_| {
        ApiError::from(ServiceError::Unauthenticated(
            "the Authorization header is not ASCII".into(),
        ))
    })?;
    let headers: Vec<(&str, &[u8])> = parts
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_bytes()))
        .collect();
    let raw = RawRequest {
        method: parts.method.as_str(),
        raw_path: uri.path(),
        raw_query: uri.query(),
        headers: &headers,
        body: &bytes,
    };
    let source = super::input::Source::of(&parts.extensions).0;
    let principal = auth
        .app
        .authenticate_signed(&raw, authorization, source)
        .await?;
    Ok((principal, Request::from_parts(parts, Body::from(bytes))))
}

/// Unknown paths.
pub async fn fallback() -> ApiError {
    ApiError::route_not_found()
}
