//! `support-access admin ...`: identities, for operators and scripts.

use clap::Subcommand;
use serde_json::json;

use super::{CliResult, GlobalArgs};
use crate::clock::Clock;

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Customer domains (tenants).
    #[command(subcommand)]
    Domain(DomainCommand),
    /// Users of a customer domain.
    #[command(subcommand)]
    User(UserCommand),
    /// Groups of a customer domain.
    #[command(subcommand)]
    Group(GroupCommand),
    /// Support engineers (users of the `provider` domain).
    #[command(subcommand)]
    Engineer(EngineerCommand),
    /// AK/SK pairs for SDK-HMAC-SHA256 signed requests (engineers: `--domain provider`).
    #[command(subcommand)]
    AccessKey(AccessKeyCommand),
}

#[derive(Subcommand)]
pub enum AccessKeyCommand {
    /// Create a permanent key; the secret key is shown this once.
    Create {
        #[arg(long)]
        domain: String,
        #[arg(long)]
        user: String,
    },
    /// Create a temporary key with a security token (15m..36h).
    CreateTemporary {
        #[arg(long)]
        domain: String,
        #[arg(long)]
        user: String,
        /// e.g. 15m, 1h, 36h.
        #[arg(long, default_value = "1h")]
        duration: String,
    },
    /// List a user's keys (never their secrets).
    List {
        #[arg(long)]
        domain: String,
        #[arg(long)]
        user: String,
    },
    /// Refuse a key from now on.
    Disable {
        #[arg(long)]
        access_key: String,
    },
    Delete {
        #[arg(long)]
        access_key: String,
    },
}

#[derive(Subcommand)]
pub enum DomainCommand {
    /// Create a domain; prints its id.
    Create {
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
pub enum UserCommand {
    Create {
        #[arg(long)]
        domain: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        password: String,
        /// A domain administrator sees every authorization of the domain.
        #[arg(long)]
        admin: bool,
    },
    /// The user can no longer log in, and their tokens and access keys stop working
    /// (within 250 ms on running servers). Engineers are users of domain `provider`.
    Disable {
        #[arg(long)]
        domain: String,
        #[arg(long)]
        name: String,
    },
    /// Undoes `disable`; tokens issued before still work if unexpired.
    Enable {
        #[arg(long)]
        domain: String,
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
pub enum GroupCommand {
    Create {
        #[arg(long)]
        domain: String,
        #[arg(long)]
        name: String,
        /// Holds the ticket-group-operator permission.
        #[arg(long)]
        operator: bool,
    },
    AddMember {
        #[arg(long)]
        domain: String,
        #[arg(long)]
        group: String,
        #[arg(long)]
        user: String,
    },
}

#[derive(Subcommand)]
pub enum EngineerCommand {
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        password: String,
        /// Sees every authorization on the provider API.
        #[arg(long)]
        provider_admin: bool,
    },
    /// Register an SSH public key (ed25519, ECDSA, RSA >= 3072) for the SSH broker.
    AddSshKey {
        #[arg(long)]
        name: String,
        /// An OpenSSH public key file, e.g. ~/.ssh/id_ed25519.pub.
        #[arg(long)]
        public_key_file: std::path::PathBuf,
    },
    ListSshKeys {
        #[arg(long)]
        name: String,
    },
    RemoveSshKey {
        #[arg(long)]
        name: String,
        /// As listed, e.g. SHA256:ZOJS44/NYnrRXWgZvjFPHsjiWKSLwAF/waWHSS9Ovac.
        #[arg(long)]
        fingerprint: String,
    },
}

pub async fn run(global: &GlobalArgs, command: AdminCommand) -> CliResult {
    let settings = global.settings()?;
    let app = crate::server::open_app(&settings, Clock::System).await?;
    let out = global.output;
    match command {
        AdminCommand::Domain(DomainCommand::Create { name }) => {
            let d = app.create_domain(&name).await?;
            match out {
                super::Output::Json => out.record(&json!({ "id": d.id, "name": d.name })),
                super::Output::Table => println!("{}", d.id),
            }
        }
        AdminCommand::User(UserCommand::Create {
            domain,
            name,
            password,
            admin,
        }) => {
            let u = app.create_user(&domain, &name, &password, admin).await?;
            out.record(
                &json!({ "id": u.id, "name": u.name, "domain": domain, "admin": u.is_admin }),
            );
        }
        AdminCommand::User(UserCommand::Disable { domain, name }) => {
            set_user_enabled(&app, out, &domain, &name, false).await?
        }
        AdminCommand::User(UserCommand::Enable { domain, name }) => {
            set_user_enabled(&app, out, &domain, &name, true).await?
        }
        AdminCommand::Group(GroupCommand::Create {
            domain,
            name,
            operator,
        }) => {
            let g = app.create_group(&domain, &name, operator).await?;
            out.record(
                &json!({ "id": g.id, "name": g.name, "domain": domain, "operator": g.is_operator }),
            );
        }
        AdminCommand::Group(GroupCommand::AddMember {
            domain,
            group,
            user,
        }) => {
            let (g, u) = app.add_group_member(&domain, &group, &user).await?;
            out.record(
                &json!({ "group_id": g.id, "group": g.name, "user_id": u.id, "user": u.name }),
            );
        }
        AdminCommand::Engineer(cmd) => engineer(&app, out, cmd).await?,
        AdminCommand::AccessKey(cmd) => access_key(&app, out, cmd).await?,
    }
    Ok(())
}

fn ssh_key_json(k: &crate::store::SshKeyRecord) -> serde_json::Value {
    json!({
        "fingerprint": k.fingerprint,
        "algorithm": k.algorithm,
        "comment": k.comment,
        "created_at": crate::domain::time::format_utc(k.created_at),
    })
}

async fn engineer(
    app: &crate::service::App,
    out: super::Output,
    command: EngineerCommand,
) -> CliResult {
    match command {
        EngineerCommand::Create {
            name,
            password,
            provider_admin,
        } => {
            let u = app
                .create_engineer(&name, &password, provider_admin)
                .await?;
            let domain = crate::service::identity::PROVIDER_DOMAIN;
            out.record(&json!({ "id": u.id, "name": u.name, "domain": domain, "provider_admin": u.is_provider_admin }));
        }
        EngineerCommand::AddSshKey {
            name,
            public_key_file,
        } => {
            let line = std::fs::read_to_string(&public_key_file).map_err(|e| {
                super::CliError(format!("cannot read {}: {e}", public_key_file.display()))
            })?;
            let key = app.admin_add_ssh_key(&name, &line).await?;
            out.record(&ssh_key_json(&key));
        }
        EngineerCommand::ListSshKeys { name } => {
            let keys = app.admin_list_ssh_keys(&name).await?;
            match out {
                super::Output::Json => println!(
                    "{}",
                    serde_json::Value::Array(keys.iter().map(ssh_key_json).collect())
                ),
                super::Output::Table => {
                    for k in keys {
                        println!("{}  {}  {}", k.fingerprint, k.algorithm, k.comment);
                    }
                }
            }
        }
        EngineerCommand::RemoveSshKey { name, fingerprint } => {
            app.admin_remove_ssh_key(&name, &fingerprint).await?;
            out.message(&format!("SSH key {fingerprint} removed"));
        }
    }
    Ok(())
}

async fn set_user_enabled(
    app: &crate::service::App,
    out: super::Output,
    domain: &str,
    name: &str,
    enabled: bool,
) -> CliResult {
    let u = app.set_user_enabled(domain, name, enabled).await?;
    out.record(&json!({ "id": u.id, "name": u.name, "domain": domain, "enabled": u.enabled }));
    Ok(())
}

async fn access_key(
    app: &crate::service::App,
    out: super::Output,
    command: AccessKeyCommand,
) -> CliResult {
    match command {
        AccessKeyCommand::Create { domain, user } => {
            let key = app.create_access_key(&domain, &user).await?;
            out.record(
                &json!({ "access_key": key.access_key, "secret_key": key.secret_key.expose() }),
            );
        }
        AccessKeyCommand::CreateTemporary {
            domain,
            user,
            duration,
        } => {
            let lifetime = crate::domain::time::parse_config_duration(&duration)
                .and_then(|d| jiff::SignedDuration::try_from(d).ok())
                .ok_or_else(|| {
                    super::CliError(format!(
                        "--duration: `{duration}` is not a duration such as 15m or 1h"
                    ))
                })?;
            let key = app
                .create_temporary_access_key(&domain, &user, lifetime)
                .await?;
            out.record(&json!({
                "access_key": key.access_key,
                "secret_key": key.secret_key.expose(),
                "security_token": key.security_token.as_ref().map(|t| t.expose()),
                "expires_at": key.expires_at.map(crate::domain::time::format_utc),
            }));
        }
        AccessKeyCommand::List { domain, user } => {
            let keys = app.list_access_keys(&domain, &user).await?;
            let rows: Vec<_> = keys
                .iter()
                .map(|k| {
                    json!({
                        "access_key": k.access_key,
                        "status": if k.enabled { "active" } else { "disabled" },
                        "created_at": crate::domain::time::format_utc(k.created_at),
                        "expires_at": k.expires_at.map(crate::domain::time::format_utc),
                    })
                })
                .collect();
            match out {
                super::Output::Json => println!("{}", serde_json::Value::Array(rows)),
                super::Output::Table => {
                    for r in rows {
                        let expires = r["expires_at"].as_str().unwrap_or("never");
                        println!(
                            "{}  {:8}  created {}  expires {expires}",
                            r["access_key"].as_str().unwrap_or(""),
                            r["status"].as_str().unwrap_or(""),
                            r["created_at"].as_str().unwrap_or("")
                        );
                    }
                }
            }
        }
        AccessKeyCommand::Disable { access_key } => {
            app.disable_access_key(&access_key).await?;
            out.message(&format!("access key {access_key} disabled"));
        }
        AccessKeyCommand::Delete { access_key } => {
            app.delete_access_key(&access_key).await?;
            out.message(&format!("access key {access_key} deleted"));
        }
    }
    Ok(())
}
