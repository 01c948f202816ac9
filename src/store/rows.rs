//! Rows read the same way from either database: the column lists both dialects accept,
//! and one mapping per record over [`Columns`], which each store implements for its
//! driver's row type.

use jiff::Timestamp;

use crate::domain::audit::{Actor, AuditDraft, AuditEvent};
use crate::domain::event::{EventType, OutboxDraft};
use crate::domain::idempotency::KeyUse;
use crate::domain::recording::{CloseReason, RecordingInfo, RecordingSummary, SessionEnd};
use crate::domain::reminder::{self, Reminder};
use crate::domain::session::{
    FileTransfer, Operation, Session, SessionRefused, SessionSource, flagged_count,
};
use crate::domain::{
    Authorization, AuthorizationId, Detail, DetailId, DetailType, Language, SessionId, Status,
};
use crate::store::plan::DueReminder;
use crate::store::{
    AuditChain, DeliveryOutcome, DomainRecord, EmailRecipient, GroupRecord, Order, SessionFacts,
    SessionRef, StoreError, StoreResult, TokenHolder, UserRecord, WebhookRecord,
};

/// One row of a result, read by column position.
pub trait Columns {
    fn int(&self, i: usize) -> StoreResult<i64>;
    fn opt_int(&self, i: usize) -> StoreResult<Option<i64>>;
    fn text(&self, i: usize) -> StoreResult<String>;
    fn opt_text(&self, i: usize) -> StoreResult<Option<String>>;
    fn flag(&self, i: usize) -> StoreResult<bool>;
    fn bytes(&self, i: usize) -> StoreResult<Vec<u8>>;
    fn opt_bytes(&self, i: usize) -> StoreResult<Option<Vec<u8>>>;

    fn time(&self, i: usize) -> StoreResult<Timestamp> {
        Ok(from_ms(self.int(i)?))
    }

    fn opt_time(&self, i: usize) -> StoreResult<Option<Timestamp>> {
        Ok(self.opt_int(i)?.map(from_ms))
    }

    fn status(&self, i: usize) -> StoreResult<Status> {
        let code = self.int(i)?;
        Status::from_code(code)
            .ok_or_else(|| StoreError::Internal(format!("stored status {code}").into()))
    }
}

/// [`Columns`] for a driver's row type whose method `$get(index)` reads any column.
macro_rules! columns_by {
    ($row:ty, $get:ident) => {
        impl $crate::store::rows::Columns for $row {
            fn int(&self, i: usize) -> StoreResult<i64> {
                Ok(self.$get(i)?)
            }
            fn opt_int(&self, i: usize) -> StoreResult<Option<i64>> {
                Ok(self.$get(i)?)
            }
            fn text(&self, i: usize) -> StoreResult<String> {
                Ok(self.$get(i)?)
            }
            fn opt_text(&self, i: usize) -> StoreResult<Option<String>> {
                Ok(self.$get(i)?)
            }
            fn flag(&self, i: usize) -> StoreResult<bool> {
                Ok(self.$get(i)?)
            }
            fn bytes(&self, i: usize) -> StoreResult<Vec<u8>> {
                Ok(self.$get(i)?)
            }
            fn opt_bytes(&self, i: usize) -> StoreResult<Option<Vec<u8>>> {
                Ok(self.$get(i)?)
            }
        }
    };
}
pub(crate) use columns_by;

pub fn from_ms(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

pub fn opt_from_ms(ms: Option<i64>) -> Option<Timestamp> {
    ms.map(from_ms)
}

pub const AUTHORIZATION_COLUMNS: &str = "a.id, a.customer_id, a.x_customer_id, a.xcustomer_name, \
    a.incident_id, a.simple_description, a.auth_describe, a.resource_type_id, a.visit_type_id, \
    a.content_type_id, a.content_of_auth_letter, a.status, a.site, a.created_at, \
    a.pending_deadline, a.requested_effective_at, a.requested_expire_at, a.effective_at, \
    a.expire_at, a.reject_reason, a.handler_name, a.agency_id, a.raised_by, a.raised_by_name, \
    a.updated_at";

/// How many columns [`AUTHORIZATION_COLUMNS`] has: what a query adds follows them.
pub const AUTHORIZATION_WIDTH: usize = 25;

/// An authorization, without its details, from [`AUTHORIZATION_COLUMNS`] at 0.
pub fn authorization(r: &impl Columns) -> StoreResult<Authorization> {
    Ok(Authorization {
        id: AuthorizationId(r.int(0)?),
        customer_id: r.text(1)?,
        x_customer_id: r.text(2)?,
        xcustomer_name: r.text(3)?,
        incident_id: r.text(4)?,
        simple_description: r.text(5)?,
        auth_describe: r.text(6)?,
        resource_type_id: r.text(7)?,
        visit_type_id: r.text(8)?,
        content_type_id: r.text(9)?,
        content_of_auth_letter: r.text(10)?,
        status: r.status(11)?,
        site: i32::try_from(r.int(12)?).unwrap_or_default(),
        created_at: r.time(13)?,
        pending_deadline: r.time(14)?,
        requested_effective_at: r.opt_time(15)?,
        requested_expire_at: r.opt_time(16)?,
        effective_at: r.opt_time(17)?,
        expire_at: r.opt_time(18)?,
        reject_reason: r.opt_text(19)?,
        handler_name: r.opt_text(20)?,
        agency_id: r.opt_text(21)?,
        raised_by: r.text(22)?,
        raised_by_name: r.text(23)?,
        updated_at: r.time(24)?,
        details: Vec::new(),
    })
}

pub const DETAIL_COLUMNS: &str = "d.id, d.type, d.instance_id, d.instance_name, d.region_id, \
    d.host, d.requested_port, d.granted_port, d.account, d.password_ciphertext IS NOT NULL, \
    d.host_key_fingerprint";

/// The detail whose [`DETAIL_COLUMNS`] start at `at`; `None` where an outer join found
/// none.
pub fn detail(r: &impl Columns, at: usize) -> StoreResult<Option<Detail>> {
    let Some(id) = r.opt_int(at)? else {
        return Ok(None);
    };
    let port = |v: Option<i64>| v.and_then(|p| u16::try_from(p).ok());
    Ok(Some(Detail {
        id: DetailId(id),
        detail_type: DetailType::from_code(r.int(at + 1)?).unwrap_or(DetailType::Console),
        instance_id: r.text(at + 2)?,
        instance_name: r.text(at + 3)?,
        region_id: r.text(at + 4)?,
        host: r.opt_text(at + 5)?,
        requested_port: port(r.opt_int(at + 6)?),
        granted_port: port(r.opt_int(at + 7)?),
        account: r.opt_text(at + 8)?,
        has_credential: r.flag(at + 9)?,
        host_key_fingerprint: r.opt_text(at + 10)?,
    }))
}

pub const USER_COLUMNS: &str = "u.id, u.domain_id, u.name, u.password_hash, u.is_admin, \
    u.is_engineer, u.is_provider_admin, u.enabled, u.created_at, u.email, u.language";

/// How many columns [`USER_COLUMNS`] has.
pub const USER_WIDTH: usize = 11;

/// A user from the row's [`USER_COLUMNS`] starting at `at`.
pub fn user(r: &impl Columns, at: usize) -> StoreResult<UserRecord> {
    Ok(UserRecord {
        id: r.text(at)?,
        domain_id: r.text(at + 1)?,
        name: r.text(at + 2)?,
        password_hash: r.text(at + 3)?,
        is_admin: r.flag(at + 4)?,
        is_engineer: r.flag(at + 5)?,
        is_provider_admin: r.flag(at + 6)?,
        enabled: r.flag(at + 7)?,
        created_at: r.time(at + 8)?,
        email: r.opt_text(at + 9)?,
        language: r
            .opt_text(at + 10)?
            .and_then(|l| Language::from_setting(&l).ok()),
    })
}

/// The enabled users who may approve the requests of `$2` in domain `$1`: the domain's
/// administrators and the members of ticket-group-operator groups `$2` belongs to
/// (DESIGN's visibility rules), by name.
pub fn approvers_query() -> String {
    format!(
        "SELECT {USER_COLUMNS} FROM users u WHERE u.domain_id = $1 AND u.enabled AND (u.is_admin \
         OR u.id IN (SELECT m.user_id FROM group_members m JOIN user_groups g ON g.id = m.group_id \
         WHERE g.is_operator AND g.id IN (SELECT s.group_id FROM group_members s WHERE s.user_id = $2))) \
         ORDER BY u.name"
    )
}

/// The enabled user holding a token: `$1` the token's hash, `$2` now.
pub fn token_holder_query() -> String {
    format!(
        "SELECT {USER_COLUMNS}, d.id, d.name, d.is_provider, d.created_at, t.expires_at \
         FROM tokens t JOIN users u ON u.id = t.user_id JOIN domains d ON d.id = u.domain_id \
         WHERE t.hash = $1 AND t.expires_at > $2 AND u.enabled"
    )
}

/// A row of [`token_holder_query`].
pub fn token_holder(r: &impl Columns) -> StoreResult<TokenHolder> {
    Ok(TokenHolder {
        user: user(r, 0)?,
        domain: domain(r, USER_WIDTH)?,
        expires_at: r.time(USER_WIDTH + 4)?,
    })
}

/// The enabled user holding a live console session: `$1` the cookie's hash, `$2` now,
/// `$3` the idle limit (last use must be later).
pub fn console_session_query() -> String {
    format!(
        "SELECT {USER_COLUMNS}, d.id, d.name, d.is_provider, d.created_at, s.last_seen_at \
         FROM console_sessions s JOIN users u ON u.id = s.user_id JOIN domains d ON d.id = u.domain_id \
         WHERE s.hash = $1 AND s.expires_at > $2 AND s.last_seen_at > $3 AND u.enabled"
    )
}

/// A row of [`console_session_query`].
pub fn console_session_holder(r: &impl Columns) -> StoreResult<crate::store::ConsoleSessionHolder> {
    Ok(crate::store::ConsoleSessionHolder {
        user: user(r, 0)?,
        domain: domain(r, USER_WIDTH)?,
        last_seen_at: r.time(USER_WIDTH + 4)?,
    })
}

/// What happened in a session, for its audit event.
#[derive(Debug, Clone, Copy)]
pub enum SessionEvent<'a> {
    Opened,
    Operations(&'a [Operation]),
    FileTransfers(&'a [FileTransfer]),
    /// How it ended, its recording, and why in words, when known.
    Closed(CloseReason, Option<&'a RecordingSummary>, Option<&'a str>),
    /// The recording of a session that something else closed first (a cancel).
    RecordingSaved(&'a RecordingSummary),
    /// A customer asked for the session to end.
    Terminated,
}

/// Closes the open sessions of an authorization whose access ended: `$1` the time,
/// `$2` the reason, `$3` the authorization. Returns the ids of the sessions it closed.
pub const SESSIONS_END_ACCESS: &str = "UPDATE sessions SET ended_at = $1, close_reason = $2 \
    WHERE authorization_id = $3 AND ended_at IS NULL RETURNING id";

/// Closes an open session: `$1` the time, `$2` the reason, `$3` the session.
pub const SESSION_CLOSE: &str =
    "UPDATE sessions SET ended_at = $1, close_reason = $2 WHERE id = $3 AND ended_at IS NULL";

/// The audit event of `what` in session `target` of an authorization of `domain`.
pub fn session_event(
    domain: &str,
    target: &SessionRef,
    actor: &Actor,
    what: SessionEvent<'_>,
) -> AuditDraft {
    let session = target.session_id.0;
    let (kind, note) = match what {
        SessionEvent::Opened => (
            "session_opened",
            format!("session={session} detail={}", target.detail_id.0),
        ),
        // Control characters are stored as sent; the count flags them for reviewers.
        SessionEvent::Operations(ops) => (
            "operations_recorded",
            format!(
                "session={session} operations={} control_characters={}",
                ops.len(),
                flagged_count(ops.iter().map(|o| o.oper.as_str()))
            ),
        ),
        SessionEvent::FileTransfers(items) => (
            "file_transfers_recorded",
            format!(
                "session={session} file_transfers={}{} control_characters={}",
                items.len(),
                transfer_hashes(items),
                flagged_count(items.iter().flat_map(|t| {
                    [
                        t.file_name.as_str(),
                        t.from_path.as_str(),
                        t.to_path.as_str(),
                    ]
                }))
            ),
        ),
        SessionEvent::Closed(end, recording, why) => (
            "session_closed",
            format!(
                "session={session} end={}{}{}",
                end.name(),
                recording.map_or_else(String::new, recording_note),
                why.map_or_else(String::new, |why| format!(" reason={why:?}"))
            ),
        ),
        SessionEvent::RecordingSaved(recording) => (
            "session_recording_saved",
            format!("session={session}{}", recording_note(recording)),
        ),
        SessionEvent::Terminated => ("session_terminate", format!("session={session}")),
    };
    AuditDraft::new(domain, Some(target.authorization_id), actor, kind).note(note)
}

/// ` sha256=HEX,...` of the transfers whose hash is known (so the audit chain vouches
/// for them too), or nothing.
fn transfer_hashes(items: &[FileTransfer]) -> String {
    let known: Vec<&str> = items.iter().filter_map(|t| t.sha256.as_deref()).collect();
    if known.is_empty() {
        String::new()
    } else {
        format!(" sha256={}", known.join(","))
    }
}

fn recording_note(r: &RecordingSummary) -> String {
    format!(
        " recording_sha256={} recording_bytes={}",
        r.sha256, r.size_bytes
    )
}

/// What closing a session writes, decided once for both stores.
#[derive(Debug)]
pub struct SessionClose {
    pub event: AuditDraft,
    /// `session.closed`, unless something else closed the session first.
    pub outbox: Option<OutboxDraft>,
}

/// The facts a close is decided on.
pub struct CloseFacts<'a> {
    pub domain: &'a str,
    /// The session was closed before this call (by a cancel, or a racing close).
    pub closed_before: bool,
    pub terminate_requested: bool,
    pub end: &'a SessionEnd,
    pub now: Timestamp,
}

/// A session closes once; the broker's close after a cancel closed the session still
/// files the recording's hash, in an event of its own.
pub fn session_close(
    target: &SessionRef,
    actor: &Actor,
    facts: CloseFacts<'_>,
) -> StoreResult<SessionClose> {
    let recording = facts.end.recording.as_ref();
    if facts.closed_before {
        let recording = recording.ok_or(SessionRefused::AlreadyClosed)?;
        let what = SessionEvent::RecordingSaved(recording);
        return Ok(SessionClose {
            event: session_event(facts.domain, target, actor, what),
            outbox: None,
        });
    }
    let reason = CloseReason::of(facts.terminate_requested, facts.end.cut);
    let event = session_event(
        facts.domain,
        target,
        actor,
        SessionEvent::Closed(reason, recording, facts.end.why.as_deref()),
    );
    let outbox = OutboxDraft {
        close_reason: Some(reason.name().to_owned()),
        sha256: recording.map(|r| r.sha256.clone()),
        ..OutboxDraft::session(
            EventType::SessionClosed,
            facts.domain,
            target.authorization_id,
            target.session_id.0,
            &actor.id,
            facts.now,
        )
    };
    Ok(SessionClose {
        event,
        outbox: Some(outbox),
    })
}

/// A session's source, whether it ended, and its recording: `$1` the session.
pub const SESSION_FACTS: &str = "SELECT s.source, s.ended_at, s.terminate_requested_at, \
    r.started_at, r.ended_at, r.size_bytes, r.chunks, r.sha256, r.purged_at, s.close_reason \
    FROM sessions s LEFT JOIN session_recordings r ON r.session_id = s.id WHERE s.id = $1";

/// A row of [`SESSION_FACTS`].
pub fn session_facts(r: &impl Columns) -> StoreResult<SessionFacts> {
    let recording = match r.opt_time(3)? {
        Some(started_at) => Some(RecordingInfo {
            started_at,
            ended_at: r.opt_time(4)?,
            size_bytes: r.int(5)?.max(0) as u64,
            chunks: r.int(6)?.max(0) as u64,
            sha256: r.opt_text(7)?,
            purged_at: r.opt_time(8)?,
        }),
        None => None,
    };
    Ok(SessionFacts {
        source: SessionSource::from_stored(&r.text(0)?),
        ended: r.opt_int(1)?.is_some(),
        terminate_requested: r.opt_int(2)?.is_some(),
        recording,
        close_reason: r.opt_text(9)?,
    })
}

/// A recording's row, created with its first chunk: `$1` session, `$2` now, `$3` bytes.
pub const RECORDING_UPSERT: &str = "INSERT INTO session_recordings \
    (session_id, started_at, updated_at, size_bytes, chunks) VALUES ($1, $2, $2, $3, 1) \
    ON CONFLICT (session_id) DO UPDATE SET updated_at = excluded.updated_at, \
    size_bytes = session_recordings.size_bytes + excluded.size_bytes, \
    chunks = session_recordings.chunks + 1";

pub const RECORDING_CHUNK_INSERT: &str =
    "INSERT INTO session_recording_chunks (session_id, seq, data) VALUES ($1, $2, $3)";

/// The end of a recording: `$1` now, `$2` its hash, `$3` the session.
pub const RECORDING_FINISH: &str = "UPDATE session_recordings SET ended_at = $1, updated_at = $1, sha256 = $2 WHERE session_id = $3";

/// Chunks from `$2` on, in order, at most `$3`.
pub const RECORDING_CHUNKS: &str = "SELECT seq, data FROM session_recording_chunks \
    WHERE session_id = $1 AND seq >= $2 ORDER BY seq LIMIT $3";

/// Recordings past retention (last written before `$1`), oldest first, at most `$2`,
/// with what their purge event needs.
pub const RECORDINGS_EXPIRED: &str = "SELECT r.session_id, s.authorization_id, s.detail_id, \
    a.customer_id, r.sha256 FROM session_recordings r JOIN sessions s ON s.id = r.session_id \
    JOIN authorizations a ON a.id = s.authorization_id \
    WHERE r.purged_at IS NULL AND r.updated_at < $1 ORDER BY r.updated_at LIMIT $2";

pub const RECORDING_DELETE_CHUNKS: &str =
    "DELETE FROM session_recording_chunks WHERE session_id = $1";
pub const RECORDING_PURGED: &str =
    "UPDATE session_recordings SET purged_at = $1 WHERE session_id = $2";

/// A row of [`RECORDINGS_EXPIRED`]: the purge's audit event (the system's), whose note
/// repeats the hash the closing event holds.
pub fn recording_purge_event(r: &impl Columns) -> StoreResult<(i64, AuditDraft)> {
    let session = r.int(0)?;
    let event = AuditDraft::new(
        &r.text(3)?,
        Some(AuthorizationId(r.int(1)?)),
        &Actor::system(),
        "session_recording_purged",
    )
    .note(format!(
        "session={session} detail={} recording_sha256={}",
        r.int(2)?,
        r.opt_text(4)?.unwrap_or_default()
    ));
    Ok((session, event))
}

/// A customer's terminate: `$1` now, `$2` the reason, `$3` the session; only the first
/// request counts.
pub const SESSION_TERMINATE: &str = "UPDATE sessions SET terminate_requested_at = $1, \
    terminate_reason = $2 WHERE id = $3 AND terminate_requested_at IS NULL AND ended_at IS NULL";

/// Whether a terminate was requested, and its reason: `$1` the session.
pub const SESSION_TERMINATION: &str =
    "SELECT terminate_requested_at, terminate_reason FROM sessions WHERE id = $1";

/// What a terminate writes besides the row: its audit event and `session.terminated`.
pub fn termination(
    domain: &str,
    target: &SessionRef,
    actor: &Actor,
    reason: Option<String>,
    now: Timestamp,
) -> (AuditDraft, OutboxDraft) {
    let event = session_event(domain, target, actor, SessionEvent::Terminated).reason(reason);
    let outbox = OutboxDraft::session(
        EventType::SessionTerminated,
        domain,
        target.authorization_id,
        target.session_id.0,
        &actor.id,
        now,
    );
    (event, outbox)
}

/// `session.opened`, written with the new row.
pub fn session_opened(domain: &str, session: &Session, actor: &Actor) -> OutboxDraft {
    OutboxDraft::session(
        EventType::SessionOpened,
        domain,
        session.authorization_id,
        session.id.0,
        &actor.id,
        session.started_at,
    )
}

pub const DOMAIN_COLUMNS: &str = "id, name, is_provider, created_at";

/// A domain from the row's [`DOMAIN_COLUMNS`] starting at `at`.
pub fn domain(r: &impl Columns, at: usize) -> StoreResult<DomainRecord> {
    Ok(DomainRecord {
        id: r.text(at)?,
        name: r.text(at + 1)?,
        is_provider: r.flag(at + 2)?,
        created_at: r.time(at + 3)?,
    })
}

/// A session of detail `detail` of `id`, from a row of [`SESSION_PAGE`].
pub fn session(r: &impl Columns, id: AuthorizationId, detail: DetailId) -> StoreResult<Session> {
    Ok(Session {
        id: SessionId(r.int(0)?),
        authorization_id: id,
        detail_id: detail,
        engineer_id: r.text(1)?,
        started_at: r.time(2)?,
        ended_at: r.opt_time(3)?,
        source: SessionSource::from_stored(&r.text(4)?),
        close_reason: r.opt_text(5)?,
    })
}

/// A detail's sessions, newest first: `$1` the detail, `$2` the limit, `$3` the offset.
/// (Both dialects bind `$n` by position when they appear in order.)
pub const GROUP_COLUMNS: &str = "id, domain_id, name, is_operator, created_at";

/// The operator groups of domain `$1` that user `$2` belongs to, as [`GROUP_COLUMNS`].
pub const OPERATOR_GROUPS_OF: &str = "SELECT g.id, g.domain_id, g.name, g.is_operator, g.created_at \
    FROM user_groups g JOIN group_members m ON m.group_id = g.id \
    WHERE g.domain_id = $1 AND m.user_id = $2 AND g.is_operator";

/// A group from [`GROUP_COLUMNS`].
pub fn group(r: &impl Columns) -> StoreResult<GroupRecord> {
    Ok(GroupRecord {
        id: r.text(0)?,
        domain_id: r.text(1)?,
        name: r.text(2)?,
        is_operator: r.flag(3)?,
        created_at: r.time(4)?,
    })
}

/// When session `$1` of detail `$2` of authorization `$3` started.
pub const SESSION_STARTED: &str =
    "SELECT started_at FROM sessions WHERE id = $1 AND detail_id = $2 AND authorization_id = $3";

pub const SESSION_PAGE: &str = "SELECT id, engineer_id, started_at, ended_at, source, close_reason FROM sessions \
    WHERE detail_id = $1 ORDER BY started_at DESC, id DESC LIMIT $2 OFFSET $3";

/// A page of a session's records in `table` with `columns`, in `order`: `$1` the
/// session, `$2` the limit, `$3` the offset.
pub fn records_page(table: &str, columns: &str, order: Order) -> String {
    let dir = match order {
        Order::NewestFirst => "DESC",
        Order::OldestFirst => "ASC",
    };
    format!(
        "SELECT {columns} FROM {table} WHERE session_id = $1 \
         ORDER BY operate_time {dir}, id {dir} LIMIT $2 OFFSET $3"
    )
}

pub const OPERATION_COLUMNS: &str = "oper, operate_time";

pub fn operation(r: &impl Columns) -> StoreResult<Operation> {
    Ok(Operation {
        oper: r.text(0)?,
        operate_time: r.time(1)?,
    })
}

pub const FILE_TRANSFER_COLUMNS: &str = "operate_type, file_name, from_path, to_path, \
    file_size_bytes, duration_ms, oper_result, operate_time, sha256";

/// Inserts one file transfer: `$1` the session, then [`FILE_TRANSFER_COLUMNS`] in order.
pub const FILE_TRANSFER_INSERT: &str = "INSERT INTO session_file_transfers (session_id, \
    operate_type, file_name, from_path, to_path, file_size_bytes, duration_ms, oper_result, \
    operate_time, sha256) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

pub fn file_transfer(r: &impl Columns) -> StoreResult<FileTransfer> {
    Ok(FileTransfer {
        operate_type: r.text(0)?,
        file_name: r.text(1)?,
        from_path: r.text(2)?,
        to_path: r.text(3)?,
        file_size_bytes: r.int(4)?,
        duration_ms: r.int(5)?,
        oper_result: r.text(6)?,
        operate_time: r.time(7)?,
        sha256: r.opt_text(8)?,
    })
}

/// A `(status, count)` row of a count by status; `None` for a status this version does
/// not know.
pub fn status_count(r: &impl Columns) -> StoreResult<Option<(Status, u64)>> {
    let n = u64::try_from(r.int(1)?).unwrap_or(0);
    Ok(Status::from_code(r.int(0)?).map(|status| (status, n)))
}

/// Every authorization's stored status, in one scan (for `audit verify`).
pub const AUTHORIZATION_STATUSES: &str = "SELECT id, status FROM authorizations ORDER BY id";

pub fn authorization_status(r: &impl Columns) -> StoreResult<(AuthorizationId, Status)> {
    Ok((AuthorizationId(r.int(0)?), r.status(1)?))
}

pub const AUDIT_EVENT_COLUMNS: &str = "domain_id, seq, at, authorization_id, actor_id, \
    actor_name, kind, from_status, to_status, reason, note, prev_hash, hash";

pub fn audit_event(r: &impl Columns) -> StoreResult<AuditEvent> {
    let status = |v: Option<i64>| v.and_then(Status::from_code);
    Ok(AuditEvent {
        seq: r.int(1)?,
        at: r.time(2)?,
        draft: AuditDraft {
            domain_id: r.text(0)?,
            authorization_id: r.opt_int(3)?.map(AuthorizationId),
            actor_id: r.text(4)?,
            actor_name: r.text(5)?,
            kind: r.text(6)?,
            from_status: status(r.opt_int(7)?),
            to_status: status(r.opt_int(8)?),
            reason: r.opt_text(9)?,
            note: r.text(10)?,
        },
        prev_hash: hash(r.bytes(11)?),
        hash: hash(r.bytes(12)?),
    })
}

/// A stored hash; a wrong length reads as all ones, which no chain verifies with.
pub fn hash(bytes: Vec<u8>) -> [u8; 32] {
    bytes.try_into().unwrap_or([0xff; 32])
}

/// The chains from events ordered by domain then sequence, and the heads
/// (`domain_id, seq, hash`) recorded apart.
pub fn chains(
    events: impl IntoIterator<Item = AuditEvent>,
    heads: impl IntoIterator<Item = (String, i64, [u8; 32])>,
) -> Vec<AuditChain> {
    let mut chains: Vec<AuditChain> = Vec::new();
    for event in events {
        match chains.last_mut() {
            Some(c) if c.domain_id == event.draft.domain_id => c.events.push(event),
            _ => chains.push(AuditChain {
                domain_id: event.draft.domain_id.clone(),
                events: vec![event],
                head: None,
            }),
        }
    }
    for (domain_id, seq, hash) in heads {
        match chains.iter_mut().find(|c| c.domain_id == domain_id) {
            Some(c) => c.head = Some((seq, hash)),
            None => chains.push(AuditChain {
                domain_id,
                events: vec![],
                head: Some((seq, hash)),
            }),
        }
    }
    chains
}

/// A webhook subscription's columns, aliased `w`.
pub const WEBHOOK_COLUMNS: &str = "w.id, w.owner, w.url, w.events, w.secret_ciphertext, \
    w.previous_secret_ciphertext, w.previous_secret_until, w.enabled, w.created_at";

/// A webhook subscription from a row of [`WEBHOOK_COLUMNS`]; events are stored
/// space-separated.
pub fn webhook(r: &impl Columns) -> StoreResult<WebhookRecord> {
    Ok(WebhookRecord {
        id: r.text(0)?,
        owner: r.text(1)?,
        url: r.text(2)?,
        events: r.text(3)?.split_whitespace().map(str::to_owned).collect(),
        secret_sealed: r.bytes(4)?,
        previous_secret_sealed: r.opt_bytes(5)?,
        previous_secret_until: r.opt_time(6)?,
        enabled: r.flag(7)?,
        created_at: r.time(8)?,
    })
}

/// Due reminders with their authorizations, oldest first: `$1` now, `$2` how many.
pub const DUE_REMINDERS: &str = "SELECT r.authorization_id, r.kind, r.status, a.customer_id, \
    a.status FROM reminders r JOIN authorizations a ON a.id = r.authorization_id \
    WHERE r.sent_at IS NULL AND r.due_at <= $1 ORDER BY r.due_at, r.authorization_id LIMIT $2";

/// A row of [`DUE_REMINDERS`].
pub fn due_reminder(r: &impl Columns) -> StoreResult<DueReminder> {
    Ok(DueReminder {
        authorization_id: AuthorizationId(r.int(0)?),
        kind: r.text(1)?,
        status: r.status(2)?,
        customer_id: r.text(3)?,
        now_in: r.status(4)?,
    })
}

/// Schedules a reminder once (a second schedule of the same kind is ignored).
pub const INSERT_REMINDER: &str = "INSERT INTO reminders (authorization_id, kind, status, \
    due_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";

/// The authorizations that reminders can still be due for, as [`row_reminders`] reads
/// them: the pending and the authorized.
pub const REMINDABLE_AUTHORIZATIONS: &str = "SELECT id, status, created_at, pending_deadline, \
    effective_at, expire_at FROM authorizations WHERE status IN (0, 1)";

/// The reminders of a row of [`REMINDABLE_AUTHORIZATIONS`], as its raise or confirm
/// schedules them: for authorizations from before reminders were scheduled.
pub fn row_reminders(r: &impl Columns) -> StoreResult<Vec<Reminder>> {
    let id = AuthorizationId(r.int(0)?);
    Ok(match (r.status(1)?, r.opt_time(4)?, r.opt_time(5)?) {
        (Status::Pending, _, _) => reminder::for_pending(id, r.time(2)?, r.time(3)?),
        (Status::Authorized, Some(effective_at), Some(expire_at)) => {
            vec![reminder::for_window(id, effective_at, expire_at)]
        }
        _ => Vec::new(),
    })
}

/// The values of [`INSERT_REMINDER`].
pub fn reminder_values(r: &Reminder) -> (i64, &'static str, i64, i64) {
    (
        r.authorization_id.0,
        r.kind.name(),
        i64::from(r.status.code()),
        r.due_at.as_millisecond(),
    )
}

/// Marks a reminder sent, unless it was already: `$1` now, `$2` authorization, `$3` kind.
pub const MARK_REMINDER_SENT: &str = "UPDATE reminders SET sent_at = $1 \
    WHERE authorization_id = $2 AND kind = $3 AND sent_at IS NULL";

/// Drops an unsent reminder whose authorization moved on: `$1` authorization, `$2` kind.
pub const DROP_REMINDER: &str =
    "DELETE FROM reminders WHERE authorization_id = $1 AND kind = $2 AND sent_at IS NULL";

pub const EMAIL_JOB_COLUMNS: &str = "e.event_id, e.user_id, e.address, e.language, e.attempts";

/// Undelivered e-mail that is due: `$1` now, `$2` how many.
pub fn due_emails_query() -> String {
    format!(
        "SELECT {EMAIL_JOB_COLUMNS} FROM email_deliveries e WHERE e.state = 0 \
         AND e.next_attempt_at <= $1 ORDER BY e.next_attempt_at, e.event_id LIMIT $2"
    )
}

/// An e-mail delivery from a row of [`EMAIL_JOB_COLUMNS`] (its event read separately):
/// (event id, recipient, attempts so far).
pub fn email_job(r: &impl Columns) -> StoreResult<(i64, EmailRecipient, u32)> {
    Ok((
        r.int(0)?,
        EmailRecipient {
            user_id: r.text(1)?,
            address: r.text(2)?,
            language: Language::from_setting(&r.text(3)?).unwrap_or_default(),
        },
        r.int(4)? as u32,
    ))
}

/// Records an e-mail's outcome: `$1` state, `$2` next attempt, `$3` error, `$4` now,
/// `$5` event, `$6` recipient.
pub const FINISH_EMAIL: &str = "UPDATE email_deliveries SET state = $1, attempts = attempts + 1, \
    next_attempt_at = $2, last_error = $3, updated_at = $4 WHERE event_id = $5 AND user_id = $6";

/// Leases an e-mail delivery: `$1` lease end, `$2` event, `$3` recipient.
pub const LEASE_EMAIL: &str =
    "UPDATE email_deliveries SET next_attempt_at = $1 WHERE event_id = $2 AND user_id = $3";

/// Addresses an event once: `$1` now, `$2` the event. Zero rows: addressed already.
pub const MARK_EMAILED: &str =
    "UPDATE outbox_events SET emailed_at = $1 WHERE id = $2 AND emailed_at IS NULL";

/// One recipient of an addressed event: `$1` event, `$2` user, `$3` address,
/// `$4` language, `$5` now.
pub const INSERT_EMAIL: &str = "INSERT INTO email_deliveries (event_id, user_id, address, \
    language, state, attempts, next_attempt_at, updated_at) VALUES ($1, $2, $3, $4, 0, 0, $5, $5) \
    ON CONFLICT DO NOTHING";

/// Events the e-mail channel has not addressed yet, oldest first: `$1` how many.
pub const UNEMAILED: &str =
    "SELECT id FROM outbox_events WHERE emailed_at IS NULL ORDER BY id LIMIT $1";

/// Pruning, in bounded batches (`$1` the cutoff, `$2` the batch): finished deliveries
/// older than the cutoff, then events older than it that nothing waits on any more.
/// The prunes in the order they run (deliveries before the events they point to).
pub const PRUNE: [&str; 4] = [
    PRUNE_WEBHOOK_DELIVERIES,
    PRUNE_EMAIL_DELIVERIES,
    PRUNE_OUTBOX,
    PRUNE_REMINDERS,
];
const PRUNE_WEBHOOK_DELIVERIES: &str = "DELETE FROM webhook_deliveries WHERE \
    (subscription_id, event_id) IN (SELECT subscription_id, event_id FROM webhook_deliveries \
    WHERE state <> 0 AND updated_at < $1 LIMIT $2)";
const PRUNE_EMAIL_DELIVERIES: &str = "DELETE FROM email_deliveries WHERE \
    (event_id, user_id) IN (SELECT event_id, user_id FROM email_deliveries \
    WHERE state <> 0 AND updated_at < $1 LIMIT $2)";
const PRUNE_OUTBOX: &str = "DELETE FROM outbox_events WHERE id IN (SELECT o.id FROM \
    outbox_events o WHERE o.created_at < $1 AND o.dispatched_at IS NOT NULL \
    AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = o.id) \
    AND NOT EXISTS (SELECT 1 FROM email_deliveries e WHERE e.event_id = o.id) \
    ORDER BY o.id LIMIT $2)";
const PRUNE_REMINDERS: &str = "DELETE FROM reminders WHERE (authorization_id, kind) IN \
    (SELECT authorization_id, kind FROM reminders WHERE sent_at < $1 LIMIT $2)";

/// A language as stored: `en-us` or `zh-cn`.
pub fn language_tag(l: Language) -> &'static str {
    l.pick("en-us", "zh-cn")
}

/// A delivery outcome as stored: (state, next attempt or when it ended).
pub fn delivery_state(outcome: &DeliveryOutcome, now: Timestamp) -> (i64, Timestamp) {
    match outcome {
        DeliveryOutcome::Delivered => (1, now),
        DeliveryOutcome::RetryAt(at) => (0, *at),
        DeliveryOutcome::Dead => (2, now),
    }
}

/// Disables an enabled subscription: `$1` its id. Zero rows: disabled already.
pub const DISABLE_WEBHOOK: &str =
    "UPDATE webhook_subscriptions SET enabled = FALSE WHERE id = $1 AND enabled";

/// Dead-letters a subscription's undelivered deliveries: `$1` now, `$2` its id.
pub const DEAD_LETTER_UNDELIVERED: &str = "UPDATE webhook_deliveries SET state = 2, \
    updated_at = $1, last_error = 'subscription disabled' WHERE subscription_id = $2 AND state = 0";

/// After an attempt: a success clears the subscription's failing streak, a failure
/// starts it if none runs. `$1` failed, `$2` now, `$3` its id. Returns `failing_since`.
pub const RECORD_FAILING: &str = "UPDATE webhook_subscriptions SET failing_since = \
    CASE WHEN $1 THEN COALESCE(failing_since, $2) ELSE NULL END WHERE id = $3 \
    RETURNING failing_since";
/// `Idempotency-Key` claims, `$1` the principal and `$2` the key throughout. A use that
/// expired, or a claim that never finished and went stale, is deleted before claiming.
pub const IDEMPOTENCY_FORGET_DEAD: &str = "DELETE FROM idempotency_keys \
    WHERE principal = $1 AND idem_key = $2 AND (expires_at <= $3 OR (status IS NULL AND claimed_at <= $4))";
/// The claim itself: the primary key lets exactly one of two concurrent claims insert.
pub const IDEMPOTENCY_CLAIM: &str = "INSERT INTO idempotency_keys \
    (principal, idem_key, fingerprint, claimed_at, expires_at) VALUES ($1, $2, $3, $4, $5) \
    ON CONFLICT DO NOTHING";
pub const IDEMPOTENCY_READ: &str =
    "SELECT fingerprint, status, body FROM idempotency_keys WHERE principal = $1 AND idem_key = $2";
pub const IDEMPOTENCY_FINISH: &str = "UPDATE idempotency_keys SET status = $1, body = $2 \
    WHERE principal = $3 AND idem_key = $4 AND status IS NULL";
pub const IDEMPOTENCY_RELEASE: &str =
    "DELETE FROM idempotency_keys WHERE principal = $1 AND idem_key = $2 AND status IS NULL";
pub const IDEMPOTENCY_PRUNE: &str = "DELETE FROM idempotency_keys WHERE expires_at <= $1";

/// A key's use from a row of [`IDEMPOTENCY_READ`].
pub fn key_use(r: &impl Columns) -> StoreResult<KeyUse> {
    let answer = match (r.opt_int(1)?, r.opt_bytes(2)?) {
        (Some(status), Some(body)) => Some((status as u16, body)),
        _ => None,
    };
    Ok(KeyUse {
        fingerprint: r.bytes(0)?,
        answer,
    })
}
