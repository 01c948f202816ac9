//! The background sweeper: pending requests past their TTL and authorized windows
//! past their end become `expired`; due reminders are sent; terminal recordings and
//! delivered notifications past their retention are dropped.

use std::sync::Arc;
use std::time::Duration;

use jiff::SignedDuration;
use tokio::sync::watch;

use super::{App, ServiceResult};

/// Rows expired per transaction, so one sweep never holds the writer for long.
const SWEEP_BATCH: u32 = 500;
/// Rows pruned per statement, and statements per sweep: pruning catches up over
/// several sweeps rather than holding the writer.
const PRUNE_BATCH: u32 = 1000;
const PRUNE_ROUNDS: u32 = 10;

impl App {
    /// Expires everything due now; returns how many.
    pub async fn sweep_once(&self) -> ServiceResult<u64> {
        let mut total = 0;
        loop {
            let n = self.store.expire_due(self.clock.now(), SWEEP_BATCH).await?;
            total += u64::from(n);
            if n < SWEEP_BATCH {
                return Ok(total);
            }
        }
    }

    /// Sends the reminders due now (each once, whichever instance gets to it first).
    pub async fn remind_once(&self) -> ServiceResult<u64> {
        let mut total = 0;
        loop {
            let n = self
                .store
                .send_due_reminders(self.clock.now(), SWEEP_BATCH)
                .await?;
            total += u64::from(n);
            if n < SWEEP_BATCH {
                return Ok(total);
            }
        }
    }

    /// Deletes delivered notifications older than `retention`, in bounded batches;
    /// returns how many rows.
    pub async fn prune_once(&self, retention: SignedDuration) -> ServiceResult<u64> {
        let before = self.clock.now() - retention;
        let mut total = 0;
        for _ in 0..PRUNE_ROUNDS {
            let n = self.store.prune_notifications(before, PRUNE_BATCH).await?;
            total += n;
            if n == 0 {
                break;
            }
        }
        Ok(total)
    }
}

/// Sweeps every `interval` until `shutdown` turns true.
pub fn spawn(
    app: Arc<App>,
    interval: Duration,
    retention: SignedDuration,
    mut shutdown: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = shutdown.changed() => return,
            }
            let swept = app.sweep_once().await;
            crate::telemetry::sweep(swept.as_ref().map(|n| *n).map_err(|_| ()));
            match swept {
                Ok(0) => {}
                Ok(n) => tracing::info!(expired = n, "expiry sweep"),
                Err(e) => {
                    tracing::warn!(error = %crate::causes::Causes(&e), "expiry sweep failed; will retry");
                }
            }
            match app.remind_once().await {
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "reminders failed; will retry"),
            }
            match app.prune_once(retention).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(rows = n, "notifications pruned"),
                Err(e) => tracing::warn!(error = %e, "pruning failed; will retry"),
            }
            match app.forget_idempotency_keys().await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(forgotten = n, "idempotency keys pruned"),
                Err(e) => tracing::warn!(error = %e, "idempotency key pruning failed; will retry"),
            }
            match app.purge_recordings().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(recordings = n, "recordings past retention dropped"),
                Err(e) => {
                    tracing::warn!(error = %e, "recording retention sweep failed; will retry");
                }
            }
        }
    })
}
