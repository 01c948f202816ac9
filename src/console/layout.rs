//! The page shell and the pieces every page shares: times, errors, not found.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use jiff::Timestamp;
use maud::{DOCTYPE, Markup, html};

use super::assets;
use super::auth::Visitor;
use super::i18n::{self, M};
use crate::domain::{Language, Principal};
use crate::http::error::ApiError;
use crate::service::ServiceError;

/// What the shell needs to know about the page and who looks at it.
pub struct Chrome<'a> {
    pub lang: Language,
    /// The page's path and query, for the language switch to come back to.
    pub here: &'a str,
    /// The signed-in user and their CSRF token (for the sign-out form).
    pub user: Option<(&'a Principal, &'a str)>,
}

pub fn page(chrome: &Chrome, title: &str, body: Markup) -> Response {
    let lang = chrome.lang;
    let t = |m: M| m.text(lang);
    let other = match lang {
        Language::En => Language::Zh,
        Language::Zh => Language::En,
    };
    let switch = format!(
        "/console/lang/{}?{}",
        i18n::tag(other),
        serde_urlencoded::to_string([("next", chrome.here)]).unwrap_or_default()
    );
    let markup = html! {
        (DOCTYPE)
        html lang=(i18n::tag(lang)) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (t(M::AppName)) }
                link rel="stylesheet" href=(assets::url(&assets::STYLE));
                script src=(assets::url(&assets::SCRIPT)) defer {}
            }
            body {
                a.skip href="#main" { (t(M::SkipToContent)) }
                header.top {
                    a.brand href="/console/" { (t(M::AppName)) }
                    @if let Some((p, _)) = chrome.user {
                        nav aria-label=(t(M::MainNav)) {
                            @if p.is_engineer() {
                                a href="/console/mine" { (t(M::MyRequests)) }
                                a href="/console/raise" { (t(M::RaiseRequest)) }
                                a href="/console/keys" { (t(M::MySshKeys)) }
                            } @else {
                                a href="/console/requests" { (t(M::Requests)) }
                            }
                        }
                    }
                    div.who {
                        a href=(switch) hreflang=(i18n::tag(other)) lang=(i18n::tag(other)) { (t(M::OtherLanguage)) }
                        @if let Some((p, csrf)) = chrome.user {
                            span.user { span.visually-hidden { (t(M::SignedInAs)) " " } (p.user_name) " @ " (p.domain_name) }
                            form.inline method="post" action="/console/logout" {
                                input type="hidden" name="csrf" value=(csrf);
                                button.link type="submit" { (t(M::SignOut)) }
                            }
                        }
                    }
                }
                main #main tabindex="-1" { (body) }
                footer {
                    p { (t(M::TimesIn)) ": " span data-tz { "UTC" } }
                }
            }
        }
    };
    Html(markup.into_string()).into_response()
}

/// An instant, shown in UTC until the script restates it in the browser's zone.
pub fn when(ts: Timestamp) -> Markup {
    let utc = ts.strftime("%Y-%m-%d %H:%M UTC").to_string();
    html! { time datetime=(ts.to_string()) { (utc) } }
}

/// A window's two ends, or "not given".
pub fn window(lang: Language, from: Option<Timestamp>, to: Option<Timestamp>) -> Markup {
    html! {
        @match (from, to) {
            (None, None) => { (M::NotGiven.text(lang)) }
            (f, t) => {
                @if let Some(f) = f { (when(f)) } @else { "…" }
                " – "
                @if let Some(t) = t { (when(t)) } @else { "…" }
            }
        }
    }
}

/// A page that only says why something was refused.
pub fn refusal(lang: Language, status: StatusCode, message: M) -> Response {
    message_page(lang, status, M::Error, message.text(lang))
}

fn message_page(lang: Language, status: StatusCode, title: M, text: &str) -> Response {
    let chrome = Chrome {
        lang,
        here: "/console/",
        user: None,
    };
    let body = html! {
        section.card {
            h1 { (title.text(lang)) }
            p role="alert" { (text) }
            p { a href="/console/" { (M::Cancel.text(lang)) } }
        }
    };
    let mut response = page(&chrome, title.text(lang), body);
    *response.status_mut() = status;
    response
}

/// A use case's error as a page, in the API's words and with its status.
pub fn failure(lang: Language, e: ServiceError) -> Response {
    if matches!(e, ServiceError::NotFound) {
        return message_page(
            lang,
            StatusCode::NOT_FOUND,
            M::NotFound,
            M::NotFoundText.text(lang),
        );
    }
    let error = ApiError::from(e);
    let title = match error.status() {
        StatusCode::FORBIDDEN => M::Forbidden,
        _ => M::Error,
    };
    if let Some(cause) = error.cause() {
        tracing::error!(cause = %crate::causes::Causes(cause), "console request failed");
    }
    message_page(lang, error.status(), title, error.message(lang))
}

/// A use case's error as a short message (for forms shown again with it).
pub fn error_text(lang: Language, e: ServiceError) -> String {
    ApiError::from(e).message(lang).to_owned()
}

pub async fn not_found_page(v: Visitor) -> Response {
    message_page(
        v.lang,
        StatusCode::NOT_FOUND,
        M::NotFound,
        M::NotFoundText.text(v.lang),
    )
}

/// A `datetime-local` form value read in the viewer's zone; empty means not given.
pub fn local_time(
    value: Option<&str>,
    tz: &jiff::tz::TimeZone,
) -> Result<Option<Timestamp>, ServiceError> {
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let invalid = || {
        ServiceError::Invalid(crate::domain::ValidationError::new(
            "window",
            crate::domain::Rule::InvalidTime,
        ))
    };
    let civil: jiff::civil::DateTime = value.parse().map_err(|_| invalid())?;
    Ok(Some(tz.to_timestamp(civil).map_err(|_| invalid())?))
}

/// A table of `rows` under the `columns` headings, scrollable by keyboard when too wide;
/// `cards` turns each row into a card on a phone (its cells need `data-label`).
pub fn table(lang: Language, label: M, columns: &[M], cards: bool, rows: Markup) -> Markup {
    html! {
        div.table-wrap role="region" aria-label=(label.text(lang)) tabindex="0" {
            table.list.cards[cards] {
                thead { tr { @for c in columns { th scope="col" { (c.text(lang)) } } } }
                tbody { (rows) }
            }
        }
    }
}

/// "Showing 1–20 of 312" with the links to the pages before and after, if any.
pub fn paging(
    lang: Language,
    offset: u32,
    shown: usize,
    total: u64,
    prev: Option<String>,
    next: Option<String>,
) -> Markup {
    let t = |m: M| m.text(lang);
    html! {
        nav.paging aria-label=(t(M::Paging)) {
            span { (t(M::PageOf)) " " (offset + 1) "–" (u64::from(offset) + shown as u64) " " (t(M::Of)) " " (total) }
            @if let Some(href) = prev { a href=(href) rel="prev" { (t(M::Previous)) } }
            @if let Some(href) = next { a href=(href) rel="next" { (t(M::Next)) } }
        }
    }
}
