//! Host checks: finding a detail's authorization, pinning and unpinning host keys.

use deadpool_postgres::{GenericClient, Transaction};

use super::query::Query;
use super::{audit, authorizations};
use crate::domain::{Authorization, AuthorizationId, DetailId, Scope};
use crate::store::{HostCheckRecord, HostKeyReset, StoreError, StoreResult};

pub async fn authorization_by_detail(
    c: &impl GenericClient,
    scope: &Scope,
    detail: DetailId,
) -> StoreResult<Option<Authorization>> {
    let stmt = c
        .prepare_cached("SELECT authorization_id FROM authorization_details WHERE id = $1")
        .await?;
    match c.query_opt(&stmt, &[&detail.0]).await? {
        Some(row) => authorizations::get(c, scope, AuthorizationId(row.try_get(0)?)).await,
        None => Ok(None),
    }
}

pub async fn record_check(tx: &Transaction<'_>, record: HostCheckRecord) -> StoreResult<()> {
    if let Some(fingerprint) = &record.pin {
        // A concurrent first check may have pinned already; the earlier pin stands.
        let stmt = tx
            .prepare_cached(
                "UPDATE authorization_details SET host_key_fingerprint = $1 \
                 WHERE id = $2 AND host_key_fingerprint IS NULL",
            )
            .await?;
        tx.execute(&stmt, &[fingerprint, &record.detail_id.0])
            .await?;
    }
    audit::append(tx, record.event, record.now).await
}

pub async fn reset(tx: &Transaction<'_>, reset: &HostKeyReset) -> StoreResult<()> {
    let mut q = Query::default();
    let sql = format!(
        "SELECT a.customer_id, d.host_key_fingerprint FROM authorizations a \
         JOIN authorization_details d ON d.authorization_id = a.id AND d.id = {} \
         WHERE a.id = {} AND {} FOR UPDATE OF d",
        q.bind(reset.detail.0),
        q.bind(reset.id.0),
        q.scope(&reset.scope)
    );
    let stmt = tx.prepare_cached(&sql).await?;
    let row = tx
        .query_opt(&stmt, &q.params())
        .await?
        .ok_or(StoreError::NotFound)?;
    let (domain_id, previous): (String, Option<String>) = (row.try_get(0)?, row.try_get(1)?);
    let stmt = tx
        .prepare_cached(
            "UPDATE authorization_details SET host_key_fingerprint = NULL WHERE id = $1",
        )
        .await?;
    tx.execute(&stmt, &[&reset.detail.0]).await?;
    let event = reset.event(&domain_id, previous.as_deref());
    audit::append(tx, event, reset.now).await
}
