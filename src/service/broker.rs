//! The SSH broker's use cases: who is logging in, the gate, the target's sealed login,
//! and first-hand session records. The broker (`src/broker`) calls these, as HTTP and
//! the CLI call the rest of the service layer.

use crate::domain::audit::{Actor, AuditDraft, SYSTEM_CHAIN};
use crate::domain::broker::{BrokerLogin, Refusal, gate, parse_login};
use crate::domain::secret::Secret;
use crate::domain::session::{Operation, Session, SessionSource};
use crate::domain::{Authorization, AuthorizationId, DetailId, Scope, SessionId};
use crate::store::{AdminChange, HostCheckRecord, SessionRef, StoreError, UserRecord};

use super::identity::PROVIDER_DOMAIN;
use super::live_sessions::LiveSession;
use super::{App, ServiceError, ServiceResult};

/// An engineer whose key matched: who they are and which target they asked for.
#[derive(Debug, Clone)]
pub struct BrokerEngineer {
    pub user: UserRecord,
    pub login: BrokerLogin,
}

impl BrokerEngineer {
    fn actor(&self) -> Actor {
        Actor::new(self.user.id.clone(), self.user.name.clone())
    }

    /// Only the authorizations this engineer raised (access is personal).
    fn scope(&self) -> Scope {
        Scope::Provider {
            raised_by: Some(self.user.id.clone()),
        }
    }
}

/// A target that passed the gate, with its login unsealed (wiped on drop).
pub struct BrokerTarget {
    pub customer_id: String,
    pub authorization_id: AuthorizationId,
    pub detail_id: DetailId,
    pub host: String,
    pub port: u16,
    pub account: String,
    pub password: Secret,
    pub pinned_key: Option<String>,
}

/// The audit facts of a login attempt the broker refused.
pub struct FailedLogin<'a> {
    pub user: &'a str,
    pub peer: &'a str,
    pub why: &'a str,
}

impl App {
    /// The engineer named by the SSH user name, if `fingerprint` is one of their keys.
    pub async fn broker_identify(
        &self,
        user: &str,
        fingerprint: &str,
    ) -> ServiceResult<Option<BrokerEngineer>> {
        let Some(login) = parse_login(user) else {
            return Ok(None);
        };
        let Some(key) = self.store.ssh_key_by_fingerprint(fingerprint).await? else {
            return Ok(None);
        };
        let Some(user) = self.store.user_by_id(&key.user_id).await? else {
            return Ok(None);
        };
        Ok((user.is_engineer && user.name == login.engineer)
            .then_some(BrokerEngineer { user, login }))
    }

    /// The gate (SPEC §7) for `engineer` on their requested detail, as of now; on
    /// success the detail's login, unsealed.
    pub async fn broker_gate(
        &self,
        engineer: &BrokerEngineer,
    ) -> ServiceResult<Result<BrokerTarget, (Option<Authorization>, Refusal)>> {
        let detail = engineer.login.detail;
        let enabled = self
            .store
            .user_by_id(&engineer.user.id)
            .await?
            .is_some_and(|u| u.enabled);
        let Some(auth) = self
            .store
            .authorization_by_detail(&engineer.scope(), detail)
            .await?
        else {
            return Ok(Err((None, Refusal::NoSuchTarget)));
        };
        let now = self.clock.now();
        let found = gate(&auth, detail, &engineer.user.id, enabled, now).map(|d| {
            (
                d.host.clone().unwrap_or_default(),
                d.host_key_fingerprint.clone(),
            )
        });
        let (host, pinned_key) = match found {
            Ok(found) => found,
            Err(refusal) => return Ok(Err((Some(auth), refusal))),
        };
        let login = self.store.host_login(detail).await?;
        let unsealed = login.and_then(|l| {
            let sealed = l.password_ciphertext?;
            let password = self
                .secrets
                .open(&sealed, &format!("detail:{}", detail.0))
                .ok()?;
            let password = Secret::new(String::from_utf8(password.to_vec()).ok()?);
            Some((l.account?, l.port, password))
        });
        let Some((account, port, password)) = unsealed else {
            return Ok(Err((Some(auth), Refusal::NoCredentials)));
        };
        Ok(Ok(BrokerTarget {
            customer_id: auth.customer_id.clone(),
            authorization_id: auth.id,
            detail_id: detail,
            host,
            port: port.unwrap_or(22),
            account,
            password,
            pinned_key,
        }))
    }

    /// Audits a refusal by the gate, in the customer's chain when the target is theirs
    /// to see, else in the provider's.
    pub async fn broker_audit_refusal(
        &self,
        engineer: &BrokerEngineer,
        auth: Option<&Authorization>,
        refusal: Refusal,
        peer: &str,
    ) -> ServiceResult<()> {
        let note = format!(
            "detail={} peer={peer} refusal={}",
            engineer.login.detail.0,
            refusal.name()
        );
        let actor = engineer.actor();
        let event = match auth {
            Some(a) => AuditDraft::new(&a.customer_id, Some(a.id), &actor, "broker_refused"),
            None => AuditDraft::new(&engineer.user.domain_id, None, &actor, "broker_refused"),
        };
        self.append_audit(engineer.login.detail, event.note(note), None)
            .await
    }

    /// Audits a login that failed before an engineer was identified.
    pub async fn broker_audit_failed_login(&self, failed: FailedLogin<'_>) -> ServiceResult<()> {
        let Some(provider) = self.store.domain_by_name(PROVIDER_DOMAIN).await? else {
            return Ok(());
        };
        let user: String = failed.user.chars().take(80).collect();
        let note = format!("user={user:?} peer={} why={}", failed.peer, failed.why);
        let event = AuditDraft::new(
            &provider.id,
            None,
            &Actor::new("", "ssh"),
            "broker_login_failed",
        )
        .note(note);
        self.append_audit(DetailId(0), event, None).await
    }

    /// The host presented `seen` while `target.pinned_key` is pinned: audited in the
    /// customer's chain.
    pub async fn broker_host_key_changed(
        &self,
        engineer: &BrokerEngineer,
        target: &BrokerTarget,
        seen: &str,
    ) -> ServiceResult<()> {
        let actor = engineer.actor();
        let note = format!(
            "detail={} host={} port={} host_key={seen} pinned_key={}",
            target.detail_id.0,
            target.host,
            target.port,
            target.pinned_key.as_deref().unwrap_or("none")
        );
        let event = AuditDraft::new(
            &target.customer_id,
            Some(target.authorization_id),
            &actor,
            "host_key_mismatch",
        )
        .note(note);
        self.append_audit(target.detail_id, event, None).await
    }

    /// The first accepted login pins the host key, as a CheckHosts success does.
    pub async fn broker_pin_host_key(
        &self,
        engineer: &BrokerEngineer,
        target: &BrokerTarget,
        seen: &str,
    ) -> ServiceResult<()> {
        if target.pinned_key.is_some() {
            return Ok(());
        }
        let actor = engineer.actor();
        let event = AuditDraft::new(
            &target.customer_id,
            Some(target.authorization_id),
            &actor,
            "host_key_pinned",
        )
        .note(format!("detail={} host_key={seen}", target.detail_id.0));
        self.append_audit(target.detail_id, event, Some(seen.to_owned()))
            .await
    }

    async fn append_audit(
        &self,
        detail: DetailId,
        event: AuditDraft,
        pin: Option<String>,
    ) -> ServiceResult<()> {
        let record = HostCheckRecord {
            detail_id: detail,
            pin,
            event,
            now: self.clock.now(),
        };
        Ok(self.store.record_host_check(record).await?)
    }

    /// Opens the session record of one broker connection.
    pub async fn broker_open_session(
        &self,
        engineer: &BrokerEngineer,
        target: &BrokerTarget,
    ) -> ServiceResult<SessionRef> {
        for _ in 0..3 {
            let session = Session {
                id: SessionId::from_random(rand::random()),
                authorization_id: target.authorization_id,
                detail_id: target.detail_id,
                engineer_id: engineer.user.id.clone(),
                started_at: self.clock.now(),
                ended_at: None,
                source: SessionSource::Broker,
            };
            let id = session.id;
            match self
                .store
                .open_session(&engineer.scope(), session, engineer.actor())
                .await
            {
                Ok(()) => {
                    return Ok(SessionRef {
                        scope: engineer.scope(),
                        authorization_id: target.authorization_id,
                        detail_id: target.detail_id,
                        session_id: id,
                    });
                }
                Err(StoreError::Duplicate(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::broken(
            "could not allocate a unique session id",
        ))
    }

    /// Records commands run in a broker session.
    pub async fn broker_record(
        &self,
        engineer: &BrokerEngineer,
        session: &SessionRef,
        ops: Vec<Operation>,
    ) -> ServiceResult<()> {
        self.store
            .append_operations(session.clone(), ops, engineer.actor(), self.clock.now())
            .await?;
        Ok(())
    }

    /// Closes a broker session's record (a no-op if the authorization's end closed it).
    pub async fn broker_close_session(
        &self,
        engineer: &BrokerEngineer,
        session: &SessionRef,
    ) -> ServiceResult<()> {
        match self
            .store
            .close_session(session.clone(), self.clock.now(), engineer.actor())
            .await
        {
            Ok(()) | Err(StoreError::Session(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Signals from the database that access may have ended elsewhere (see
    /// [`crate::store::Store::access_changes`]).
    pub fn access_changes(&self) -> Option<tokio::sync::mpsc::Receiver<()>> {
        self.store.access_changes()
    }

    /// Why a live session must end now, if it must.
    pub async fn broker_still_allowed(&self, live: &LiveSession) -> ServiceResult<Option<String>> {
        let enabled = self
            .store
            .user_by_id(&live.engineer_id)
            .await?
            .is_some_and(|u| u.enabled);
        let scope = Scope::Provider {
            raised_by: Some(live.engineer_id.clone()),
        };
        let Some(auth) = self
            .store
            .get_authorization(&scope, live.authorization_id)
            .await?
        else {
            return Ok(Some(Refusal::NoSuchTarget.message()));
        };
        Ok(gate(
            &auth,
            live.detail_id,
            &live.engineer_id,
            enabled,
            self.clock.now(),
        )
        .err()
        .map(Refusal::message))
    }
}

/// Sealing context of the broker's host key.
const HOST_KEY_CONTEXT: &str = "broker_host_key";

impl App {
    /// The broker's ed25519 host key: made and sealed in the database on first use
    /// (audited as made by `by`), shared by every instance on the same database.
    pub async fn broker_host_key(&self, by: Actor) -> ServiceResult<russh::keys::PrivateKey> {
        use russh::keys::{Algorithm, HashAlg, PrivateKey, ssh_key::LineEnding};
        let internal = |e: crate::store::Cause| ServiceError::internal("broker host key", e);
        let open = |stored: &[u8]| -> ServiceResult<PrivateKey> {
            let pem = self
                .secrets
                .open(stored, HOST_KEY_CONTEXT)
                .map_err(|e| internal(e.into()))?;
            PrivateKey::from_openssh(&*pem).map_err(|e| internal(e.into()))
        };
        if let Some(stored) = self.store.broker_host_key().await? {
            return open(&stored);
        }
        let fresh = PrivateKey::random(&mut rand::rng(), Algorithm::Ed25519)
            .map_err(|e| internal(e.into()))?;
        let pem = fresh
            .to_openssh(LineEnding::LF)
            .map_err(|e| internal(e.into()))?;
        let change = AdminChange::CreateBrokerHostKey {
            sealed: self.secrets.seal(pem.as_bytes(), HOST_KEY_CONTEXT),
            created_at: self.clock.now(),
        };
        let after = serde_json::json!({
            "algorithm": fresh.algorithm().as_str(),
            "fingerprint": fresh.public_key().fingerprint(HashAlg::Sha256).to_string(),
        });
        match self
            .admin(by)
            .record(
                SYSTEM_CHAIN,
                change,
                "broker.host_key_created",
                None,
                Some(after),
            )
            .await
        {
            // Another instance made one first: that one is everyone's.
            Ok(()) | Err(ServiceError::Store(StoreError::Duplicate(_))) => {}
            Err(e) => return Err(e),
        }
        let stored = self.store.broker_host_key().await?.ok_or_else(|| {
            ServiceError::broken("the broker host key is missing after it was made")
        })?;
        open(&stored)
    }
}
