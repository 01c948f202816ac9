//! The SSH client behind CheckHosts (`russh`): connect, check the host key, try the
//! password, disconnect. Nothing is run on the host.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use russh::client::{self, AuthResult};
use russh::keys::{HashAlg, PublicKeyOrCertificate};
use russh::{Disconnect, MethodKind};
use tokio::net::TcpStream;

use super::host_check::{LoginAttempt, LoginReport, SshLogin};
use crate::domain::host_check::{HostCheckOutcome, host_key_trusted};
use crate::domain::secret::Secret;

pub struct RusshLogin {
    config: Arc<client::Config>,
}

impl RusshLogin {
    /// `timeout` also ends russh's background task for a session that went quiet, should
    /// the caller stop waiting for it.
    pub fn new(timeout: Duration) -> RusshLogin {
        RusshLogin {
            config: Arc::new(client::Config {
                inactivity_timeout: Some(timeout),
                nodelay: true,
                ..Default::default()
            }),
        }
    }
}

/// The OpenSSH form of a key's fingerprint: `SHA256:` and unpadded base64.
pub fn fingerprint(key: &PublicKeyOrCertificate) -> String {
    key.public_key().fingerprint(HashAlg::Sha256).to_string()
}

/// Accepts the host key only if it is trusted, and remembers the key it saw. The SSH
/// broker logs in to hosts under the same rule.
pub struct HostKeyCheck {
    pinned: Option<String>,
    seen: Arc<OnceLock<String>>,
}

impl HostKeyCheck {
    /// A check against `pinned`, and where the key the host presents will be.
    pub fn new(pinned: Option<&str>) -> (HostKeyCheck, Arc<OnceLock<String>>) {
        let seen = Arc::new(OnceLock::new());
        let check = HostKeyCheck {
            pinned: pinned.map(str::to_owned),
            seen: seen.clone(),
        };
        (check, seen)
    }
}

impl client::Handler for HostKeyCheck {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let seen = fingerprint(key);
        let trusted = host_key_trusted(self.pinned.as_deref(), &seen);
        let _ = self.seen.set(seen);
        Ok(trusted)
    }
}

#[async_trait]
impl SshLogin for RusshLogin {
    async fn try_login(&self, attempt: LoginAttempt<'_>) -> LoginReport {
        let Ok(stream) = TcpStream::connect(attempt.addresses).await else {
            return LoginReport {
                outcome: HostCheckOutcome::Unreachable,
                host_key: None,
            };
        };
        let (handler, seen) = HostKeyCheck::new(attempt.pinned_key);
        let outcome = match client::connect_stream(self.config.clone(), stream, handler).await {
            Ok(mut session) => {
                let outcome = log_in(&mut session, attempt.account, attempt.password).await;
                let _ = session
                    .disconnect(Disconnect::ByApplication, "", "en")
                    .await;
                outcome
            }
            // The handshake stops at an untrusted key, before any password is sent.
            Err(_)
                if seen
                    .get()
                    .is_some_and(|key| !host_key_trusted(attempt.pinned_key, key)) =>
            {
                HostCheckOutcome::HostKeyChanged
            }
            Err(russh::Error::NoCommonAlgo { .. }) => HostCheckOutcome::NoCommonAlgorithm,
            Err(_) => HostCheckOutcome::NotSsh,
        };
        LoginReport {
            outcome,
            host_key: seen.get().cloned(),
        }
    }
}

pub(crate) async fn log_in(
    session: &mut client::Handle<HostKeyCheck>,
    account: &str,
    password: &Secret,
) -> HostCheckOutcome {
    // Asking without credentials first learns which methods the host offers, so a host
    // without password login is never sent the password.
    match session.authenticate_none(account).await {
        Ok(result) => {
            if let Some(outcome) = before_password(&result) {
                return outcome;
            }
        }
        Err(_) => return HostCheckOutcome::NotSsh,
    }
    // russh wipes its copy of the password when it is done with it.
    match session
        .authenticate_password(account, password.expose())
        .await
    {
        Ok(result) => after_password(&result),
        Err(_) => HostCheckOutcome::NotSsh,
    }
}

/// The outcome already known from the credential-less attempt, if any.
fn before_password(result: &AuthResult) -> Option<HostCheckOutcome> {
    match result {
        // The account needs no password at all: it does log in.
        AuthResult::Success => Some(HostCheckOutcome::LoginAccepted),
        AuthResult::Failure {
            remaining_methods, ..
        } if !remaining_methods.contains(&MethodKind::Password) => {
            Some(HostCheckOutcome::NoPasswordAuth)
        }
        AuthResult::Failure { .. } => None,
    }
}

/// A partial success still proves the password (the host wants a second factor too).
fn after_password(result: &AuthResult) -> HostCheckOutcome {
    match result {
        AuthResult::Success
        | AuthResult::Failure {
            partial_success: true,
            ..
        } => HostCheckOutcome::LoginAccepted,
        AuthResult::Failure { .. } => HostCheckOutcome::CredentialsRefused,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use russh::MethodSet;

    fn failure(methods: &[MethodKind], partial_success: bool) -> AuthResult {
        AuthResult::Failure {
            remaining_methods: MethodSet::from(methods),
            partial_success,
        }
    }

    #[test]
    fn fingerprints_read_as_openssh_prints_them() {
        // `ssh-keygen -lf key.pub -E sha256` printed this fingerprint for this key.
        let key = russh::keys::PublicKey::from_openssh(
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOvknzGcTMp1kpNq3JJd9yBQ3Th+0+sxgceI+FjM2G6R",
        )
        .unwrap();
        assert_eq!(
            fingerprint(&PublicKeyOrCertificate::from(key)),
            "SHA256:ZOJS44/NYnrRXWgZvjFPHsjiWKSLwAF/waWHSS9Ovac"
        );
    }

    #[test]
    fn auth_results_map_to_outcomes() {
        use HostCheckOutcome::*;
        let password = [MethodKind::PublicKey, MethodKind::Password];
        assert_eq!(before_password(&AuthResult::Success), Some(LoginAccepted));
        assert_eq!(before_password(&failure(&password, false)), None);
        assert_eq!(
            before_password(&failure(&[MethodKind::PublicKey], false)),
            Some(NoPasswordAuth)
        );
        assert_eq!(after_password(&AuthResult::Success), LoginAccepted);
        assert_eq!(
            after_password(&failure(&[MethodKind::PublicKey], true)),
            LoginAccepted
        );
        // Some servers stop offering a method once it failed.
        assert_eq!(after_password(&failure(&[], false)), CredentialsRefused);
        assert_eq!(
            after_password(&failure(&password, false)),
            CredentialsRefused
        );
    }
}
