//! Access keys.

use jiff::Timestamp;
use rusqlite::{Connection, Row, params};

use super::first;
use super::{from_ms, opt_from_ms};
use crate::store::rows::{self, USER_COLUMNS, USER_WIDTH};
use crate::store::{AccessKeyRecord, KeyOwner, StoreResult, found};

const COLUMNS: &str = "k.access_key, k.user_id, k.secret_ciphertext, k.enabled, k.created_at, \
    k.expires_at, k.security_token_hash";

fn key_from_row(r: &Row) -> rusqlite::Result<AccessKeyRecord> {
    let token_hash: Option<Vec<u8>> = r.get(6)?;
    Ok(AccessKeyRecord {
        access_key: r.get(0)?,
        user_id: r.get(1)?,
        secret_ciphertext: r.get(2)?,
        enabled: r.get(3)?,
        created_at: from_ms(r.get(4)?),
        expires_at: opt_from_ms(r.get(5)?),
        security_token_hash: token_hash.and_then(|h| h.try_into().ok()),
    })
}

pub fn insert(conn: &Connection, k: &AccessKeyRecord) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO access_keys (access_key, user_id, secret_ciphertext, enabled, created_at, \
         expires_at, security_token_hash) VALUES (?,?,?,?,?,?,?)",
    )?
    .execute(params![
        k.access_key,
        k.user_id,
        k.secret_ciphertext,
        k.enabled,
        k.created_at.as_millisecond(),
        k.expires_at.map(jiff::Timestamp::as_millisecond),
        k.security_token_hash.as_ref().map(|h| &h[..]),
    ])?;
    Ok(())
}

pub fn owner(conn: &Connection, access_key: &str) -> StoreResult<Option<KeyOwner>> {
    let sql = format!(
        "SELECT {COLUMNS}, {USER_COLUMNS}, d.id, d.name, d.is_provider, d.created_at \
         FROM access_keys k JOIN users u ON u.id = k.user_id JOIN domains d ON d.id = u.domain_id \
         WHERE k.access_key = ?"
    );
    first(&mut *conn.prepare_cached(&sql)?, [access_key], |r| {
        Ok(KeyOwner {
            key: key_from_row(r)?,
            user: rows::user(r, 7)?,
            domain: rows::domain(r, 7 + USER_WIDTH)?,
        })
    })
}

pub fn list(conn: &Connection, user_id: &str) -> StoreResult<Vec<AccessKeyRecord>> {
    let sql =
        format!("SELECT {COLUMNS} FROM access_keys k WHERE k.user_id = ? ORDER BY k.created_at");
    Ok(conn
        .prepare_cached(&sql)?
        .query_map([user_id], key_from_row)?
        .collect::<rusqlite::Result<_>>()?)
}

pub fn set_enabled(conn: &Connection, access_key: &str, enabled: bool) -> StoreResult<()> {
    let n = conn
        .prepare_cached("UPDATE access_keys SET enabled = ? WHERE access_key = ?")?
        .execute(params![enabled, access_key])?;
    found(n as u64)
}

pub fn delete(conn: &Connection, access_key: &str) -> StoreResult<()> {
    let n = conn
        .prepare_cached("DELETE FROM access_keys WHERE access_key = ?")?
        .execute([access_key])?;
    found(n as u64)
}

pub fn use_signature(
    conn: &Connection,
    signature: &str,
    expires_at: Timestamp,
    now: Timestamp,
) -> StoreResult<bool> {
    conn.prepare_cached("DELETE FROM used_signatures WHERE expires_at <= ?")?
        .execute([now.as_millisecond()])?;
    let inserted = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO used_signatures (signature, expires_at) VALUES (?, ?)",
        )?
        .execute(params![signature, expires_at.as_millisecond()])?;
    Ok(inserted == 1)
}
