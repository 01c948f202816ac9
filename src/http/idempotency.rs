//! `Idempotency-Key` on the provider's writes (raise, open a session, record commands
//! and file transfers): a retry with the same key and request from the same caller is
//! answered with the first successful answer again, and writes nothing.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{OriginalUri, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use crate::domain::Principal;
use crate::domain::idempotency::fingerprint;
use crate::service::idempotency::KeyedStart;
use crate::service::{App, ServiceError};

/// Marks an answer sent again from a key's first request.
const REPLAYED: &str = "idempotent-replayed";

/// What the layer needs: the service, and how much body a request may carry.
#[derive(Clone)]
pub struct IdempotencyState {
    pub app: Arc<App>,
    pub body_limit: usize,
}

/// Runs inside authentication. Without the header the request passes untouched.
pub async fn idempotent(
    State(state): State<IdempotencyState>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let Some(key) = req.headers().get("idempotency-key") else {
        return Ok(next.run(req).await);
    };
    let key = key
        .to_str()
        .map_err(|_| {
            crate::domain::ValidationError::new(
                crate::domain::idempotency::HEADER,
                crate::domain::Rule::Malformed,
            )
        })?
        .to_owned();
    let principal = req
        .extensions()
        .get::<Principal>()
        .map(|p| p.user_id.clone())
        .ok_or_else(|| ServiceError::broken("idempotency outside authentication"))?;
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, state.body_limit)
        .await
        .map_err(|_| ApiError::payload_too_large(state.body_limit))?;
    let uri = parts
        .extensions
        .get::<OriginalUri>()
        .map_or(&parts.uri, |o| &o.0);
    let print = fingerprint(parts.method.as_str(), uri.path(), uri.query(), &bytes);
    match state.app.claim_idempotent(&principal, &key, print).await? {
        KeyedStart::Replay(status, body) => return Ok(replayed(status, body)),
        KeyedStart::Run => {}
    }
    let req = Request::from_parts(parts, Body::from(bytes));
    let app = state.app.clone();
    // A task of its own: once the write may have happened, its answer is kept (or the
    // key freed) even if the client goes away or the request timeout fires first.
    tokio::spawn(async move {
        let response = next.run(req).await;
        let failed =
            !response.status().is_success() || response.extensions().get::<ApiError>().is_some();
        if failed {
            if let Err(e) = app.release_idempotent(&principal, &key).await {
                tracing::warn!(error = %e, "could not free an idempotency key");
            }
            return response;
        }
        let (parts, body) = response.into_parts();
        let bytes = match axum::body::to_bytes(body, usize::MAX).await {
            Ok(bytes) => bytes,
            Err(e) => {
                return ApiError::from(ServiceError::internal("reading an answer", e))
                    .into_response();
            }
        };
        if let Err(e) = app
            .finish_idempotent(&principal, &key, parts.status.as_u16(), bytes.to_vec())
            .await
        {
            tracing::warn!(error = %e, "could not keep an idempotent answer");
        }
        Response::from_parts(parts, Body::from(bytes))
    })
    .await
    .map_err(|e| ServiceError::internal("the idempotent request's task failed", e).into())
}

/// The kept answer, as JSON, marked as sent again.
fn replayed(status: u16, body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(REPLAYED, HeaderValue::from_static("true"));
    response
}
