//! `POST /v3/auth/tokens`: the Keystone password method, domain scope.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::error::{ApiError, ErrorBody};
use super::input::{Caller, JsonBody, Source};
use super::wire::*;
use crate::domain::secret::Secret;
use crate::domain::validation::{Rule, ValidationError};
use crate::service::identity::DomainRef;
use crate::service::{App, ServiceError};

/// Keystone prints microseconds; the SDKs parse `%Y-%m-%dT%H:%M:%S.%fZ`.
fn keystone_time(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S.%6fZ").to_string()
}

fn missing(field: &str) -> ApiError {
    ValidationError::new(field, Rule::Required).into()
}

/// Log in: Keystone's password method, domain scope.
///
/// The token is returned in the `X-Subject-Token` header.
#[utoipa::path(post, path = "/v3/auth/tokens", tag = "identity",
  operation_id = "KeystoneCreateUserTokenByPassword",
  request_body = TokenRequest,
  responses((status = 201, description = "Issued; the token is in `X-Subject-Token`", body = TokenResponse,
      headers(("X-Subject-Token" = String, description = "The token, for `X-Auth-Token`"))),
    (status = 401, description = "Wrong name, password or domain, or a scope naming another domain", body = ErrorBody),
    (status = 429, description = "Too many failed logins for this user or source, or too many logins at once", body = ErrorBody,
      headers(("Retry-After" = u64, description = "Seconds to wait before retrying")))),
  security(()),
)]
pub async fn issue_token(
    State(app): State<Arc<App>>,
    Source(source): Source,
    JsonBody(body): JsonBody<TokenRequest>,
) -> Result<Response, ApiError> {
    let (identity, scope) = body.auth.map(|a| (a.identity, a.scope)).unwrap_or_default();
    let identity = identity.ok_or_else(|| missing("auth.identity"))?;
    let methods = identity.methods.unwrap_or_default();
    if !methods.iter().any(|m| m == "password") {
        return Err(
            ValidationError::new("auth.identity.methods", Rule::OneOf(&["password"])).into(),
        );
    }
    let user = identity
        .password
        .and_then(|p| p.user)
        .ok_or_else(|| missing("auth.identity.password.user"))?;
    let name = user
        .name
        .ok_or_else(|| missing("auth.identity.password.user.name"))?;
    let password = Secret::new(
        user.password
            .ok_or_else(|| missing("auth.identity.password.user.password"))?,
    );
    let domain = match user.domain {
        Some(NameOrId { name: Some(n), .. }) => DomainRef::Name(n),
        Some(NameOrId { id: Some(id), .. }) => DomainRef::Id(id),
        _ => return Err(missing("auth.identity.password.user.domain")),
    };
    let scope = requested_domain(scope.as_ref())?;
    let issued = app
        .issue_token(domain, &name, password, source, scope)
        .await?;
    let domain = NameOrId {
        id: Some(issued.domain.id.clone()),
        name: Some(issued.domain.name.clone()),
    };
    let body = TokenResponse {
        token: TokenBody {
            expires_at: keystone_time(issued.expires_at),
            issued_at: keystone_time(issued.issued_at),
            methods: vec!["password"],
            user: TokenUserBody {
                id: issued.user.id.clone(),
                name: issued.user.name.clone(),
                domain: domain.clone(),
                password_expires_at: String::new(),
            },
            domain,
            roles: role_names(&issued.user),
            catalog: vec![],
        },
    };
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    let header = HeaderValue::from_str(issued.token.expose())
        .map_err(|e| ServiceError::internal("the token is not a valid header value", e))?;
    response.headers_mut().insert("x-subject-token", header);
    Ok(response)
}

/// The domain a `scope.domain` names, if any (other scopes, e.g. projects, are not
/// checked: tokens are always domain-scoped here).
fn requested_domain(scope: Option<&serde_json::Value>) -> Result<Option<DomainRef>, ApiError> {
    let Some(domain) = scope.and_then(|s| s.get("domain")) else {
        return Ok(None);
    };
    let text = |key: &str| domain.get(key).and_then(|v| v.as_str()).map(str::to_owned);
    match (text("id"), text("name")) {
        (Some(id), _) => Ok(Some(DomainRef::Id(id))),
        (None, Some(name)) => Ok(Some(DomainRef::Name(name))),
        (None, None) => Err(missing("auth.scope.domain")),
    }
}

fn role_names(user: &crate::store::UserRecord) -> Vec<NameOrId> {
    let role = |name: &str| NameOrId {
        id: None,
        name: Some(name.into()),
    };
    match (user.is_engineer, user.is_provider_admin, user.is_admin) {
        (true, true, _) => vec![role("support_engineer"), role("provider_admin")],
        (true, false, _) => vec![role("support_engineer")],
        (false, _, true) => vec![role("te_admin")],
        (false, _, false) => vec![role("te_user")],
    }
}

/// The caller's own domain, for the SDKs' domain-id discovery.
#[utoipa::path(get, path = "/v3/auth/domains", tag = "identity",
  operation_id = "KeystoneListAuthDomains",
  responses((status = 200, description = "The caller's domain", body = DomainList)),
)]
pub async fn caller_domains(Caller(p): Caller) -> Json<DomainList> {
    Json(DomainList {
        domains: vec![NameOrId {
            id: Some(p.domain_id),
            name: Some(p.domain_name),
        }],
    })
}
