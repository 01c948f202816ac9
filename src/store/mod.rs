//! Storage behind one trait, one implementation per database.
//!
//! Methods are named for what the service needs, not for SQL. Every read of customer
//! data takes a [`Scope`] and every state change is a conditional update plus its
//! audit event in one transaction.

pub mod broker;
pub mod copy;
pub mod plan;
pub mod postgres;
pub mod records;
pub mod rows;
pub mod sqlite;

use async_trait::async_trait;
use jiff::Timestamp;

use crate::domain::audit::{Actor, AuditDraft, AuditEvent};
use crate::domain::event::{OutboxDraft, OutboxEvent};
use crate::domain::idempotency::KeyUse;
use crate::domain::principal::GroupView;
use crate::domain::recording::SessionEnd;
use crate::domain::session::{FileTransfer, Operation, Session, SessionRefused};
use crate::domain::{
    Action, Authorization, AuthorizationId, DetailId, Scope, SessionId, Status, TransitionError,
};

pub use broker::{SealedHostLogin, SshKeyRecord};
pub use records::*;

/// The error beneath a failure, kept whole so that logs show its chain of causes.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

/// A failure said in words, with the error beneath it (`cannot create /x` caused by
/// the I/O error).
#[derive(Debug, thiserror::Error)]
#[error("{what}")]
pub struct Failed {
    what: String,
    #[source]
    cause: Cause,
}

impl Failed {
    pub fn cause(what: impl Into<String>, cause: impl Into<Cause>) -> Cause {
        Box::new(Failed {
            what: what.into(),
            cause: cause.into(),
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// The action is not allowed in the row's status (read before, or after a lost race).
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// A session that is closed, or whose authorization no longer allows access.
    #[error(transparent)]
    Session(#[from] SessionRefused),
    /// A uniqueness constraint refused the write; the cause names it.
    #[error("already exists")]
    Duplicate(#[source] Cause),
    /// The database cannot be reached or refused for now; retrying may help.
    #[error("database unavailable")]
    Unavailable(#[source] Cause),
    /// A failure retrying will not fix.
    #[error("database failure")]
    Internal(#[source] Cause),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Everything the service stores.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    async fn ping(&self) -> StoreResult<()>;

    // Identity.
    /// Applies an administrative change and appends `event` to its chain, in one
    /// transaction. `NotFound` if an update or delete found no row; `Duplicate` if a
    /// name is taken. A disabled user can neither log in nor use a token or access key.
    async fn apply_admin_change(
        &self,
        change: AdminChange,
        event: AuditDraft,
        at: Timestamp,
    ) -> StoreResult<()>;
    async fn list_domains(&self) -> StoreResult<Vec<DomainRecord>>;
    async fn list_users(&self, domain_id: &str) -> StoreResult<Vec<UserRecord>>;
    async fn list_groups(&self, domain_id: &str) -> StoreResult<Vec<GroupRecord>>;
    /// The operator groups of `domain_id` that `user_id` is a member of (any order).
    async fn operator_groups_of(
        &self,
        domain_id: &str,
        user_id: &str,
    ) -> StoreResult<Vec<GroupRecord>>;
    /// The names of a group's members, sorted.
    async fn group_member_names(&self, group_id: &str) -> StoreResult<Vec<String>>;
    async fn domain_by_name(&self, name: &str) -> StoreResult<Option<DomainRecord>>;
    async fn domain_by_id(&self, id: &str) -> StoreResult<Option<DomainRecord>>;
    async fn count_domains(&self) -> StoreResult<u64>;
    async fn user_by_name(&self, domain_id: &str, name: &str) -> StoreResult<Option<UserRecord>>;
    async fn user_by_id(&self, id: &str) -> StoreResult<Option<UserRecord>>;
    async fn group_by_name(&self, domain_id: &str, name: &str) -> StoreResult<Option<GroupRecord>>;
    /// The group `group_id` of `domain_id` as `caller_id` sees it; `None` if no such group.
    async fn group_view(
        &self,
        domain_id: &str,
        group_id: &str,
        caller_id: &str,
    ) -> StoreResult<Option<GroupView>>;
    async fn insert_token(&self, token: TokenRecord) -> StoreResult<()>;
    /// The enabled user holding an unexpired token with this hash.
    async fn user_by_token(
        &self,
        token_hash: &[u8; 32],
        now: Timestamp,
    ) -> StoreResult<Option<TokenHolder>>;
    /// A counter that moves whenever a user, domain, token or access key is updated or
    /// deleted, by any process: credential caches are dropped when it moves.
    async fn credential_epoch(&self) -> StoreResult<i64>;

    /// An access key with its owner, whatever its state (the caller checks it).
    async fn access_key_owner(&self, access_key: &str) -> StoreResult<Option<KeyOwner>>;
    async fn list_access_keys(&self, user_id: &str) -> StoreResult<Vec<AccessKeyRecord>>;
    /// `NotFound` if there is no such key.
    async fn set_access_key_enabled(&self, access_key: &str, enabled: bool) -> StoreResult<()>;
    /// `NotFound` if there is no such key.
    async fn delete_access_key(&self, access_key: &str) -> StoreResult<()>;
    /// Records the first use of a signed request's `signature`, kept until
    /// `expires_at`: `false` if it was used already (a replay). Forgets expired ones.
    async fn use_signature(
        &self,
        signature: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<bool>;

    /// The data key wrapped by the master key, creating it with `wrapped` if absent.
    /// Returns the stored one (which may be another instance's, if it won a race).
    async fn wrapped_data_key(&self, wrapped: Vec<u8>, now: Timestamp) -> StoreResult<Vec<u8>>;

    // Authorizations.
    async fn insert_authorization(&self, auth: Authorization, event: AuditDraft)
    -> StoreResult<()>;
    async fn list_authorizations(
        &self,
        scope: &Scope,
        filter: &ListFilter,
    ) -> StoreResult<(u64, Vec<Authorization>)>;
    /// How many authorizations `filter` matches in each status that has any (the
    /// filter's own status and page are ignored).
    async fn count_by_status(
        &self,
        scope: &Scope,
        filter: &ListFilter,
    ) -> StoreResult<Vec<(Status, u64)>>;
    async fn get_authorization(
        &self,
        scope: &Scope,
        id: AuthorizationId,
    ) -> StoreResult<Option<Authorization>>;
    /// Applies `request.action` if the row is visible in `request.scope` and in a status
    /// the action allows; returns the status it left. Leaving `authorized` purges host
    /// credentials and closes open sessions in the same transaction.
    async fn transition(&self, request: TransitionRequest) -> StoreResult<Status>;
    /// Expires up to `limit` due authorizations (pending past TTL, authorized past window).
    async fn expire_due(&self, now: Timestamp, limit: u32) -> StoreResult<u32>;
    /// Up to `limit` notification events after `after_seq`, oldest first.
    async fn outbox_after(&self, after_seq: i64, limit: u32) -> StoreResult<Vec<OutboxEvent>>;

    // Webhooks (created, deleted and rotated through `apply_admin_change`).
    async fn webhooks(&self, owner: &str) -> StoreResult<Vec<WebhookRecord>>;
    /// Fans up to `limit` undispatched outbox events out to the enabled subscriptions
    /// they match (one delivery row each) and marks them dispatched, one instance at a
    /// time; then claims due deliveries until `lease_until` (no other worker takes them
    /// before), at most `limit` and at most the oldest undelivered one per subscription
    /// and authorization. A new delivery that is such an oldest one is claimed as it is
    /// inserted, so a delivery that succeeds at once is written twice, not three times.
    async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> StoreResult<DeliveryClaim>;
    /// Records attempts in one transaction, and each subscription's failing streak once
    /// (see [`FinishedDelivery::streaks`]).
    async fn finish_deliveries(
        &self,
        attempts: Vec<FinishedDelivery>,
    ) -> StoreResult<Vec<FailingSince>>;
    /// Disables subscription `id` and appends `event` (its `webhook.disabled`) in one
    /// transaction, dead-lettering what it had still to deliver; `false` if it was
    /// disabled already (by another instance, say), and then nothing is written.
    async fn disable_webhook(
        &self,
        id: &str,
        event: OutboxDraft,
        now: Timestamp,
    ) -> StoreResult<bool>;
    /// Delivers `event_id` again to every subscription it went to (delivered or dead
    /// alike), from `now`; how many deliveries that is (`NotFound` if none).
    async fn redeliver(&self, event_id: i64, now: Timestamp) -> StoreResult<u64>;
    /// The most recent deliveries of `owner`'s subscription `id`, newest first.
    async fn webhook_deliveries(
        &self,
        owner: &str,
        id: &str,
        limit: u32,
    ) -> StoreResult<Vec<DeliveryRecord>>;

    // Reminders, e-mail, upkeep.
    /// Sends up to `limit` due reminders: each one's `authorization.expiring` event and
    /// its "sent" marker in one transaction, once over all instances; drops those whose
    /// authorization has left the status they were meant for. How many it looked at.
    async fn send_due_reminders(&self, now: Timestamp, limit: u32) -> StoreResult<u32>;
    /// The enabled users who may approve requests submitted by `submitter_id` in
    /// `domain_id`: its administrators and the members of operator groups the
    /// submitter belongs to.
    async fn approvers(&self, domain_id: &str, submitter_id: &str) -> StoreResult<Vec<UserRecord>>;
    /// Up to `limit` events the e-mail channel has not addressed yet, oldest first.
    async fn unemailed_events(&self, limit: u32) -> StoreResult<Vec<OutboxEvent>>;
    /// Addresses event `event_id` to `recipients` (one e-mail delivery each) and marks
    /// it addressed, in one transaction; `false` if it was addressed already.
    async fn address_email(
        &self,
        event_id: i64,
        recipients: Vec<EmailRecipient>,
        now: Timestamp,
    ) -> StoreResult<bool>;
    /// Claims up to `limit` due e-mails until `lease_until`, as `claim_deliveries`.
    async fn claim_emails(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<EmailJob>>;
    async fn finish_email(
        &self,
        event_id: i64,
        user_id: &str,
        outcome: DeliveryOutcome,
        error: Option<String>,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Deletes up to `limit` of each: finished webhook and e-mail deliveries, events
    /// nothing waits on, and sent reminders, all older than `before`. How many in all.
    async fn prune_notifications(&self, before: Timestamp, limit: u32) -> StoreResult<u64>;

    // Sessions.
    async fn open_session(&self, scope: &Scope, session: Session, actor: Actor) -> StoreResult<()>;
    /// When the session started; `NotFound` unless it is visible in its scope.
    async fn session_started_at(&self, target: &SessionRef) -> StoreResult<Timestamp>;
    async fn append_operations(
        &self,
        target: SessionRef,
        ops: Vec<Operation>,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<()>;
    async fn append_file_transfers(
        &self,
        target: SessionRef,
        transfers: Vec<FileTransfer>,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Closes the session with its audit event and `session.closed`; `end` says how the
    /// broker saw it end and carries its recording's hash (the recording is finished in
    /// the same transaction). If a cancel closed it first, only the hash is filed.
    async fn close_session(
        &self,
        target: SessionRef,
        now: Timestamp,
        actor: Actor,
        end: SessionEnd,
    ) -> StoreResult<()>;
    /// The session's source, state and recording, if it is visible through `target`.
    async fn session_facts(&self, target: SessionRef) -> StoreResult<SessionFacts>;
    /// A customer's request to end an open broker session (the instance holding it cuts
    /// it), audited with `actor` and `reason`, with `session.terminated`. Asking again
    /// changes nothing.
    async fn request_termination(
        &self,
        target: SessionRef,
        actor: Actor,
        reason: Option<String>,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// `Some(reason)` once a terminate of `session` was requested.
    async fn termination_requested(
        &self,
        session: SessionId,
    ) -> StoreResult<Option<Option<String>>>;

    // Terminal recordings (the service checked visibility before reading chunks).
    /// Stores one chunk of `session`'s recording, creating the recording with the first.
    async fn append_recording_chunk(
        &self,
        session: SessionId,
        chunk: RecordingChunk,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Up to `limit` chunks from sequence number `from` on, in order.
    async fn recording_chunks(
        &self,
        session: SessionId,
        from: i64,
        limit: u32,
    ) -> StoreResult<Vec<RecordingChunk>>;
    /// Drops the chunks of up to `limit` recordings last written before `before`
    /// (their hashes stay in the audit chain), each with an audit event; how many.
    async fn purge_recordings(
        &self,
        before: Timestamp,
        now: Timestamp,
        limit: u32,
    ) -> StoreResult<u32>;
    async fn list_sessions(
        &self,
        scope: &Scope,
        id: AuthorizationId,
        detail: DetailId,
        page: Page,
    ) -> StoreResult<(u64, Vec<Session>)>;
    async fn list_operations(
        &self,
        target: SessionRef,
        order: Order,
        page: Page,
    ) -> StoreResult<(u64, Vec<Operation>)>;
    async fn list_file_transfers(
        &self,
        target: SessionRef,
        order: Order,
        page: Page,
    ) -> StoreResult<(u64, Vec<FileTransfer>)>;

    // Host checks.
    /// The authorization that owns detail `detail`, with its details, if visible in `scope`.
    async fn authorization_by_detail(
        &self,
        scope: &Scope,
        detail: DetailId,
    ) -> StoreResult<Option<Authorization>>;
    /// Appends a host check's audit event and pins `record.pin`, if given, unless a key
    /// is pinned already.
    async fn record_host_check(&self, record: HostCheckRecord) -> StoreResult<()>;
    /// Unpins the host key of a detail visible in `scope`, with an audit event naming the
    /// key that was pinned.
    async fn reset_host_key(&self, reset: HostKeyReset) -> StoreResult<()>;

    // Web console sessions.
    /// Stores a new session and drops every session whose absolute end has passed.
    async fn insert_console_session(&self, session: ConsoleSessionRecord) -> StoreResult<()>;
    /// The enabled user holding the session with this hash, if it has not reached its
    /// absolute end and was last used after `idle_since`.
    async fn console_session(
        &self,
        hash: &[u8; 32],
        now: Timestamp,
        idle_since: Timestamp,
    ) -> StoreResult<Option<ConsoleSessionHolder>>;
    /// Records that the session was used at `now`.
    async fn touch_console_session(&self, hash: &[u8; 32], now: Timestamp) -> StoreResult<()>;
    /// Ends the session (sign-out); ending one that is gone already is not an error.
    async fn delete_console_session(&self, hash: &[u8; 32]) -> StoreResult<()>;
    // SSH broker (keys added and removed, the host key made, through
    // `apply_admin_change`).
    async fn list_ssh_keys(&self, user_id: &str) -> StoreResult<Vec<SshKeyRecord>>;
    async fn ssh_key_by_fingerprint(&self, fingerprint: &str) -> StoreResult<Option<SshKeyRecord>>;
    /// The broker's host key sealed with the data key, if one was made.
    async fn broker_host_key(&self) -> StoreResult<Option<Vec<u8>>>;
    /// A detail's login, password still sealed (the caller checked visibility).
    async fn host_login(&self, detail: DetailId) -> StoreResult<Option<SealedHostLogin>>;
    /// Signals when any process may have ended someone's access (an authorization left
    /// `authorized`, a user was disabled), where the database can tell (PostgreSQL
    /// `LISTEN`). `None`: changes are only seen by polling and by this process's own.
    fn access_changes(&self) -> Option<tokio::sync::mpsc::Receiver<()>> {
        None
    }

    // Idempotency keys.
    /// Claims `claim.key` for its principal unless a live use of it exists: `None` when
    /// this call claimed it, else that use. A use past its `expires_at`, or a claim that
    /// never finished and was made before `stale_before`, is replaced.
    async fn claim_idempotency_key(&self, claim: IdempotencyClaim) -> StoreResult<Option<KeyUse>>;
    /// Records the answer to the request that claimed the key.
    async fn finish_idempotency_key(
        &self,
        principal: &str,
        key: &str,
        status: u16,
        body: Vec<u8>,
    ) -> StoreResult<()>;
    /// Drops an unfinished claim: its request failed, having written nothing.
    async fn release_idempotency_key(&self, principal: &str, key: &str) -> StoreResult<()>;
    /// Forgets the keys kept past their time; how many.
    async fn prune_idempotency_keys(&self, now: Timestamp) -> StoreResult<u64>;

    // Audit.
    /// Every event of every chain, ordered by domain then sequence, plus each chain's head.
    async fn audit_chains(&self) -> StoreResult<Vec<AuditChain>>;
    /// Every authorization's stored status, in id order.
    async fn authorization_statuses(&self) -> StoreResult<Vec<(AuthorizationId, Status)>>;
    /// The events `filter` selects, newest first, and how many there are in all.
    async fn audit_events(&self, filter: &AuditFilter) -> StoreResult<(u64, Vec<AuditEvent>)>;
}

/// One domain's audit chain as stored.
#[derive(Debug, Clone)]
pub struct AuditChain {
    pub domain_id: String,
    pub events: Vec<AuditEvent>,
    /// The head recorded separately: catches a truncated tail.
    pub head: Option<(i64, [u8; 32])>,
}

impl AuditChain {
    /// Recomputes the chain and checks that its recorded head is its last event.
    pub fn verify(&self) -> Result<(), String> {
        crate::domain::audit::verify_chain(&self.events)
            .map_err(|b| format!("domain {}: event {}: {}", b.domain_id, b.seq, b.problem))?;
        if self.head != self.events.last().map(|e| (e.seq, e.hash)) {
            return Err(format!(
                "domain {}: the recorded head is not the last event (events were removed or added)",
                self.domain_id
            ));
        }
        Ok(())
    }
}

/// What one host check writes: its audit event and perhaps the first pinned key.
#[derive(Debug, Clone)]
pub struct HostCheckRecord {
    pub detail_id: DetailId,
    pub pin: Option<String>,
    pub event: AuditDraft,
    /// A notification written with it (`host_key.mismatch`).
    pub outbox: Option<OutboxDraft>,
    pub now: Timestamp,
}

/// The unpinning of a detail's host key, seen through `scope`.
#[derive(Debug, Clone)]
pub struct HostKeyReset {
    pub scope: Scope,
    pub id: AuthorizationId,
    pub detail: DetailId,
    pub actor: Actor,
    pub now: Timestamp,
}

impl HostKeyReset {
    /// Its audit event in `domain_id`'s chain, naming the key that was pinned.
    pub fn event(&self, domain_id: &str, previous: Option<&str>) -> AuditDraft {
        let note = format!(
            "detail={} previous_host_key={}",
            self.detail.0,
            previous.unwrap_or("none")
        );
        AuditDraft::new(domain_id, Some(self.id), &self.actor, "host_key_reset").note(note)
    }
}

/// A session addressed through the authorization and detail it belongs to.
#[derive(Debug, Clone)]
pub struct SessionRef {
    pub scope: Scope,
    pub authorization_id: AuthorizationId,
    pub detail_id: DetailId,
    pub session_id: SessionId,
}

impl SessionRef {
    /// `session` seen through `scope`.
    pub fn of(scope: &Scope, session: &Session) -> SessionRef {
        SessionRef {
            scope: scope.clone(),
            authorization_id: session.authorization_id,
            detail_id: session.detail_id,
            session_id: session.id,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub offset: u32,
    pub limit: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    NewestFirst,
    OldestFirst,
}

#[derive(Debug, Clone)]
pub struct ListFilter {
    pub sub_customer_name: Option<String>,
    pub incident_id: Option<String>,
    /// `None` = every status.
    pub status: Option<i64>,
    pub simple_description: Option<String>,
    pub page: Page,
}

/// `NotFound` when an update or delete by key touched no row.
pub(crate) fn found(rows: u64) -> StoreResult<()> {
    if rows == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

impl ListFilter {
    /// The total's source: the trigger-kept `authorization_counts` when the scope is a
    /// customer's and nothing but the status is filtered, otherwise a count of the rows.
    /// Either way the scope and status conditions read the same columns (`a.customer_id`,
    /// `a.x_customer_id`, `a.status`).
    pub fn total_query(&self, scope: &Scope) -> &'static str {
        if self.counts_kept(scope) {
            "SELECT CAST(COALESCE(SUM(a.n), 0) AS BIGINT) FROM authorization_counts a"
        } else {
            "SELECT COUNT(*) FROM authorizations a"
        }
    }

    /// As `total_query`, per status, where `condition` (on `a`) holds.
    pub fn totals_by_status_sql(&self, scope: &Scope, condition: &str) -> String {
        let source = if self.counts_kept(scope) {
            "SELECT a.status, CAST(SUM(a.n) AS BIGINT) FROM authorization_counts a"
        } else {
            "SELECT a.status, COUNT(*) FROM authorizations a"
        };
        format!("{source} WHERE {condition} GROUP BY a.status")
    }

    /// The same filter for every status (`count_by_status` ignores the filter's own).
    pub fn any_status(&self) -> ListFilter {
        ListFilter {
            status: None,
            ..self.clone()
        }
    }

    fn counts_kept(&self, scope: &Scope) -> bool {
        let only_status = self.incident_id.is_none()
            && self.sub_customer_name.is_none()
            && self.simple_description.is_none();
        only_status && matches!(scope, Scope::Customer { .. })
    }
}

/// A state change, with everything it writes.
#[derive(Debug, Clone)]
pub struct TransitionRequest {
    pub id: AuthorizationId,
    pub scope: Scope,
    pub action: Action,
    pub now: Timestamp,
    pub actor: Actor,
    /// The reject reason, or a cancel/recall remark, recorded with the event.
    pub reason: Option<String>,
    /// Only for confirm.
    pub grant: Option<StoredGrant>,
}

impl TransitionRequest {
    /// The sweeper's expiry of `id`, seen past every visibility rule.
    pub fn expire(id: AuthorizationId, now: Timestamp) -> TransitionRequest {
        TransitionRequest {
            id,
            scope: Scope::Provider { raised_by: None },
            action: Action::Expire,
            now,
            actor: Actor::system(),
            reason: None,
            grant: None,
        }
    }
}

/// A confirm's grant with the host passwords already encrypted.
#[derive(Debug, Clone)]
pub struct StoredGrant {
    pub effective_at: Timestamp,
    pub expire_at: Timestamp,
    pub agency_id: Option<String>,
    pub details: Vec<StoredDetailGrant>,
}

#[derive(Debug, Clone)]
pub struct StoredDetailGrant {
    pub detail_id: DetailId,
    pub port: Option<u16>,
    pub account: Option<String>,
    pub password_ciphertext: Option<Vec<u8>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const COUNTS: &str = "authorization_counts";

    fn filter(status: Option<i64>, incident_id: Option<&str>) -> ListFilter {
        ListFilter {
            sub_customer_name: None,
            incident_id: incident_id.map(str::to_owned),
            status,
            simple_description: None,
            page: Page {
                offset: 0,
                limit: 10,
            },
        }
    }

    #[test]
    fn customer_totals_by_status_at_most_come_from_the_kept_counts() {
        let domain = |submitters| Scope::Customer {
            domain_id: "d".into(),
            submitters,
        };
        for scope in [domain(None), domain(Some(vec!["u".into()]))] {
            assert!(filter(None, None).total_query(&scope).contains(COUNTS));
            assert!(filter(Some(0), None).total_query(&scope).contains(COUNTS));
            // Any other filter has no kept count: the rows are counted.
            let narrowed = filter(Some(0), Some("CS1")).total_query(&scope);
            assert!(!narrowed.contains(COUNTS) && narrowed.contains("COUNT(*)"));
        }
        let provider = Scope::Provider { raised_by: None };
        assert!(
            !filter(Some(0), None)
                .total_query(&provider)
                .contains(COUNTS)
        );
    }
}
