//! Rows read the same way from either database: the column lists both dialects accept,
//! and one mapping per record over [`Columns`], which each store implements for its
//! driver's row type.

use jiff::Timestamp;

use crate::domain::audit::{Actor, AuditDraft, AuditEvent};
use crate::domain::idempotency::KeyUse;
use crate::domain::session::{FileTransfer, Operation, Session, SessionSource, flagged_count};
use crate::domain::{
    Authorization, AuthorizationId, Detail, DetailId, DetailType, SessionId, Status,
};
use crate::store::{
    AuditChain, DomainRecord, GroupRecord, Order, SessionRef, StoreError, StoreResult, TokenHolder,
    UserRecord, WebhookRecord,
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
    u.is_engineer, u.is_provider_admin, u.enabled, u.created_at, u.email";

/// How many columns [`USER_COLUMNS`] has.
pub const USER_WIDTH: usize = 10;

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
    })
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
    Closed,
}

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
                "session={session} file_transfers={} control_characters={}",
                items.len(),
                flagged_count(items.iter().flat_map(|t| {
                    [
                        t.file_name.as_str(),
                        t.from_path.as_str(),
                        t.to_path.as_str(),
                    ]
                }))
            ),
        ),
        SessionEvent::Closed => ("session_closed", format!("session={session}")),
    };
    AuditDraft::new(domain, Some(target.authorization_id), actor, kind).note(note)
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
    })
}

/// A detail's sessions, newest first: `$1` the detail, `$2` the limit, `$3` the offset.
/// (Both dialects bind `$n` by position when they appear in order.)
pub const GROUP_COLUMNS: &str = "id, domain_id, name, is_operator, created_at";

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

pub const SESSION_PAGE: &str = "SELECT id, engineer_id, started_at, ended_at, source FROM sessions \
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
    file_size_bytes, duration_ms, oper_result, operate_time";

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
