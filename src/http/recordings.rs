//! Our session extensions beside the Huawei history endpoints: a session's terminal
//! recording (asciicast v2 or a plain transcript, streamed from its chunks), its live
//! view (a WebSocket) and terminating it.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::input::{self, Caller, JsonBody, QueryParams};
use super::params::{AuthorizationDetailIdPath, AuthorizationIdPath, GroupQuery, SessionIdPath};
use super::wire::Empty;
use crate::domain::recording::Transcript;
use crate::domain::validation::{Rule, ValidationError};
use crate::service::App;
use crate::service::live_view::Subscription;
use crate::service::recordings::RecordingStream;

const DETAIL: &str = "authorization_detail_id";
/// A viewer that does not take an event within this long is dropped.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);

type SessionIds = Path<(String, String, String)>;

fn group(q: &QueryParams) -> Result<Option<String>, ApiError> {
    q.text("group_id", 0, 64)
}

/// `GET …/sessions/{session_id}/recording[?format=text]`.
#[utoipa::path(get, path = "/v2/servicerequest/authorizations/{authorization_id}/authorization-details/{authorization_detail_id}/sessions/{session_id}/recording", tag = "customer",
  operation_id = "ShowSessionRecording",
  params(
    AuthorizationIdPath,
    AuthorizationDetailIdPath,
    SessionIdPath,
    GroupQuery,
    ("format" = Option<String>, Query, description = "`asciicast` (default) or `text`"),
  ),
  responses((status = 200, description = "The recording, streamed: asciicast v2 (`X-Recording-Sha256` once the session ended), or with `format=text` the plain transcript",
      content(("application/x-asciicast"), ("text/plain"))),
    (status = 403, description = "Not an operator of `group_id`", body = ErrorBody),
    (status = 404, description = "No such session visible to the caller", body = ErrorBody),
    (status = 409, description = "A reported session, or one without a recording, or one past its retention", body = ErrorBody)),
)]
pub async fn recording(
    State(app): State<Arc<App>>,
    Caller(p): Caller,
    Path((id, detail, session)): SessionIds,
    q: QueryParams,
) -> Result<Response, ApiError> {
    const FORMATS: &[&str] = &["asciicast", "text"];
    let text = match q.text("format", 0, 16)?.as_deref() {
        None | Some("" | "asciicast") => false,
        Some("text") => true,
        Some(_) => return Err(ValidationError::new("format", Rule::OneOf(FORMATS)).into()),
    };
    let path = input::session_path(&id, (DETAIL, &detail), &session)?;
    let recording = app
        .session_recording(&p, group(&q)?.as_deref(), path)
        .await?;
    Ok(recording_response(app, recording, text))
}

/// The recording as a streamed answer, with its hash once the session ended.
pub fn recording_response(app: Arc<App>, recording: RecordingStream, text: bool) -> Response {
    let content_type = if text {
        "text/plain; charset=utf-8"
    } else {
        "application/x-asciicast"
    };
    let sha256 = recording.info.sha256.clone();
    let body = Body::from_stream(stream(app, recording, text));
    let mut response = ([(header::CONTENT_TYPE, content_type)], body).into_response();
    if let Some(sha) = sha256.and_then(|s| s.parse().ok()) {
        response.headers_mut().insert("x-recording-sha256", sha);
    }
    response
}

/// The recording's chunks, decompressed (and rendered as text) one read at a time.
fn stream(
    app: Arc<App>,
    recording: RecordingStream,
    text: bool,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    struct Cursor {
        next: i64,
        transcript: Option<Transcript>,
        done: bool,
    }
    let start = Cursor {
        next: 0,
        transcript: text.then(Transcript::default),
        done: false,
    };
    let recording = Arc::new(recording);
    futures_util::stream::unfold(start, move |mut at| {
        let app = app.clone();
        let recording = recording.clone();
        async move {
            if at.done {
                return None;
            }
            let chunks = match app.recording_chunks(&recording, at.next).await {
                Ok(chunks) => chunks,
                Err(e) => return Some((Err(std::io::Error::other(e.to_string())), at)),
            };
            let mut out = Vec::new();
            if chunks.is_empty() {
                at.done = true;
                if let Some(t) = at.transcript.take() {
                    out.extend(t.finish().into_bytes());
                }
            }
            for chunk in chunks {
                at.next = chunk.seq + 1;
                let raw = match zstd::decode_all(&chunk.data[..]) {
                    Ok(raw) => raw,
                    Err(e) => return Some((Err(e), at)),
                };
                match at.transcript.as_mut() {
                    Some(t) => {
                        for line in String::from_utf8_lossy(&raw).lines() {
                            out.extend(t.line(line).into_bytes());
                        }
                    }
                    None => out.extend(raw),
                }
            }
            Some((Ok(Bytes::from(out)), at))
        }
    })
}

/// `GET …/sessions/{session_id}/live`: a WebSocket of asciicast lines, one per text
/// message: the header, the current screen, then every event as it happens.
#[utoipa::path(get, path = "/v2/servicerequest/authorizations/{authorization_id}/authorization-details/{authorization_detail_id}/sessions/{session_id}/live", tag = "customer",
  operation_id = "WatchSessionLive",
  params(
    AuthorizationIdPath,
    AuthorizationDetailIdPath,
    SessionIdPath,
    GroupQuery,
  ),
  responses((status = 101, description = "Switching to a WebSocket: text messages, one asciicast v2 line each (the header, the current screen, then events as they happen)"),
    (status = 403, description = "Not an operator of `group_id`", body = ErrorBody),
    (status = 404, description = "No such session visible to the caller", body = ErrorBody),
    (status = 409, description = "The session has ended, was not recorded, or runs on another instance", body = ErrorBody)),
)]
pub async fn live(
    State(app): State<Arc<App>>,
    Caller(p): Caller,
    Path((id, detail, session)): SessionIds,
    q: QueryParams,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let path = input::session_path(&id, (DETAIL, &detail), &session)?;
    let subscription = app.watch_session(&p, group(&q)?.as_deref(), path).await?;
    let Ok(upgrade) = upgrade else {
        return Err(ValidationError::new("Upgrade", Rule::OneOf(&["websocket"])).into());
    };
    Ok(self::upgrade(upgrade, subscription))
}

/// Streams `subscription` over the WebSocket `upgrade` asks for.
pub fn upgrade(upgrade: WebSocketUpgrade, subscription: Subscription) -> Response {
    // The subprotocol asciinema-player asks for; other clients need not name one.
    upgrade
        .protocols(["v2.asciicast"])
        .on_upgrade(move |socket| watch(socket, subscription))
}

async fn send(socket: &mut WebSocket, line: &str) -> bool {
    let sent = socket.send(Message::Text(line.into()));
    matches!(tokio::time::timeout(SEND_TIMEOUT, sent).await, Ok(Ok(())))
}

async fn watch(mut socket: WebSocket, mut sub: Subscription) {
    if !send(&mut socket, &sub.header).await || !send(&mut socket, &sub.screen).await {
        return;
    }
    let (code, why) = loop {
        tokio::select! {
            event = sub.events.recv() => match event {
                Ok(line) => {
                    if !send(&mut socket, &line).await {
                        return;
                    }
                }
                Err(RecvError::Lagged(_)) => break (close_code::POLICY, "viewer too slow"),
                Err(RecvError::Closed) => break (close_code::NORMAL, "session ended"),
            },
            // Read-only: whatever the viewer sends is ignored, but its close is seen.
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
        }
    };
    let frame = CloseFrame {
        code,
        reason: why.into(),
    };
    let _ = tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Close(Some(frame)))).await;
}

#[derive(Deserialize, ToSchema)]
pub struct TerminateBody {
    /// Why, shown to the engineer (at most 300 characters).
    pub reason: Option<String>,
}

/// `POST …/sessions/{session_id}/terminate`.
#[utoipa::path(post, path = "/v2/servicerequest/authorizations/{authorization_id}/authorization-details/{authorization_detail_id}/sessions/{session_id}/terminate", tag = "customer",
  operation_id = "TerminateSession",
  params(
    AuthorizationIdPath,
    AuthorizationDetailIdPath,
    SessionIdPath,
    GroupQuery,
  ),
  request_body(content = TerminateBody, description = "Optional reason"),
  responses((status = 200, description = "The session is being cut (within 2 s, on whichever instance holds it)", body = Empty),
    (status = 403, description = "Not an operator of `group_id`", body = ErrorBody),
    (status = 404, description = "No such session visible to the caller", body = ErrorBody),
    (status = 409, description = "The session has ended or is not a broker session", body = ErrorBody)),
)]
pub async fn terminate(
    State(app): State<Arc<App>>,
    Caller(p): Caller,
    Path((id, detail, session)): SessionIds,
    q: QueryParams,
    JsonBody(body): JsonBody<TerminateBody>,
) -> Result<Json<Empty>, ApiError> {
    let path = input::session_path(&id, (DETAIL, &detail), &session)?;
    app.terminate_session(&p, group(&q)?.as_deref(), path, body.reason)
        .await?;
    Ok(Json(Empty {}))
}
