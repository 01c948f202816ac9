//! CheckHosts: try the customer's host account over SSH before they hand it over, pin
//! the host key on first success, and audit every attempt.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::clock::Clock;
use crate::domain::audit::AuditDraft;
use crate::domain::host_check::{
    HostCheckInput, HostCheckOutcome, HostLogin, NotCheckable, check_target, key_to_pin,
};
use crate::domain::network_policy::TargetNetworks;
use crate::domain::secret::Secret;
use crate::domain::{AuthorizationId, DetailId, Principal, Rule, ValidationError};
use crate::store::{HostCheckRecord, HostKeyReset, Store};

use super::in_flight::{InFlight, Limits};
use super::network_policy::resolve_allowed;
use super::{App, ServiceError, ServiceResult, actor};

/// How long a check waits for a free slot before it is refused (HTTP 429).
const SLOT_WAIT: Duration = Duration::from_secs(1);

/// One login to try.
pub struct LoginAttempt<'a> {
    /// The host's resolved addresses, all allowed by `target_networks`.
    pub addresses: &'a [SocketAddr],
    pub account: &'a str,
    pub password: &'a Secret,
    /// Once a key is pinned, a host presenting another one must not get the password.
    pub pinned_key: Option<&'a str>,
}

/// What the SSH client found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginReport {
    pub outcome: HostCheckOutcome,
    /// The host key's SHA-256 fingerprint, once the handshake got that far.
    pub host_key: Option<String>,
}

/// An SSH password login, behind a trait so the rules around it can be tested alone.
#[async_trait]
pub trait SshLogin: Send + Sync + 'static {
    /// Connects, checks the host key, tries the password, and disconnects.
    async fn try_login(&self, attempt: LoginAttempt<'_>) -> LoginReport;
}

/// The SSH client and the bounds it runs within.
pub struct HostChecks {
    login: Arc<dyn SshLogin>,
    in_flight: InFlight,
    /// Connect plus authentication.
    timeout: Duration,
}

impl HostChecks {
    pub fn new(login: Arc<dyn SshLogin>, timeout: Duration, max_in_flight: Limits) -> HostChecks {
        HostChecks {
            login,
            in_flight: InFlight::new(max_in_flight),
            timeout,
        }
    }

    /// The attempt, cut off at `deadline`.
    async fn attempt(
        &self,
        attempt: LoginAttempt<'_>,
        deadline: tokio::time::Instant,
    ) -> LoginReport {
        tokio::time::timeout_at(deadline, self.login.try_login(attempt))
            .await
            .unwrap_or(LoginReport {
                outcome: HostCheckOutcome::TimedOut,
                host_key: None,
            })
    }

    /// Whole seconds until every check now running has ended.
    fn retry_after_secs(&self) -> u64 {
        self.timeout.as_secs_f64().ceil() as u64
    }
}

fn unreachable(outcome: HostCheckOutcome) -> LoginReport {
    LoginReport {
        outcome,
        host_key: None,
    }
}

/// One admitted check, owning everything it needs to run to its end.
struct Check {
    detail: DetailId,
    host: String,
    pinned_key: Option<String>,
    login: HostLogin,
    networks: Arc<TargetNetworks>,
    /// The event to record, still without its note.
    event: AuditDraft,
}

impl Check {
    /// Tries the login by `deadline` (resolution and login share it) and records the
    /// outcome.
    async fn run(
        self,
        checks: &HostChecks,
        store: &dyn Store,
        clock: &Clock,
        deadline: tokio::time::Instant,
    ) -> ServiceResult<HostCheckOutcome> {
        let resolved = tokio::time::timeout_at(
            deadline,
            resolve_allowed(&self.networks, &self.host, self.login.port),
        )
        .await;
        let (report, cause) = match resolved {
            Ok(Ok(addresses)) => {
                let attempt = LoginAttempt {
                    addresses: &addresses,
                    account: &self.login.account,
                    password: &self.login.password,
                    pinned_key: self.pinned_key.as_deref(),
                };
                (checks.attempt(attempt, deadline).await, None)
            }
            Ok(Err(refusal)) => (
                unreachable(HostCheckOutcome::Unreachable),
                Some(refusal.cause()),
            ),
            Err(_) => (
                unreachable(HostCheckOutcome::TimedOut),
                Some("resolving timed out".into()),
            ),
        };
        let mut note = self.audit_note(&report);
        if let Some(cause) = &cause {
            note.push_str(&format!(" cause={cause}"));
        }
        // The caller learns only "unreachable"; the precise cause is here and in the audit.
        tracing::info!(
            detail = self.detail.0,
            host = %self.host,
            port = self.login.port,
            outcome = report.outcome.name(),
            cause = cause.as_deref().unwrap_or(""),
            "host check"
        );
        let pin = key_to_pin(
            self.pinned_key.as_deref(),
            report.outcome,
            report.host_key.as_deref(),
        );
        let Check {
            detail,
            login,
            event,
            ..
        } = self;
        drop(login); // wipes the password before the wait for the database
        let record = HostCheckRecord {
            detail_id: detail,
            pin,
            event: event.note(note),
            now: clock.now(),
        };
        store.record_host_check(record).await?;
        crate::telemetry::check_hosts(report.outcome.name());
        Ok(report.outcome)
    }

    /// Who checked is the event's actor; this says what was tried and what came of it,
    /// never the password.
    fn audit_note(&self, report: &LoginReport) -> String {
        let mut note = format!(
            "detail={} host={} port={} account={} outcome={}",
            self.detail.0,
            self.host,
            self.login.port,
            self.login.account,
            report.outcome.name()
        );
        if let Some(key) = &report.host_key {
            note.push_str(&format!(" host_key={key}"));
        }
        if let Some(pinned) = &self.pinned_key {
            note.push_str(&format!(" pinned_key={pinned}"));
        }
        note
    }
}

impl App {
    /// CheckHosts on `detail`, as the customer `p`.
    pub async fn check_host(
        &self,
        p: &Principal,
        group_id: Option<&str>,
        detail: Option<DetailId>,
        input: HostCheckInput,
    ) -> ServiceResult<HostCheckOutcome> {
        let login = input.validate()?;
        let scope = self.customer_scope(p, group_id).await?;
        let detail = detail.ok_or(ServiceError::NotFound)?;
        let auth = self
            .store
            .authorization_by_detail(&scope, detail)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let target = check_target(&auth, detail).map_err(not_checkable)?;
        let slot = self
            .host_checks
            .in_flight
            .acquire(&auth.customer_id, SLOT_WAIT)
            .await
            .ok_or(ServiceError::Busy {
                retry_after_secs: self.host_checks.retry_after_secs(),
            })?;
        let check = Check {
            detail,
            host: target.host.to_owned(),
            pinned_key: target.pinned_key.map(str::to_owned),
            login,
            networks: self.target_networks.clone(),
            event: AuditDraft::new(
                &auth.customer_id,
                Some(auth.id),
                &super::actor(p),
                "host_check",
            ),
        };
        let (checks, store, clock) = (
            self.host_checks.clone(),
            self.store.clone(),
            self.clock.clone(),
        );
        let deadline = tokio::time::Instant::now() + self.host_checks.timeout;
        // A task of its own, so that a check that reached the host is recorded (and holds
        // its slot) even if the caller stops waiting for the answer.
        tokio::spawn(async move {
            let outcome = check.run(&checks, store.as_ref(), &clock, deadline).await;
            drop(slot);
            // A closed port answers at once, a silent address only at the timeout: every
            // "unreachable" is answered at the timeout, so the time tells nothing either.
            if outcome.as_ref().is_ok_and(|o| o.answers_as_unreachable()) {
                tokio::time::sleep_until(deadline).await;
            }
            outcome
        })
        .await
        .map_err(|e| ServiceError::internal("the host check task failed", e))?
    }

    /// Unpins a detail's host key so that the next accepted login pins the key the host
    /// has now: provider administrators only.
    pub async fn reset_host_key(
        &self,
        p: &Principal,
        id: Option<AuthorizationId>,
        detail: Option<DetailId>,
    ) -> ServiceResult<()> {
        p.require_provider_admin()?;
        let scope = p.provider_scope()?;
        let (Some(id), Some(detail)) = (id, detail) else {
            return Err(ServiceError::NotFound);
        };
        Ok(self
            .store
            .reset_host_key(HostKeyReset {
                scope,
                id,
                detail,
                actor: actor(p),
                now: self.clock.now(),
            })
            .await?)
    }
}

fn not_checkable(why: NotCheckable) -> ServiceError {
    match why {
        NotCheckable::NotAHost => ServiceError::Invalid(ValidationError::new(
            "authorization_detail_id",
            Rule::NotAHost,
        )),
        NotCheckable::Ended => ServiceError::SessionConflict(
            "the authorization has ended; its hosts cannot be checked",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reports `outcome` after `delay`.
    struct ScriptedLogin {
        delay: Duration,
        outcome: HostCheckOutcome,
    }

    #[async_trait]
    impl SshLogin for ScriptedLogin {
        async fn try_login(&self, _: LoginAttempt<'_>) -> LoginReport {
            tokio::time::sleep(self.delay).await;
            LoginReport {
                outcome: self.outcome,
                host_key: Some("SHA256:k".into()),
            }
        }
    }

    async fn attempt_with(delay: Duration) -> LoginReport {
        let login = ScriptedLogin {
            delay,
            outcome: HostCheckOutcome::CredentialsRefused,
        };
        let limits = Limits {
            overall: 1,
            per_domain: 1,
        };
        let checks = HostChecks::new(Arc::new(login), Duration::from_millis(50), limits);
        let password = Secret::new("pw".into());
        let deadline = tokio::time::Instant::now() + checks.timeout;
        checks
            .attempt(
                LoginAttempt {
                    addresses: &[],
                    account: "a",
                    password: &password,
                    pinned_key: None,
                },
                deadline,
            )
            .await
    }

    #[tokio::test]
    async fn a_login_past_the_timeout_is_reported_as_timed_out() {
        let report = attempt_with(Duration::from_secs(60)).await;
        assert_eq!(
            (report.outcome, report.host_key),
            (HostCheckOutcome::TimedOut, None)
        );
        let report = attempt_with(Duration::ZERO).await;
        assert_eq!(report.outcome, HostCheckOutcome::CredentialsRefused);
    }
}
