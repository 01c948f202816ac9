//! The background sweeper: pending requests past their TTL and authorized windows
//! past their end become `expired`.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::{App, ServiceResult};

/// Rows expired per transaction, so one sweep never holds the writer for long.
const SWEEP_BATCH: u32 = 500;

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
}

/// Sweeps every `interval` until `shutdown` turns true.
pub fn spawn(
    app: Arc<App>,
    interval: Duration,
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
            match app.forget_idempotency_keys().await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(forgotten = n, "idempotency keys pruned"),
                Err(e) => tracing::warn!(error = %e, "idempotency key pruning failed; will retry"),
            }
        }
    })
}
