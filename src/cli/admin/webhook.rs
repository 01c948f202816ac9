//! `admin webhook ...`: subscriptions of a customer domain or of the provider.

use clap::Subcommand;
use serde_json::{Value, json};

use super::Context;
use crate::cli::CliResult;

#[derive(Subcommand)]
pub enum WebhookCommand {
    /// Subscribe a URL; prints the id and the signing secret (shown this once).
    Create {
        /// The customer domain's name, or `provider` for every domain's events.
        #[arg(long)]
        domain: String,
        /// Where to POST the events: an http or https URL.
        #[arg(long)]
        url: String,
        /// Event types or patterns (`authorization.*`, `*`); repeatable.
        #[arg(long = "events", default_value = "*")]
        events: Vec<String>,
    },
    /// List a domain's subscriptions (never their secrets).
    List {
        /// The customer domain's name, or `provider`.
        #[arg(long)]
        domain: String,
    },
    /// Delete a subscription and its pending deliveries.
    Delete {
        /// The customer domain's name, or `provider`.
        #[arg(long)]
        domain: String,
        /// The subscription's id (`wh_…`).
        #[arg(long)]
        id: String,
    },
    /// A new secret; the old one keeps signing for 24 hours.
    RotateSecret {
        /// The customer domain's name, or `provider`.
        #[arg(long)]
        domain: String,
        /// The subscription's id (`wh_…`).
        #[arg(long)]
        id: String,
    },
    /// Recent deliveries of a subscription, with their state and last error.
    Deliveries {
        /// The customer domain's name, or `provider`.
        #[arg(long)]
        domain: String,
        /// The subscription's id (`wh_…`).
        #[arg(long)]
        id: String,
    },
    /// Deliver an event (`evt_…`) again, delivered or dead-lettered alike.
    Redeliver {
        /// The event's id, as in `deliveries` and the `webhook-id` header.
        #[arg(long)]
        event_id: String,
    },
}

pub async fn run(cx: &Context, command: WebhookCommand) -> CliResult {
    let app = &cx.app;
    match command {
        WebhookCommand::Create {
            domain,
            url,
            events,
        } => {
            let owner = app.webhook_owner_named(&domain).await?;
            let (w, secret) = app.create_webhook(&cx.actor, &owner, &url, events).await?;
            cx.out
                .record(&json!({"id": w.id, "url": w.url, "events": w.events, "secret": secret}));
        }
        WebhookCommand::List { domain } => {
            let owner = app.webhook_owner_named(&domain).await?;
            let rows: Vec<Value> = app
                .list_webhooks(&owner)
                .await?
                .into_iter()
                .map(|w| json!({"id": w.id, "url": w.url, "events": w.events.join(" "), "enabled": w.enabled}))
                .collect();
            cx.out.rows(&["id", "url", "events", "enabled"], &rows);
        }
        WebhookCommand::Delete { domain, id } => {
            let owner = app.webhook_owner_named(&domain).await?;
            app.delete_webhook(&cx.actor, &owner, &id).await?;
            cx.out.message(&format!("deleted {id}"));
        }
        WebhookCommand::RotateSecret { domain, id } => {
            let owner = app.webhook_owner_named(&domain).await?;
            let secret = app.rotate_webhook_secret(&cx.actor, &owner, &id).await?;
            cx.out.record(&json!({"id": id, "secret": secret}));
        }
        WebhookCommand::Deliveries { domain, id } => {
            let owner = app.webhook_owner_named(&domain).await?;
            let rows: Vec<Value> = app
                .webhook_deliveries(&owner, &id)
                .await?
                .into_iter()
                .map(|d| {
                    json!({
                        "event_id": format!("evt_{}", d.event_id), "type": d.event_type,
                        "state": d.state, "attempts": d.attempts, "last_status": d.last_status,
                        "last_error": d.last_error, "updated_at": d.updated_at.to_string(),
                    })
                })
                .collect();
            cx.out.rows(
                &[
                    "event_id",
                    "type",
                    "state",
                    "attempts",
                    "last_status",
                    "last_error",
                    "updated_at",
                ],
                &rows,
            );
        }
        WebhookCommand::Redeliver { event_id } => {
            let n = app.redeliver(&event_id).await?;
            cx.out
                .message(&format!("{event_id}: {n} deliveries queued again"));
        }
    }
    Ok(())
}
