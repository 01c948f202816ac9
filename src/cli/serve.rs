//! `support-access serve`.

use std::io::IsTerminal;

use clap::Args;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

use super::{CliError, CliResult, GlobalArgs};
use crate::clock::Clock;
use crate::config::LogFormat;

#[derive(Args)]
pub struct ServeArgs {
    /// Seed demo identities and authorizations into an empty database and print how
    /// to try them.
    #[arg(long)]
    demo: bool,
}

fn init_logging(format: LogFormat, levels: &str) {
    let filter = EnvFilter::try_new(levels).unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only for a person at a terminal: a log file or the journal gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Installs the metrics recorder (before anything records) and serves the scrape
/// endpoint for as long as the process runs.
async fn serve_metrics(address: &str) -> CliResult {
    let handle = crate::telemetry::install().map_err(CliError::failed)?;
    let listener = TcpListener::bind(address)
        .await
        .map_err(|e| CliError::failed(format!("cannot listen for metrics on {address}: {e}")))?;
    let bound = listener.local_addr()?;
    println!("support-access metrics on http://{bound}/metrics");
    tokio::spawn(async move {
        if let Err(e) = crate::telemetry::serve(listener, handle, std::future::pending()).await {
            tracing::error!(error = %e, "the metrics listener stopped");
        }
    });
    Ok(())
}

pub async fn run(global: &GlobalArgs, args: ServeArgs) -> CliResult {
    let settings = global.settings()?;
    init_logging(settings.log_format, &settings.log);
    if let Some(address) = &settings.metrics_listen {
        serve_metrics(address).await?;
    }
    let app = crate::server::open_app(&settings, Clock::System).await?;
    let listener = TcpListener::bind(&settings.listen)
        .await
        .map_err(|e| CliError::failed(format!("cannot listen on {}: {e}", settings.listen)))?;
    let address = listener.local_addr()?;
    // Printed before the HTTP line, which tools wait for (and may stop reading at).
    let (stop_broker, broker_stopped) = tokio::sync::watch::channel(false);
    let broker = match settings.ssh_listen() {
        Some(ssh_listen) => {
            let ssh = TcpListener::bind(ssh_listen).await.map_err(|e| {
                CliError::failed(format!("cannot listen for SSH on {ssh_listen}: {e}"))
            })?;
            let ssh_address = ssh.local_addr()?;
            let task = crate::broker::spawn(app.clone(), ssh, settings.broker(), broker_stopped)
                .await
                .map_err(CliError::failed)?;
            println!("support-access SSH broker listening on {ssh_address}");
            tracing::info!(%ssh_address, "SSH broker listening");
            Some(task)
        }
        None => None,
    };
    if args.demo {
        super::demo::seed_and_explain(&app, address).await?;
    }
    println!(
        "support-access listening on {}://{address} (database {})",
        if settings.tls_files().is_some() {
            "https"
        } else {
            "http"
        },
        crate::config::redacted_url(&settings.database_url)
    );
    tracing::info!(%address, "listening");
    crate::server::serve(listener, app, &settings, crate::server::shutdown_signal()).await?;
    let _ = stop_broker.send(true);
    if let Some(task) = broker {
        let _ = task.await;
    }
    Ok(())
}
