//! Webhook subscriptions: `/customer/v1/webhooks` (domain administrators) and
//! `/provider/v1/webhooks` (provider administrators), the same handlers for both.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::input::{Caller, JsonBody};
use crate::service::webhooks::{Webhook, owner_of};
use crate::service::{App, actor};
use crate::store::DeliveryRecord;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    #[serde(default)]
    url: String,
    #[serde(default = "every_event")]
    events: Vec<String>,
}

fn every_event() -> Vec<String> {
    vec!["*".into()]
}

#[derive(Debug, Serialize)]
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

#[derive(Debug, Serialize)]
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

macro_rules! handlers {
    ($module:ident, $provider:expr) => {
        pub mod $module {
            use super::*;

            fn owner(p: &crate::domain::Principal) -> Result<String, ApiError> {
                owner_of(p, $provider).map_err(ApiError::from)
            }

            pub async fn create(
                State(app): State<Arc<App>>,
                Caller(p): Caller,
                JsonBody(body): JsonBody<CreateBody>,
            ) -> Result<(StatusCode, Json<WebhookView>), ApiError> {
                super::create(&app, &p, owner(&p), body).await
            }

            pub async fn list(
                State(app): State<Arc<App>>,
                Caller(p): Caller,
            ) -> Result<Json<Vec<WebhookView>>, ApiError> {
                super::list(&app, owner(&p)).await
            }

            pub async fn delete(
                State(app): State<Arc<App>>,
                Caller(p): Caller,
                Path(id): Path<String>,
            ) -> Result<StatusCode, ApiError> {
                app.delete_webhook(&actor(&p), &owner(&p)?, &id).await?;
                Ok(StatusCode::NO_CONTENT)
            }

            pub async fn rotate_secret(
                State(app): State<Arc<App>>,
                Caller(p): Caller,
                Path(id): Path<String>,
            ) -> Result<Json<serde_json::Value>, ApiError> {
                let secret = app
                    .rotate_webhook_secret(&actor(&p), &owner(&p)?, &id)
                    .await?;
                Ok(Json(serde_json::json!({"id": id, "secret": secret})))
            }

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

handlers!(customer, false);
handlers!(provider, true);

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
