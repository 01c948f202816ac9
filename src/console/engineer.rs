//! Engineer pages: raise a request, follow my requests, recall a pending one, my SSH
//! keys for the broker. Through the same use cases as the provider API.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::auth::Viewer;
use super::customer::status_badge;
use super::i18n::M;
use super::layout::{self, page, paging, table, when, window};
use crate::domain::authorization::{DetailInput, RaiseInput};
use crate::domain::catalog::{CONTENT_TYPES, CatalogEntry, RESOURCE_TYPES, VISIT_TYPES};
use crate::domain::time::parse_time_zone;
use crate::domain::{AuthorizationId, Status};
use crate::service::{App, ServiceError};
use crate::store::{ListFilter, Page, SshKeyRecord};

const PAGE_SIZE: u32 = 20;
/// Targets one request may name (the provider API's limit).
const MAX_TARGETS: usize = 6;

#[derive(Deserialize, Default)]
pub struct MineQuery {
    offset: Option<u32>,
}

pub async fn mine(State(app): State<Arc<App>>, v: Viewer, Query(q): Query<MineQuery>) -> Response {
    let offset = q.offset.unwrap_or(0).min(65_535);
    let filter = ListFilter {
        sub_customer_name: None,
        incident_id: None,
        status: None,
        simple_description: None,
        page: Page {
            offset,
            limit: PAGE_SIZE,
        },
    };
    let (total, rows) = match app.provider_list(&v.principal, &filter).await {
        Ok(found) => found,
        Err(e) => return layout::failure(v.lang, e),
    };
    let lang = v.lang;
    let t = |m: M| m.text(lang);
    let prev =
        (offset > 0).then(|| format!("/console/mine?offset={}", offset.saturating_sub(PAGE_SIZE)));
    let more = u64::from(offset) + (rows.len() as u64) < total;
    let next = more.then(|| format!("/console/mine?offset={}", offset + PAGE_SIZE));
    let body = html! {
        h1 { (t(M::MyRequests)) }
        p { a.button.primary href="/console/raise" { (t(M::RaiseRequest)) } }
        @if rows.is_empty() {
            p.empty { (t(M::NoRequests)) }
        } @else {
            (table(lang, M::MyRequests, &[M::IncidentId, M::Summary, M::Submitter, M::Status, M::GrantedWindow, M::Raised, M::Recall], true, html! {
                        @for a in &rows {
                            @let (from, to) = a.shown_window();
                            tr {
                                td data-label=(t(M::IncidentId)) { (a.incident_id) }
                                td data-label=(t(M::Summary)) { (a.simple_description) }
                                td data-label=(t(M::Submitter)) { (a.xcustomer_name) }
                                td data-label=(t(M::Status)) { (status_badge(a.status, lang)) }
                                td data-label=(t(M::GrantedWindow)) { @if a.status == Status::Authorized { (window(lang, from, to)) } }
                                td data-label=(t(M::Raised)) { (when(a.created_at)) }
                                td {
                                    @if a.status == Status::Pending {
                                        form.inline method="post" action={ "/console/mine/" (a.id.0) "/recall" } {
                                            input type="hidden" name="csrf" value=(v.csrf);
                                            button.secondary type="submit" aria-label={ (t(M::Recall)) " " (a.incident_id) } { (t(M::Recall)) }
                                        }
                                    }
                                }
                            }
                        }
            }))
            (paging(lang, offset, rows.len(), total, prev, next))
        }
    };
    page(&v.chrome(), t(M::MyRequests), body)
}

pub async fn recall(State(app): State<Arc<App>>, v: Viewer, Path(id): Path<String>) -> Response {
    let id = AuthorizationId::parse(&id).ok().flatten();
    match app.recall(&v.principal, id, None).await {
        Ok(()) => Redirect::to("/console/mine").into_response(),
        Err(e) => layout::failure(v.lang, e),
    }
}

/// The raise form's fields as posted.
type Values = Vec<(String, String)>;

fn value<'a>(values: &'a Values, name: &str) -> Option<&'a str> {
    values
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

fn select(
    id: &str,
    label: M,
    lang: crate::domain::Language,
    table: &[CatalogEntry],
    chosen: Option<&str>,
) -> Markup {
    html! {
        div {
            label for=(id) { (label.text(lang)) }
            select id=(id) name=(id) required {
                @for e in table {
                    option value=(e.id) selected[chosen == Some(e.id)] { (lang.pick(e.en, e.zh)) }
                }
            }
        }
    }
}

fn raise_form(v: &Viewer, values: &Values, error: Option<String>) -> Markup {
    let lang = v.lang;
    let t = |m: M| m.text(lang);
    let text_field = |id: &str, label: M, max: u32, required: bool| {
        html! {
            div {
                label for=(id) { (t(label)) @if required { " " span.req { "(" (t(M::Required)) ")" } } }
                input id=(id) name=(id) maxlength=(max) required[required] value=(value(values, id).unwrap_or(""));
            }
        }
    };
    html! {
        h1 { (t(M::RaiseRequest)) }
        @if let Some(message) = error { p.alert role="alert" { (message) } }
        form method="post" action="/console/raise" {
            input type="hidden" name="csrf" value=(v.csrf);
            input type="hidden" name="tz" value=(value(values, "tz").unwrap_or("UTC")) data-tz-field;
            fieldset {
                legend { (t(M::Customer)) }
                div.fields {
                    (text_field("customer", M::CustomerDomain, 64, true))
                    (text_field("submitter", M::CustomerSubmitter, 64, true))
                    (text_field("incident_id", M::IncidentId, 64, true))
                    (text_field("simple_description", M::Summary, 2000, true))
                }
            }
            fieldset {
                legend { (t(M::Request)) }
                div.fields {
                    (select("resource_type_id", M::ResourceType, lang, RESOURCE_TYPES, value(values, "resource_type_id")))
                    (select("visit_type_id", M::VisitType, lang, VISIT_TYPES, value(values, "visit_type_id")))
                    (select("content_type_id", M::ContentType, lang, CONTENT_TYPES, value(values, "content_type_id")))
                }
                label for="auth_describe" { (t(M::Describe)) }
                textarea #auth_describe name="auth_describe" maxlength="2000" rows="3" required { (value(values, "auth_describe").unwrap_or("")) }
                label for="letter" { (t(M::Letter)) }
                textarea #letter name="letter" maxlength="2000" rows="3" required { (value(values, "letter").unwrap_or("")) }
                div.fields {
                    div {
                        label for="requested_start" { (t(M::RequestedStart)) }
                        input #requested_start name="requested_start" type="datetime-local" value=(value(values, "requested_start").unwrap_or(""));
                    }
                    div {
                        label for="requested_end" { (t(M::RequestedEnd)) }
                        input #requested_end name="requested_end" type="datetime-local" value=(value(values, "requested_end").unwrap_or(""));
                    }
                }
            }
            p.hint { (t(M::TargetHint)) }
            @for i in 0..MAX_TARGETS {
                @let field = |name: &str| format!("d{i}_{name}");
                fieldset.target {
                    legend { (t(M::Target)) " " (i + 1) }
                    div.fields {
                        div {
                            label for=(field("type")) { (t(M::Type)) }
                            select id=(field("type")) name=(field("type")) {
                                option value="1" selected[value(values, &field("type")) != Some("0")] { (t(M::Host)) }
                                option value="0" selected[value(values, &field("type")) == Some("0")] { (t(M::Console)) }
                            }
                        }
                        @for (name, label, max) in [("instance_id", M::InstanceId, 64), ("instance_name", M::InstanceName, 64), ("region_id", M::Region, 64), ("host", M::HostAddress, 253)] {
                            div {
                                label for=(field(name)) { (t(label)) }
                                input id=(field(name)) name=(field(name)) maxlength=(max) required[i == 0 && name != "host"] value=(value(values, &field(name)).unwrap_or(""));
                            }
                        }
                        div {
                            label for=(field("port")) { (t(M::Port)) }
                            input id=(field("port")) name=(field("port")) type="number" min="1" max="65535" value=(value(values, &field("port")).unwrap_or(""));
                        }
                    }
                }
            }
            button.primary type="submit" { (t(M::Raise)) }
        }
    }
}

pub async fn raise_page(v: Viewer) -> Response {
    let body = raise_form(&v, &Values::new(), None);
    page(&v.chrome(), M::RaiseRequest.text(v.lang), body)
}

/// The provider API's input, from the form; targets left empty are skipped.
fn raise_input(values: &Values, ids: (String, String)) -> Result<RaiseInput, ServiceError> {
    let tz = parse_time_zone(value(values, "tz"))?;
    let rfc3339 = |name: &str| -> Result<Option<String>, ServiceError> {
        Ok(layout::local_time(value(values, name), &tz)?.map(|t| t.to_string()))
    };
    let own = |name: &str| value(values, name).map(str::to_owned);
    let mut details = Vec::new();
    for i in 0..MAX_TARGETS {
        let field = |name: &str| own(&format!("d{i}_{name}"));
        let named = ["instance_id", "instance_name", "region_id", "host", "port"];
        if named.iter().all(|n| field(n).is_none()) {
            continue;
        }
        let port = match field("port") {
            Some(p) => Some(crate::domain::validation::parse_int("port", &p, 1, 65_535)?),
            None => None,
        };
        details.push(DetailInput {
            detail_type: field("type").and_then(|t| t.parse().ok()),
            instance_id: field("instance_id"),
            instance_name: field("instance_name"),
            region_id: field("region_id"),
            host: field("host"),
            port,
        });
    }
    Ok(RaiseInput {
        customer_id: Some(ids.0),
        x_customer_id: Some(ids.1),
        incident_id: own("incident_id"),
        simple_description: own("simple_description"),
        auth_describe: own("auth_describe"),
        resource_type_id: own("resource_type_id"),
        visit_type_id: own("visit_type_id"),
        content_type_id: own("content_type_id"),
        content_of_auth_letter: own("letter"),
        requested_effective_time: rfc3339("requested_start")?,
        requested_expire_time: rfc3339("requested_end")?,
        details: Some(details),
    })
}

pub async fn raise(State(app): State<Arc<App>>, v: Viewer, Form(values): Form<Values>) -> Response {
    let result = async {
        let ids = app
            .customer_by_name(
                &v.principal,
                value(&values, "customer").unwrap_or(""),
                value(&values, "submitter").unwrap_or(""),
            )
            .await?;
        app.raise(&v.principal, raise_input(&values, ids)?, 0).await
    }
    .await;
    match result {
        Ok(_) => Redirect::to("/console/mine").into_response(),
        Err(e @ ServiceError::Invalid(_)) => {
            let message = layout::error_text(v.lang, e);
            let body = raise_form(&v, &values, Some(message));
            let mut response = page(&v.chrome(), M::RaiseRequest.text(v.lang), body);
            *response.status_mut() = StatusCode::BAD_REQUEST;
            response
        }
        Err(e) => layout::failure(v.lang, e),
    }
}

/// The SSH-keys form as posted: a pasted public key, or the key to remove.
#[derive(Deserialize)]
pub struct KeyForm {
    public_key: Option<String>,
    fingerprint: Option<String>,
}

fn keys_page(v: &Viewer, keys: &[SshKeyRecord], pasted: &str, error: Option<String>) -> Markup {
    let lang = v.lang;
    let t = |m: M| m.text(lang);
    html! {
        h1 { (t(M::MySshKeys)) }
        p.hint { (t(M::SshKeysHint)) }
        @if keys.is_empty() {
            p.empty { (t(M::NoSshKeys)) }
        } @else {
            (table(lang, M::MySshKeys, &[M::Fingerprint, M::Type, M::Comment, M::Added, M::Remove], true, html! {
                @for k in keys {
                    tr {
                        td data-label=(t(M::Fingerprint)) { code { (k.fingerprint) } }
                        td data-label=(t(M::Type)) { (k.algorithm) }
                        td data-label=(t(M::Comment)) { (k.comment) }
                        td data-label=(t(M::Added)) { (when(k.created_at)) }
                        td {
                            form.inline method="post" action="/console/keys/remove" {
                                input type="hidden" name="csrf" value=(v.csrf);
                                input type="hidden" name="fingerprint" value=(k.fingerprint);
                                button.secondary type="submit" aria-label={ (t(M::Remove)) " " (k.fingerprint) } { (t(M::Remove)) }
                            }
                        }
                    }
                }
            }))
        }
        h2 { (t(M::AddSshKey)) }
        @if let Some(message) = error { p.alert role="alert" { (message) } }
        form method="post" action="/console/keys" {
            input type="hidden" name="csrf" value=(v.csrf);
            label for="public_key" { (t(M::PublicKey)) }
            textarea #public_key name="public_key" rows="4" maxlength="16384" required spellcheck="false" autocomplete="off" { (pasted) }
            button.primary type="submit" { (t(M::AddSshKey)) }
        }
    }
}

async fn show_keys(
    app: &App,
    v: &Viewer,
    pasted: &str,
    error: Option<(StatusCode, String)>,
) -> Response {
    let keys = match app.list_ssh_keys(&v.principal).await {
        Ok(keys) => keys,
        Err(e) => return layout::failure(v.lang, e),
    };
    let (status, message) = match error {
        Some((status, message)) => (status, Some(message)),
        None => (StatusCode::OK, None),
    };
    let body = keys_page(v, &keys, pasted, message);
    let mut response = page(&v.chrome(), M::MySshKeys.text(v.lang), body);
    *response.status_mut() = status;
    response
}

/// My SSH keys: the keys the broker accepts from me, a paste box to add one.
pub async fn keys(State(app): State<Arc<App>>, v: Viewer) -> Response {
    show_keys(&app, &v, "", None).await
}

pub async fn add_key(
    State(app): State<Arc<App>>,
    v: Viewer,
    Form(form): Form<KeyForm>,
) -> Response {
    let pasted = form.public_key.unwrap_or_default();
    match app.add_ssh_key(&v.principal, pasted.trim()).await {
        Ok(_) => Redirect::to("/console/keys").into_response(),
        Err(e @ (ServiceError::Invalid(_) | ServiceError::Duplicate(_))) => {
            let status = match e {
                ServiceError::Invalid(_) => StatusCode::BAD_REQUEST,
                _ => StatusCode::CONFLICT,
            };
            let message = layout::error_text(v.lang, e);
            show_keys(&app, &v, &pasted, Some((status, message))).await
        }
        Err(e) => layout::failure(v.lang, e),
    }
}

pub async fn remove_key(
    State(app): State<Arc<App>>,
    v: Viewer,
    Form(form): Form<KeyForm>,
) -> Response {
    let fingerprint = form.fingerprint.unwrap_or_default();
    match app.remove_ssh_key(&v.principal, &fingerprint).await {
        Ok(()) => Redirect::to("/console/keys").into_response(),
        Err(e) => layout::failure(v.lang, e),
    }
}
