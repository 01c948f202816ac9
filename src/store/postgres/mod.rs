//! PostgreSQL through `tokio-postgres` and a small `deadpool` pool, for several
//! instances sharing one database.
//!
//! Every write is one `READ COMMITTED` transaction whose conditional update decides
//! races; audit appends lock their domain's chain head; background sweeps skip rows
//! another instance has locked. A lost connection is `Unavailable` (HTTP 503), and the
//! pool replaces closed connections on the next checkout, so the service recovers by
//! itself when the database comes back.

mod access_keys;
mod admin;
mod audit;
mod authorizations;
mod batch;
mod broker;
mod console;
mod host_keys;
mod idempotency;
mod identity;
mod import;
mod listen;
mod migrations;
mod notify;
mod outbox;
mod query;
mod sessions;
mod tls;
mod transitions;
mod webhooks;

use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{
    Manager, ManagerConfig, Object, Pool, PoolError, RecyclingMethod, Runtime, Transaction,
};
use jiff::Timestamp;
use tokio_postgres::error::SqlState;

use crate::domain::audit::{AuditDraft, AuditEvent};
use crate::domain::event::{OutboxDraft, OutboxEvent};
use crate::domain::principal::GroupView;
use crate::domain::recording::SessionEnd;
use crate::domain::session::{FileTransfer, Operation, Session};
use crate::domain::{Authorization, AuthorizationId, DetailId, Scope, SessionId, Status};
use crate::store::rows::{from_ms, opt_from_ms};
use crate::store::*;
use batch::TransitionBatcher;
pub use tls::connection;

/// Connections per instance: PostgreSQL's own group commit needs a few writers in
/// flight, and several instances must stay well under its `max_connections`.
const POOL_SIZE: usize = 16;
/// How long a request waits for a connection, or to open one, before answering 503.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

type PgResult<T> = Result<T, tokio_postgres::Error>;

pub struct PostgresStore {
    pool: Pool,
    transitions: TransitionBatcher,
    /// For the `LISTEN` connection, with the pool's TLS.
    config: tokio_postgres::Config,
    tls: tokio_postgres_rustls::MakeRustlsConnect,
}

crate::store::rows::columns_by!(tokio_postgres::Row, try_get);

/// `postgres://` or `postgresql://` URLs.
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        let Some(db) = e.as_db_error() else {
            // No answer from the server: the connection failed or was lost.
            let io = std::error::Error::source(&e)
                .is_some_and(<dyn std::error::Error + 'static>::is::<std::io::Error>);
            return if e.is_closed() || io {
                StoreError::Unavailable(e.into())
            } else {
                StoreError::Internal(e.into())
            };
        };
        let code = db.code().clone();
        match code.code().get(..2) {
            Some("23") => StoreError::Duplicate(e.into()),
            // Connection exceptions, resources, operator intervention (shutdown, restart),
            // and the transient transaction rollbacks.
            Some("08" | "53" | "57" | "40") => StoreError::Unavailable(e.into()),
            _ if code == SqlState::READ_ONLY_SQL_TRANSACTION => StoreError::Unavailable(e.into()),
            _ => StoreError::Internal(e.into()),
        }
    }
}

/// Whether `e` is PostgreSQL's "deadlock detected", which rolled the transaction back.
fn deadlock(e: &StoreError) -> bool {
    let StoreError::Unavailable(cause) = e else {
        return false;
    };
    cause
        .downcast_ref::<tokio_postgres::Error>()
        .and_then(tokio_postgres::Error::code)
        == Some(&SqlState::T_R_DEADLOCK_DETECTED)
}

impl From<PoolError> for StoreError {
    fn from(e: PoolError) -> Self {
        match e {
            PoolError::Backend(e) => e.into(),
            PoolError::Timeout(_) | PoolError::Closed => StoreError::Unavailable(e.into()),
            other => StoreError::Internal(other.into()),
        }
    }
}

/// Runs `$body` (which uses `$tx`) in one transaction on a pooled connection and
/// commits; any error rolls the whole transaction back.
macro_rules! in_transaction {
    ($store:expr, |$tx:ident| $body:expr) => {{
        let mut client = $store.client().await?;
        let $tx = client.transaction().await?;
        let value = $body;
        $tx.commit().await?;
        Ok(value)
    }};
}

impl PostgresStore {
    /// Connects and applies pending migrations.
    pub async fn open(url: &str) -> Result<PostgresStore, StoreError> {
        let (mut config, tls) = connection(url)?;
        config.connect_timeout(CONNECT_TIMEOUT);
        let manager = Manager::from_config(
            config.clone(),
            tls.clone(),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(CONNECT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|e| StoreError::Internal(e.into()))?;
        let transitions = TransitionBatcher::spawn(pool.clone());
        let store = PostgresStore {
            pool,
            transitions,
            config,
            tls,
        };
        migrations::apply(&mut store.client().await?).await?;
        Ok(store)
    }

    async fn client(&self) -> StoreResult<Object> {
        Ok(self.pool.get().await?)
    }

    /// Several reads that must agree (a count and its page, events and heads).
    async fn snapshot<'c>(client: &'c mut Object) -> StoreResult<Transaction<'c>> {
        Ok(client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?)
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn ping(&self) -> StoreResult<()> {
        self.client().await?.simple_query("SELECT 1").await?;
        Ok(())
    }

    async fn apply_admin_change(
        &self,
        change: AdminChange,
        event: AuditDraft,
        at: Timestamp,
    ) -> StoreResult<()> {
        in_transaction!(self, |tx| admin::apply(&tx, &change, event, at).await?)
    }

    async fn list_domains(&self) -> StoreResult<Vec<DomainRecord>> {
        admin::list_domains(&self.client().await?).await
    }

    async fn list_users(&self, domain_id: &str) -> StoreResult<Vec<UserRecord>> {
        admin::list_users(&self.client().await?, domain_id).await
    }

    async fn list_groups(&self, domain_id: &str) -> StoreResult<Vec<GroupRecord>> {
        admin::list_groups(&self.client().await?, domain_id).await
    }

    async fn operator_groups_of(
        &self,
        domain_id: &str,
        user_id: &str,
    ) -> StoreResult<Vec<GroupRecord>> {
        admin::operator_groups_of(&self.client().await?, domain_id, user_id).await
    }

    async fn group_member_names(&self, group_id: &str) -> StoreResult<Vec<String>> {
        admin::group_member_names(&self.client().await?, group_id).await
    }

    async fn domain_by_name(&self, name: &str) -> StoreResult<Option<DomainRecord>> {
        identity::domain_where(&self.client().await?, "name", name).await
    }

    async fn domain_by_id(&self, id: &str) -> StoreResult<Option<DomainRecord>> {
        identity::domain_where(&self.client().await?, "id", id).await
    }

    async fn count_domains(&self) -> StoreResult<u64> {
        identity::count_domains(&self.client().await?).await
    }

    async fn user_by_name(&self, domain_id: &str, name: &str) -> StoreResult<Option<UserRecord>> {
        identity::user_by_name(&self.client().await?, domain_id, name).await
    }

    async fn user_by_id(&self, id: &str) -> StoreResult<Option<UserRecord>> {
        identity::user_by_id(&self.client().await?, id).await
    }

    async fn group_by_name(&self, domain_id: &str, name: &str) -> StoreResult<Option<GroupRecord>> {
        identity::group_by_name(&self.client().await?, domain_id, name).await
    }

    async fn group_view(
        &self,
        domain_id: &str,
        group_id: &str,
        caller_id: &str,
    ) -> StoreResult<Option<GroupView>> {
        let client = self.client().await?;
        identity::group_view(&client, domain_id, group_id, caller_id).await
    }

    async fn insert_token(&self, token: TokenRecord) -> StoreResult<()> {
        identity::insert_token(&self.client().await?, &token).await
    }

    async fn user_by_token(
        &self,
        token_hash: &[u8; 32],
        now: Timestamp,
    ) -> StoreResult<Option<TokenHolder>> {
        identity::user_by_token(&self.client().await?, token_hash, now).await
    }

    async fn credential_epoch(&self) -> StoreResult<i64> {
        identity::credential_epoch(&self.client().await?).await
    }

    async fn access_key_owner(&self, access_key: &str) -> StoreResult<Option<KeyOwner>> {
        access_keys::owner(&self.client().await?, access_key).await
    }

    async fn list_access_keys(&self, user_id: &str) -> StoreResult<Vec<AccessKeyRecord>> {
        access_keys::list(&self.client().await?, user_id).await
    }

    async fn set_access_key_enabled(&self, access_key: &str, enabled: bool) -> StoreResult<()> {
        access_keys::set_enabled(&self.client().await?, access_key, enabled).await
    }

    async fn delete_access_key(&self, access_key: &str) -> StoreResult<()> {
        access_keys::delete(&self.client().await?, access_key).await
    }

    async fn use_signature(
        &self,
        signature: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<bool> {
        access_keys::use_signature(&self.client().await?, signature, expires_at, now).await
    }

    async fn wrapped_data_key(&self, wrapped: Vec<u8>, now: Timestamp) -> StoreResult<Vec<u8>> {
        in_transaction!(self, |tx| identity::wrapped_data_key(&tx, &wrapped, now)
            .await?)
    }

    async fn insert_authorization(
        &self,
        auth: Authorization,
        event: AuditDraft,
    ) -> StoreResult<()> {
        in_transaction!(self, |tx| authorizations::insert(&tx, &auth, event).await?)
    }

    async fn list_authorizations(
        &self,
        scope: &Scope,
        filter: &ListFilter,
    ) -> StoreResult<(u64, Vec<Authorization>)> {
        authorizations::list(&self.client().await?, scope, filter).await
    }

    async fn count_by_status(
        &self,
        scope: &Scope,
        filter: &ListFilter,
    ) -> StoreResult<Vec<(Status, u64)>> {
        authorizations::count_by_status(&self.client().await?, scope, filter).await
    }

    async fn get_authorization(
        &self,
        scope: &Scope,
        id: AuthorizationId,
    ) -> StoreResult<Option<Authorization>> {
        authorizations::get(&self.client().await?, scope, id).await
    }

    async fn authorization_by_detail(
        &self,
        scope: &Scope,
        detail: DetailId,
    ) -> StoreResult<Option<Authorization>> {
        let mut client = self.client().await?;
        let tx = Self::snapshot(&mut client).await?;
        host_keys::authorization_by_detail(&tx, scope, detail).await
    }

    async fn record_host_check(&self, record: HostCheckRecord) -> StoreResult<()> {
        in_transaction!(self, |tx| host_keys::record_check(&tx, record).await?)
    }

    async fn reset_host_key(&self, reset: HostKeyReset) -> StoreResult<()> {
        in_transaction!(self, |tx| host_keys::reset(&tx, &reset).await?)
    }

    async fn transition(&self, request: TransitionRequest) -> StoreResult<Status> {
        self.transitions.transition(request).await
    }

    async fn expire_due(&self, now: Timestamp, limit: u32) -> StoreResult<u32> {
        // Two instances' sweeps lock disjoint rows, but the trigger-kept counts they
        // change are shared, and may be reached in opposite orders: PostgreSQL then
        // rolls one sweep back as a deadlock, and that one simply runs again.
        let mut retries = 3;
        loop {
            // In a block of its own: the macro's `?` must end the attempt, not the loop.
            let swept: StoreResult<u32> = async {
                in_transaction!(self, |tx| authorizations::expire_due(&tx, now, limit)
                    .await?)
            }
            .await;
            match swept {
                Err(e) if retries > 0 && deadlock(&e) => {
                    tracing::info!("an expiry sweep deadlocked with another's; running it again");
                    retries -= 1;
                }
                swept => return swept,
            }
        }
    }

    async fn outbox_after(&self, after_seq: i64, limit: u32) -> StoreResult<Vec<OutboxEvent>> {
        outbox::after(&self.client().await?, after_seq, limit).await
    }

    async fn webhooks(&self, owner: &str) -> StoreResult<Vec<WebhookRecord>> {
        webhooks::list(&self.client().await?, owner).await
    }

    async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> StoreResult<DeliveryClaim> {
        in_transaction!(self, |tx| webhooks::claim(&tx, now, lease_until, limit)
            .await?)
    }

    async fn finish_deliveries(
        &self,
        attempts: Vec<FinishedDelivery>,
    ) -> StoreResult<Vec<FailingSince>> {
        in_transaction!(self, |tx| webhooks::finish(&tx, &attempts).await?)
    }

    async fn disable_webhook(
        &self,
        id: &str,
        event: OutboxDraft,
        now: Timestamp,
    ) -> StoreResult<bool> {
        in_transaction!(self, |tx| notify::disable_webhook(&tx, id, &event, now)
            .await?)
    }

    async fn send_due_reminders(&self, now: Timestamp, limit: u32) -> StoreResult<u32> {
        in_transaction!(self, |tx| notify::send_due_reminders(&tx, now, limit)
            .await?)
    }

    async fn approvers(&self, domain_id: &str, submitter_id: &str) -> StoreResult<Vec<UserRecord>> {
        notify::approvers(&self.client().await?, domain_id, submitter_id).await
    }

    async fn unemailed_events(&self, limit: u32) -> StoreResult<Vec<OutboxEvent>> {
        notify::unemailed(&self.client().await?, limit).await
    }

    async fn address_email(
        &self,
        event_id: i64,
        recipients: Vec<EmailRecipient>,
        now: Timestamp,
    ) -> StoreResult<bool> {
        in_transaction!(self, |tx| notify::address(&tx, event_id, &recipients, now)
            .await?)
    }

    async fn claim_emails(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<EmailJob>> {
        in_transaction!(self, |tx| notify::claim_emails(
            &tx,
            now,
            lease_until,
            limit
        )
        .await?)
    }

    async fn finish_email(
        &self,
        event_id: i64,
        user_id: &str,
        outcome: DeliveryOutcome,
        error: Option<String>,
        now: Timestamp,
    ) -> StoreResult<()> {
        notify::finish_email(
            &self.client().await?,
            event_id,
            user_id,
            &outcome,
            error.as_deref(),
            now,
        )
        .await
    }

    async fn prune_notifications(&self, before: Timestamp, limit: u32) -> StoreResult<u64> {
        notify::prune(&self.client().await?, before, limit).await
    }

    async fn redeliver(&self, event_id: i64, now: Timestamp) -> StoreResult<u64> {
        webhooks::redeliver(&self.client().await?, event_id, now).await
    }

    async fn webhook_deliveries(
        &self,
        owner: &str,
        id: &str,
        limit: u32,
    ) -> StoreResult<Vec<DeliveryRecord>> {
        webhooks::deliveries(&self.client().await?, owner, id, limit).await
    }

    async fn open_session(&self, scope: &Scope, session: Session, actor: Actor) -> StoreResult<()> {
        in_transaction!(self, |tx| sessions::open(&tx, scope, &session, &actor)
            .await?)
    }

    async fn session_started_at(&self, target: &SessionRef) -> StoreResult<Timestamp> {
        sessions::started_at(&self.client().await?, target).await
    }

    async fn append_operations(
        &self,
        target: SessionRef,
        ops: Vec<Operation>,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<()> {
        in_transaction!(self, |tx| sessions::append_operations(
            &tx, &target, &ops, &actor, now
        )
        .await?)
    }

    async fn append_file_transfers(
        &self,
        target: SessionRef,
        transfers: Vec<FileTransfer>,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<()> {
        in_transaction!(self, |tx| sessions::append_file_transfers(
            &tx, &target, &transfers, &actor, now
        )
        .await?)
    }

    async fn close_session(
        &self,
        target: SessionRef,
        now: Timestamp,
        actor: Actor,
        end: SessionEnd,
    ) -> StoreResult<()> {
        in_transaction!(self, |tx| sessions::close(&tx, &target, now, &actor, &end)
            .await?)
    }

    async fn session_facts(&self, target: SessionRef) -> StoreResult<SessionFacts> {
        sessions::facts(&self.client().await?, &target).await
    }

    async fn request_termination(
        &self,
        target: SessionRef,
        actor: Actor,
        reason: Option<String>,
        now: Timestamp,
    ) -> StoreResult<()> {
        in_transaction!(self, |tx| sessions::request_termination(
            &tx, &target, &actor, reason, now
        )
        .await?)
    }

    async fn termination_requested(
        &self,
        session: SessionId,
    ) -> StoreResult<Option<Option<String>>> {
        sessions::termination_requested(&self.client().await?, session).await
    }

    async fn append_recording_chunk(
        &self,
        session: SessionId,
        chunk: RecordingChunk,
        now: Timestamp,
    ) -> StoreResult<()> {
        in_transaction!(self, |tx| sessions::append_recording_chunk(
            &tx, session, &chunk, now
        )
        .await?)
    }

    async fn recording_chunks(
        &self,
        session: SessionId,
        from: i64,
        limit: u32,
    ) -> StoreResult<Vec<RecordingChunk>> {
        sessions::recording_chunks(&self.client().await?, session, from, limit).await
    }

    async fn purge_recordings(
        &self,
        before: Timestamp,
        now: Timestamp,
        limit: u32,
    ) -> StoreResult<u32> {
        in_transaction!(self, |tx| sessions::purge_recordings(
            &tx, before, now, limit
        )
        .await?)
    }

    async fn list_sessions(
        &self,
        scope: &Scope,
        id: AuthorizationId,
        detail: DetailId,
        page: Page,
    ) -> StoreResult<(u64, Vec<Session>)> {
        let mut client = self.client().await?;
        let tx = Self::snapshot(&mut client).await?;
        sessions::list(&tx, scope, id, detail, page).await
    }

    async fn list_operations(
        &self,
        target: SessionRef,
        order: Order,
        page: Page,
    ) -> StoreResult<(u64, Vec<Operation>)> {
        let mut client = self.client().await?;
        let tx = Self::snapshot(&mut client).await?;
        sessions::list_operations(&tx, &target, order, page).await
    }

    async fn list_file_transfers(
        &self,
        target: SessionRef,
        order: Order,
        page: Page,
    ) -> StoreResult<(u64, Vec<FileTransfer>)> {
        let mut client = self.client().await?;
        let tx = Self::snapshot(&mut client).await?;
        sessions::list_file_transfers(&tx, &target, order, page).await
    }

    async fn insert_console_session(&self, session: ConsoleSessionRecord) -> StoreResult<()> {
        console::insert(&self.client().await?, &session).await
    }

    async fn console_session(
        &self,
        hash: &[u8; 32],
        now: Timestamp,
        idle_since: Timestamp,
    ) -> StoreResult<Option<ConsoleSessionHolder>> {
        console::holder(&self.client().await?, hash, now, idle_since).await
    }

    async fn touch_console_session(&self, hash: &[u8; 32], now: Timestamp) -> StoreResult<()> {
        console::touch(&self.client().await?, hash, now).await
    }

    async fn delete_console_session(&self, hash: &[u8; 32]) -> StoreResult<()> {
        console::delete(&self.client().await?, hash).await
    }

    async fn list_ssh_keys(&self, user_id: &str) -> StoreResult<Vec<SshKeyRecord>> {
        broker::list_keys(&self.client().await?, user_id).await
    }

    async fn ssh_key_by_fingerprint(&self, fingerprint: &str) -> StoreResult<Option<SshKeyRecord>> {
        broker::key_by_fingerprint(&self.client().await?, fingerprint).await
    }

    async fn broker_host_key(&self) -> StoreResult<Option<Vec<u8>>> {
        broker::host_key(&self.client().await?).await
    }

    async fn host_login(&self, detail: DetailId) -> StoreResult<Option<SealedHostLogin>> {
        broker::host_login(&self.client().await?, detail).await
    }

    fn access_changes(&self) -> Option<tokio::sync::mpsc::Receiver<()>> {
        Some(listen::spawn(self.config.clone(), self.tls.clone()))
    }

    async fn claim_idempotency_key(
        &self,
        claim: IdempotencyClaim,
    ) -> StoreResult<Option<crate::domain::idempotency::KeyUse>> {
        idempotency::claim(&self.client().await?, &claim).await
    }

    async fn finish_idempotency_key(
        &self,
        principal: &str,
        key: &str,
        status: u16,
        body: Vec<u8>,
    ) -> StoreResult<()> {
        idempotency::finish(&self.client().await?, principal, key, status, &body).await
    }

    async fn release_idempotency_key(&self, principal: &str, key: &str) -> StoreResult<()> {
        idempotency::release(&self.client().await?, principal, key).await
    }

    async fn prune_idempotency_keys(&self, now: Timestamp) -> StoreResult<u64> {
        idempotency::prune(&self.client().await?, now).await
    }

    async fn audit_chains(&self) -> StoreResult<Vec<AuditChain>> {
        let mut client = self.client().await?;
        let tx = Self::snapshot(&mut client).await?;
        audit::chains(&tx).await
    }

    async fn authorization_statuses(&self) -> StoreResult<Vec<(AuthorizationId, Status)>> {
        audit::authorization_statuses(&self.client().await?).await
    }

    async fn audit_events(&self, filter: &AuditFilter) -> StoreResult<(u64, Vec<AuditEvent>)> {
        let mut client = self.client().await?;
        let tx = Self::snapshot(&mut client).await?;
        audit::events(&tx, filter).await
    }
}
