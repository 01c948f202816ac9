//! The broker's login to the customer's host: the sealed password, under the host-key
//! pinning rule CheckHosts uses.

use std::sync::Arc;
use std::time::Duration;

use russh::client;
use tokio::net::TcpStream;

use crate::domain::host_check::{HostCheckOutcome, host_key_trusted};
use crate::service::broker::BrokerTarget;
use crate::service::ssh::{HostKeyCheck, log_in};

pub type TargetHandle = client::Handle<HostKeyCheck>;

/// Why the host could not be logged in to.
#[derive(Debug)]
pub enum TargetError {
    /// The host presented this key, not the pinned one; the password was not sent.
    HostKeyChanged(String),
    Failed(HostCheckOutcome),
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

/// Connects and logs in within `timeout`; returns the session and the host key seen.
pub async fn connect(
    target: &BrokerTarget,
    timeout: Duration,
) -> Result<(TargetHandle, String), TargetError> {
    tokio::time::timeout(timeout, connect_now(target))
        .await
        .unwrap_or(Err(TargetError::Failed(HostCheckOutcome::TimedOut)))
}

async fn connect_now(target: &BrokerTarget) -> Result<(TargetHandle, String), TargetError> {
    let stream = TcpStream::connect((target.host.as_str(), target.port))
        .await
        .map_err(|_| TargetError::Failed(HostCheckOutcome::Unreachable))?;
    let _ = stream.set_nodelay(true);
    let (check, seen) = HostKeyCheck::new(target.pinned_key.as_deref());
    let mut session = match client::connect_stream(client_config(), stream, check).await {
        Ok(session) => session,
        Err(_) => {
            return Err(match seen.get() {
                Some(key) if !host_key_trusted(target.pinned_key.as_deref(), key) => {
                    TargetError::HostKeyChanged(key.clone())
                }
                _ => TargetError::Failed(HostCheckOutcome::NotSsh),
            });
        }
    };
    let seen = seen.get().cloned().unwrap_or_default();
    match log_in(&mut session, &target.account, &target.password).await {
        HostCheckOutcome::LoginAccepted => Ok((session, seen)),
        other => Err(TargetError::Failed(other)),
    }
}
