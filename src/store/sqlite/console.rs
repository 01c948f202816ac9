//! Web console sessions.

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};

use super::from_ms;
use super::identity::{USER_COLUMN_COUNT, USER_COLUMNS, domain_from_row, user_from_row};
use crate::store::{ConsoleSessionHolder, ConsoleSessionRecord, StoreResult};

pub fn insert(conn: &Connection, s: &ConsoleSessionRecord) -> StoreResult<()> {
    conn.prepare_cached("DELETE FROM console_sessions WHERE expires_at <= ?")?
        .execute([s.created_at.as_millisecond()])?;
    conn.prepare_cached(
        "INSERT INTO console_sessions (hash, user_id, created_at, last_seen_at, expires_at) \
         VALUES (?,?,?,?,?)",
    )?
    .execute(params![
        &s.hash[..],
        s.user_id,
        s.created_at.as_millisecond(),
        s.last_seen_at.as_millisecond(),
        s.expires_at.as_millisecond()
    ])?;
    Ok(())
}

pub fn holder(
    conn: &Connection,
    hash: &[u8; 32],
    now: Timestamp,
    idle_since: Timestamp,
) -> StoreResult<Option<ConsoleSessionHolder>> {
    let sql = format!(
        "SELECT {USER_COLUMNS}, d.id, d.name, d.is_provider, d.created_at, s.last_seen_at \
         FROM console_sessions s JOIN users u ON u.id = s.user_id JOIN domains d ON d.id = u.domain_id \
         WHERE s.hash = ? AND s.expires_at > ? AND s.last_seen_at > ? AND u.enabled = 1"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(
            params![&hash[..], now.as_millisecond(), idle_since.as_millisecond()],
            |r| {
                Ok(ConsoleSessionHolder {
                    user: user_from_row(r, 0)?,
                    domain: domain_from_row(r, USER_COLUMN_COUNT)?,
                    last_seen_at: from_ms(r.get(USER_COLUMN_COUNT + 4)?),
                })
            },
        )
        .optional()?)
}

pub fn touch(conn: &Connection, hash: &[u8; 32], now: Timestamp) -> StoreResult<()> {
    conn.prepare_cached("UPDATE console_sessions SET last_seen_at = ? WHERE hash = ?")?
        .execute(params![now.as_millisecond(), &hash[..]])?;
    Ok(())
}

pub fn delete(conn: &Connection, hash: &[u8; 32]) -> StoreResult<()> {
    conn.prepare_cached("DELETE FROM console_sessions WHERE hash = ?")?
        .execute([&hash[..]])?;
    Ok(())
}
