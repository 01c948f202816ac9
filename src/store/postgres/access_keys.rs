//! Access keys.

use deadpool_postgres::GenericClient;
use jiff::Timestamp;
use tokio_postgres::Row;

use super::{PgResult, from_ms, opt_from_ms};
use crate::store::rows::{self, USER_COLUMNS, USER_WIDTH};
use crate::store::{AccessKeyRecord, KeyOwner, StoreResult, found};

const COLUMNS: &str = "k.access_key, k.user_id, k.secret_ciphertext, k.enabled, k.created_at, \
    k.expires_at, k.security_token_hash";

fn key_from_row(r: &Row) -> PgResult<AccessKeyRecord> {
    let token_hash: Option<Vec<u8>> = r.try_get(6)?;
    Ok(AccessKeyRecord {
        access_key: r.try_get(0)?,
        user_id: r.try_get(1)?,
        secret_ciphertext: r.try_get(2)?,
        enabled: r.try_get(3)?,
        created_at: from_ms(r.try_get(4)?),
        expires_at: opt_from_ms(r.try_get(5)?),
        security_token_hash: token_hash.and_then(|h| h.try_into().ok()),
    })
}

pub async fn insert(c: &impl GenericClient, k: &AccessKeyRecord) -> StoreResult<()> {
    let stmt = c
        .prepare_cached(
            "INSERT INTO access_keys (access_key, user_id, secret_ciphertext, enabled, created_at, \
             expires_at, security_token_hash) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .await?;
    c.execute(
        &stmt,
        &[
            &k.access_key,
            &k.user_id,
            &k.secret_ciphertext,
            &k.enabled,
            &k.created_at.as_millisecond(),
            &k.expires_at.map(jiff::Timestamp::as_millisecond),
            &k.security_token_hash.as_ref().map(|h| &h[..]),
        ],
    )
    .await?;
    Ok(())
}

pub async fn owner(c: &impl GenericClient, access_key: &str) -> StoreResult<Option<KeyOwner>> {
    let sql = format!(
        "SELECT {COLUMNS}, {USER_COLUMNS}, d.id, d.name, d.is_provider, d.created_at \
         FROM access_keys k JOIN users u ON u.id = k.user_id JOIN domains d ON d.id = u.domain_id \
         WHERE k.access_key = $1"
    );
    let stmt = c.prepare_cached(&sql).await?;
    let Some(r) = c.query_opt(&stmt, &[&access_key]).await? else {
        return Ok(None);
    };
    Ok(Some(KeyOwner {
        key: key_from_row(&r)?,
        user: rows::user(&r, 7)?,
        domain: rows::domain(&r, 7 + USER_WIDTH)?,
    }))
}

pub async fn list(c: &impl GenericClient, user_id: &str) -> StoreResult<Vec<AccessKeyRecord>> {
    let sql =
        format!("SELECT {COLUMNS} FROM access_keys k WHERE k.user_id = $1 ORDER BY k.created_at");
    let stmt = c.prepare_cached(&sql).await?;
    Ok(c.query(&stmt, &[&user_id])
        .await?
        .iter()
        .map(key_from_row)
        .collect::<PgResult<_>>()?)
}

pub async fn set_enabled(
    c: &impl GenericClient,
    access_key: &str,
    enabled: bool,
) -> StoreResult<()> {
    let n = c
        .execute(
            "UPDATE access_keys SET enabled = $1 WHERE access_key = $2",
            &[&enabled, &access_key],
        )
        .await?;
    found(n)
}

pub async fn delete(c: &impl GenericClient, access_key: &str) -> StoreResult<()> {
    let n = c
        .execute(
            "DELETE FROM access_keys WHERE access_key = $1",
            &[&access_key],
        )
        .await?;
    found(n)
}

/// One statement: the insert decides, across instances, which use was first.
pub async fn use_signature(
    c: &impl GenericClient,
    signature: &str,
    expires_at: Timestamp,
    now: Timestamp,
) -> StoreResult<bool> {
    let inserted: i64 = c
        .query_one(
            "WITH forgotten AS (DELETE FROM used_signatures WHERE expires_at <= $3), \
             first AS (INSERT INTO used_signatures (signature, expires_at) VALUES ($1, $2) \
                 ON CONFLICT DO NOTHING RETURNING 1) \
             SELECT count(*) FROM first",
            &[
                &signature,
                &expires_at.as_millisecond(),
                &now.as_millisecond(),
            ],
        )
        .await?
        .get(0);
    Ok(inserted == 1)
}
