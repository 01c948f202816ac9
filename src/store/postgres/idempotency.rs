//! `Idempotency-Key` claims. The claim's insert decides, across instances, which of two
//! concurrent requests with one key runs; the other reads what holds the key.

use deadpool_postgres::GenericClient;

use crate::domain::idempotency::KeyUse;
use crate::store::rows::{self, *};
use crate::store::{IdempotencyClaim, StoreError, StoreResult};

pub async fn claim(
    c: &impl GenericClient,
    claim: &IdempotencyClaim,
) -> StoreResult<Option<KeyUse>> {
    let now = claim.now.as_millisecond();
    // The use that held the key may be released between our insert and our read; then
    // the key is free again and claimed anew.
    for _ in 0..3 {
        c.execute(
            IDEMPOTENCY_FORGET_DEAD,
            &[
                &claim.principal,
                &claim.key,
                &now,
                &claim.stale_before.as_millisecond(),
            ],
        )
        .await?;
        let claimed = c
            .execute(
                IDEMPOTENCY_CLAIM,
                &[
                    &claim.principal,
                    &claim.key,
                    &claim.fingerprint,
                    &now,
                    &claim.expires_at.as_millisecond(),
                ],
            )
            .await?;
        if claimed == 1 {
            return Ok(None);
        }
        // Read committed: this statement sees the claim that won, once it committed.
        if let Some(row) = c
            .query_opt(IDEMPOTENCY_READ, &[&claim.principal, &claim.key])
            .await?
        {
            return Ok(Some(rows::key_use(&row)?));
        }
    }
    Err(StoreError::Unavailable(
        "an idempotency key kept changing hands".into(),
    ))
}

pub async fn finish(
    c: &impl GenericClient,
    principal: &str,
    key: &str,
    status: u16,
    body: &[u8],
) -> StoreResult<()> {
    c.execute(
        IDEMPOTENCY_FINISH,
        &[&i64::from(status), &body, &principal, &key],
    )
    .await?;
    Ok(())
}

pub async fn release(c: &impl GenericClient, principal: &str, key: &str) -> StoreResult<()> {
    c.execute(IDEMPOTENCY_RELEASE, &[&principal, &key]).await?;
    Ok(())
}

pub async fn prune(c: &impl GenericClient, now: jiff::Timestamp) -> StoreResult<u64> {
    Ok(c.execute(IDEMPOTENCY_PRUNE, &[&now.as_millisecond()])
        .await?)
}
