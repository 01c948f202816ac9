//! The SSH broker's rows: engineers' keys, the broker host key, detail logins.

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::from_ms;
use crate::domain::DetailId;
use crate::store::{SealedHostLogin, SshKeyRecord, StoreResult, found};

const COLUMNS: &str = "fingerprint, user_id, algorithm, public_key, comment, created_at";

fn key_from_row(r: &Row) -> rusqlite::Result<SshKeyRecord> {
    Ok(SshKeyRecord {
        fingerprint: r.get(0)?,
        user_id: r.get(1)?,
        algorithm: r.get(2)?,
        public_key: r.get(3)?,
        comment: r.get(4)?,
        created_at: from_ms(r.get(5)?),
    })
}

pub fn insert_key(conn: &Connection, k: &SshKeyRecord) -> StoreResult<()> {
    conn.prepare_cached(&format!(
        "INSERT INTO engineer_ssh_keys ({COLUMNS}) VALUES (?,?,?,?,?,?)"
    ))?
    .execute(params![
        k.fingerprint,
        k.user_id,
        k.algorithm,
        k.public_key,
        k.comment,
        k.created_at.as_millisecond()
    ])?;
    Ok(())
}

pub fn list_keys(conn: &Connection, user_id: &str) -> StoreResult<Vec<SshKeyRecord>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM engineer_ssh_keys WHERE user_id = ? ORDER BY created_at, fingerprint"
        ))?
        .query_map([user_id], key_from_row)?
        .collect::<rusqlite::Result<_>>()?)
}

pub fn key_by_fingerprint(
    conn: &Connection,
    fingerprint: &str,
) -> StoreResult<Option<SshKeyRecord>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM engineer_ssh_keys WHERE fingerprint = ?"
        ))?
        .query_row([fingerprint], key_from_row)
        .optional()?)
}

pub fn delete_key(conn: &Connection, user_id: &str, fingerprint: &str) -> StoreResult<()> {
    let n = conn
        .prepare_cached("DELETE FROM engineer_ssh_keys WHERE user_id = ? AND fingerprint = ?")?
        .execute([user_id, fingerprint])?;
    found(n as u64)
}

/// `Duplicate` if there is a host key already (another instance made one first).
pub fn insert_host_key(conn: &Connection, sealed: &[u8], now: Timestamp) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO broker_host_key (id, sealed_key, created_at) VALUES (1, ?, ?)",
    )?
    .execute(params![sealed, now.as_millisecond()])?;
    Ok(())
}

pub fn host_key(conn: &Connection) -> StoreResult<Option<Vec<u8>>> {
    Ok(conn
        .prepare_cached("SELECT sealed_key FROM broker_host_key WHERE id = 1")?
        .query_row([], |r| r.get(0))
        .optional()?)
}

pub fn host_login(conn: &Connection, detail: DetailId) -> StoreResult<Option<SealedHostLogin>> {
    Ok(conn
        .prepare_cached(
            "SELECT account, granted_port, password_ciphertext FROM authorization_details WHERE id = ?",
        )?
        .query_row([detail.0], |r| {
            Ok(SealedHostLogin {
                detail_id: detail,
                account: r.get(0)?,
                port: r.get::<_, Option<i64>>(1)?.and_then(|p| u16::try_from(p).ok()),
                password_ciphertext: r.get(2)?,
            })
        })
        .optional()?)
}
