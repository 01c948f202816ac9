//! `support-access db copy`: move an installation from SQLite to PostgreSQL.

use clap::Subcommand;
use serde_json::{Map, Value, json};

use super::{CliError, CliResult, GlobalArgs};
use crate::config::redacted_url;
use crate::store::{copy, postgres, sqlite};

#[derive(Subcommand)]
pub enum DbCommand {
    /// Copy a whole installation from SQLite into an empty PostgreSQL database, then
    /// check row counts and the audit chains there. Serve the copy with the same
    /// master key.
    Copy {
        /// The source, sqlite://PATH. Best copied while no server writes to it.
        #[arg(long)]
        from: String,
        /// The target, postgres://USER@HOST:PORT/DB: an empty (or new) database.
        #[arg(long)]
        to: String,
    },
}

pub async fn run(global: &GlobalArgs, command: DbCommand) -> CliResult {
    let DbCommand::Copy { from, to } = command;
    let source = sqlite::path_from_url(&from).ok_or_else(|| {
        CliError::failed(format!(
            "--from must be sqlite://PATH, not `{}`",
            redacted_url(&from)
        ))
    })?;
    if !postgres::is_postgres_url(&to) {
        return Err(CliError::failed(format!(
            "--to must be postgres://USER@HOST:PORT/DB, not `{}`",
            redacted_url(&to)
        )));
    }
    let report = copy::sqlite_to_postgres(&source, &to)
        .await
        .map_err(|e| CliError::failed(format!("db copy: {}", crate::causes::Causes(&e))))?;
    let rows: Map<String, Value> = report
        .tables
        .iter()
        .map(|(table, n)| ((*table).to_owned(), json!(n)))
        .collect();
    global.output.record(&json!({
        "from": from,
        "to": redacted_url(&to),
        "rows": rows,
        "audit_chains": report.audit_chains,
        "audit_events": report.audit_events,
        "result": "ok",
    }));
    Ok(())
}
