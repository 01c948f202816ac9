//! The broker's login to the customer's host: the sealed password, under the host-key
//! pinning rule CheckHosts uses.

use std::sync::Arc;
use std::time::Duration;

use russh::client;
use tokio::net::TcpStream;

use crate::domain::host_check::{HostCheckOutcome, host_key_trusted};
use crate::domain::network_policy::TargetNetworks;
use crate::service::broker::BrokerTarget;
use crate::service::network_policy::resolve_allowed;
use crate::service::ssh::{HostKeyCheck, log_in};

pub type TargetHandle = client::Handle<HostKeyCheck>;

/// Why the host could not be logged in to.
#[derive(Debug)]
pub enum TargetError {
    /// The host presented this key, not the pinned one; the password was not sent.
    HostKeyChanged(String),
    Failed(HostCheckOutcome),
    /// Outside `target_networks`, or the name does not resolve.
    NotAllowed(crate::service::network_policy::Refusal),
}

fn client_config() -> Arc<client::Config> {
    Arc::new(client::Config {
        // The engineer's side has the idle timeout; this side only must not die quietly.
        inactivity_timeout: None,
        keepalive_interval: Some(Duration::from_secs(30)),
        nodelay: true,
        ..Default::default()
    })
}

/// Connects (only to addresses `target_networks` allows, as CheckHosts does) and logs
/// in within `timeout`; returns the session and the host key seen.
pub async fn connect(
    target: &BrokerTarget,
    networks: &TargetNetworks,
    timeout: Duration,
) -> Result<(TargetHandle, String), TargetError> {
    tokio::time::timeout(timeout, connect_now(target, networks))
        .await
        .unwrap_or(Err(TargetError::Failed(HostCheckOutcome::TimedOut)))
}

async fn connect_now(
    target: &BrokerTarget,
    networks: &TargetNetworks,
) -> Result<(TargetHandle, String), TargetError> {
    let addresses = resolve_allowed(networks, &target.host, target.port)
        .await
        .map_err(TargetError::NotAllowed)?;
    let stream = TcpStream::connect(&addresses[..])
        .await
        .map_err(|_| TargetError::Failed(HostCheckOutcome::Unreachable))?;
    let _ = stream.set_nodelay(true);
    let (check, seen) = HostKeyCheck::new(target.pinned_key.as_deref());
    let Ok(mut session) = client::connect_stream(client_config(), stream, check).await else {
        return Err(match seen.get() {
            Some(key) if !host_key_trusted(target.pinned_key.as_deref(), key) => {
                TargetError::HostKeyChanged(key.clone())
            }
            _ => TargetError::Failed(HostCheckOutcome::NotSsh),
        });
    };
    let seen = seen.get().cloned().unwrap_or_default();
    match log_in(&mut session, &target.account, &target.password).await {
        HostCheckOutcome::LoginAccepted => Ok((session, seen)),
        other => Err(TargetError::Failed(other)),
    }
}
