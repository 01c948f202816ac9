//! `admin group ...`.

use clap::{Args, Subcommand};
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
        #[command(flatten)]
        group: GroupRef,
    },
    /// Add a user to a group.
    AddMember {
        #[command(flatten)]
        member: MemberRef,
    },
    /// Remove a user from a group.
    RemoveMember {
        #[command(flatten)]
        member: MemberRef,
    },
    /// Delete a group (its members stay users of the domain).
    Delete {
        #[command(flatten)]
        group: GroupRef,
    },
}

/// A group named within a domain.
#[derive(Args)]
pub struct GroupRef {
    /// The group's domain.
    #[arg(long)]
    domain: String,
    /// Group name.
    #[arg(long)]
    name: String,
}

/// A user as a group's member.
#[derive(Args)]
pub struct MemberRef {
    /// The domain of group and user.
    #[arg(long)]
    domain: String,
    /// Group name.
    #[arg(long)]
    group: String,
    /// User name.
    #[arg(long)]
    user: String,
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
        GroupCommand::Show {
            group: GroupRef { domain, name },
        } => {
            let g = cx.app.group_named(&domain, &name).await?;
            let listing = cx.app.group_listing(g).await?;
            cx.out.record(&fields(&listing, &domain));
        }
        GroupCommand::AddMember {
            member:
                MemberRef {
                    domain,
                    group,
                    user,
                },
        } => {
            let (g, u) = admin.add_group_member(&domain, &group, &user).await?;
            cx.out.record(
                &json!({ "group_id": g.id, "group": g.name, "user_id": u.id, "user": u.name }),
            );
        }
        GroupCommand::RemoveMember {
            member:
                MemberRef {
                    domain,
                    group,
                    user,
                },
        } => {
            admin.remove_group_member(&domain, &group, &user).await?;
            cx.out.message(&format!(
                "user {user} removed from group {group} in domain {domain}"
            ));
        }
        GroupCommand::Delete {
            group: GroupRef { domain, name },
        } => {
            admin.delete_group(&domain, &name).await?;
            cx.out
                .message(&format!("group {name} deleted from domain {domain}"));
        }
    }
    Ok(())
}
