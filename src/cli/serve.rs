//! `support-access serve`.

use std::path::PathBuf;

use clap::Args;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

use super::{CliError, CliResult, GlobalArgs};
use crate::clock::Clock;
use crate::config::{LogFormat, Overrides};

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on (default 127.0.0.1:8080; port 0 picks a free one).
    #[arg(long, env = "SUPPORT_ACCESS_LISTEN")]
    listen: Option<String>,
    /// Seed demo identities and authorizations into an empty database and print how
    /// to try them.
    #[arg(long)]
    demo: bool,
    /// Master key file (default: beside the SQLite file).
    #[arg(long, env = "SUPPORT_ACCESS_MASTER_KEY_FILE")]
    master_key_file: Option<PathBuf>,
    /// How long a request may stay pending (e.g. 72h).
    #[arg(long, env = "SUPPORT_ACCESS_PENDING_TTL")]
    pending_ttl: Option<String>,
    /// The longest authorization window a customer may grant (e.g. 30d).
    #[arg(long, env = "SUPPORT_ACCESS_MAX_WINDOW")]
    max_window: Option<String>,
    /// Token lifetime (e.g. 24h).
    #[arg(long, env = "SUPPORT_ACCESS_TOKEN_TTL")]
    token_ttl: Option<String>,
    /// How often the expiry sweeper runs (e.g. 30s).
    #[arg(long, env = "SUPPORT_ACCESS_SWEEP_INTERVAL")]
    sweep_interval: Option<String>,
    /// Requests taking longer are answered 503 (e.g. 30s).
    #[arg(long, env = "SUPPORT_ACCESS_REQUEST_TIMEOUT")]
    request_timeout: Option<String>,
    /// The largest request body accepted, in bytes (default 1048576).
    #[arg(long, env = "SUPPORT_ACCESS_BODY_LIMIT_BYTES")]
    body_limit_bytes: Option<usize>,
    /// SQLite durability: `full` (default) or `normal`.
    #[arg(long, env = "SUPPORT_ACCESS_SQLITE_SYNCHRONOUS")]
    sqlite_synchronous: Option<String>,
    /// Log format: `text` (default) or `json`. Levels via SUPPORT_ACCESS_LOG.
    #[arg(long, env = "SUPPORT_ACCESS_LOG_FORMAT")]
    log_format: Option<String>,
    /// CheckHosts: how long connecting and SSH authentication may take (e.g. 5s).
    #[arg(long, env = "SUPPORT_ACCESS_CHECK_TIMEOUT")]
    check_timeout: Option<String>,
    /// CheckHosts running at once over all domains (default 16).
    #[arg(long, env = "SUPPORT_ACCESS_CHECK_MAX_IN_FLIGHT")]
    check_max_in_flight: Option<usize>,
    /// CheckHosts running at once for one customer domain (default 4).
    #[arg(long, env = "SUPPORT_ACCESS_CHECK_MAX_IN_FLIGHT_PER_DOMAIN")]
    check_max_in_flight_per_domain: Option<usize>,
    /// SSH broker address (default 127.0.0.1:2222; empty turns the broker off).
    #[arg(long, env = "SUPPORT_ACCESS_SSH_LISTEN")]
    ssh_listen: Option<String>,
    /// Live broker sessions one engineer may hold at once (default 10).
    #[arg(long, env = "SUPPORT_ACCESS_SSH_MAX_SESSIONS_PER_ENGINEER")]
    ssh_max_sessions_per_engineer: Option<usize>,
    /// Live broker sessions on one authorization at once (default 10).
    #[arg(long, env = "SUPPORT_ACCESS_SSH_MAX_SESSIONS_PER_AUTHORIZATION")]
    ssh_max_sessions_per_authorization: Option<usize>,
    /// A broker connection without traffic for this long is closed (default 30m).
    #[arg(long, env = "SUPPORT_ACCESS_SSH_IDLE_TIMEOUT")]
    ssh_idle_timeout: Option<String>,
    /// Time from connecting to the broker to a successful login (default 30s).
    #[arg(long, env = "SUPPORT_ACCESS_SSH_LOGIN_GRACE_TIME")]
    ssh_login_grace_time: Option<String>,
}

impl ServeArgs {
    fn overrides(&self) -> Overrides {
        Overrides {
            listen: self.listen.clone(),
            database_url: None,
            master_key_file: self.master_key_file.clone(),
            pending_ttl: self.pending_ttl.clone(),
            max_window: self.max_window.clone(),
            token_ttl: self.token_ttl.clone(),
            sweep_interval: self.sweep_interval.clone(),
            request_timeout: self.request_timeout.clone(),
            body_limit_bytes: self.body_limit_bytes,
            sqlite_synchronous: self.sqlite_synchronous.clone(),
            log_format: self.log_format.clone(),
            check_timeout: self.check_timeout.clone(),
            check_max_in_flight: self.check_max_in_flight,
            check_max_in_flight_per_domain: self.check_max_in_flight_per_domain,
            ssh_listen: self.ssh_listen.clone(),
            ssh_max_sessions_per_engineer: self.ssh_max_sessions_per_engineer,
            ssh_max_sessions_per_authorization: self.ssh_max_sessions_per_authorization,
            ssh_idle_timeout: self.ssh_idle_timeout.clone(),
            ssh_login_grace_time: self.ssh_login_grace_time.clone(),
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter =
        EnvFilter::try_from_env("SUPPORT_ACCESS_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

pub async fn run(global: &GlobalArgs, args: ServeArgs) -> CliResult {
    let settings = global.settings(args.overrides())?;
    init_logging(settings.log_format);
    let app = crate::server::open_app(&settings, Clock::System).await?;
    let listener = TcpListener::bind(&settings.listen)
        .await
        .map_err(|e| CliError(format!("cannot listen on {}: {e}", settings.listen)))?;
    let address = listener.local_addr()?;
    if args.demo {
        super::demo::seed_and_explain(&app, address).await?;
    }
    println!(
        "support-access listening on http://{address} (database {})",
        crate::config::redacted_url(&settings.database_url)
    );
    tracing::info!(%address, "listening");
    let (stop_broker, broker_stopped) = tokio::sync::watch::channel(false);
    let broker = match &settings.ssh_listen {
        Some(ssh_listen) => {
            let ssh = TcpListener::bind(ssh_listen)
                .await
                .map_err(|e| CliError(format!("cannot listen for SSH on {ssh_listen}: {e}")))?;
            let ssh_address = ssh.local_addr()?;
            let task =
                crate::broker::spawn(app.clone(), ssh, settings.broker.clone(), broker_stopped)
                    .await
                    .map_err(CliError)?;
            println!("support-access SSH broker listening on {ssh_address}");
            tracing::info!(%ssh_address, "SSH broker listening");
            Some(task)
        }
        None => None,
    };
    crate::server::serve(listener, app, &settings, crate::server::shutdown_signal()).await?;
    let _ = stop_broker.send(true);
    if let Some(task) = broker {
        let _ = task.await;
    }
    Ok(())
}
