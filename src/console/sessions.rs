//! A broker session on its history page: the recording played in the page, and while
//! the session runs, its live view and a terminate form. The player (asciinema-player,
//! vendored) fetches the recording and the live WebSocket from the console's own
//! routes, which take the session cookie, so the API token never reaches the browser.

use std::sync::Arc;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::auth::Viewer;
use super::i18n::M;
use super::layout;
use crate::domain::recording::MAX_TERMINATE_REASON;
use crate::domain::session::SessionSource;
use crate::domain::{AuthorizationId, DetailId, SessionId};
use crate::service::recordings::SessionView;
use crate::service::{App, SessionPath};
use crate::store::records::SessionFacts;

type Ids = Path<(String, String, String)>;

pub fn path_of((id, detail, session): &(String, String, String)) -> SessionPath {
    let long = |raw: &str| raw.parse::<i64>().ok().filter(|n| *n > 0);
    SessionPath {
        authorization_id: AuthorizationId::parse(id).ok().flatten(),
        detail_id: long(detail).map(DetailId),
        session_id: long(session).map(SessionId),
    }
}

#[derive(Deserialize, Default)]
pub struct GroupQuery {
    group: Option<String>,
}

fn group(q: &GroupQuery) -> Option<&str> {
    q.group.as_deref().filter(|g| !g.is_empty())
}

fn group_query(group: Option<&str>) -> String {
    group.map_or_else(String::new, |g| {
        format!(
            "?{}",
            serde_urlencoded::to_string([("group", g)]).unwrap_or_default()
        )
    })
}

/// The session's state: open, ending (a terminate asked for), or closed.
fn state(facts: &SessionFacts) -> M {
    match (facts.ended, facts.terminate_requested) {
        (true, _) => M::SessionClosed,
        (false, true) => M::SessionEnding,
        (false, false) => M::SessionOpen,
    }
}

/// The state, recording and live part of a session page; whether the page needs the
/// player.
pub fn section(v: &Viewer, base: &str, group: Option<&str>, view: &SessionView) -> (Markup, bool) {
    let t = |m: M| m.text(v.lang);
    let q = group_query(group);
    let facts = &view.facts;
    let recording = facts.recording.as_ref();
    let playable = recording.is_some_and(|r| r.purged_at.is_none());
    let terminable =
        !facts.ended && !facts.terminate_requested && facts.source == SessionSource::Broker;
    let transcript = if q.is_empty() {
        format!("{base}/recording?format=text")
    } else {
        format!("{base}/recording{q}&format=text")
    };
    let markup = html! {
        dl.facts {
            dt { (t(M::SessionState)) }
            dd #session-state data-ending[!facts.ended && facts.terminate_requested] { span class={ "badge " @if facts.ended { "s3" } @else { "s1" } } { (t(state(facts))) } }
            // The broker's words (the customer's terminate reason among them).
            @if let Some(why) = facts.close_reason.as_deref().filter(|w| facts.ended && !w.is_empty()) {
                dt { (t(M::SessionClosedWhy)) } dd #session-end { (why) }
            }
        }
        @if terminable {
            div.actions {
                a.button.danger href=(format!("{base}/terminate{q}")) { (t(M::Terminate)) }
            }
        }
        @if view.live_here {
            h2 { (t(M::LiveView)) }
            div #live-player .player data-live=(format!("{base}/live{q}")) {}
        } @else if !facts.ended && facts.source == SessionSource::Broker {
            h2 { (t(M::LiveView)) }
            p.empty { (t(M::LiveElsewhere)) }
        }
        h2 { (t(M::Recording)) }
        @if playable && facts.ended {
            div #recording-player .player data-cast=(format!("{base}/recording{q}")) {}
            p {
                a href=(format!("{base}/recording{q}")) download { (t(M::RecordingDownload)) }
                " · "
                a href=(transcript) { (t(M::RecordingTranscript)) }
            }
        } @else if !facts.ended && facts.source == SessionSource::Broker {
            p.empty { (t(M::RecordingAfterEnd)) }
        } @else if recording.is_some_and(|r| r.purged_at.is_some()) {
            p.empty { (t(M::RecordingPurged)) }
        } @else if recording.is_none() {
            p.empty { (t(M::NoRecording)) }
        }
    };
    (markup, playable || view.live_here)
}

/// The page that asks before terminating: what happens, a reason for the engineer.
pub async fn terminate_page(
    State(app): State<Arc<App>>,
    v: Viewer,
    Path(ids): Ids,
    Query(q): Query<GroupQuery>,
) -> Response {
    if let Err(e) = app
        .session_view(&v.principal, group(&q), path_of(&ids))
        .await
    {
        return layout::failure(v.lang, e);
    }
    let t = |m: M| m.text(v.lang);
    let page = session_url(&ids, group(&q));
    let (_, _, session) = &ids;
    let body = html! {
        section.card.warning {
            h1 { (t(M::TerminateTitle)) }
            p { (t(M::Session)) " " (session) }
            p role="alert" { (t(M::TerminateNote)) }
            form method="post" action=(format!("{}/terminate{}", page_path(&ids), group_query(group(&q)))) {
                input type="hidden" name="csrf" value=(v.csrf);
                label for="terminate-reason" { (t(M::TerminateReason)) }
                input #terminate-reason type="text" name="reason" maxlength=(MAX_TERMINATE_REASON);
                button.danger type="submit" { (t(M::TerminateSubmit)) }
                " "
                a href=(page) { (t(M::Cancel)) }
            }
        }
    };
    layout::page(&v.chrome(), t(M::TerminateTitle), body)
}

fn page_path((id, detail, session): &(String, String, String)) -> String {
    format!("/console/requests/{id}/details/{detail}/sessions/{session}")
}

fn session_url(ids: &(String, String, String), group: Option<&str>) -> String {
    format!("{}{}", page_path(ids), group_query(group))
}

#[derive(Deserialize, Default)]
pub struct RecordingQuery {
    group: Option<String>,
    format: Option<String>,
}

/// The recording, for the player and the download link.
pub async fn recording(
    State(app): State<Arc<App>>,
    v: Viewer,
    Path(ids): Ids,
    Query(q): Query<RecordingQuery>,
) -> Response {
    let group = q.group.as_deref().filter(|g| !g.is_empty());
    match app
        .session_recording(&v.principal, group, path_of(&ids))
        .await
    {
        Ok(stream) => {
            let text = q.format.as_deref() == Some("text");
            crate::http::recordings::recording_response(app, stream, text)
        }
        Err(e) => layout::failure(v.lang, e),
    }
}

/// The live view's WebSocket. Only from the console's own pages: a cross-site page
/// cannot open it with the viewer's cookie (`SameSite=Strict`), and the `Origin` the
/// browser sends must be this host.
pub async fn live(
    State(app): State<Arc<App>>,
    v: Viewer,
    Path(ids): Ids,
    Query(q): Query<GroupQuery>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|h| h.to_str().ok())
        .and_then(|o| o.split_once("://").map(|(_, rest)| rest));
    if host.is_none() || origin != host {
        return StatusCode::FORBIDDEN.into_response();
    }
    match app
        .watch_session(&v.principal, group(&q), path_of(&ids))
        .await
    {
        Ok(sub) => crate::http::recordings::upgrade(upgrade, sub),
        Err(e) => layout::failure(v.lang, e),
    }
}

#[derive(Deserialize)]
pub struct TerminateForm {
    reason: Option<String>,
}

pub async fn terminate(
    State(app): State<Arc<App>>,
    v: Viewer,
    Path(ids): Ids,
    Query(q): Query<GroupQuery>,
    Form(form): Form<TerminateForm>,
) -> Response {
    let path = path_of(&ids);
    match app
        .terminate_session(&v.principal, group(&q), path, form.reason)
        .await
    {
        Ok(()) => Redirect::to(&session_url(&ids, group(&q))).into_response(),
        Err(e) => layout::failure(v.lang, e),
    }
}
