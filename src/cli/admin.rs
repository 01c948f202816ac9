//! `support-access admin ...`: identities, for operators and scripts.

use clap::Subcommand;
use serde_json::json;

use super::{CliResult, GlobalArgs};
use crate::clock::Clock;
use crate::config::Overrides;

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
}

pub async fn run(global: &GlobalArgs, command: AdminCommand) -> CliResult {
    let settings = global.settings(Overrides::default())?;
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
        AdminCommand::Engineer(EngineerCommand::Create {
            name,
            password,
            provider_admin,
        }) => {
            let u = app
                .create_engineer(&name, &password, provider_admin)
                .await?;
            let domain = crate::service::identity::PROVIDER_DOMAIN;
            out.record(&json!({ "id": u.id, "name": u.name, "domain": domain, "provider_admin": u.is_provider_admin }));
        }
    }
    Ok(())
}
