//! `support-access audit verify`: recompute every chain; fail loudly on tampering.

use clap::Subcommand;
use serde_json::json;

use super::{CliError, CliResult, GlobalArgs};
use crate::domain::Scope;
use crate::store::{AuditChain, Store};

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain of every domain's audit log.
    Verify,
}

pub async fn run(global: &GlobalArgs, command: AuditCommand) -> CliResult {
    let AuditCommand::Verify = command;
    let settings = global.settings()?;
    let store = crate::server::open_store(&settings).await?;
    let chains = store.audit_chains().await?;
    let events: usize = chains.iter().map(|c| c.events.len()).sum();
    let mut problems: Vec<String> = chains.iter().filter_map(|c| c.verify().err()).collect();
    problems.extend(status_mismatches(store.as_ref(), &chains).await?);
    global.output.record(&json!({
        "domains": chains.len(),
        "events": events,
        "result": if problems.is_empty() { "ok" } else { "TAMPERED" },
    }));
    if problems.is_empty() {
        Ok(())
    } else {
        Err(CliError(format!(
            "audit chain verification FAILED:\n  {}",
            problems.join("\n  ")
        )))
    }
}

/// Authorizations whose stored status is not the one their audit events lead to (a
/// status edited in the database behind the service's back).
async fn status_mismatches(
    store: &dyn Store,
    chains: &[AuditChain],
) -> Result<Vec<String>, CliError> {
    let all = Scope::Provider { raised_by: None };
    let mut problems = Vec::new();
    let events = chains.iter().flat_map(|c| &c.events);
    for (id, replayed) in crate::domain::audit::replayed_statuses(events) {
        match store.get_authorization(&all, id).await? {
            Some(auth) if auth.status != replayed => problems.push(format!(
                "authorization {id}: status {:?} in the database, but its audit events lead to {replayed:?}",
                auth.status
            )),
            Some(_) => {}
            None => problems.push(format!(
                "authorization {id}: audited, but missing from the database"
            )),
        }
    }
    Ok(problems)
}
