//! `Idempotency-Key` on the provider's writes: claim the key before the write, keep the
//! first successful answer for a day, answer a retry with it.

use std::time::Duration;

use crate::domain::idempotency::{KEPT_FOR, Repeat, STALE_CLAIM, check_key};
use crate::store::IdempotencyClaim;

use super::{App, ServiceError, ServiceResult};

/// How long a request waits for a first request with the same key to finish.
const WAIT_FOR_FIRST: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(25);

/// What a request carrying a key does.
#[derive(Debug)]
pub enum KeyedStart {
    /// It holds the key: run, then `finish_idempotent` or `release_idempotent`.
    Run,
    /// The first answer to the same request (status and body), to be sent again.
    Replay(u16, Vec<u8>),
}

impl App {
    /// Claims `key` for the caller `principal`'s request `fingerprint`. While a first
    /// request with the key runs, waits for its answer (so two concurrent identical
    /// requests write once); the key used with another request is refused.
    pub async fn claim_idempotent(
        &self,
        principal: &str,
        key: &str,
        fingerprint: Vec<u8>,
    ) -> ServiceResult<KeyedStart> {
        check_key(key)?;
        let give_up = tokio::time::Instant::now() + WAIT_FOR_FIRST;
        loop {
            let now = self.clock.now();
            let claim = IdempotencyClaim {
                principal: principal.to_owned(),
                key: key.to_owned(),
                fingerprint: fingerprint.clone(),
                now,
                expires_at: now + KEPT_FOR,
                stale_before: now - STALE_CLAIM,
            };
            let Some(used) = self.store.claim_idempotency_key(claim).await? else {
                return Ok(KeyedStart::Run);
            };
            match used.answer_to(&fingerprint) {
                Repeat::Replay(status, body) => return Ok(KeyedStart::Replay(status, body)),
                Repeat::Mismatch => return Err(ServiceError::IdempotencyKeyReused),
                Repeat::InProgress if tokio::time::Instant::now() < give_up => {
                    tokio::time::sleep(POLL).await;
                }
                Repeat::InProgress => {
                    return Err(ServiceError::SessionConflict(
                        "a request with this Idempotency-Key is still running",
                    ));
                }
            }
        }
    }

    /// Keeps the successful answer to the request that claimed `key`.
    pub async fn finish_idempotent(
        &self,
        principal: &str,
        key: &str,
        status: u16,
        body: Vec<u8>,
    ) -> ServiceResult<()> {
        Ok(self
            .store
            .finish_idempotency_key(principal, key, status, body)
            .await?)
    }

    /// Frees `key` after its request failed (and so wrote nothing): a corrected retry
    /// may use it.
    pub async fn release_idempotent(&self, principal: &str, key: &str) -> ServiceResult<()> {
        Ok(self.store.release_idempotency_key(principal, key).await?)
    }

    /// Forgets the keys kept past their day (the sweeper's).
    pub async fn forget_idempotency_keys(&self) -> ServiceResult<u64> {
        Ok(self.store.prune_idempotency_keys(self.clock.now()).await?)
    }
}
