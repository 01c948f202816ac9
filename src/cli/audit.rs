//! `support-access audit ...`: read, export and verify the audit log.

use std::path::PathBuf;

use clap::{Subcommand, ValueEnum};
use serde_json::{Value, json};

use super::{CliError, CliResult, GlobalArgs, Output};
use crate::domain::audit::SYSTEM_CHAIN;
use crate::domain::audit_export::{event_json, ocsf_event, verify_export};
use crate::domain::time::format_utc;
use crate::store::{AuditChain, AuditFilter, Store};

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain of every domain's audit log (or of an exported file).
    Verify {
        /// Verify this `audit export --format jsonl` file (of whole chains: no --since,
        /// --type or --authorization) instead of the database.
        #[arg(long, value_name = "FILE")]
        export: Option<PathBuf>,
    },
    /// List audit events, newest first.
    List {
        #[command(flatten)]
        filter: FilterArgs,
        /// At most this many events.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Write audit events to standard output, one JSON object a line, oldest first.
    Export {
        /// `jsonl`: every hashed field (verifiable with `audit verify --export`);
        /// `ocsf`: OCSF 1.5 events.
        #[arg(long, value_enum, default_value = "jsonl")]
        format: ExportFormat,
        #[command(flatten)]
        filter: FilterArgs,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Jsonl,
    Ocsf,
}

#[derive(clap::Args)]
pub struct FilterArgs {
    /// Only this domain's chain (a domain name, or `system`).
    #[arg(long)]
    domain: Option<String>,
    /// Only events at or after this time (RFC 3339, e.g. 2026-11-29T00:00:00Z).
    #[arg(long)]
    since: Option<String>,
    /// Only events of this type, e.g. `confirm` or `user.created`.
    #[arg(long = "type")]
    kind: Option<String>,
    /// Only events about this authorization id.
    #[arg(long)]
    authorization: Option<i64>,
}

impl FilterArgs {
    async fn resolve(self, store: &dyn Store) -> Result<AuditFilter, CliError> {
        let chain = match self.domain {
            None => None,
            Some(name) if name == SYSTEM_CHAIN => Some(name),
            Some(name) => Some(
                store
                    .domain_by_name(&name)
                    .await?
                    .ok_or_else(|| {
                        CliError::new("not_found", format!("domain `{name}` not found"))
                    })?
                    .id,
            ),
        };
        let since = match self.since {
            None => None,
            Some(text) => Some(text.parse::<jiff::Timestamp>().map_err(|_| {
                CliError::new(
                    "invalid",
                    format!("--since: `{text}` is not a time such as 2026-11-29T00:00:00Z"),
                )
            })?),
        };
        Ok(AuditFilter {
            chain,
            authorization_id: self.authorization,
            since,
            until: None,
            kind: self.kind,
            offset: 0,
            limit: None,
        })
    }
}

pub async fn run(global: &GlobalArgs, command: AuditCommand) -> CliResult {
    if let AuditCommand::Verify { export: Some(file) } = &command {
        return verify_file(global.output, file);
    }
    let settings = global.settings()?;
    let store = crate::server::open_store(&settings).await?;
    match command {
        AuditCommand::Verify { .. } => verify_database(global.output, store.as_ref()).await,
        AuditCommand::List { filter, limit } => {
            let mut filter = filter.resolve(store.as_ref()).await?;
            filter.limit = Some(limit);
            let (_, events) = store.audit_events(&filter).await?;
            let rows: Vec<Value> = events.iter().map(event_json).collect();
            match global.output {
                Output::Json => global.output.rows(&[], &rows),
                Output::Table => {
                    let rows: Vec<Value> = events
                        .iter()
                        .map(|e| {
                            json!({
                                "time": format_utc(e.at), "chain": e.draft.domain_id, "seq": e.seq,
                                "type": e.draft.kind, "actor": e.draft.actor_name,
                                "authorization": e.draft.authorization_id.map(|a| a.0),
                                "note": e.draft.note,
                            })
                        })
                        .collect();
                    let columns = [
                        "time",
                        "chain",
                        "seq",
                        "type",
                        "actor",
                        "authorization",
                        "note",
                    ];
                    global.output.rows(&columns, &rows);
                }
            }
            Ok(())
        }
        AuditCommand::Export { format, filter } => {
            let filter = filter.resolve(store.as_ref()).await?;
            let (_, mut events) = store.audit_events(&filter).await?;
            // Oldest first, each chain in order: the order a verifier reads.
            events.sort_by(|a, b| (&a.draft.domain_id, a.seq).cmp(&(&b.draft.domain_id, b.seq)));
            for e in &events {
                let line = match format {
                    ExportFormat::Jsonl => event_json(e),
                    ExportFormat::Ocsf => ocsf_event(e),
                };
                println!("{line}");
            }
            Ok(())
        }
    }
}

async fn verify_database(output: Output, store: &dyn Store) -> CliResult {
    let chains = store.audit_chains().await?;
    let events: usize = chains.iter().map(|c| c.events.len()).sum();
    let mut problems: Vec<String> = chains.iter().filter_map(|c| c.verify().err()).collect();
    problems.extend(status_mismatches(store, &chains).await?);
    output.record(&json!({
        "chains": chains.len(),
        "events": events,
        "result": if problems.is_empty() { "ok" } else { "TAMPERED" },
    }));
    if problems.is_empty() {
        Ok(())
    } else {
        Err(CliError::new(
            "tampered",
            format!(
                "audit chain verification FAILED:\n  {}",
                problems.join("\n  ")
            ),
        ))
    }
}

fn verify_file(output: Output, file: &std::path::Path) -> CliResult {
    let text = std::fs::read_to_string(file)
        .map_err(|e| CliError::failed(format!("cannot read {}: {e}", file.display())))?;
    match verify_export(&text) {
        Ok(check) => {
            output
                .record(&json!({ "chains": check.chains, "events": check.events, "result": "ok" }));
            Ok(())
        }
        Err(problem) => {
            output.record(&json!({ "result": "TAMPERED" }));
            Err(CliError::new(
                "tampered",
                format!("audit export verification FAILED: {problem}"),
            ))
        }
    }
}

/// Authorizations whose stored status is not the one their audit events lead to (a
/// status edited in the database behind the service's back): one scan of the stored
/// statuses, merged with the replayed ones (both in id order).
async fn status_mismatches(
    store: &dyn Store,
    chains: &[AuditChain],
) -> Result<Vec<String>, CliError> {
    let stored: std::collections::BTreeMap<_, _> =
        store.authorization_statuses().await?.into_iter().collect();
    let events = chains.iter().flat_map(|c| &c.events);
    let problems = crate::domain::audit::replayed_statuses(events)
        .into_iter()
        .filter_map(|(id, replayed)| match stored.get(&id) {
            Some(status) if *status != replayed => Some(format!(
                "authorization {id}: status {status:?} in the database, but its audit events lead to {replayed:?}"
            )),
            Some(_) => None,
            None => Some(format!(
                "authorization {id}: audited, but missing from the database"
            )),
        })
        .collect();
    Ok(problems)
}
