//! `support-access audit verify`: recompute every chain; fail loudly on tampering.

use clap::Subcommand;
use serde_json::json;

use super::{CliError, CliResult, GlobalArgs};
use crate::config::Overrides;
use crate::domain::audit::verify_chain;
use crate::store::AuditChain;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain of every domain's audit log.
    Verify,
}

/// Checks one chain, including that its recorded head is its last event.
pub fn check(chain: &AuditChain) -> Result<(), String> {
    verify_chain(&chain.events)
        .map_err(|b| format!("domain {}: event {}: {}", b.domain_id, b.seq, b.problem))?;
    let last = chain.events.last().map(|e| (e.seq, e.hash));
    if chain.head != last {
        return Err(format!(
            "domain {}: the chain's recorded head does not match its last event (events were removed or added)",
            chain.domain_id
        ));
    }
    Ok(())
}

pub async fn run(global: &GlobalArgs, command: AuditCommand) -> CliResult {
    let AuditCommand::Verify = command;
    let settings = global.settings(Overrides::default())?;
    let store = crate::server::open_store(&settings)?;
    let chains = store.audit_chains().await?;
    let events: usize = chains.iter().map(|c| c.events.len()).sum();
    let problems: Vec<String> = chains.iter().filter_map(|c| check(c).err()).collect();
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
