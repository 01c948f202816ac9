//! Signing in and out, the session cookie, the CSRF check on every form post, and the
//! language switch.

use std::sync::Arc;

use axum::Extension;
use axum::Form;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, OriginalUri, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::ConsoleConfig;
use super::i18n::{self, M};
use super::layout::{self, Chrome};
use crate::domain::secret::Secret;
use crate::domain::{Language, Principal};
use crate::http::input::Source;
use crate::service::{App, ServiceError};

/// The signed-in session.
const SESSION_COOKIE: &str = "sa_session";
/// A random value given to the sign-in page, so that its form has a CSRF token too.
const PRELOGIN_COOKIE: &str = "sa_prelogin";
/// Forms are small; anything larger is refused before it is parsed.
const FORM_LIMIT: usize = 64 * 1024;

/// The viewer's language: the switch, `Accept-Language`, else the configured default.
pub fn language(headers: &HeaderMap, extensions: &axum::http::Extensions) -> Language {
    let fallback = extensions
        .get::<ConsoleConfig>()
        .map(|c| c.default_language)
        .unwrap_or(Language::En);
    i18n::choose(headers, cookie(headers, i18n::LANG_COOKIE), fallback)
}

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

/// The CSRF token of a session (or pre-sign-in) cookie: derived from it, so nothing more
/// is stored, and useless without the cookie itself.
fn csrf_for(cookie: &str) -> String {
    hex::encode(Sha256::digest(format!("console-csrf:{cookie}").as_bytes()))
}

fn set_cookie(name: &str, value: &str, max_age: Option<u64>, secure: bool) -> String {
    let mut c = format!("{name}={value}; Path=/console; HttpOnly; SameSite=Strict");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        c.push_str("; Secure");
    }
    c
}

/// The signed-in person looking at a page.
pub struct Viewer {
    pub principal: Principal,
    pub lang: Language,
    pub csrf: String,
    session: crate::service::console::ConsoleViewer,
    /// The page's own path and query, for the language switch to come back to.
    pub here: String,
}

impl Viewer {
    pub fn chrome(&self) -> Chrome<'_> {
        Chrome {
            lang: self.lang,
            here: &self.here,
            user: Some((&self.principal, &self.csrf)),
        }
    }
}

/// What every page knows before sign-in.
pub struct Visitor {
    pub lang: Language,
    pub here: String,
}

/// The path as the browser sent it (routers nested under `/console` see less).
pub fn original_path(extensions: &axum::http::Extensions, uri: &axum::http::Uri) -> String {
    extensions
        .get::<OriginalUri>()
        .map_or(uri, |o| &o.0)
        .path()
        .to_owned()
}

fn here(parts: &Parts) -> String {
    parts
        .extensions
        .get::<OriginalUri>()
        .map_or(&parts.uri, |o| &o.0)
        .path_and_query()
        .map_or("/console/", |p| p.as_str())
        .to_owned()
}

impl FromRequestParts<Arc<App>> for Visitor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &Arc<App>) -> Result<Self, Self::Rejection> {
        let lang = language(&parts.headers, &parts.extensions);
        Ok(Visitor {
            lang,
            here: here(parts),
        })
    }
}

impl FromRequestParts<Arc<App>> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Response> {
        let lang = language(&parts.headers, &parts.extensions);
        let Some(value) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(Redirect::to("/console/login").into_response());
        };
        match app.console_session(value).await {
            Ok(Some(session)) => Ok(Viewer {
                principal: session.principal.clone(),
                lang,
                csrf: csrf_for(value),
                session,
                here: here(parts),
            }),
            Ok(None) => Err(Redirect::to("/console/login?ended=1").into_response()),
            Err(e) => Err(layout::failure(lang, e)),
        }
    }
}

/// Refuses a form post whose CSRF token (field `csrf` or header `X-CSRF-Token`) does not
/// match the caller's cookie. Runs before any handler sees the body.
pub async fn require_csrf(req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let lang = language(req.headers(), req.extensions());
    let cookie_name = if original_path(req.extensions(), req.uri()) == "/console/login" {
        PRELOGIN_COOKIE
    } else {
        SESSION_COOKIE
    };
    let expected = cookie(req.headers(), cookie_name).map(csrf_for);
    let header_token = req
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, FORM_LIMIT).await else {
        return layout::refusal(lang, StatusCode::PAYLOAD_TOO_LARGE, M::Error);
    };
    let presented = header_token.or_else(|| form_urlencoded_field(&bytes, "csrf"));
    let ok = match (&expected, &presented) {
        (Some(e), Some(p)) => constant_time_eq(e.as_bytes(), p.as_bytes()),
        _ => false,
    };
    if !ok {
        return layout::refusal(lang, StatusCode::FORBIDDEN, M::CsrfRefused);
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

fn form_urlencoded_field(body: &Bytes, name: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[derive(Deserialize)]
pub struct LoginQuery {
    ended: Option<String>,
}

/// The sign-in page; hands out the pre-sign-in cookie its form's CSRF token comes from.
pub async fn login_page(
    v: Visitor,
    Extension(config): Extension<ConsoleConfig>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Response {
    let notice = q.ended.is_some().then_some(M::SessionEnded);
    login_form(&v, &config, &headers, notice, StatusCode::OK, "", "")
}

fn login_form(
    v: &Visitor,
    config: &ConsoleConfig,
    headers: &HeaderMap,
    notice: Option<M>,
    status: StatusCode,
    domain: &str,
    user: &str,
) -> Response {
    let (prelogin, fresh) = match cookie(headers, PRELOGIN_COOKIE) {
        Some(value) => (value.to_owned(), false),
        None => {
            let (value, _) = crate::crypto::token::generate();
            (value.expose().to_owned(), true)
        }
    };
    let t = |m: M| m.text(v.lang);
    let chrome = Chrome {
        lang: v.lang,
        here: &v.here,
        user: None,
    };
    let body = html! {
        section.card.narrow {
            h1 { (t(M::SignInTitle)) }
            @if let Some(n) = notice {
                p.alert role="alert" { (t(n)) }
            }
            form method="post" action="/console/login" {
                input type="hidden" name="csrf" value=(csrf_for(&prelogin));
                label for="domain" { (t(M::Domain)) }
                input #domain name="domain" required autocomplete="organization" maxlength="64" value=(domain);
                label for="user" { (t(M::UserName)) }
                input #user name="user" required autocomplete="username" maxlength="64" value=(user);
                label for="password" { (t(M::Password)) }
                input #password name="password" type="password" required autocomplete="current-password" maxlength="128";
                button.primary type="submit" { (t(M::SignIn)) }
            }
        }
    };
    let mut response = layout::page(&chrome, t(M::SignIn), body);
    *response.status_mut() = status;
    if fresh {
        let value = set_cookie(PRELOGIN_COOKIE, &prelogin, None, config.secure_cookies);
        if let Ok(v) = value.parse() {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    domain: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    password: String,
}

pub async fn login(
    State(app): State<Arc<App>>,
    v: Visitor,
    Source(source): Source,
    Extension(config): Extension<ConsoleConfig>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let password = Secret::new(form.password);
    match app
        .console_sign_in(&form.domain, &form.user, password, source)
        .await
    {
        Ok((value, _)) => {
            let cookie = set_cookie(SESSION_COOKIE, value.expose(), None, config.secure_cookies);
            ([(header::SET_COOKIE, cookie)], Redirect::to("/console/")).into_response()
        }
        Err(ServiceError::Unauthenticated(_) | ServiceError::Invalid(_)) => login_form(
            &v,
            &config,
            &headers,
            Some(M::SignInFailed),
            StatusCode::UNAUTHORIZED,
            &form.domain,
            &form.user,
        ),
        Err(ServiceError::Throttled { .. } | ServiceError::Busy { .. }) => login_form(
            &v,
            &config,
            &headers,
            Some(M::SignInLocked),
            StatusCode::TOO_MANY_REQUESTS,
            &form.domain,
            &form.user,
        ),
        Err(e) => layout::failure(v.lang, e),
    }
}

pub async fn logout(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Extension(config): Extension<ConsoleConfig>,
) -> Response {
    if let Err(e) = app.console_sign_out(&viewer.session).await {
        return layout::failure(viewer.lang, e);
    }
    let cookie = set_cookie(SESSION_COOKIE, "", Some(0), config.secure_cookies);
    (
        [(header::SET_COOKIE, cookie)],
        Redirect::to("/console/login"),
    )
        .into_response()
}

#[derive(Deserialize)]
pub struct LangQuery {
    next: Option<String>,
}

/// Remembers the language for a year and goes back to the page it was chosen on.
pub async fn switch_language(
    Path(tag): Path<String>,
    Extension(config): Extension<ConsoleConfig>,
    Query(q): Query<LangQuery>,
) -> Response {
    let lang = if tag == "zh-cn" {
        Language::Zh
    } else {
        Language::En
    };
    // Only a path of this console: never a redirect elsewhere.
    let next = q
        .next
        .filter(|n| n.starts_with("/console/") && !n.contains("//") && !n.contains('\\'))
        .unwrap_or_else(|| "/console/".into());
    let cookie = set_cookie(
        i18n::LANG_COOKIE,
        i18n::tag(lang),
        Some(365 * 24 * 3600),
        config.secure_cookies,
    );
    ([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response()
}
