//! The web console (`/console/`): server-rendered pages over the same use cases as the
//! API, for customers (review, check, approve, reject, revoke, history) and engineers
//! (raise, follow, recall). Templates are compiled in (maud); the only script is our
//! own small static file, so the Content-Security-Policy allows no inline script.

pub(crate) mod assets;
mod auth;
mod customer;
mod engineer;
mod i18n;
mod layout;
mod sessions;

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};

use crate::service::App;

/// Settings of the console.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConsoleConfig {
    /// Mark cookies `Secure` (set when the console is reached over TLS, e.g. behind a
    /// terminating proxy).
    pub secure_cookies: bool,
    /// The language when neither the switch nor `Accept-Language` names a supported one.
    pub default_language: crate::domain::Language,
}

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
    connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
/// Session pages run the terminal player, whose terminal emulator is WebAssembly: it may
/// be compiled (`'wasm-unsafe-eval'`, which allows no JavaScript `eval`).
const PLAYER_CSP: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; \
    style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; \
    frame-ancestors 'none'; base-uri 'none'";

/// Headers on every console response: no inline script, no framing, no referrer, and
/// pages (not the hashed assets) never cached.
async fn security_headers(req: Request, next: Next) -> Response {
    let path = auth::original_path(req.extensions(), req.uri());
    let is_asset = path.starts_with("/console/static/");
    let csp = if path.contains("/sessions/") {
        PLAYER_CSP
    } else {
        CSP
    };
    let mut response = next.run(req).await;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if !is_asset {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// The console's routes, all under `/console`, to be merged into the API's router.
pub fn router(config: ConsoleConfig) -> Router<Arc<App>> {
    let detail = "/console/requests/{authorization_id}/details/{detail_id}";
    Router::new()
        .route("/console", get(home))
        .route("/console/", get(home))
        .route("/console/login", get(auth::login_page).post(auth::login))
        .route("/console/logout", post(auth::logout))
        .route("/console/lang/{tag}", get(auth::switch_language))
        .route("/console/static/{name}", get(assets::serve))
        .route("/console/requests", get(customer::list))
        .route("/console/requests/{authorization_id}", get(customer::show))
        .route(
            "/console/requests/{authorization_id}/approve",
            get(customer::approve_page).post(customer::approve),
        )
        .route(
            "/console/requests/{authorization_id}/reject",
            post(customer::reject),
        )
        .route(
            "/console/requests/{authorization_id}/revoke",
            get(customer::revoke_page).post(customer::revoke),
        )
        .route(&format!("{detail}/check"), post(customer::check))
        .route(
            &format!("{detail}/sessions/{{session_id}}"),
            get(customer::session),
        )
        .route(
            &format!("{detail}/sessions/{{session_id}}/recording"),
            get(sessions::recording),
        )
        .route(
            &format!("{detail}/sessions/{{session_id}}/live"),
            get(sessions::live),
        )
        .route(
            &format!("{detail}/sessions/{{session_id}}/terminate"),
            get(sessions::terminate_page).post(sessions::terminate),
        )
        .route("/console/mine", get(engineer::mine))
        .route(
            "/console/mine/{authorization_id}/recall",
            post(engineer::recall),
        )
        .route(
            "/console/raise",
            get(engineer::raise_page).post(engineer::raise),
        )
        .route("/console/keys", get(engineer::keys).post(engineer::add_key))
        .route("/console/keys/remove", post(engineer::remove_key))
        .route("/console/{*rest}", get(layout::not_found_page))
        .layer(axum::middleware::from_fn(auth::require_csrf))
        .layer(axum::middleware::from_fn(security_headers))
        .layer(Extension(config))
}

/// `/` and `/console/`: customers land on their requests, engineers on theirs.
async fn home(viewer: auth::Viewer) -> Response {
    let to = if viewer.principal.is_engineer() {
        "/console/mine"
    } else {
        "/console/requests"
    };
    Redirect::to(to).into_response()
}

/// `/`: the console is the front page.
pub async fn root() -> Redirect {
    Redirect::to("/console/")
}
