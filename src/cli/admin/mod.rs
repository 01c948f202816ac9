//! `support-access admin ...`: identities and credentials, for operators and scripts.
//! One module per noun; every change is audited as made by `cli:<os user>`.

mod access_key;
mod domain;
mod engineer;
mod group;
mod password;
mod user;
mod webhook;

use clap::Subcommand;

use super::{CliResult, GlobalArgs, Output};
use crate::clock::Clock;
use crate::domain::audit::Actor;
use crate::service::App;

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Customer domains (tenants).
    #[command(subcommand)]
    Domain(domain::DomainCommand),
    /// Users of a customer domain.
    #[command(subcommand)]
    User(user::UserCommand),
    /// Groups of a customer domain.
    #[command(subcommand)]
    Group(group::GroupCommand),
    /// Support engineers (users of the `provider` domain).
    #[command(subcommand)]
    Engineer(engineer::EngineerCommand),
    /// AK/SK pairs for SDK-HMAC-SHA256 signed requests (engineers: `--domain provider`).
    #[command(subcommand)]
    AccessKey(access_key::AccessKeyCommand),
    /// Webhook subscriptions of a customer domain or of the provider.
    #[command(subcommand)]
    Webhook(webhook::WebhookCommand),
}

/// What every admin command works with.
pub struct Context {
    pub app: std::sync::Arc<App>,
    pub out: Output,
    /// Recorded in the audit events of the changes made.
    pub actor: Actor,
}

/// The operating-system user running the CLI (the one who ran `sudo`, if so).
pub(crate) fn os_user() -> String {
    ["SUDO_USER", "USER", "LOGNAME"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "unknown".into())
}

pub async fn run(global: &GlobalArgs, command: AdminCommand) -> CliResult {
    let settings = global.settings()?;
    let app = crate::server::open_app(&settings, Clock::System).await?;
    let cx = Context {
        app,
        out: global.output,
        actor: Actor::cli(&os_user()),
    };
    match command {
        AdminCommand::Domain(cmd) => domain::run(&cx, cmd).await,
        AdminCommand::User(cmd) => user::run(&cx, cmd).await,
        AdminCommand::Group(cmd) => group::run(&cx, cmd).await,
        AdminCommand::Engineer(cmd) => engineer::run(&cx, cmd).await,
        AdminCommand::AccessKey(cmd) => access_key::run(&cx, cmd).await,
        AdminCommand::Webhook(cmd) => webhook::run(&cx, cmd).await,
    }
}
