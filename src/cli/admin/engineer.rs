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
    /// Register an SSH public key (ed25519, ECDSA, RSA >= 3072) for the SSH broker.
    AddSshKey {
        /// Engineer name.
        #[arg(long)]
        name: String,
        /// An OpenSSH public key file, e.g. ~/.ssh/id_ed25519.pub.
        #[arg(long)]
        public_key_file: std::path::PathBuf,
    },
    /// List an engineer's SSH keys.
    ListSshKeys {
        /// Engineer name.
        #[arg(long)]
        name: String,
    },
    /// Remove one of an engineer's SSH keys.
    RemoveSshKey {
        /// Engineer name.
        #[arg(long)]
        name: String,
        /// As listed, e.g. SHA256:ZOJS44/NYnrRXWgZvjFPHsjiWKSLwAF/waWHSS9Ovac.
        #[arg(long)]
        fingerprint: String,
    },
}

fn key_fields(k: &crate::store::SshKeyRecord) -> Value {
    json!({
        "fingerprint": k.fingerprint, "algorithm": k.algorithm, "comment": k.comment,
        "created_at": format_utc(k.created_at),
    })
}

/// The SSH-key subcommands; `None` if `command` is another one.
async fn ssh_key(cx: &Context, command: &EngineerCommand) -> Option<CliResult> {
    let result = match command {
        EngineerCommand::AddSshKey {
            name,
            public_key_file,
        } => match std::fs::read_to_string(public_key_file) {
            Ok(line) => cx
                .app
                .admin_add_ssh_key(&cx.actor, name, &line)
                .await
                .map(|k| cx.out.record(&key_fields(&k)))
                .map_err(Into::into),
            Err(e) => Err(crate::cli::CliError::failed(format!(
                "cannot read {}: {e}",
                public_key_file.display()
            ))),
        },
        EngineerCommand::ListSshKeys { name } => cx
            .app
            .admin_list_ssh_keys(name)
            .await
            .map(|keys| {
                let rows: Vec<Value> = keys.iter().map(key_fields).collect();
                cx.out.rows(
                    &["fingerprint", "algorithm", "comment", "created_at"],
                    &rows,
                );
            })
            .map_err(Into::into),
        EngineerCommand::RemoveSshKey { name, fingerprint } => cx
            .app
            .admin_remove_ssh_key(&cx.actor, name, fingerprint)
            .await
            .map(|()| cx.out.message(&format!("SSH key {fingerprint} removed")))
            .map_err(Into::into),
        _ => return None,
    };
    Some(result)
}

fn fields(u: &UserRecord) -> Value {
    json!({
        "id": u.id, "name": u.name, "domain": PROVIDER_DOMAIN,
        "provider_admin": u.is_provider_admin, "enabled": u.enabled,
        "created_at": format_utc(u.created_at),
    })
}

pub async fn run(cx: &Context, command: EngineerCommand) -> CliResult {
    if let Some(done) = ssh_key(cx, &command).await {
        return done;
    }
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
        EngineerCommand::AddSshKey { .. }
        | EngineerCommand::ListSshKeys { .. }
        | EngineerCommand::RemoveSshKey { .. } => return Ok(()),
    };
    cx.out.record(&fields(&engineer));
    Ok(())
}
