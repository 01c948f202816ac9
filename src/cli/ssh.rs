//! `support-access ssh ...`: the SSH broker's host key.

use clap::Subcommand;
use serde_json::json;

use super::{CliResult, GlobalArgs};
use crate::clock::Clock;

#[derive(Subcommand)]
pub enum SshCommand {
    /// Print the broker's host key (OpenSSH public line) and its SHA256 fingerprint,
    /// creating the key if this installation has none yet.
    HostKey,
}

pub async fn run(global: &GlobalArgs, command: SshCommand) -> CliResult {
    let settings = global.settings()?;
    let app = crate::server::open_app(&settings, Clock::System).await?;
    match command {
        SshCommand::HostKey => {
            let key = app
                .broker_host_key(crate::domain::audit::Actor::cli(&super::admin::os_user()))
                .await?;
            let (line, fingerprint) = crate::broker::describe_host_key(&key);
            match global.output {
                super::Output::Json => global
                    .output
                    .record(&json!({ "public_key": line, "fingerprint": fingerprint })),
                super::Output::Table => {
                    println!("{line}");
                    println!("{fingerprint}");
                }
            }
        }
    }
    Ok(())
}
