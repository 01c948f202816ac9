//! `support-access audit verify`: recompute every chain; fail loudly on tampering.

use clap::Subcommand;
use serde_json::json;

use super::{CliError, CliResult, GlobalArgs};

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
    let problems: Vec<String> = chains.iter().filter_map(|c| c.verify().err()).collect();
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
