//! Web console sessions.

use jiff::Timestamp;
use rusqlite::{Connection, params};

use super::first;
use crate::store::rows;
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
    let mut stmt = conn.prepare_cached(&rows::console_session_query())?;
    first(
        &mut stmt,
        params![&hash[..], now.as_millisecond(), idle_since.as_millisecond()],
        |r| rows::console_session_holder(r),
    )
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
