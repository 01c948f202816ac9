//! Start-up: open the store and keys, then serve until told to stop.

use std::future::Future;
use std::sync::Arc;

use jiff::SignedDuration;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::clock::Clock;
use crate::config::Settings;
use crate::crypto::master_key::{self, MasterKeyError};
use crate::crypto::{Cipher, CryptoError};
use crate::http::connections;
use crate::http::middleware::EnvelopeConfig;
use crate::service::host_check::HostChecks;
use crate::service::in_flight::Limits;
use crate::service::ssh::RusshLogin;
use crate::service::{App, Policy, credential_cache, email, sweeper, webhooks};
use crate::store::postgres::{self, PostgresStore};
use crate::store::sqlite::{self, SqliteStore};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("unsupported database URL `{0}` (use sqlite://PATH or postgres://...)")]
    UnsupportedDatabase(String),
    #[error("cannot open the database")]
    Store(#[from] StoreError),
    #[error(transparent)]
    MasterKey(#[from] MasterKeyError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

/// Opens the database named by the URL, applying migrations.
pub async fn open_store(settings: &Settings) -> Result<Arc<dyn Store>, StartupError> {
    let url = &settings.database_url;
    if postgres::is_postgres_url(url) {
        return Ok(Arc::new(PostgresStore::open(url).await?));
    }
    let path = sqlite::path_from_url(url)
        .ok_or_else(|| StartupError::UnsupportedDatabase(crate::config::redacted_url(url)))?;
    Ok(Arc::new(SqliteStore::open(
        &path,
        settings.sqlite_synchronous,
    )?))
}

fn signed(d: std::time::Duration) -> SignedDuration {
    SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX)
}

/// The master key: `SUPPORT_ACCESS_MASTER_KEY` if set, else the key file.
fn master_cipher(settings: &Settings) -> Result<Cipher, StartupError> {
    let key = match std::env::var("SUPPORT_ACCESS_MASTER_KEY") {
        Ok(hex) if !hex.is_empty() => master_key::parse_hex(&hex)?,
        _ => master_key::load_or_create(&settings.master_key_file())?,
    };
    Ok(Cipher::new(&key))
}

/// Everything the service needs to run, ready to serve.
pub async fn open_app(settings: &Settings, clock: Clock) -> Result<Arc<App>, StartupError> {
    let store = open_store(settings).await?;
    let master = master_cipher(settings)?;
    let wrapped = store
        .wrapped_data_key(Cipher::new_data_key(&master), clock.now())
        .await?;
    let secrets = Cipher::from_wrapped(&master, &wrapped)?;
    let policy = Policy {
        pending_ttl: signed(settings.pending_ttl),
        max_window: signed(settings.max_window),
        token_ttl: signed(settings.token_ttl),
        recording_retention: signed(settings.recording_retention),
    };
    Ok(Arc::new(
        App::new(
            store,
            secrets,
            clock,
            policy,
            Arc::new(host_checks(settings)),
        )
        .with_target_networks(settings.target_networks.clone().into()),
    ))
}

fn host_checks(settings: &Settings) -> HostChecks {
    let timeout = settings.check_timeout;
    let limits = Limits {
        overall: settings.check_max_in_flight,
        per_domain: settings.check_max_in_flight_per_domain,
    };
    HostChecks::new(Arc::new(RusshLogin::new(timeout)), timeout, limits)
}

/// Serves on `listener` until `shutdown` completes, then finishes in-flight requests.
pub async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    settings: &Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // First: a certificate that does not load stops start-up before anything runs.
    let tls = match settings.tls_files() {
        Some(files) => Some(crate::tls::ReloadingTls::start(files)?),
        None => None,
    };
    let delivery = webhooks::Delivery::new(settings.webhook_allow_private)
        .map_err(|e| std::io::Error::other(format!("the webhook HTTP client: {e}")))?;
    let (stop_sweeper, sweeper_stopped) = watch::channel(false);
    let sweeper = sweeper::spawn(
        app.clone(),
        settings.sweep_interval,
        signed(settings.outbox_retention),
        sweeper_stopped.clone(),
    );
    let mail = match (&settings.smtp_url, &settings.smtp_from) {
        (Some(url), Some(from)) => {
            match email::Mailer::new(url, from, &settings.public_url, settings.default_language) {
                Ok(mailer) => {
                    tracing::info!(smtp = %crate::config::redacted_url(url), "e-mail notifications on");
                    Some(email::spawn(
                        app.clone(),
                        mailer,
                        settings.webhook_poll_interval,
                        sweeper_stopped.clone(),
                    )?)
                }
                Err(e) => {
                    tracing::error!(error = %e, "e-mail notifications off");
                    None
                }
            }
        }
        _ => None,
    };
    let deliveries = webhooks::spawn(
        app.clone(),
        delivery,
        settings.webhook_poll_interval,
        sweeper_stopped.clone(),
    )?;
    let epoch_watch = credential_cache::spawn_epoch_watch(app.clone(), sweeper_stopped);
    let config = EnvelopeConfig {
        request_timeout: settings.request_timeout,
        body_limit: settings.body_limit_bytes,
        default_language: settings.default_language,
    };
    let console = crate::console::ConsoleConfig {
        secure_cookies: settings.console_secure_cookies,
        default_language: settings.default_language,
    };
    let router = crate::http::router(app, config, console);
    let connections = connections::Limits {
        max_connections: settings.max_connections,
        header_read_timeout: settings.header_read_timeout,
        drain_timeout: settings.request_timeout,
    };
    let result = connections::serve(listener, router, connections, tls, shutdown).await;
    let _ = stop_sweeper.send(true);
    let _ = sweeper.await;
    let _ = deliveries.await;
    if let Some(mail) = mail {
        let _ = mail.await;
    }
    let _ = epoch_watch.await;
    result
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
