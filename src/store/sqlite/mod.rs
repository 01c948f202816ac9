//! The embedded default: SQLite through `rusqlite`, one writer thread with group
//! commit and a pool of read-only connections.

mod access_keys;
mod admin;
mod audit;
mod authorizations;
mod broker;
mod checkpointer;
mod console;
pub mod export;
mod host_keys;
mod idempotency;
mod identity;
mod migrations;
mod notify;
mod outbox;
mod readers;
mod scope;
mod sessions;
mod webhooks;
mod writer;

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use jiff::Timestamp;
use rusqlite::config::DbConfig;
use rusqlite::{Connection, ErrorCode};

use crate::domain::audit::{AuditDraft, AuditEvent};
use crate::domain::event::{OutboxDraft, OutboxEvent};
use crate::domain::principal::GroupView;
use crate::domain::recording::SessionEnd;
use crate::domain::session::{FileTransfer, Operation, Session};
use crate::domain::{Authorization, AuthorizationId, DetailId, Scope, SessionId, Status};
use crate::store::rows::{from_ms, opt_from_ms};
use crate::store::*;
use checkpointer::{CatchUp, Checkpointer};
use readers::Readers;
use writer::Writer;

/// How hard each commit waits for the disk.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    clap::ValueEnum,
    serde::Deserialize,
    serde::Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    /// An acknowledged write survives power loss (the default).
    #[default]
    #[serde(alias = "FULL")]
    Full,
    /// Survives a crash of the process, not of the machine.
    #[serde(alias = "NORMAL")]
    Normal,
}

pub struct SqliteStore {
    writer: Writer,
    readers: Readers,
    _checkpointer: Checkpointer,
}

crate::store::rows::columns_by!(rusqlite::Row<'_>, get);

/// Every row `stmt` gives for `params`, each read by `map`.
fn all<T>(
    stmt: &mut rusqlite::Statement,
    params: impl rusqlite::Params,
    map: impl Fn(&rusqlite::Row) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    let mut rows = stmt.query(params)?;
    let mut all = Vec::new();
    while let Some(r) = rows.next()? {
        all.push(map(r)?);
    }
    Ok(all)
}

/// The first row `stmt` gives for `params`, if any, read by `map`.
fn first<T>(
    stmt: &mut rusqlite::Statement,
    params: impl rusqlite::Params,
    map: impl Fn(&rusqlite::Row) -> StoreResult<T>,
) -> StoreResult<Option<T>> {
    let mut rows = stmt.query(params)?;
    rows.next()?.map(map).transpose()
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(ErrorCode::ConstraintViolation) => StoreError::Duplicate(e.into()),
            Some(
                ErrorCode::DatabaseBusy
                | ErrorCode::DatabaseLocked
                | ErrorCode::SystemIoFailure
                | ErrorCode::DiskFull
                | ErrorCode::CannotOpen
                | ErrorCode::ReadOnly,
            ) => StoreError::Unavailable(e.into()),
            _ => StoreError::Internal(e.into()),
        }
    }
}

/// `sqlite://./data/x.db`, `sqlite:///abs/x.db` or `sqlite:x.db` → the file path.
pub fn path_from_url(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let rest = rest.split('?').next().unwrap_or(rest);
    (!rest.is_empty() && rest != ":memory:").then(|| PathBuf::from(rest))
}

fn open_connection(path: &Path, sync: Synchronous) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    // Without the query planner stability guarantee, this SQLite build (STAT4) marks
    // statements whose bound values could sway the plan, and re-prepares them on every
    // new binding: a prepared-statement cache then parses each query every time. Our
    // plans come from the indexes, not from statistics.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    // rusqlite keeps 16 statements by default; the writer alone uses more than that,
    // and list queries vary with their filters.
    conn.set_prepared_statement_cache_capacity(256);
    let sync = match sync {
        Synchronous::Full => "FULL",
        Synchronous::Normal => "NORMAL",
    };
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = {sync}; PRAGMA foreign_keys = ON; \
         PRAGMA busy_timeout = 5000;"
    ))?;
    Ok(conn)
}

/// Creates the database file readable by its owner only (SQLite gives its WAL and
/// shared-memory files the same mode); an existing file is left as it is.
fn create_private(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies pending migrations.
    pub fn open(path: &Path, sync: Synchronous) -> Result<SqliteStore, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Unavailable(Failed::cause(
                    format!("cannot create {}", dir.display()),
                    e,
                ))
            })?;
        }
        create_private(path).map_err(|e| {
            StoreError::Unavailable(Failed::cause(
                format!("cannot create {}", path.display()),
                e,
            ))
        })?;
        let conn = open_connection(path, sync)?;
        migrations::apply(&conn)?;
        // Checkpoints are the checkpointer's (see there); a WAL that grew under load is
        // cut back to 64 MiB once it restarts.
        conn.execute_batch("PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = 67108864")?;
        let thread_error = |e: std::io::Error| StoreError::Internal(e.into());
        let catch_up = CatchUp::default();
        let checkpointer = Checkpointer::spawn(open_connection(path, sync)?, catch_up.clone())
            .map_err(thread_error)?;
        let writer = Writer::spawn(conn, catch_up).map_err(thread_error)?;
        let readers = Readers::new(path.to_path_buf(), move |p| {
            let c = open_connection(p, sync)?;
            // Few readers (about one per worker), so each can afford a larger cache.
            // Reads also go through a memory map (up to SQLite's 2 GiB cap): pages come
            // from the OS page cache without a copy, and count as the file's memory,
            // not the process's own (RssFile, not RssAnon).
            c.execute_batch(
                "PRAGMA query_only = ON; PRAGMA cache_size = -16384; \
                 PRAGMA mmap_size = 2147418112",
            )?;
            Ok(c)
        });
        Ok(SqliteStore {
            writer,
            readers,
            _checkpointer: checkpointer,
        })
    }

    async fn write<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        self.writer.write(work).await
    }

    /// Reads run inline (see `readers`), so they may borrow the caller's arguments.
    fn read<T, F>(&self, work: F) -> StoreResult<T>
    where
        F: FnOnce(&Connection) -> StoreResult<T>,
    {
        self.readers.read(work)
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        self.read(|c| Ok(c.query_row("SELECT 1", [], |_| Ok(()))?))
    }

    async fn apply_admin_change(
        &self,
        change: AdminChange,
        event: AuditDraft,
        at: Timestamp,
    ) -> StoreResult<()> {
        self.write(move |c| admin::apply(c, &change, event, at))
            .await
    }

    async fn list_domains(&self) -> StoreResult<Vec<DomainRecord>> {
        self.read(admin::list_domains)
    }

    async fn list_users(&self, domain_id: &str) -> StoreResult<Vec<UserRecord>> {
        self.read(|c| admin::list_users(c, domain_id))
    }

    async fn list_groups(&self, domain_id: &str) -> StoreResult<Vec<GroupRecord>> {
        self.read(|c| admin::list_groups(c, domain_id))
    }

    async fn operator_groups_of(
        &self,
        domain_id: &str,
        user_id: &str,
    ) -> StoreResult<Vec<GroupRecord>> {
        self.read(|c| admin::operator_groups_of(c, domain_id, user_id))
    }

    async fn group_member_names(&self, group_id: &str) -> StoreResult<Vec<String>> {
        self.read(|c| admin::group_member_names(c, group_id))
    }

    async fn domain_by_name(&self, name: &str) -> StoreResult<Option<DomainRecord>> {
        self.read(|c| identity::domain_where(c, "name", name))
    }

    async fn domain_by_id(&self, id: &str) -> StoreResult<Option<DomainRecord>> {
        self.read(|c| identity::domain_where(c, "id", id))
    }

    async fn count_domains(&self) -> StoreResult<u64> {
        self.read(identity::count_domains)
    }

    async fn user_by_name(&self, domain_id: &str, name: &str) -> StoreResult<Option<UserRecord>> {
        self.read(|c| identity::user_by_name(c, domain_id, name))
    }

    async fn user_by_id(&self, id: &str) -> StoreResult<Option<UserRecord>> {
        self.read(|c| identity::user_by_id(c, id))
    }

    async fn group_by_name(&self, domain_id: &str, name: &str) -> StoreResult<Option<GroupRecord>> {
        self.read(|c| identity::group_by_name(c, domain_id, name))
    }

    async fn group_view(
        &self,
        domain_id: &str,
        group_id: &str,
        caller_id: &str,
    ) -> StoreResult<Option<GroupView>> {
        self.read(|c| identity::group_view(c, domain_id, group_id, caller_id))
    }

    async fn insert_token(&self, token: TokenRecord) -> StoreResult<()> {
        self.write(move |c| identity::insert_token(c, &token)).await
    }

    async fn user_by_token(
        &self,
        token_hash: &[u8; 32],
        now: Timestamp,
    ) -> StoreResult<Option<TokenHolder>> {
        self.read(|c| identity::user_by_token(c, token_hash, now))
    }

    async fn credential_epoch(&self) -> StoreResult<i64> {
        self.read(identity::credential_epoch)
    }

    async fn access_key_owner(&self, access_key: &str) -> StoreResult<Option<KeyOwner>> {
        self.read(|c| access_keys::owner(c, access_key))
    }

    async fn list_access_keys(&self, user_id: &str) -> StoreResult<Vec<AccessKeyRecord>> {
        self.read(|c| access_keys::list(c, user_id))
    }

    async fn set_access_key_enabled(&self, access_key: &str, enabled: bool) -> StoreResult<()> {
        let access_key = access_key.to_owned();
        self.write(move |c| access_keys::set_enabled(c, &access_key, enabled))
            .await
    }

    async fn delete_access_key(&self, access_key: &str) -> StoreResult<()> {
        let access_key = access_key.to_owned();
        self.write(move |c| access_keys::delete(c, &access_key))
            .await
    }

    async fn use_signature(
        &self,
        signature: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let signature = signature.to_owned();
        self.write(move |c| access_keys::use_signature(c, &signature, expires_at, now))
            .await
    }

    async fn wrapped_data_key(&self, wrapped: Vec<u8>, now: Timestamp) -> StoreResult<Vec<u8>> {
        self.write(move |c| identity::wrapped_data_key(c, &wrapped, now))
            .await
    }

    async fn insert_authorization(
        &self,
        auth: Authorization,
        event: AuditDraft,
    ) -> StoreResult<()> {
        self.write(move |c| authorizations::insert(c, &auth, event))
            .await
    }

    async fn list_authorizations(
        &self,
        scope: &Scope,
        filter: &ListFilter,
    ) -> StoreResult<(u64, Vec<Authorization>)> {
        self.read(|c| authorizations::list(c, scope, filter))
    }

    async fn count_by_status(
        &self,
        scope: &Scope,
        filter: &ListFilter,
    ) -> StoreResult<Vec<(Status, u64)>> {
        self.read(|c| authorizations::count_by_status(c, scope, filter))
    }

    async fn get_authorization(
        &self,
        scope: &Scope,
        id: AuthorizationId,
    ) -> StoreResult<Option<Authorization>> {
        self.read(|c| authorizations::get(c, scope, id))
    }

    async fn transition(&self, request: TransitionRequest) -> StoreResult<Status> {
        self.write(move |c| authorizations::transition(c, &request))
            .await
    }

    async fn expire_due(&self, now: Timestamp, limit: u32) -> StoreResult<u32> {
        self.write(move |c| authorizations::expire_due(c, now, limit))
            .await
    }

    async fn outbox_after(&self, after_seq: i64, limit: u32) -> StoreResult<Vec<OutboxEvent>> {
        self.read(|c| outbox::after(c, after_seq, limit))
    }

    async fn webhooks(&self, owner: &str) -> StoreResult<Vec<WebhookRecord>> {
        self.read(|c| webhooks::list(c, owner))
    }

    async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> StoreResult<DeliveryClaim> {
        let (dispatched, leased) = self
            .write(move |c| webhooks::claim(c, now, lease_until, limit))
            .await?;
        // What the payloads need is read outside the one writer.
        let jobs = if leased.is_empty() {
            Vec::new()
        } else {
            self.read(|c| webhooks::jobs(c, &leased))?
        };
        Ok(DeliveryClaim { dispatched, jobs })
    }

    async fn finish_deliveries(
        &self,
        attempts: Vec<FinishedDelivery>,
    ) -> StoreResult<Vec<FailingSince>> {
        self.write(move |c| webhooks::finish(c, &attempts)).await
    }

    async fn disable_webhook(
        &self,
        id: &str,
        event: OutboxDraft,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let id = id.to_owned();
        self.write(move |c| notify::disable_webhook(c, &id, &event, now))
            .await
    }

    async fn send_due_reminders(&self, now: Timestamp, limit: u32) -> StoreResult<u32> {
        self.write(move |c| notify::send_due_reminders(c, now, limit))
            .await
    }

    async fn approvers(&self, domain_id: &str, submitter_id: &str) -> StoreResult<Vec<UserRecord>> {
        self.read(|c| notify::approvers(c, domain_id, submitter_id))
    }

    async fn unemailed_events(&self, limit: u32) -> StoreResult<Vec<OutboxEvent>> {
        self.read(|c| notify::unemailed(c, limit))
    }

    async fn address_email(
        &self,
        event_id: i64,
        recipients: Vec<EmailRecipient>,
        now: Timestamp,
    ) -> StoreResult<bool> {
        self.write(move |c| notify::address(c, event_id, &recipients, now))
            .await
    }

    async fn claim_emails(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<EmailJob>> {
        self.write(move |c| notify::claim_emails(c, now, lease_until, limit))
            .await
    }

    async fn finish_email(
        &self,
        event_id: i64,
        user_id: &str,
        outcome: DeliveryOutcome,
        error: Option<String>,
        now: Timestamp,
    ) -> StoreResult<()> {
        let user_id = user_id.to_owned();
        self.write(move |c| {
            notify::finish_email(c, event_id, &user_id, &outcome, error.as_deref(), now)
        })
        .await
    }

    async fn prune_notifications(&self, before: Timestamp, limit: u32) -> StoreResult<u64> {
        self.write(move |c| notify::prune(c, before, limit)).await
    }

    async fn redeliver(&self, event_id: i64, now: Timestamp) -> StoreResult<u64> {
        self.write(move |c| webhooks::redeliver(c, event_id, now))
            .await
    }

    async fn webhook_deliveries(
        &self,
        owner: &str,
        id: &str,
        limit: u32,
    ) -> StoreResult<Vec<DeliveryRecord>> {
        self.read(|c| webhooks::deliveries(c, owner, id, limit))
    }

    async fn open_session(&self, scope: &Scope, session: Session, actor: Actor) -> StoreResult<()> {
        let scope = scope.clone();
        self.write(move |c| sessions::open(c, &scope, &session, &actor))
            .await
    }

    async fn session_started_at(&self, target: &SessionRef) -> StoreResult<Timestamp> {
        self.read(|c| sessions::started_at(c, target))
    }

    async fn append_operations(
        &self,
        target: SessionRef,
        ops: Vec<Operation>,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<()> {
        self.write(move |c| sessions::append_operations(c, &target, &ops, &actor, now))
            .await
    }

    async fn append_file_transfers(
        &self,
        target: SessionRef,
        transfers: Vec<FileTransfer>,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<()> {
        self.write(move |c| sessions::append_file_transfers(c, &target, &transfers, &actor, now))
            .await
    }

    async fn close_session(
        &self,
        target: SessionRef,
        now: Timestamp,
        actor: Actor,
        end: SessionEnd,
    ) -> StoreResult<()> {
        self.write(move |c| sessions::close(c, &target, now, &actor, &end))
            .await
    }

    async fn session_facts(&self, target: SessionRef) -> StoreResult<SessionFacts> {
        self.read(|c| sessions::facts(c, &target))
    }

    async fn request_termination(
        &self,
        target: SessionRef,
        actor: Actor,
        reason: Option<String>,
        now: Timestamp,
    ) -> StoreResult<()> {
        self.write(move |c| sessions::request_termination(c, &target, &actor, reason, now))
            .await
    }

    async fn termination_requested(
        &self,
        session: SessionId,
    ) -> StoreResult<Option<Option<String>>> {
        self.read(|c| sessions::termination_requested(c, session))
    }

    async fn append_recording_chunk(
        &self,
        session: SessionId,
        chunk: RecordingChunk,
        now: Timestamp,
    ) -> StoreResult<()> {
        self.write(move |c| sessions::append_recording_chunk(c, session, &chunk, now))
            .await
    }

    async fn recording_chunks(
        &self,
        session: SessionId,
        from: i64,
        limit: u32,
    ) -> StoreResult<Vec<RecordingChunk>> {
        self.read(|c| sessions::recording_chunks(c, session, from, limit))
    }

    async fn purge_recordings(
        &self,
        before: Timestamp,
        now: Timestamp,
        limit: u32,
    ) -> StoreResult<u32> {
        self.write(move |c| sessions::purge_recordings(c, before, now, limit))
            .await
    }

    async fn list_sessions(
        &self,
        scope: &Scope,
        id: AuthorizationId,
        detail: DetailId,
        page: Page,
    ) -> StoreResult<(u64, Vec<Session>)> {
        self.read(|c| sessions::list(c, scope, id, detail, page))
    }

    async fn list_operations(
        &self,
        target: SessionRef,
        order: Order,
        page: Page,
    ) -> StoreResult<(u64, Vec<Operation>)> {
        self.read(|c| sessions::list_operations(c, &target, order, page))
    }

    async fn list_file_transfers(
        &self,
        target: SessionRef,
        order: Order,
        page: Page,
    ) -> StoreResult<(u64, Vec<FileTransfer>)> {
        self.read(|c| sessions::list_file_transfers(c, &target, order, page))
    }

    async fn authorization_by_detail(
        &self,
        scope: &Scope,
        detail: DetailId,
    ) -> StoreResult<Option<Authorization>> {
        self.read(|c| host_keys::authorization_by_detail(c, scope, detail))
    }

    async fn record_host_check(&self, record: HostCheckRecord) -> StoreResult<()> {
        self.write(move |c| host_keys::record_check(c, record))
            .await
    }

    async fn reset_host_key(&self, reset: HostKeyReset) -> StoreResult<()> {
        self.write(move |c| host_keys::reset(c, &reset)).await
    }

    async fn insert_console_session(&self, session: ConsoleSessionRecord) -> StoreResult<()> {
        self.write(move |c| console::insert(c, &session)).await
    }

    async fn console_session(
        &self,
        hash: &[u8; 32],
        now: Timestamp,
        idle_since: Timestamp,
    ) -> StoreResult<Option<ConsoleSessionHolder>> {
        self.read(|c| console::holder(c, hash, now, idle_since))
    }

    async fn touch_console_session(&self, hash: &[u8; 32], now: Timestamp) -> StoreResult<()> {
        let hash = *hash;
        self.write(move |c| console::touch(c, &hash, now)).await
    }

    async fn delete_console_session(&self, hash: &[u8; 32]) -> StoreResult<()> {
        let hash = *hash;
        self.write(move |c| console::delete(c, &hash)).await
    }

    async fn list_ssh_keys(&self, user_id: &str) -> StoreResult<Vec<SshKeyRecord>> {
        self.read(|c| broker::list_keys(c, user_id))
    }

    async fn ssh_key_by_fingerprint(&self, fingerprint: &str) -> StoreResult<Option<SshKeyRecord>> {
        self.read(|c| broker::key_by_fingerprint(c, fingerprint))
    }

    async fn broker_host_key(&self) -> StoreResult<Option<Vec<u8>>> {
        self.read(broker::host_key)
    }

    async fn host_login(&self, detail: DetailId) -> StoreResult<Option<SealedHostLogin>> {
        self.read(|c| broker::host_login(c, detail))
    }

    async fn claim_idempotency_key(
        &self,
        claim: IdempotencyClaim,
    ) -> StoreResult<Option<crate::domain::idempotency::KeyUse>> {
        self.write(move |c| idempotency::claim(c, &claim)).await
    }

    async fn finish_idempotency_key(
        &self,
        principal: &str,
        key: &str,
        status: u16,
        body: Vec<u8>,
    ) -> StoreResult<()> {
        let (principal, key) = (principal.to_owned(), key.to_owned());
        self.write(move |c| idempotency::finish(c, &principal, &key, status, &body))
            .await
    }

    async fn release_idempotency_key(&self, principal: &str, key: &str) -> StoreResult<()> {
        let (principal, key) = (principal.to_owned(), key.to_owned());
        self.write(move |c| idempotency::release(c, &principal, &key))
            .await
    }

    async fn prune_idempotency_keys(&self, now: Timestamp) -> StoreResult<u64> {
        self.write(move |c| idempotency::prune(c, now)).await
    }

    async fn audit_chains(&self) -> StoreResult<Vec<AuditChain>> {
        self.read(audit::chains)
    }

    async fn authorization_statuses(&self) -> StoreResult<Vec<(AuthorizationId, Status)>> {
        self.read(audit::authorization_statuses)
    }

    async fn audit_events(&self, filter: &AuditFilter) -> StoreResult<(u64, Vec<AuditEvent>)> {
        self.read(|c| audit::events(c, filter))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_map_to_paths() {
        assert_eq!(
            path_from_url("sqlite://./data/x.db"),
            Some(PathBuf::from("./data/x.db"))
        );
        assert_eq!(
            path_from_url("sqlite:///tmp/x.db"),
            Some(PathBuf::from("/tmp/x.db"))
        );
        assert_eq!(
            path_from_url("sqlite:x.db?mode=rwc"),
            Some(PathBuf::from("x.db"))
        );
        assert_eq!(path_from_url("postgres://h/db"), None);
        assert_eq!(path_from_url("sqlite::memory:"), None);
    }

    /// The writer never checkpoints (it would stall a group commit); the checkpointer
    /// thread moves committed pages into the database file soon after.
    #[tokio::test]
    async fn committed_pages_reach_the_database_file_without_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let store = SqliteStore::open(&path, Synchronous::Normal).unwrap();
        let main_file = || std::fs::metadata(&path).unwrap().len();
        let before = main_file();
        for i in 0..300 {
            let domain = DomainRecord {
                id: format!("{i:032x}"),
                name: format!("domain-{i}-{}", "x".repeat(200)),
                is_provider: false,
                created_at: Timestamp::UNIX_EPOCH,
            };
            let event = AuditDraft::admin(
                crate::domain::audit::SYSTEM_CHAIN,
                &crate::domain::audit::Actor::system(),
                "domain.created",
                None,
                None,
            );
            store
                .apply_admin_change(
                    AdminChange::CreateDomain(domain),
                    event,
                    Timestamp::UNIX_EPOCH,
                )
                .await
                .unwrap();
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while main_file() <= before {
            assert!(
                std::time::Instant::now() < deadline,
                "no checkpoint within 5 s"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}
