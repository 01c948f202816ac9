//! Host checks: finding a detail's authorization, pinning and unpinning host keys.

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use super::{audit, authorizations, scope};
use crate::domain::{Authorization, AuthorizationId, DetailId, Scope};
use crate::store::{HostCheckRecord, HostKeyReset, StoreError, StoreResult};

pub fn authorization_by_detail(
    conn: &Connection,
    scope: &Scope,
    detail: DetailId,
) -> StoreResult<Option<Authorization>> {
    let owner: Option<i64> = conn
        .prepare_cached("SELECT authorization_id FROM authorization_details WHERE id = ?")?
        .query_row([detail.0], |r| r.get(0))
        .optional()?;
    match owner {
        Some(id) => authorizations::get(conn, scope, AuthorizationId(id)),
        None => Ok(None),
    }
}

pub fn record_check(conn: &Connection, record: HostCheckRecord) -> StoreResult<()> {
    if let Some(fingerprint) = &record.pin {
        // A concurrent first check may have pinned already; the earlier pin stands.
        conn.prepare_cached(
            "UPDATE authorization_details SET host_key_fingerprint = ? \
             WHERE id = ? AND host_key_fingerprint IS NULL",
        )?
        .execute(params![fingerprint, record.detail_id.0])?;
    }
    audit::append(conn, record.event, record.now)
}

pub fn reset(conn: &Connection, reset: &HostKeyReset) -> StoreResult<()> {
    let (sql, mut args) = scope::condition(&reset.scope);
    args.splice(
        0..0,
        [Value::Integer(reset.detail.0), Value::Integer(reset.id.0)],
    );
    let (domain_id, previous): (String, Option<String>) = conn
        .prepare_cached(&format!(
            "SELECT a.customer_id, d.host_key_fingerprint FROM authorizations a \
             JOIN authorization_details d ON d.authorization_id = a.id AND d.id = ? \
             WHERE a.id = ? AND {sql}"
        ))?
        .query_row(params_from_iter(args.iter()), |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?
        .ok_or(StoreError::NotFound)?;
    conn.prepare_cached(
        "UPDATE authorization_details SET host_key_fingerprint = NULL WHERE id = ?",
    )?
    .execute([reset.detail.0])?;
    let event = reset.event(&domain_id, previous.as_deref());
    audit::append(conn, event, reset.now)
}
