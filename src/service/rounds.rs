//! The loop of a background worker that works in rounds (webhook deliveries, e-mail).

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;

use super::ServiceResult;

/// Runs `round` until `shutdown` turns true: again right away while a round found work
/// (it returns how much), else after `idle`. A failed round is logged and retried after
/// `idle`.
pub async fn run<Fut>(
    what: &str,
    idle: Duration,
    mut shutdown: watch::Receiver<bool>,
    mut round: impl FnMut() -> Fut,
) where
    Fut: Future<Output = ServiceResult<usize>>,
{
    loop {
        let busy = match round().await {
            Ok(n) => n > 0,
            Err(e) => {
                tracing::warn!(error = %crate::causes::Causes(&e), "{what} round failed; will retry");
                false
            }
        };
        if !busy {
            tokio::select! {
                () = tokio::time::sleep(idle) => {}
                _ = shutdown.changed() => return,
            }
        } else if *shutdown.borrow() {
            return;
        }
    }
}
