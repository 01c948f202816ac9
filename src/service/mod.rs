//! Use cases: what a caller may do, orchestrating the domain rules and the store.
//! The HTTP layer and the CLI both call these; neither talks to the store directly.

pub mod access_keys;
pub mod admin;
pub mod audit;
pub mod broker;
pub mod console;
pub mod credential_cache;
pub mod customer;
pub mod email;
pub mod host_check;
pub mod idempotency;
pub mod identity;
pub mod in_flight;
pub mod live_sessions;
pub mod live_view;
pub mod network_policy;
pub mod password_pool;
pub mod provider;
pub mod recordings;
pub mod rounds;
pub mod ssh;
pub mod ssh_keys;
pub mod sweeper;
pub mod throttle;
pub mod webhooks;

use std::sync::Arc;

use jiff::SignedDuration;

use crate::clock::Clock;
use crate::crypto::Cipher;
use crate::domain::audit::Actor;
use crate::domain::network_policy::TargetNetworks;
use crate::domain::principal::{Forbidden, GroupChoice};
use crate::domain::{
    AuthorizationId, DetailId, Principal, Scope, SessionId, TransitionError, ValidationError,
};
use crate::store::{SessionRef, Store, StoreError};
use host_check::HostChecks;

/// Limits that come from configuration.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub pending_ttl: SignedDuration,
    pub max_window: SignedDuration,
    pub token_ttl: SignedDuration,
    /// How long terminal recordings are kept after their last output.
    pub recording_retention: SignedDuration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            pending_ttl: SignedDuration::from_hours(72),
            max_window: SignedDuration::from_hours(24 * 30),
            token_ttl: SignedDuration::from_hours(24),
            recording_retention: SignedDuration::from_hours(24 * 180),
        }
    }
}

/// The running service's shared state. Its fields are the service's own: callers go
/// through its methods, never to the store.
pub struct App {
    store: Arc<dyn Store>,
    /// The data key: seals host credentials and secret keys.
    secrets: Cipher,
    /// Public so that tests and the demo can read and steer time.
    pub clock: Clock,
    policy: Policy,
    /// Back-off after failed logins and signatures.
    throttles: throttle::Throttles,
    /// Tokens and access keys already resolved.
    credentials: credential_cache::CredentialCache,
    /// Bounds on concurrent SSH host checks.
    host_checks: Arc<HostChecks>,
    /// SSH broker sessions running in this process.
    pub live_sessions: live_sessions::LiveSessions,
    /// The live view of the interactive broker sessions running in this process.
    pub live_feeds: live_view::LiveFeeds,
    /// The threads that hash and verify passwords.
    pub passwords: password_pool::PasswordPool,
    /// Where CheckHosts (and the SSH broker) may connect.
    pub target_networks: Arc<TargetNetworks>,
}

/// Everything a use case refuses or fails with. The HTTP layer, the console and the CLI
/// each map it once to their own form; causes stay attached for the logs.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{}", .0.describe())]
    Invalid(ValidationError),
    #[error("unauthenticated: {0}")]
    Unauthenticated(std::borrow::Cow<'static, str>),
    #[error("forbidden: {0:?}")]
    Forbidden(Forbidden),
    #[error("not found (no such domain, user, group, key or authorization)")]
    NotFound,
    /// Not found, saying what: `user `bob` not found in domain `acme``. For operators;
    /// the APIs answer it as a plain not-found.
    #[error("{0} not found")]
    Missing(String),
    #[error("conflict: {0:?}")]
    Conflict(#[from] TransitionError),
    /// Not allowed in the session's or authorization's present state.
    #[error("conflict: {0}")]
    SessionConflict(&'static str),
    /// Already exists, saying what in words.
    #[error("already exists: {0}")]
    Duplicate(String),
    /// Too much of this is running already; worth retrying after the given time.
    #[error("busy: retry after {retry_after_secs} s")]
    Busy { retry_after_secs: u64 },
    /// Too many failed attempts from this caller; wait before the next one.
    #[error("throttled: retry after {retry_after_secs} s")]
    Throttled { retry_after_secs: u64 },
    /// An `Idempotency-Key` sent again with another request than its first.
    #[error("the Idempotency-Key was used with another request")]
    IdempotencyKeyReused,
    /// The store failed: unavailable, broken, or a uniqueness constraint the use case
    /// did not name (`StoreError::Duplicate`).
    #[error(transparent)]
    Store(StoreError),
    /// Something other than the store failed; `what` says what was being done.
    #[error("{what}")]
    Internal {
        what: std::borrow::Cow<'static, str>,
        #[source]
        cause: Option<crate::store::Cause>,
    },
}

impl ServiceError {
    /// A failure of the service itself (not the store), with the error beneath it.
    pub fn internal(
        what: impl Into<std::borrow::Cow<'static, str>>,
        cause: impl Into<crate::store::Cause>,
    ) -> ServiceError {
        ServiceError::Internal {
            what: what.into(),
            cause: Some(cause.into()),
        }
    }

    /// A broken invariant, with nothing beneath it.
    pub fn broken(what: impl Into<std::borrow::Cow<'static, str>>) -> ServiceError {
        ServiceError::Internal {
            what: what.into(),
            cause: None,
        }
    }
}

impl From<ValidationError> for ServiceError {
    fn from(e: ValidationError) -> Self {
        ServiceError::Invalid(e)
    }
}

impl From<Forbidden> for ServiceError {
    fn from(e: Forbidden) -> Self {
        ServiceError::Forbidden(e)
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ServiceError::NotFound,
            StoreError::Session(why) => ServiceError::SessionConflict(why.message()),
            StoreError::Transition(e) => ServiceError::Conflict(e),
            infrastructure => ServiceError::Store(infrastructure),
        }
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;

/// A session as the API paths address it; `None` for an id that cannot exist.
#[derive(Debug, Clone, Copy)]
pub struct SessionPath {
    pub authorization_id: Option<AuthorizationId>,
    pub detail_id: Option<DetailId>,
    pub session_id: Option<SessionId>,
}

impl SessionPath {
    /// The session seen through `scope`; an impossible id is simply not found.
    fn within(self, scope: Scope) -> ServiceResult<SessionRef> {
        match (self.authorization_id, self.detail_id, self.session_id) {
            (Some(authorization_id), Some(detail_id), Some(session_id)) => Ok(SessionRef {
                scope,
                authorization_id,
                detail_id,
                session_id,
            }),
            _ => Err(ServiceError::NotFound),
        }
    }
}

/// The actor recorded in audit events.
pub fn actor(p: &Principal) -> Actor {
    Actor::new(p.user_id.clone(), p.user_name.clone())
}

/// A random 32-hex-character id, the shape of Huawei's domain and user ids.
pub fn new_hex_id() -> String {
    let mut bytes = [0u8; 16];
    rand::fill(&mut bytes);
    hex::encode(bytes)
}

impl App {
    /// Applies a status change and counts it by action.
    async fn apply_transition(
        &self,
        request: crate::store::TransitionRequest,
    ) -> ServiceResult<()> {
        let action = request.action;
        self.store.transition(request).await?;
        crate::telemetry::transition(action.name());
        Ok(())
    }

    pub fn new(
        store: Arc<dyn Store>,
        secrets: Cipher,
        clock: Clock,
        policy: Policy,
        host_checks: Arc<HostChecks>,
    ) -> App {
        App {
            store,
            secrets,
            clock,
            policy,
            throttles: Default::default(),
            credentials: Default::default(),
            host_checks,
            live_sessions: Default::default(),
            live_feeds: Default::default(),
            passwords: Default::default(),
            target_networks: Default::default(),
        }
    }

    /// Sets `target_networks` (the default policy until then).
    pub fn with_target_networks(mut self, networks: TargetNetworks) -> App {
        self.target_networks = Arc::new(networks);
        self
    }

    /// The same service on the same store, with another clock (the demo raises a
    /// request "in the past").
    pub fn with_clock(&self, clock: Clock) -> App {
        App {
            target_networks: self.target_networks.clone(),
            ..App::new(
                self.store.clone(),
                self.secrets.clone(),
                clock,
                self.policy,
                self.host_checks.clone(),
            )
        }
    }

    /// Whether the database answers (the readiness check).
    pub async fn ready(&self) -> ServiceResult<()> {
        Ok(self.store.ping().await?)
    }

    /// Whether the installation has no domain yet (the demo seeds only such a one).
    pub async fn is_empty(&self) -> ServiceResult<bool> {
        Ok(self.store.count_domains().await? == 0)
    }

    /// Every audit chain as stored (for checks).
    pub async fn audit_chains(&self) -> ServiceResult<Vec<crate::store::AuditChain>> {
        Ok(self.store.audit_chains().await?)
    }

    /// The store itself, for tests that check what was written past every visibility
    /// rule. The HTTP layer and the CLI go through the methods above instead.
    pub fn store_for_inspection(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// The cipher that seals host passwords, for tools that write sealed rows directly
    /// (the benchmark's seeder).
    pub fn sealer(&self) -> &Cipher {
        &self.secrets
    }

    /// Customer visibility, resolving `group_id` against the caller's domain.
    async fn customer_scope(&self, p: &Principal, group_id: Option<&str>) -> ServiceResult<Scope> {
        let scope = match group_id {
            None => p.customer_scope(GroupChoice::None),
            Some(group) => {
                let view = self
                    .store
                    .group_view(&p.domain_id, group, &p.user_id)
                    .await?;
                p.customer_scope(
                    view.as_ref()
                        .map_or(GroupChoice::Unknown, GroupChoice::Group),
                )
            }
        };
        Ok(scope?)
    }
}
