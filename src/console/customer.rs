//! Customer pages: requests by status, one request with its timeline and history,
//! approve (with host checks), reject, revoke. Every read and change goes through the
//! same use cases as the customer API, so visibility and validation are the API's.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Redirect, Response};
use jiff::Timestamp;
use maud::{Markup, html};
use serde::Deserialize;

use super::auth::Viewer;
use super::i18n::{self, M};
use super::layout::{self, page, paging, table, when, window};
use crate::domain::catalog::{self, CONTENT_TYPES, RESOURCE_TYPES, VISIT_TYPES};
use crate::domain::confirm::{ConfirmInput, GrantInput};
use crate::domain::host_check::HostCheckInput;
use crate::domain::ids::parse_long_id;
use crate::domain::secret::Secret;
use crate::domain::session::human_size;
use crate::domain::time::{format_duration_ms, parse_time_zone};
use crate::domain::validation::text;
use crate::domain::{
    Action, Authorization, AuthorizationId, DetailId, DetailType, Language, SessionId, Status,
};
use crate::service::{App, ServiceError, SessionPath};
use crate::store::{ListFilter, Order, Page};

/// Rows per page of the request list.
const PAGE_SIZE: u32 = 20;
/// Sessions, commands and transfers shown per detail or session.
const HISTORY_LIMIT: u32 = 100;

/// `?group=` carried from page to page; empty means none.
fn group_query(group: Option<&str>) -> String {
    group.map_or(String::new(), |g| {
        format!(
            "?{}",
            serde_urlencoded::to_string([("group", g)]).unwrap_or_default()
        )
    })
}

fn request_url(id: AuthorizationId, group: Option<&str>) -> String {
    format!("/console/requests/{}{}", id.0, group_query(group))
}

/// A path id that cannot exist is simply not found.
fn authorization_id(raw: &str) -> Option<AuthorizationId> {
    AuthorizationId::parse(raw).ok().flatten()
}

fn long_id(raw: &str) -> Option<i64> {
    parse_long_id("id", raw).ok().flatten()
}

fn nonempty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    status: Option<String>,
    incident_id: Option<String>,
    description: Option<String>,
    submitter: Option<String>,
    group: Option<String>,
    offset: Option<u32>,
}

impl ListQuery {
    /// `None` = every status; the default tab is the pending one.
    fn status(&self) -> Option<Status> {
        match self.status.as_deref() {
            Some("all") => None,
            Some(code) => code
                .parse()
                .ok()
                .and_then(Status::from_code)
                .or(Some(Status::Pending)),
            None => Some(Status::Pending),
        }
    }

    /// The list URL with these filters and the given status and offset.
    fn url(&self, status: Option<Status>, offset: u32) -> String {
        let status = status.map_or("all".to_string(), |s| s.code().to_string());
        let mut pairs = vec![("status", status)];
        for (k, v) in [
            ("incident_id", &self.incident_id),
            ("description", &self.description),
            ("submitter", &self.submitter),
            ("group", &self.group),
        ] {
            if let Some(v) = nonempty(v) {
                pairs.push((k, v.to_owned()));
            }
        }
        if offset > 0 {
            pairs.push(("offset", offset.to_string()));
        }
        format!(
            "/console/requests?{}",
            serde_urlencoded::to_string(&pairs).unwrap_or_default()
        )
    }

    fn filter(&self) -> Result<ListFilter, ServiceError> {
        let field = |name: &str, v: &Option<String>, max: usize| {
            nonempty(v)
                .map(|s| text(name, s, 1, max).map(|()| s.to_owned()))
                .transpose()
        };
        Ok(ListFilter {
            incident_id: field("incident_id", &self.incident_id, 64)?,
            simple_description: field("simple_description", &self.description, 2000)?,
            sub_customer_name: field("sub_customer_name", &self.submitter, 64)?,
            status: self.status().map(|s| i64::from(s.code())),
            page: Page {
                offset: self.offset.unwrap_or(0).min(65_535),
                limit: PAGE_SIZE,
            },
        })
    }
}

pub async fn list(State(app): State<Arc<App>>, v: Viewer, Query(q): Query<ListQuery>) -> Response {
    let group = nonempty(&q.group);
    let result = async {
        let filter = q.filter()?;
        let counts = app.status_counts(&v.principal, group, &filter).await?;
        let (total, rows) = app
            .list_authorizations(&v.principal, group, &filter)
            .await?;
        let groups = app.my_operator_groups(&v.principal).await?;
        Ok::<_, ServiceError>((filter, counts, total, rows, groups))
    }
    .await;
    let (filter, counts, total, rows, groups) = match result {
        Ok(found) => found,
        Err(e) => return layout::failure(v.lang, e),
    };
    let lang = v.lang;
    let t = |m: M| m.text(lang);
    let selected = q.status();
    let all: u64 = counts.iter().map(|(_, n)| n).sum();
    let offset = filter.page.offset;
    let prev = (offset > 0).then(|| q.url(selected, offset.saturating_sub(PAGE_SIZE)));
    let more = u64::from(offset) + (rows.len() as u64) < total;
    let next = (more && offset + PAGE_SIZE <= 65_535).then(|| q.url(selected, offset + PAGE_SIZE));
    let body = html! {
        h1 { (t(M::Requests)) }
        nav.tabs aria-label=(t(M::StatusTabs)) {
            @for (status, n) in &counts {
                a href=(q.url(Some(*status), 0)) aria-current=[(selected == Some(*status)).then_some("page")] {
                    (status.name(lang)) " " span.count { (n) }
                }
            }
            a href=(q.url(None, 0)) aria-current=[selected.is_none().then_some("page")] {
                (t(M::AllStatuses)) " " span.count { (all) }
            }
        }
        details.filters open[q.incident_id.is_some() || q.description.is_some() || q.submitter.is_some() || group.is_some()] {
            summary { (t(M::Filters)) }
            form method="get" action="/console/requests" {
                input type="hidden" name="status" value=(selected.map_or("all".to_string(), |s| s.code().to_string()));
                div.fields {
                    div { label for="f-incident" { (t(M::IncidentId)) } input #f-incident name="incident_id" maxlength="64" value=[nonempty(&q.incident_id)]; }
                    div { label for="f-description" { (t(M::Summary)) } input #f-description name="description" maxlength="2000" value=[nonempty(&q.description)]; }
                    div { label for="f-submitter" { (t(M::Submitter)) } input #f-submitter name="submitter" maxlength="64" value=[nonempty(&q.submitter)]; }
                    @if !groups.is_empty() {
                        div {
                            label for="f-group" { (t(M::OperatorGroup)) }
                            select #f-group name="group" {
                                option value="" { (t(M::NoGroup)) }
                                @for g in &groups {
                                    option value=(g.id) selected[group == Some(g.id.as_str())] { (g.name) }
                                }
                            }
                        }
                    }
                }
                button.primary type="submit" { (t(M::Apply)) }
                " "
                a href="/console/requests" { (t(M::Clear)) }
            }
        }
        @if rows.is_empty() {
            p.empty { (t(M::NoRequests)) }
        } @else {
            (table(lang, M::Requests, &[M::IncidentId, M::Summary, M::Submitter, M::Status, M::Raised], true, html! {
                        @for a in &rows {
                            tr {
                                td data-label=(t(M::IncidentId)) { a href=(request_url(a.id, group)) { (a.incident_id) } }
                                td data-label=(t(M::Summary)) { (a.simple_description) }
                                td data-label=(t(M::Submitter)) { (a.xcustomer_name) }
                                td data-label=(t(M::Status)) { (status_badge(a.status, lang)) }
                                td data-label=(t(M::Raised)) { (when(a.created_at)) }
                            }
                        }
            }))
            (paging(lang, offset, rows.len(), total, prev, next))
        }
    };
    page(&v.chrome(), t(M::Requests), body)
}

pub fn status_badge(status: Status, lang: Language) -> Markup {
    html! { span class={ "badge s" (status.code()) } { (status.name(lang)) } }
}

#[derive(Deserialize, Default)]
pub struct GroupQuery {
    group: Option<String>,
}

fn catalog_row(label: M, lang: Language, value: &str) -> Markup {
    html! { dt { (label.text(lang)) } dd { (value) } }
}

/// Who asks, for which ticket, why, for what and when.
fn facts(a: &Authorization, lang: Language) -> Markup {
    let t = |m: M| m.text(lang);
    let (from, to) = a.shown_window();
    html! {
        dl.facts {
            dt { (t(M::Status)) } dd { (status_badge(a.status, lang)) }
            dt { (t(M::IncidentId)) } dd { (a.incident_id) }
            dt { (t(M::Submitter)) } dd { (a.xcustomer_name) }
            dt { (t(M::RaisedBy)) } dd { (a.raised_by_name) }
            dt { (t(M::Raised)) } dd { (when(a.created_at)) }
            (catalog_row(M::ResourceType, lang, catalog::name(RESOURCE_TYPES, &a.resource_type_id, lang)))
            (catalog_row(M::VisitType, lang, catalog::name(VISIT_TYPES, &a.visit_type_id, lang)))
            (catalog_row(M::ContentType, lang, catalog::name(CONTENT_TYPES, &a.content_type_id, lang)))
            dt { (t(if a.status == Status::Pending { M::RequestedWindow } else { M::GrantedWindow })) }
            dd { (window(lang, from, to)) }
            @if a.status == Status::Pending {
                dt { (t(M::PendingUntil)) } dd { (when(a.pending_deadline)) }
            }
            @if let Some(reason) = &a.reject_reason {
                dt { (t(M::RejectReason)) } dd { (reason) }
            }
            @if let Some(handler) = &a.handler_name {
                dt { (t(M::HandledBy)) } dd { (handler) }
            }
        }
        h2 { (t(M::Why)) }
        p.prose { (a.auth_describe) }
        h2 { (t(M::Letter)) }
        blockquote.prose { (a.content_of_auth_letter) }
    }
}

fn targets(a: &Authorization, lang: Language) -> Markup {
    let t = |m: M| m.text(lang);
    html! {
        h2 { (t(M::Targets)) }
        (table(lang, M::Targets, &[M::Type, M::Instance, M::Region, M::Address, M::Account], false, html! {
                    @for d in &a.details {
                        tr {
                            td { (t(if d.detail_type == DetailType::Host { M::Host } else { M::Console })) }
                            td { (d.instance_name) br; small { (d.instance_id) } }
                            td { (d.region_id) }
                            td {
                                @if let Some(host) = &d.host { (host) @if let Some(port) = d.port() { ":" (port) } }
                                @if let Some(fp) = &d.host_key_fingerprint { br; small title=(t(M::HostKey)) { (fp) } }
                            }
                            td { @if let Some(account) = &d.account { (account) } }
                        }
                    }
        }))
    }
}

fn timeline(events: &[crate::domain::AuditEvent], lang: Language) -> Markup {
    html! {
        h2 { (M::Timeline.text(lang)) }
        ol.timeline {
            @for e in events {
                li {
                    (when(e.at)) " "
                    strong { (i18n::event_label(&e.draft.kind, lang)) }
                    " · " (e.draft.actor_name)
                    @if let Some(reason) = &e.draft.reason { @if !reason.is_empty() { br; q { (reason) } } }
                }
            }
        }
    }
}

pub async fn show(
    State(app): State<Arc<App>>,
    v: Viewer,
    Path(id): Path<String>,
    Query(q): Query<GroupQuery>,
) -> Response {
    let group = nonempty(&q.group);
    let (auth, events) = match app
        .authorization_timeline(&v.principal, group, authorization_id(&id))
        .await
    {
        Ok(found) => found,
        Err(e) => return layout::failure(v.lang, e),
    };
    let mut sessions = Vec::new();
    for d in auth
        .details
        .iter()
        .filter(|d| d.detail_type == DetailType::Host)
    {
        let page = Page {
            offset: 0,
            limit: HISTORY_LIMIT,
        };
        match app
            .list_sessions(&v.principal, group, Some(auth.id), Some(d.id), page)
            .await
        {
            Ok((_, list)) => sessions.extend(list.into_iter().map(|s| (d, s))),
            Err(e) => return layout::failure(v.lang, e),
        }
    }
    let lang = v.lang;
    let t = |m: M| m.text(lang);
    let now = app.clock.now();
    let base = format!("/console/requests/{}", auth.id.0);
    let body = html! {
        p.crumbs { a href={ "/console/requests" (group_query(group)) } { "← " (t(M::Requests)) } }
        h1 { (t(M::Request)) " " (auth.incident_id) ": " (auth.simple_description) }
        @if auth.status == Status::Pending {
            div.actions {
                a.button.primary href={ (base) "/approve" (group_query(group)) } { (t(M::Approve)) }
            }
        }
        @if auth.status == Status::Authorized {
            div.actions {
                a.button.danger href={ (base) "/revoke" (group_query(group)) } { (t(M::Revoke)) }
            }
        }
        (facts(&auth, lang))
        (targets(&auth, lang))
        @if auth.status == Status::Pending {
            section.card aria-labelledby="reject-h" {
                h2 #reject-h { (t(M::Reject)) }
                form method="post" action={ (base) "/reject" } {
                    input type="hidden" name="csrf" value=(v.csrf);
                    @if let Some(g) = group { input type="hidden" name="group" value=(g); }
                    label for="reason" { (t(M::RejectReason)) }
                    textarea #reason name="reason" required maxlength="300" rows="3" aria-describedby="reason-left" {}
                    p #reason-left.hint data-counter-for="reason" aria-live="polite" { span { "300" } " " (t(M::CharactersLeft)) }
                    button.danger type="submit" { (t(M::RejectSubmit)) }
                }
            }
        }
        (timeline(&events, lang))
        h2 { (t(M::History)) }
        @if sessions.is_empty() {
            p.empty { (t(M::NoSessions)) }
        } @else {
            (table(lang, M::History, &[M::Session, M::Host, M::Started, M::Ended, M::Duration], false, html! {
                        @for (d, s) in &sessions {
                            tr {
                                td { a href={ (base) "/details/" (d.id.0) "/sessions/" (s.id.0) (group_query(group)) } { (s.id.0) } }
                                td { (d.instance_name) }
                                td { (when(s.started_at)) }
                                td { @if let Some(end) = s.ended_at { (when(end)) } @else { (t(M::StillOpen)) } }
                                td { (format_duration_ms(s.duration_ms(now))) }
                            }
                        }
            }))
        }
    };
    page(&v.chrome(), &auth.incident_id, body)
}

/// What the approve form posted, field by field, kept to show the form again.
#[derive(Default)]
struct ApproveValues {
    pairs: Vec<(String, String)>,
}

impl ApproveValues {
    fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

fn approve_form(
    app: &App,
    v: &Viewer,
    auth: &Authorization,
    group: Option<&str>,
    values: &ApproveValues,
    error: Option<String>,
) -> Markup {
    let lang = v.lang;
    let t = |m: M| m.text(lang);
    let base = format!("/console/requests/{}", auth.id.0);
    let max_hours = app.max_window().as_secs() / 3600;
    let ms = |ts: Option<Timestamp>| ts.map(|t| t.as_millisecond().to_string());
    html! {
        p.crumbs { a href=(request_url(auth.id, group)) { "← " (auth.incident_id) } }
        h1 { (t(M::ApproveTitle)) ": " (auth.incident_id) }
        @if let Some(message) = error {
            p.alert role="alert" { (message) }
        }
        p { (t(M::ApproveHint)) }
        form #approve method="post" action={ (base) "/approve" } {
            input type="hidden" name="csrf" value=(v.csrf);
            @if let Some(g) = group { input type="hidden" name="group" value=(g); }
            input type="hidden" name="tz" value=(values.get("tz").unwrap_or("UTC")) data-tz-field;
            @for d in &auth.details {
                @if d.detail_type == DetailType::Host {
                    @let id = d.id.0;
                    fieldset.host data-detail=(id) data-check-url={ (base) "/details/" (id) "/check" } {
                        legend { (t(M::Host)) " " (d.instance_name) " (" (d.host.as_deref().unwrap_or("")) ")" }
                        div.fields {
                            div {
                                label for={ "port-" (id) } { (t(M::Port)) }
                                input id={ "port-" (id) } name={ "port_" (id) } type="number" min="1" max="65535" required
                                    value=(values.get(&format!("port_{id}")).map(str::to_owned).or(d.port().map(|p| p.to_string())).unwrap_or_default());
                            }
                            div {
                                label for={ "account-" (id) } { (t(M::Account)) }
                                input id={ "account-" (id) } name={ "account_" (id) } required maxlength="64" autocomplete="off"
                                    value=(values.get(&format!("account_{id}")).unwrap_or(""));
                            }
                            div {
                                label for={ "password-" (id) } { (t(M::Password)) }
                                input id={ "password-" (id) } name={ "password_" (id) } type="password" required maxlength="1024" autocomplete="new-password";
                            }
                        }
                        button.secondary type="button" data-check data-checking=(t(M::Checking)) { (t(M::Check)) }
                        output.check-result aria-live="polite" {}
                    }
                }
            }
            fieldset {
                legend { (t(M::Window)) }
                p.hint #window-hint { (t(M::WindowHint)) " " (max_hours) " " (t(M::Hours)) "." }
                div.fields {
                    div {
                        label for="effective" { (t(M::WindowStart)) }
                        input #effective name="effective" type="datetime-local" aria-describedby="window-hint"
                            value=(values.get("effective").unwrap_or(""))
                            data-default-ms=[ms(auth.requested_effective_at)];
                    }
                    div {
                        label for="expire" { (t(M::WindowEnd)) }
                        input #expire name="expire" type="datetime-local" aria-describedby="window-hint"
                            value=(values.get("expire").unwrap_or(""))
                            data-default-ms=[ms(auth.requested_expire_at)]
                            data-max-hours=(max_hours);
                    }
                }
            }
            section.summary aria-labelledby="summary-h" {
                h2 #summary-h { (t(M::WhatWillHappen)) }
                p { strong { (auth.raised_by_name) } }
                ul {
                    @for d in &auth.details {
                        li data-summary-for=(d.id.0) {
                            @if d.detail_type == DetailType::Host {
                                (t(M::WillLogIn)) " " strong { (d.instance_name) } " (" (d.host.as_deref().unwrap_or("")) ") "
                                (t(M::AsAccount)) " " strong data-summary-account { "…" }
                            } @else {
                                (t(M::WillUseConsole)) " " strong { (d.instance_name) }
                            }
                        }
                    }
                }
                p data-summary-window { }
                p { (t(M::Between)) }
            }
            button.primary type="submit" { (t(M::ApproveSubmit)) }
            " "
            a href=(request_url(auth.id, group)) { (t(M::Cancel)) }
        }
    }
}

async fn pending_authorization(
    app: &App,
    v: &Viewer,
    id: &str,
    group: Option<&str>,
) -> Result<Authorization, Response> {
    let auth = app
        .show_authorization(&v.principal, group, authorization_id(id))
        .await
        .map_err(|e| layout::failure(v.lang, e))?;
    if let Err(conflict) = Action::Confirm.apply(auth.status) {
        return Err(layout::failure(v.lang, conflict.into()));
    }
    Ok(auth)
}

pub async fn approve_page(
    State(app): State<Arc<App>>,
    v: Viewer,
    Path(id): Path<String>,
    Query(q): Query<GroupQuery>,
) -> Response {
    let group = nonempty(&q.group);
    let auth = match pending_authorization(&app, &v, &id, group).await {
        Ok(a) => a,
        Err(response) => return response,
    };
    let body = approve_form(&app, &v, &auth, group, &ApproveValues::default(), None);
    page(&v.chrome(), M::ApproveTitle.text(v.lang), body)
}

fn confirm_input(
    auth: &Authorization,
    values: &ApproveValues,
) -> Result<ConfirmInput, ServiceError> {
    let tz = parse_time_zone(values.get("tz"))?;
    let mut details = Vec::with_capacity(auth.details.len());
    for d in &auth.details {
        let id = d.id.0;
        let port = match values.get(&format!("port_{id}")) {
            Some(p) => Some(crate::domain::validation::parse_int("port", p, 1, 65_535)?),
            None => None,
        };
        details.push(GrantInput {
            auth_detail_id: Some(id),
            port,
            account: values.get(&format!("account_{id}")).map(str::to_owned),
            password: values
                .get(&format!("password_{id}"))
                .map(|p| Secret::new(p.to_owned())),
        });
    }
    Ok(ConfirmInput {
        auth_detail_list: details,
        auth_effective_time: layout::local_time(values.get("effective"), &tz)?
            .map(jiff::Timestamp::as_millisecond),
        auth_expire_time: layout::local_time(values.get("expire"), &tz)?
            .map(jiff::Timestamp::as_millisecond),
        agency_id: None,
    })
}

pub async fn approve(
    State(app): State<Arc<App>>,
    v: Viewer,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let values = ApproveValues { pairs };
    let group = values.get("group").map(str::to_owned);
    let group = group.as_deref();
    let auth = match pending_authorization(&app, &v, &id, group).await {
        Ok(a) => a,
        Err(response) => return response,
    };
    let result = match confirm_input(&auth, &values) {
        Ok(input) => app.confirm(&v.principal, group, Some(auth.id), input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Redirect::to(&request_url(auth.id, group)).into_response(),
        Err(e @ (ServiceError::Invalid(_) | ServiceError::Conflict(_))) => {
            let message = layout::error_text(v.lang, e);
            let body = approve_form(&app, &v, &auth, group, &values, Some(message));
            let mut response = page(&v.chrome(), M::ApproveTitle.text(v.lang), body);
            *response.status_mut() = StatusCode::BAD_REQUEST;
            response
        }
        Err(e) => layout::failure(v.lang, e),
    }
}

#[derive(Deserialize)]
pub struct CheckForm {
    port: Option<String>,
    account: Option<String>,
    password: Option<String>,
    group: Option<String>,
}

/// Runs CheckHosts and answers `{ok, message}` for the approve page's script.
pub async fn check(
    State(app): State<Arc<App>>,
    v: Viewer,
    Path((_id, detail)): Path<(String, String)>,
    Form(form): Form<CheckForm>,
) -> Response {
    let lang = v.lang;
    let port = match nonempty(&form.port) {
        Some(p) => match crate::domain::validation::parse_int("port", p, 1, 65_535) {
            Ok(p) => Some(p),
            Err(e) => return check_answer(false, layout::error_text(lang, e.into())),
        },
        None => None,
    };
    let input = HostCheckInput {
        port,
        account: form.account.filter(|a| !a.is_empty()),
        password: form.password.filter(|p| !p.is_empty()).map(Secret::new),
    };
    let detail = long_id(&detail).map(DetailId);
    match app
        .check_host(&v.principal, nonempty(&form.group), detail, input)
        .await
    {
        Ok(outcome) => match outcome.message(lang) {
            None => check_answer(true, M::CheckPassed.text(lang).to_owned()),
            Some(why) => check_answer(false, why.to_owned()),
        },
        Err(e) => check_answer(false, layout::error_text(lang, e)),
    }
}

fn check_answer(ok: bool, message: String) -> Response {
    Json(serde_json::json!({ "ok": ok, "message": message })).into_response()
}

#[derive(Deserialize)]
pub struct ReasonForm {
    reason: Option<String>,
    group: Option<String>,
}

pub async fn reject(
    State(app): State<Arc<App>>,
    v: Viewer,
    Path(id): Path<String>,
    Form(form): Form<ReasonForm>,
) -> Response {
    transition(&app, &v, &id, Action::Reject, form).await
}

pub async fn revoke(
    State(app): State<Arc<App>>,
    v: Viewer,
    Path(id): Path<String>,
    Form(form): Form<ReasonForm>,
) -> Response {
    transition(&app, &v, &id, Action::Cancel, form).await
}

async fn transition(app: &App, v: &Viewer, id: &str, action: Action, form: ReasonForm) -> Response {
    let group = nonempty(&form.group);
    let reason = form.reason.filter(|r| !r.trim().is_empty());
    // The console asks for a reason where the API leaves it optional; its length is
    // the service's to check.
    if action == Action::Reject && reason.is_none() {
        let missing =
            crate::domain::ValidationError::new("reject_reason", crate::domain::Rule::Required);
        return layout::failure(v.lang, missing.into());
    }
    let id = authorization_id(id);
    match app
        .reject_or_cancel(&v.principal, group, id, action, reason)
        .await
    {
        Ok(()) => Redirect::to(&id.map_or("/console/requests".into(), |id| request_url(id, group)))
            .into_response(),
        Err(e) => layout::failure(v.lang, e),
    }
}

pub async fn revoke_page(
    State(app): State<Arc<App>>,
    v: Viewer,
    Path(id): Path<String>,
    Query(q): Query<GroupQuery>,
) -> Response {
    let group = nonempty(&q.group);
    let auth = match app
        .show_authorization(&v.principal, group, authorization_id(&id))
        .await
    {
        Ok(a) => a,
        Err(e) => return layout::failure(v.lang, e),
    };
    let t = |m: M| m.text(v.lang);
    let body = html! {
        section.card.warning {
            h1 { (t(M::RevokeTitle)) }
            p { strong { (auth.incident_id) } ": " (auth.simple_description) }
            p role="alert" { (t(M::RevokeWarning)) }
            form method="post" action={ "/console/requests/" (auth.id.0) "/revoke" } {
                input type="hidden" name="csrf" value=(v.csrf);
                @if let Some(g) = group { input type="hidden" name="group" value=(g); }
                button.danger type="submit" { (t(M::RevokeSubmit)) }
                " "
                a href=(request_url(auth.id, group)) { (t(M::Cancel)) }
            }
        }
    };
    page(&v.chrome(), t(M::RevokeTitle), body)
}

pub async fn session(
    State(app): State<Arc<App>>,
    v: Viewer,
    Path((id, detail, session)): Path<(String, String, String)>,
    Query(q): Query<GroupQuery>,
) -> Response {
    let group = nonempty(&q.group);
    let path = SessionPath {
        authorization_id: authorization_id(&id),
        detail_id: long_id(&detail).map(DetailId),
        session_id: long_id(&session).map(SessionId),
    };
    let page_of = Page {
        offset: 0,
        limit: HISTORY_LIMIT,
    };
    let result = async {
        let (_, ops) = app
            .list_operations(&v.principal, group, path, Order::OldestFirst, page_of)
            .await?;
        let (_, files) = app
            .list_file_transfers(&v.principal, group, path, Order::OldestFirst, page_of)
            .await?;
        Ok::<_, ServiceError>((ops, files))
    }
    .await;
    let (ops, files) = match result {
        Ok(found) => found,
        Err(e) => return layout::failure(v.lang, e),
    };
    let lang = v.lang;
    let t = |m: M| m.text(lang);
    let back = path
        .authorization_id
        .map_or("/console/requests".into(), |a| request_url(a, group));
    let body = html! {
        p.crumbs { a href=(back) { "← " (t(M::Request)) } }
        h1 { (t(M::Session)) " " (session) }
        h2 { (t(M::Commands)) }
        @if ops.is_empty() { p.empty { (t(M::NoCommands)) } } @else {
            (table(lang, M::Commands, &[M::Time, M::Command], false, html! {
                @for o in &ops { tr { td { (when(o.operate_time)) } td { code { (o.oper) } } } }
            }))
        }
        h2 { (t(M::Transfers)) }
        @if files.is_empty() { p.empty { (t(M::NoTransfers)) } } @else {
            (table(lang, M::Transfers, &[M::Time, M::Direction, M::FileName, M::From, M::To, M::Size, M::Result], false, html! {
                    @for f in &files { tr {
                        td { (when(f.operate_time)) }
                        td { (f.operate_type) }
                        td { (f.file_name) }
                        td { code { (f.from_path) } }
                        td { code { (f.to_path) } }
                        td title=(f.file_size_bytes) { (human_size(f.file_size_bytes)) }
                        td { (f.oper_result) }
                    } }
            }))
        }
    };
    page(&v.chrome(), t(M::Session), body)
}
