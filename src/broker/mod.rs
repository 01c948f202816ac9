//! The SSH broker (SPEC §7): engineers log in with their own key as
//! `ENGINEER:DETAIL_ID`; the broker checks the gate, logs in to the customer's host with
//! the sealed credentials, relays the session and records it first-hand. A client of
//! the service layer, like the HTTP API and the CLI.

mod cutoff;
mod detect;
mod relay;
mod server;
mod target;
mod throttle;

use std::sync::Arc;
use std::time::Duration;

use russh::keys::{HashAlg, PrivateKey};
use russh::{MethodKind, MethodSet};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::service::App;

/// Limits and timeouts (from `Settings`).
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    pub max_sessions_per_engineer: usize,
    pub max_sessions_per_authorization: usize,
    /// A connection with no traffic either way for this long is closed.
    pub idle_timeout: Duration,
    /// From TCP accept to a successful login.
    pub login_grace_time: Duration,
    /// Connecting and logging in to the host.
    pub connect_timeout: Duration,
    /// How often live sessions are re-checked (changes made by other instances, the
    /// clock reaching the window's end).
    pub recheck_interval: Duration,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            max_sessions_per_engineer: 10,
            max_sessions_per_authorization: 10,
            idle_timeout: Duration::from_secs(30 * 60),
            login_grace_time: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            recheck_interval: Duration::from_secs(1),
        }
    }
}

/// The host key's OpenSSH public line and its SHA256 fingerprint.
pub fn describe_host_key(key: &PrivateKey) -> (String, String) {
    let public = key.public_key();
    let line = public.to_openssh().unwrap_or_default();
    (line, public.fingerprint(HashAlg::Sha256).to_string())
}

fn russh_config(key: PrivateKey, config: &BrokerConfig) -> russh::server::Config {
    russh::server::Config {
        keys: vec![key],
        methods: MethodSet::from(&[MethodKind::PublicKey][..]),
        auth_rejection_time: Duration::from_millis(300),
        // OpenSSH asks with method "none" first to learn the methods: no delay for that.
        auth_rejection_time_initial: Some(Duration::ZERO),
        inactivity_timeout: Some(config.idle_timeout),
        keepalive_interval: Some(Duration::from_secs(30)),
        nodelay: true,
        ..Default::default()
    }
}

/// Serves SSH on `listener` until `stop` turns true; also runs the watcher that cuts
/// sessions whose access ended.
pub async fn spawn(
    app: Arc<App>,
    listener: TcpListener,
    config: BrokerConfig,
    stop: watch::Receiver<bool>,
) -> Result<JoinHandle<()>, String> {
    let key = app
        .broker_host_key(crate::domain::audit::Actor::system())
        .await
        .map_err(|e| crate::causes::Causes(&e).to_string())?;
    let russh = Arc::new(russh_config(key, &config));
    let shared = Arc::new(server::Shared::new(app.clone(), config.clone()));
    let watcher = tokio::spawn(cutoff::watch(app, config.recheck_interval, stop.clone()));
    Ok(tokio::spawn(async move {
        server::accept_loop(listener, russh, shared, stop).await;
        let _ = watcher.await;
    }))
}
