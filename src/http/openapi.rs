//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` attributes
//! and the wire types' `ToSchema` derives (so it cannot drift from the code), served at
//! `GET /openapi.json` and rendered at `/docs/api` by a vendored Redoc.
//!
//! The errors every operation can answer (400, 413, 414, 431, 500, 503; plus 401 and
//! 429 where a credential is needed) and the two security schemes are added here once,
//! by `CommonErrors`; each handler lists only the errors of its own (403, 404, 409).
//! `tests/api/openapi.rs` compares the router's routes with this document's paths.

use std::sync::LazyLock;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, HeaderBuilder, Ref, RefOr, ResponseBuilder, Type, schema::ObjectBuilder,
};
use utoipa::{Modify, OpenApi};

use super::error::ErrorBody;
use super::{audit, customer, health, identity, provider, recordings, ssh_keys, webhooks};
use crate::console::assets::{self, Asset};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "support-access",
        description = "Support access authorization: the customer API (wire-compatible with \
            Huawei Cloud's Service Ticket authorization API, `/v2/servicerequest`), the \
            provider API for support engineers (`/provider/v1`), the Keystone-style identity \
            API (`/v3/auth`), and our extensions (`/customer/v1`). Every error answer is \
            `{\"error_code\", \"error_msg\"}` in the language of `X-Language`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        customer::list_authorizations,
        customer::login_type,
        customer::check_hosts,
        customer::show_authorization,
        customer::confirm,
        customer::update,
        customer::list_sessions,
        customer::list_operations,
        customer::list_file_transfers,
        recordings::recording,
        recordings::live,
        recordings::terminate,
        provider::raise,
        provider::list,
        provider::show,
        provider::recall,
        provider::open_session,
        provider::reset_host_key,
        provider::append_operations,
        provider::append_file_transfers,
        provider::close_session,
        ssh_keys::list,
        ssh_keys::add,
        ssh_keys::remove,
        webhooks::provider::create,
        webhooks::provider::list,
        webhooks::provider::delete,
        webhooks::provider::rotate_secret,
        webhooks::provider::deliveries,
        webhooks::customer::create,
        webhooks::customer::list,
        webhooks::customer::delete,
        webhooks::customer::rotate_secret,
        webhooks::customer::deliveries,
        audit::list,
        identity::issue_token,
        identity::caller_domains,
        health::healthz,
        health::readyz,
    ),
    components(schemas(ErrorBody)),
    modifiers(&CommonErrors),
    security(("token" = []), ("signature" = [])),
    tags(
        (name = "customer", description = "Huawei Cloud-compatible customer API: review, approve, reject and audit support access"),
        (name = "provider", description = "Support engineers: raise requests, report sessions, SSH keys, webhooks (provider administrators)"),
        (name = "identity", description = "Keystone-style tokens for `X-Auth-Token`"),
        (name = "extensions", description = "Customer extensions: audit events and webhooks (domain administrators)"),
        (name = "operations", description = "Probes for load balancers and orchestrators"),
    ),
)]
pub struct ApiDoc;

/// The security schemes, and the error answers that do not depend on the operation.
struct CommonErrors;

/// (status, component name, description, with `Retry-After`)
const COMMON: &[(&str, &str, &str, bool)] = &[
    (
        "400",
        "BadRequest",
        "Invalid input (`OSM.01010001`): a parameter, header or body member out of range or of the wrong type",
        false,
    ),
    (
        "413",
        "PayloadTooLarge",
        "The body (declared or sent) is larger than `body_limit_bytes` (`OSM.01010103`)",
        false,
    ),
    (
        "414",
        "UriTooLong",
        "The request target is longer than 8 KiB",
        false,
    ),
    (
        "431",
        "HeadersTooLarge",
        "The header section is larger than 32 KiB",
        false,
    ),
    (
        "500",
        "Internal",
        "An unexpected failure (`OSM.01010014`); the cause is in the server's log only",
        false,
    ),
    (
        "503",
        "Unavailable",
        "The database is unreachable or the request timed out (`OSM.01010014`); retry after `Retry-After` seconds",
        true,
    ),
];

/// Only for operations that need a credential.
const AUTHENTICATED: &[(&str, &str, &str, bool)] = &[
    (
        "401",
        "Unauthenticated",
        "No valid `X-Auth-Token` or `SDK-HMAC-SHA256` signature (`APIGW.0301`)",
        false,
    ),
    (
        "429",
        "TooManyRequests",
        "Too many requests in progress, or too many failed credentials from this source (`OSM.01010104`); retry after `Retry-After` seconds",
        true,
    ),
];

fn error_response(description: &str, retry_after: bool) -> utoipa::openapi::Response {
    let mut response = ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ErrorBody")))
            .build(),
    );
    if retry_after {
        response = response.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(ObjectBuilder::new().schema_type(Type::Integer))
                .description(Some("Seconds to wait before retrying"))
                .build(),
        );
    }
    response.build()
}

fn operations(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
        &mut item.head,
        &mut item.options,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

impl Modify for CommonErrors {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Auth-Token",
                "A token from `POST /v3/auth/tokens` (its `X-Subject-Token` header).",
            ))),
        );
        components.add_security_scheme(
            "signature",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "`SDK-HMAC-SHA256 Access=AK, SignedHeaders=…, Signature=…`: Huawei Cloud's \
                 SDK signature with an access key (`support-access admin access-key create`). \
                 The canonical request (method, path with a trailing slash, sorted query, \
                 the signed headers, the body's SHA-256) is signed with HMAC-SHA256 and the \
                 secret key; `X-Sdk-Date` (UTC, `YYYYMMDDTHHMMSSZ`) must be signed and \
                 within 15 minutes of the server's clock, and a signed write is accepted \
                 once. The official SDKs sign this way.",
            ))),
        );
        for (_, name, description, retry_after) in COMMON.iter().chain(AUTHENTICATED) {
            components.responses.insert(
                (*name).to_owned(),
                RefOr::T(error_response(description, *retry_after)),
            );
        }
        let public = Some(vec![SecurityRequirement::default()]);
        for item in doc.paths.paths.values_mut() {
            for operation in operations(item) {
                let authenticated = operation.security != public;
                let errors = COMMON
                    .iter()
                    .chain(AUTHENTICATED.iter().filter(|_| authenticated));
                for (status, name, _, _) in errors {
                    operation
                        .responses
                        .responses
                        .entry((*status).to_owned())
                        .or_insert_with(|| RefOr::Ref(Ref::from_response_name(*name)));
                }
            }
        }
    }
}

/// The document as served, made once.
static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    ApiDoc::openapi()
        .to_json()
        .expect("the OpenAPI document serializes")
});

/// `GET /openapi.json`.
pub async fn document() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        DOCUMENT.as_str(),
    )
        .into_response()
}

static REDOC: LazyLock<Asset> = LazyLock::new(|| {
    assets::asset(
        "redoc.standalone",
        "js",
        "text/javascript; charset=utf-8",
        include_bytes!("static/redoc.standalone.js"),
    )
});

/// Redoc builds its styles at run time and its search index in a worker it makes from a
/// blob; nothing may come from elsewhere.
const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; font-src 'self'; connect-src 'self'; worker-src blob:; \
    form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

/// `GET /docs/api`: the document rendered by Redoc (the element comes first: the script
/// renders it as soon as it runs).
pub async fn page() -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>support-access API reference</title>\n</head>\n<body>\n\
         <redoc spec-url=\"/openapi.json\"></redoc>\n<script src=\"/docs/api/static/{}\"></script>\n\
         </body>\n</html>\n",
        REDOC.name
    );
    let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(DOCS_CSP),
    );
    response.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// `GET /docs/api/static/{name}`: the viewer's script under its content-hashed name.
pub async fn asset(axum::extract::Path(name): axum::extract::Path<String>) -> Response {
    assets::serve_one(&[&*REDOC], &name)
}
