//! `admin group ...`.

use clap::Subcommand;
use serde_json::{Value, json};

use super::Context;
use crate::cli::CliResult;
use crate::service::admin::GroupListing;

#[derive(Subcommand)]
pub enum GroupCommand {
    /// Create a group.
    Create {
        /// The group's domain.
        #[arg(long)]
        domain: String,
        /// Group name, 1..64 characters, unique in the domain.
        #[arg(long)]
        name: String,
        /// Holds the ticket-group-operator permission: members see and act on each
        /// other's authorizations.
        #[arg(long)]
        operator: bool,
    },
    /// List a domain's groups with their members.
    List {
        /// The domain.
        #[arg(long)]
        domain: String,
    },
    /// Show one group with its members.
    Show {
        /// The group's domain.
        #[arg(long)]
        domain: String,
        /// Group name.
        #[arg(long)]
        name: String,
    },
    /// Add a user to a group.
    AddMember {
        /// The domain of group and user.
        #[arg(long)]
        domain: String,
        /// Group name.
        #[arg(long)]
        group: String,
        /// User name.
        #[arg(long)]
        user: String,
    },
    /// Remove a user from a group.
    RemoveMember {
        /// The domain of group and user.
        #[arg(long)]
        domain: String,
        /// Group name.
        #[arg(long)]
        group: String,
        /// User name.
        #[arg(long)]
        user: String,
    },
    /// Delete a group (its members stay users of the domain).
    Delete {
        /// The group's domain.
        #[arg(long)]
        domain: String,
        /// Group name.
        #[arg(long)]
        name: String,
    },
}

fn fields(g: &GroupListing, domain: &str) -> Value {
    json!({
        "id": g.group.id, "name": g.group.name, "domain": domain,
        "operator": g.group.is_operator, "members": g.members,
    })
}

pub async fn run(cx: &Context, command: GroupCommand) -> CliResult {
    let admin = cx.app.admin(cx.actor.clone());
    match command {
        GroupCommand::Create {
            domain,
            name,
            operator,
        } => {
            let g = admin.create_group(&domain, &name, operator).await?;
            let listing = GroupListing {
                group: g,
                members: vec![],
            };
            cx.out.record(&fields(&listing, &domain));
        }
        GroupCommand::List { domain } => {
            let groups = cx.app.list_groups(&domain).await?;
            let rows: Vec<Value> = groups.iter().map(|g| fields(g, &domain)).collect();
            cx.out.rows(&["name", "id", "operator", "members"], &rows);
        }
        GroupCommand::Show { domain, name } => {
            let g = cx.app.group_named(&domain, &name).await?;
            let listing = cx.app.group_listing(g).await?;
            cx.out.record(&fields(&listing, &domain));
        }
        GroupCommand::AddMember {
            domain,
            group,
            user,
        } => {
            let (g, u) = admin.add_group_member(&domain, &group, &user).await?;
            cx.out.record(
                &json!({ "group_id": g.id, "group": g.name, "user_id": u.id, "user": u.name }),
            );
        }
        GroupCommand::RemoveMember {
            domain,
            group,
            user,
        } => {
            admin.remove_group_member(&domain, &group, &user).await?;
            cx.out.message(&format!(
                "user {user} removed from group {group} in domain {domain}"
            ));
        }
        GroupCommand::Delete { domain, name } => {
            admin.delete_group(&domain, &name).await?;
            cx.out
                .message(&format!("group {name} deleted from domain {domain}"));
        }
    }
    Ok(())
}
