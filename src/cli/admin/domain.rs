//! `admin domain ...`.

use clap::Subcommand;
use serde_json::{Value, json};

use super::Context;
use crate::cli::{CliResult, Output};
use crate::domain::time::format_utc;
use crate::store::DomainRecord;

#[derive(Subcommand)]
pub enum DomainCommand {
    /// Create a customer domain; prints its id (the SDK's domain id).
    Create {
        /// Domain name, 1..64 characters.
        #[arg(long)]
        name: String,
    },
    /// List every domain with its id.
    List,
    /// Show one domain: id, users and groups.
    Show {
        /// Domain name.
        #[arg(long)]
        name: String,
    },
}

fn fields(d: &DomainRecord) -> Value {
    json!({
        "id": d.id, "name": d.name, "provider": d.is_provider,
        "created_at": format_utc(d.created_at),
    })
}

pub async fn run(cx: &Context, command: DomainCommand) -> CliResult {
    match command {
        DomainCommand::Create { name } => {
            let d = cx.app.admin(cx.actor.clone()).create_domain(&name).await?;
            match cx.out {
                Output::Json => cx.out.record(&fields(&d)),
                // Just the id, for `ID=$(support-access admin domain create ...)`.
                Output::Table => println!("{}", d.id),
            }
        }
        DomainCommand::List => {
            let rows: Vec<Value> = cx.app.list_domains().await?.iter().map(fields).collect();
            cx.out
                .rows(&["name", "id", "provider", "created_at"], &rows);
        }
        DomainCommand::Show { name } => {
            let d = cx.app.domain_named(&name).await?;
            let users: Vec<String> = cx
                .app
                .list_users(&name)
                .await?
                .into_iter()
                .map(|u| u.name)
                .collect();
            let groups: Vec<String> = cx
                .app
                .list_groups(&name)
                .await?
                .into_iter()
                .map(|g| g.group.name)
                .collect();
            let mut record = fields(&d);
            record["users"] = json!(users);
            record["groups"] = json!(groups);
            cx.out.record(&record);
        }
    }
    Ok(())
}
