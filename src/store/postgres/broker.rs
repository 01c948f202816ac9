//! The SSH broker's rows: engineers' keys, the broker host key, detail logins.

use deadpool_postgres::GenericClient;
use jiff::Timestamp;
use tokio_postgres::Row;

use super::{PgResult, from_ms};
use crate::domain::DetailId;
use crate::store::{SealedHostLogin, SshKeyRecord, StoreResult, found};

const COLUMNS: &str = "fingerprint, user_id, algorithm, public_key, comment, created_at";

fn key_from_row(r: &Row) -> PgResult<SshKeyRecord> {
    Ok(SshKeyRecord {
        fingerprint: r.try_get(0)?,
        user_id: r.try_get(1)?,
        algorithm: r.try_get(2)?,
        public_key: r.try_get(3)?,
        comment: r.try_get(4)?,
        created_at: from_ms(r.try_get(5)?),
    })
}

pub async fn insert_key(c: &impl GenericClient, k: &SshKeyRecord) -> StoreResult<()> {
    c.execute(
        &format!("INSERT INTO engineer_ssh_keys ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"),
        &[
            &k.fingerprint,
            &k.user_id,
            &k.algorithm,
            &k.public_key,
            &k.comment,
            &k.created_at.as_millisecond(),
        ],
    )
    .await?;
    Ok(())
}

pub async fn list_keys(c: &impl GenericClient, user_id: &str) -> StoreResult<Vec<SshKeyRecord>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM engineer_ssh_keys WHERE user_id = $1 ORDER BY created_at, fingerprint"
    );
    Ok(c.query(&sql, &[&user_id])
        .await?
        .iter()
        .map(key_from_row)
        .collect::<PgResult<_>>()?)
}

pub async fn key_by_fingerprint(
    c: &impl GenericClient,
    fingerprint: &str,
) -> StoreResult<Option<SshKeyRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM engineer_ssh_keys WHERE fingerprint = $1");
    let stmt = c.prepare_cached(&sql).await?;
    Ok(c.query_opt(&stmt, &[&fingerprint])
        .await?
        .as_ref()
        .map(key_from_row)
        .transpose()?)
}

pub async fn delete_key(
    c: &impl GenericClient,
    user_id: &str,
    fingerprint: &str,
) -> StoreResult<()> {
    let n = c
        .execute(
            "DELETE FROM engineer_ssh_keys WHERE user_id = $1 AND fingerprint = $2",
            &[&user_id, &fingerprint],
        )
        .await?;
    found(n)
}

/// `Duplicate` if there is a host key already (another instance made one first).
pub async fn insert_host_key(
    c: &impl GenericClient,
    sealed: &[u8],
    now: Timestamp,
) -> StoreResult<()> {
    c.execute(
        "INSERT INTO broker_host_key (id, sealed_key, created_at) VALUES (1, $1, $2)",
        &[&sealed, &now.as_millisecond()],
    )
    .await?;
    Ok(())
}

pub async fn host_key(c: &impl GenericClient) -> StoreResult<Option<Vec<u8>>> {
    Ok(
        c.query_opt("SELECT sealed_key FROM broker_host_key WHERE id = 1", &[])
            .await?
            .map(|r| r.try_get(0))
            .transpose()?,
    )
}

pub async fn host_login(
    c: &impl GenericClient,
    detail: DetailId,
) -> StoreResult<Option<SealedHostLogin>> {
    let row = c
        .query_opt(
            "SELECT account, granted_port, password_ciphertext FROM authorization_details \
             WHERE id = $1",
            &[&detail.0],
        )
        .await?;
    let Some(r) = row else { return Ok(None) };
    let port: Option<i64> = r.try_get(1)?;
    Ok(Some(SealedHostLogin {
        detail_id: detail,
        account: r.try_get(0)?,
        port: port.and_then(|p| u16::try_from(p).ok()),
        password_ciphertext: r.try_get(2)?,
    }))
}
