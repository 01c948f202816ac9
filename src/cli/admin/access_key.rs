//! `admin access-key ...`.

use clap::Subcommand;
use serde_json::{Value, json};

use super::Context;
use crate::cli::{CliError, CliResult};
use crate::domain::time::{format_utc, parse_config_duration};

#[derive(Subcommand)]
pub enum AccessKeyCommand {
    /// Create a permanent key; the secret key is shown this once.
    Create {
        /// The owner's domain (`provider` for an engineer).
        #[arg(long)]
        domain: String,
        /// The owner's user name.
        #[arg(long)]
        user: String,
    },
    /// Create a temporary key with a security token (15m..36h).
    CreateTemporary {
        /// The owner's domain (`provider` for an engineer).
        #[arg(long)]
        domain: String,
        /// The owner's user name.
        #[arg(long)]
        user: String,
        /// How long the key lasts, e.g. 15m, 1h, 36h.
        #[arg(long, default_value = "1h")]
        duration: String,
    },
    /// List a user's keys (never their secrets).
    List {
        /// The owner's domain.
        #[arg(long)]
        domain: String,
        /// The owner's user name.
        #[arg(long)]
        user: String,
    },
    /// Refuse a key from now on.
    Disable {
        /// The access key id (AK).
        #[arg(long)]
        access_key: String,
    },
    /// Accept a disabled key again.
    Enable {
        /// The access key id (AK).
        #[arg(long)]
        access_key: String,
    },
    /// Delete a key for good.
    Delete {
        /// The access key id (AK).
        #[arg(long)]
        access_key: String,
    },
}

pub async fn run(cx: &Context, command: AccessKeyCommand) -> CliResult {
    let admin = cx.app.admin(cx.actor.clone());
    match command {
        AccessKeyCommand::Create { domain, user } => {
            let key = admin.create_access_key(&domain, &user).await?;
            let domain_id = cx.app.domain_named(&domain).await?.id;
            cx.out.record(&json!({
                "access_key": key.access_key,
                "secret_key": key.secret_key.expose(),
                "domain_id": domain_id,
            }));
        }
        AccessKeyCommand::CreateTemporary {
            domain,
            user,
            duration,
        } => {
            let lifetime = parse_config_duration(&duration)
                .and_then(|d| jiff::SignedDuration::try_from(d).ok())
                .ok_or_else(|| {
                    CliError::new(
                        "invalid",
                        format!("--duration: `{duration}` is not a duration such as 15m or 1h"),
                    )
                })?;
            let key = admin
                .create_temporary_access_key(&domain, &user, lifetime)
                .await?;
            let domain_id = cx.app.domain_named(&domain).await?.id;
            cx.out.record(&json!({
                "access_key": key.access_key,
                "secret_key": key.secret_key.expose(),
                "security_token": key.security_token.as_ref().map(crate::domain::secret::Secret::expose),
                "expires_at": key.expires_at.map(format_utc),
                "domain_id": domain_id,
            }));
        }
        AccessKeyCommand::List { domain, user } => {
            let keys = cx.app.list_access_keys(&domain, &user).await?;
            let rows: Vec<Value> = keys
                .iter()
                .map(|k| {
                    json!({
                        "access_key": k.access_key,
                        "status": if k.enabled { "active" } else { "disabled" },
                        "created_at": format_utc(k.created_at),
                        "expires_at": k.expires_at.map_or("never".into(), format_utc),
                    })
                })
                .collect();
            cx.out
                .rows(&["access_key", "status", "created_at", "expires_at"], &rows);
        }
        AccessKeyCommand::Disable { access_key } => {
            admin.set_access_key_enabled(&access_key, false).await?;
            cx.out.message(&format!("access key {access_key} disabled"));
        }
        AccessKeyCommand::Enable { access_key } => {
            admin.set_access_key_enabled(&access_key, true).await?;
            cx.out.message(&format!("access key {access_key} enabled"));
        }
        AccessKeyCommand::Delete { access_key } => {
            admin.delete_access_key(&access_key).await?;
            cx.out.message(&format!("access key {access_key} deleted"));
        }
    }
    Ok(())
}
