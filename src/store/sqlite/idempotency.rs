//! `Idempotency-Key` claims. They run on the writer thread, so forgetting a dead use,
//! claiming and reading what holds the key are one step.

use rusqlite::{Connection, params};

use super::first;
use crate::domain::idempotency::KeyUse;
use crate::store::rows::{self, *};
use crate::store::{IdempotencyClaim, StoreError, StoreResult};

pub fn claim(conn: &Connection, c: &IdempotencyClaim) -> StoreResult<Option<KeyUse>> {
    conn.prepare_cached(IDEMPOTENCY_FORGET_DEAD)?
        .execute(params![
            c.principal,
            c.key,
            c.now.as_millisecond(),
            c.stale_before.as_millisecond()
        ])?;
    let claimed = conn.prepare_cached(IDEMPOTENCY_CLAIM)?.execute(params![
        c.principal,
        c.key,
        c.fingerprint,
        c.now.as_millisecond(),
        c.expires_at.as_millisecond()
    ])?;
    if claimed == 1 {
        return Ok(None);
    }
    let mut read = conn.prepare_cached(IDEMPOTENCY_READ)?;
    first(&mut read, params![c.principal, c.key], |r| rows::key_use(r))?
        .map(Some)
        .ok_or_else(|| StoreError::Internal("an idempotency key vanished while claimed".into()))
}

pub fn finish(
    conn: &Connection,
    principal: &str,
    key: &str,
    status: u16,
    body: &[u8],
) -> StoreResult<()> {
    conn.prepare_cached(IDEMPOTENCY_FINISH)?
        .execute(params![status, body, principal, key])?;
    Ok(())
}

pub fn release(conn: &Connection, principal: &str, key: &str) -> StoreResult<()> {
    conn.prepare_cached(IDEMPOTENCY_RELEASE)?
        .execute(params![principal, key])?;
    Ok(())
}

pub fn prune(conn: &Connection, now: jiff::Timestamp) -> StoreResult<u64> {
    Ok(conn
        .prepare_cached(IDEMPOTENCY_PRUNE)?
        .execute([now.as_millisecond()])? as u64)
}
