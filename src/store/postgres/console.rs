//! Web console sessions.

use deadpool_postgres::GenericClient;
use jiff::Timestamp;

use crate::store::rows;
use crate::store::{ConsoleSessionHolder, ConsoleSessionRecord, StoreResult};

pub async fn insert(c: &impl GenericClient, s: &ConsoleSessionRecord) -> StoreResult<()> {
    let stmt = c
        .prepare_cached(
            "WITH gone AS (DELETE FROM console_sessions WHERE expires_at <= $3) \
             INSERT INTO console_sessions (hash, user_id, created_at, last_seen_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .await?;
    c.execute(
        &stmt,
        &[
            &&s.hash[..],
            &s.user_id,
            &s.created_at.as_millisecond(),
            &s.last_seen_at.as_millisecond(),
            &s.expires_at.as_millisecond(),
        ],
    )
    .await?;
    Ok(())
}

pub async fn holder(
    c: &impl GenericClient,
    hash: &[u8; 32],
    now: Timestamp,
    idle_since: Timestamp,
) -> StoreResult<Option<ConsoleSessionHolder>> {
    let stmt = c.prepare_cached(&rows::console_session_query()).await?;
    let row = c
        .query_opt(
            &stmt,
            &[
                &&hash[..],
                &now.as_millisecond(),
                &idle_since.as_millisecond(),
            ],
        )
        .await?;
    row.map(|r| rows::console_session_holder(&r)).transpose()
}

pub async fn touch(c: &impl GenericClient, hash: &[u8; 32], now: Timestamp) -> StoreResult<()> {
    let stmt = c
        .prepare_cached("UPDATE console_sessions SET last_seen_at = $1 WHERE hash = $2")
        .await?;
    c.execute(&stmt, &[&now.as_millisecond(), &&hash[..]])
        .await?;
    Ok(())
}

pub async fn delete(c: &impl GenericClient, hash: &[u8; 32]) -> StoreResult<()> {
    let stmt = c
        .prepare_cached("DELETE FROM console_sessions WHERE hash = $1")
        .await?;
    c.execute(&stmt, &[&&hash[..]]).await?;
    Ok(())
}
