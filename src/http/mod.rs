//! The HTTP layer: routes, extraction, authentication, and mapping errors to the wire.
//! Handlers stay thin; the rules live in `domain` and the use cases in `service`.

mod audit;
pub mod connections;
mod customer;
pub mod error;
mod health;
mod idempotency;
mod identity;
pub mod input;
pub mod middleware;
pub mod openapi;
mod params;
mod provider;
pub mod recordings;
mod ssh_keys;
mod webhooks;
pub mod wire;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};

use crate::service::App;
use middleware::EnvelopeConfig;

/// The whole API. `config` sets the body limit and the request timeout.
/// The web console is served under `/console/` from the same router.
pub fn router(
    app: Arc<App>,
    config: EnvelopeConfig,
    console: crate::console::ConsoleConfig,
) -> Router {
    let auth = middleware::AuthState {
        app: app.clone(),
        body_limit: config.body_limit,
    };
    let authenticated =
        || axum::middleware::from_fn_with_state(auth.clone(), middleware::authenticate);
    // The provider's writes a client may retry with an `Idempotency-Key`; inside
    // authentication, which the route layer below adds around them.
    let keyed = idempotency::IdempotencyState {
        app: app.clone(),
        body_limit: config.body_limit,
    };
    let idempotent =
        || axum::middleware::from_fn_with_state(keyed.clone(), idempotency::idempotent);

    // Our session extensions sit beside Huawei's history endpoints (SPEC §7).
    let history = "/authorizations/{authorization_id}/authorization-details/{detail_id}/sessions/{session_id}";
    let customer = Router::new()
        .route("/authorizations", get(customer::list_authorizations))
        .route("/authorizations/login-type", get(customer::login_type))
        .route(
            "/authorizations/authorization-details/{detail_id}/verify-host",
            post(customer::check_hosts),
        )
        .route(
            "/authorizations/{authorization_id}",
            get(customer::show_authorization).put(customer::confirm),
        )
        .route("/authorizations/{authorization_id}/action", put(customer::update))
        .route(
            "/authorizations/{authorization_id}/authorization-details/{detail_id}/history-sessions",
            get(customer::list_sessions),
        )
        .route(
            "/authorizations/{authorization_id}/authorization-details/{detail_id}/sessions/{session_id}/operation-logs",
            get(customer::list_operations),
        )
        .route(
            "/authorizations/{authorization_id}/authorization-details/{detail_id}/sessions/{session_id}/operation-file-logs",
            get(customer::list_file_transfers),
        )
        .route(&format!("{history}/recording"), get(recordings::recording))
        .route(&format!("{history}/live"), get(recordings::live))
        .route(&format!("{history}/terminate"), post(recordings::terminate))
        .route_layer(authenticated());

    let session = "/authorizations/{authorization_id}/details/{detail_id}/sessions/{session_id}";
    let provider = Router::new()
        .route(
            "/authorizations",
            post(provider::raise)
                .layer(idempotent())
                .get(provider::list),
        )
        .route("/authorizations/{authorization_id}", get(provider::show))
        .route(
            "/authorizations/{authorization_id}/recall",
            post(provider::recall),
        )
        .route(
            "/authorizations/{authorization_id}/details/{detail_id}/sessions",
            post(provider::open_session).layer(idempotent()),
        )
        .route(
            "/authorizations/{authorization_id}/details/{detail_id}/host-key/reset",
            post(provider::reset_host_key),
        )
        .route(
            &format!("{session}/operations"),
            post(provider::append_operations).layer(idempotent()),
        )
        .route(
            &format!("{session}/file-transfers"),
            post(provider::append_file_transfers).layer(idempotent()),
        )
        .route(&format!("{session}/close"), post(provider::close_session))
        .route(
            "/ssh-keys",
            get(ssh_keys::list)
                .post(ssh_keys::add)
                .delete(ssh_keys::remove),
        )
        .merge(webhooks::routes(true))
        .route_layer(authenticated());

    // Our extensions for customers (SPEC §9).
    let customer_extensions = Router::new()
        .route("/audit-events", get(audit::list))
        .merge(webhooks::routes(false))
        .route_layer(authenticated());

    Router::new()
        .nest("/v2/servicerequest", customer)
        .nest("/customer/v1", customer_extensions)
        .nest("/provider/v1", provider)
        .route("/v3/auth/tokens", post(identity::issue_token))
        .route(
            "/v3/auth/domains",
            get(identity::caller_domains).route_layer(authenticated()),
        )
        .merge(crate::console::router(console))
        .route("/", get(crate::console::root))
        .route("/openapi.json", get(openapi::document))
        .route("/docs/api", get(openapi::page))
        .route("/docs/api/static/{name}", get(openapi::asset))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route_layer(axum::middleware::from_fn(middleware::tag_route))
        .fallback(middleware::fallback)
        .with_state(app)
        .layer(DefaultBodyLimit::max(config.body_limit))
        .layer(axum::middleware::from_fn_with_state(
            config,
            middleware::envelope,
        ))
}
