//! Webhook subscriptions: `/customer/v1/webhooks` (domain administrators) and
//! `/provider/v1/webhooks` (provider administrators), the same handlers for both.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::error::{ApiError, ErrorBody};
use super::input::{Caller, JsonBody};
use crate::service::webhooks::{Webhook, owner_of};
use crate::service::{App, actor};
use crate::store::DeliveryRecord;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    /// Where deliveries are POSTed (https; private addresses only when allowed).
    #[serde(default)]
    url: String,
    /// Event types, or `*` (the default) for all.
    #[serde(default = "every_event")]
    events: Vec<String>,
}

fn every_event() -> Vec<String> {
    vec!["*".into()]
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookView {
    id: String,
    url: String,
    events: Vec<String>,
    enabled: bool,
    /// Only when created or rotated.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

impl WebhookView {
    fn new(w: Webhook, secret: Option<String>) -> Self {
        WebhookView {
            id: w.id,
            url: w.url,
            events: w.events,
            enabled: w.enabled,
            secret,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    event_id: String,
    event_type: String,
    state: &'static str,
    attempts: u32,
    last_status: Option<u16>,
    last_error: Option<String>,
    updated_at: String,
}

impl From<DeliveryRecord> for DeliveryView {
    fn from(d: DeliveryRecord) -> Self {
        DeliveryView {
            event_id: format!("evt_{}", d.event_id),
            event_type: d.event_type,
            state: d.state,
            attempts: d.attempts,
            last_status: d.last_status,
            last_error: d.last_error,
            updated_at: d.updated_at.to_string(),
        }
    }
}

/// A webhook's new signing secret (returned once).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RotatedSecret {
    id: String,
    secret: String,
}

async fn create(
    app: &App,
    p: &crate::domain::Principal,
    owner: Result<String, ApiError>,
    body: CreateBody,
) -> Result<(StatusCode, Json<WebhookView>), ApiError> {
    let (webhook, secret) = app
        .create_webhook(&actor(p), &owner?, &body.url, body.events)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(WebhookView::new(webhook, Some(secret))),
    ))
}

async fn list(
    app: &App,
    owner: Result<String, ApiError>,
) -> Result<Json<Vec<WebhookView>>, ApiError> {
    let all = app.list_webhooks(&owner?).await?;
    Ok(Json(
        all.into_iter().map(|w| WebhookView::new(w, None)).collect(),
    ))
}

/// The same five handlers for each owner, each documented at its own paths (`$base` is
/// the subscriptions' path, `$id` prefixes the operation ids).
macro_rules! handlers {
    ($module:ident, $provider:expr, $tag:tt, $base:tt, $item:tt, $rotate:tt, $deliveries:tt,
     [$create_id:tt, $list_id:tt, $delete_id:tt, $rotate_id:tt, $deliveries_id:tt]) => {
        pub mod $module {
            use super::*;

            fn owner(p: &crate::domain::Principal) -> Result<String, ApiError> {
                owner_of(p, $provider).map_err(ApiError::from)
            }

            /// Subscribe a URL to events; the answer carries the signing secret, once.
            #[utoipa::path(post, path = $base, tag = $tag, operation_id = $create_id,
              request_body = CreateBody,
              responses((status = 201, description = "Created", body = WebhookView),
                (status = 403, description = "Not an administrator", body = ErrorBody)))]
            pub async fn create(
                State(app): State<Arc<App>>,
                Caller(p): Caller,
                JsonBody(body): JsonBody<CreateBody>,
            ) -> Result<(StatusCode, Json<WebhookView>), ApiError> {
                super::create(&app, &p, owner(&p), body).await
            }

            /// The subscriptions (without secrets).
            #[utoipa::path(get, path = $base, tag = $tag, operation_id = $list_id,
              responses((status = 200, description = "The subscriptions", body = Vec<WebhookView>),
                (status = 403, description = "Not an administrator", body = ErrorBody)))]
            pub async fn list(
                State(app): State<Arc<App>>,
                Caller(p): Caller,
            ) -> Result<Json<Vec<WebhookView>>, ApiError> {
                super::list(&app, owner(&p)).await
            }

            /// Delete a subscription.
            #[utoipa::path(delete, path = $item, tag = $tag, operation_id = $delete_id,
              params(("id" = String, Path, description = "The subscription's id")),
              responses((status = 204, description = "Deleted"),
                (status = 403, description = "Not an administrator", body = ErrorBody),
                (status = 404, description = "No such subscription", body = ErrorBody)))]
            pub async fn delete(
                State(app): State<Arc<App>>,
                Caller(p): Caller,
                Path(id): Path<String>,
            ) -> Result<StatusCode, ApiError> {
                app.delete_webhook(&actor(&p), &owner(&p)?, &id).await?;
                Ok(StatusCode::NO_CONTENT)
            }

            /// Replace a subscription's signing secret; the new one is returned once.
            #[utoipa::path(post, path = $rotate, tag = $tag, operation_id = $rotate_id,
              params(("id" = String, Path, description = "The subscription's id")),
              responses((status = 200, description = "The new secret", body = RotatedSecret),
                (status = 403, description = "Not an administrator", body = ErrorBody),
                (status = 404, description = "No such subscription", body = ErrorBody)))]
            pub async fn rotate_secret(
                State(app): State<Arc<App>>,
                Caller(p): Caller,
                Path(id): Path<String>,
            ) -> Result<Json<RotatedSecret>, ApiError> {
                let secret = app
                    .rotate_webhook_secret(&actor(&p), &owner(&p)?, &id)
                    .await?;
                Ok(Json(RotatedSecret { id, secret }))
            }

            /// The latest deliveries of a subscription, with their state.
            #[utoipa::path(get, path = $deliveries, tag = $tag, operation_id = $deliveries_id,
              params(("id" = String, Path, description = "The subscription's id")),
              responses((status = 200, description = "The deliveries", body = Vec<DeliveryView>),
                (status = 403, description = "Not an administrator", body = ErrorBody),
                (status = 404, description = "No such subscription", body = ErrorBody)))]
            pub async fn deliveries(
                State(app): State<Arc<App>>,
                Caller(p): Caller,
                Path(id): Path<String>,
            ) -> Result<Json<Vec<DeliveryView>>, ApiError> {
                let all = app.webhook_deliveries(&owner(&p)?, &id).await?;
                Ok(Json(all.into_iter().map(DeliveryView::from).collect()))
            }
        }
    };
}

handlers!(
    customer,
    false,
    "extensions",
    "/customer/v1/webhooks",
    "/customer/v1/webhooks/{id}",
    "/customer/v1/webhooks/{id}/rotate-secret",
    "/customer/v1/webhooks/{id}/deliveries",
    [
        "CreateCustomerWebhook",
        "ListCustomerWebhooks",
        "DeleteCustomerWebhook",
        "RotateCustomerWebhookSecret",
        "ListCustomerWebhookDeliveries"
    ]
);
handlers!(
    provider,
    true,
    "provider",
    "/provider/v1/webhooks",
    "/provider/v1/webhooks/{id}",
    "/provider/v1/webhooks/{id}/rotate-secret",
    "/provider/v1/webhooks/{id}/deliveries",
    [
        "CreateProviderWebhook",
        "ListProviderWebhooks",
        "DeleteProviderWebhook",
        "RotateProviderWebhookSecret",
        "ListProviderWebhookDeliveries"
    ]
);

/// The subscription routes, to nest under `/customer/v1` or `/provider/v1`.
pub fn routes(provider: bool) -> axum::Router<Arc<App>> {
    use axum::routing::{delete, get, post};
    macro_rules! routes_of {
        ($m:ident) => {
            axum::Router::new()
                .route("/webhooks", get($m::list).post($m::create))
                .route("/webhooks/{id}", delete($m::delete))
                .route("/webhooks/{id}/rotate-secret", post($m::rotate_secret))
                .route("/webhooks/{id}/deliveries", get($m::deliveries))
        };
    }
    if provider {
        routes_of!(provider)
    } else {
        routes_of!(customer)
    }
}
