//! `admin user ...`.

use clap::{ArgAction, Args, Subcommand};
use serde_json::{Value, json};

use super::Context;
use super::password::PasswordArgs;
use crate::cli::CliResult;
use crate::domain::Language;
use crate::domain::time::format_utc;
use crate::service::admin::UserUpdate;
use crate::store::UserRecord;

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is asked for unless given.
    Create {
        /// The user's domain.
        #[arg(long)]
        domain: String,
        /// User name, 1..64 characters, unique in the domain.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        password: PasswordArgs,
        /// A domain administrator sees every authorization of the domain.
        #[arg(long)]
        admin: bool,
    },
    /// List a domain's users.
    List {
        /// The domain.
        #[arg(long)]
        domain: String,
    },
    /// Show one user.
    Show {
        #[command(flatten)]
        user: UserRef,
    },
    /// Change a user's e-mail address, e-mail language or administrator flag.
    Update {
        #[command(flatten)]
        user: UserRef,
        /// Where notifications are e-mailed; an empty value clears it.
        #[arg(long)]
        email: Option<String>,
        /// The language of those e-mails: `en-us` or `zh-cn`.
        #[arg(long, value_parser = parse_language)]
        language: Option<Language>,
        /// Forget the user's language: e-mail in the service's default_language.
        #[arg(long, action = ArgAction::SetTrue, conflicts_with = "language")]
        clear_language: bool,
        /// Make the user a domain administrator.
        #[arg(long, action = ArgAction::SetTrue, conflicts_with = "no_admin")]
        admin: bool,
        /// Make the user an ordinary user again.
        #[arg(long, action = ArgAction::SetTrue)]
        no_admin: bool,
    },
    /// Set a new password (asked for unless given).
    SetPassword {
        #[command(flatten)]
        user: UserRef,
        #[command(flatten)]
        password: PasswordArgs,
    },
    /// The user can no longer log in, and their tokens and access keys stop working
    /// (within 250 ms on running servers). Engineers are users of domain `provider`.
    Disable {
        #[command(flatten)]
        user: UserRef,
    },
    /// Undoes `disable`; tokens issued before still work if unexpired.
    Enable {
        #[command(flatten)]
        user: UserRef,
    },
    /// Delete a user with their tokens, access keys and group memberships; the
    /// authorizations they submitted stay.
    Delete {
        #[command(flatten)]
        user: UserRef,
    },
}

/// A user named within a domain.
#[derive(Args)]
pub struct UserRef {
    /// The user's domain.
    #[arg(long)]
    domain: String,
    /// User name.
    #[arg(long)]
    name: String,
}

/// A user as the admin commands show one (never the password hash).
pub fn fields(u: &UserRecord, domain: &str) -> Value {
    json!({
        "id": u.id, "name": u.name, "domain": domain, "admin": u.is_admin,
        "enabled": u.enabled, "email": u.email,
        "language": u.language.map(crate::store::rows::language_tag),
        "created_at": format_utc(u.created_at),
    })
}

fn parse_language(text: &str) -> Result<Language, String> {
    Language::from_setting(text)
}

pub const COLUMNS: [&str; 6] = ["name", "id", "admin", "enabled", "email", "created_at"];

pub async fn run(cx: &Context, command: UserCommand) -> CliResult {
    let admin = cx.app.admin(cx.actor.clone());
    let (domain, user) = match command {
        UserCommand::Create {
            domain,
            name,
            password,
            admin: is_admin,
        } => {
            let password = password.read(&name)?;
            let u = admin
                .create_user(&domain, &name, &password, is_admin)
                .await?;
            (domain, u)
        }
        UserCommand::List { domain } => {
            let users = cx.app.list_users(&domain).await?;
            let rows: Vec<Value> = users.iter().map(|u| fields(u, &domain)).collect();
            cx.out.rows(&COLUMNS, &rows);
            return Ok(());
        }
        UserCommand::Show {
            user: UserRef { domain, name },
        } => {
            let u = cx.app.user_named(&domain, &name).await?;
            (domain, u)
        }
        UserCommand::Update {
            user: UserRef { domain, name },
            email,
            language,
            clear_language,
            admin: make_admin,
            no_admin,
        } => {
            let update = UserUpdate {
                email: email.map(|e| Some(e).filter(|e| !e.is_empty())),
                admin: (make_admin || no_admin).then_some(make_admin),
                language: if clear_language {
                    Some(None)
                } else {
                    language.map(Some)
                },
            };
            let u = admin.update_user(&domain, &name, update).await?;
            (domain, u)
        }
        UserCommand::SetPassword {
            user: UserRef { domain, name },
            password,
        } => {
            let password = password.read(&name)?;
            admin.set_password(&domain, &name, &password).await?;
            cx.out.message(&format!(
                "password of user {name} in domain {domain} changed"
            ));
            return Ok(());
        }
        UserCommand::Disable {
            user: UserRef { domain, name },
        } => {
            let u = admin.set_user_enabled(&domain, &name, false).await?;
            (domain, u)
        }
        UserCommand::Enable {
            user: UserRef { domain, name },
        } => {
            let u = admin.set_user_enabled(&domain, &name, true).await?;
            (domain, u)
        }
        UserCommand::Delete {
            user: UserRef { domain, name },
        } => {
            admin.delete_user(&domain, &name).await?;
            cx.out
                .message(&format!("user {name} deleted from domain {domain}"));
            return Ok(());
        }
    };
    cx.out.record(&fields(&user, &domain));
    Ok(())
}
