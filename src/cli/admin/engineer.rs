//! `admin engineer ...`: support engineers are the users of domain `provider`.

use clap::Subcommand;
use serde_json::{Value, json};

use super::Context;
use super::password::PasswordArgs;
use crate::cli::CliResult;
use crate::domain::time::format_utc;
use crate::service::identity::PROVIDER_DOMAIN;
use crate::store::UserRecord;

#[derive(Subcommand)]
pub enum EngineerCommand {
    /// Create an engineer; the password is asked for unless given.
    Create {
        /// Engineer name, 1..64 characters.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        password: PasswordArgs,
        /// Sees every authorization on the provider API.
        #[arg(long)]
        provider_admin: bool,
    },
    /// List the engineers.
    List,
    /// Show one engineer.
    Show {
        /// Engineer name.
        #[arg(long)]
        name: String,
    },
    /// Set a new password (asked for unless given).
    SetPassword {
        /// Engineer name.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        password: PasswordArgs,
    },
    /// The engineer can no longer log in; their tokens and access keys stop working.
    Disable {
        /// Engineer name.
        #[arg(long)]
        name: String,
    },
    /// Undoes `disable`.
    Enable {
        /// Engineer name.
        #[arg(long)]
        name: String,
    },
}

fn fields(u: &UserRecord) -> Value {
    json!({
        "id": u.id, "name": u.name, "domain": PROVIDER_DOMAIN,
        "provider_admin": u.is_provider_admin, "enabled": u.enabled,
        "created_at": format_utc(u.created_at),
    })
}

pub async fn run(cx: &Context, command: EngineerCommand) -> CliResult {
    let admin = cx.app.admin(cx.actor.clone());
    let engineer = match command {
        EngineerCommand::Create {
            name,
            password,
            provider_admin,
        } => {
            let password = password.read(&name)?;
            admin
                .create_engineer(&name, &password, provider_admin)
                .await?
        }
        EngineerCommand::List => {
            let rows: Vec<Value> = cx.app.list_engineers().await?.iter().map(fields).collect();
            cx.out.rows(
                &["name", "id", "provider_admin", "enabled", "created_at"],
                &rows,
            );
            return Ok(());
        }
        EngineerCommand::Show { name } => cx.app.engineer_named(&name).await?,
        EngineerCommand::SetPassword { name, password } => {
            cx.app.engineer_named(&name).await?;
            let password = password.read(&name)?;
            admin
                .set_password(PROVIDER_DOMAIN, &name, &password)
                .await?;
            cx.out
                .message(&format!("password of engineer {name} changed"));
            return Ok(());
        }
        EngineerCommand::Disable { name } => {
            cx.app.engineer_named(&name).await?;
            admin
                .set_user_enabled(PROVIDER_DOMAIN, &name, false)
                .await?
        }
        EngineerCommand::Enable { name } => {
            cx.app.engineer_named(&name).await?;
            admin.set_user_enabled(PROVIDER_DOMAIN, &name, true).await?
        }
    };
    cx.out.record(&fields(&engineer));
    Ok(())
}
