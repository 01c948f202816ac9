//! Cutting live sessions whose access ended: a watcher re-checks every live session
//! when this process changed something (cancel, disable), when PostgreSQL notifies a
//! change made through another instance, and on a short poll (the window's end, and a
//! fallback should a notification be lost).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::service::App;

pub async fn watch(app: Arc<App>, interval: Duration, mut stop: watch::Receiver<bool>) {
    let mut elsewhere = app.access_changes();
    loop {
        let notified = async {
            match elsewhere.as_mut() {
                Some(changes) => changes.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = stop.changed() => return,
            _ = app.live_sessions.changed() => {}
            _ = notified => {}
            _ = tokio::time::sleep(interval) => {}
        }
        if *stop.borrow() {
            return;
        }
        recheck(&app).await;
    }
}

async fn recheck(app: &App) {
    for (key, live) in app.live_sessions.snapshot() {
        match app.broker_still_allowed(&live).await {
            Ok(Some(why)) => app.live_sessions.cut(key, &why),
            Ok(None) => {}
            // A database outage does not cut sessions; the next round tries again.
            Err(e) => {
                tracing::warn!(error = %crate::causes::Causes(&e), "broker: cannot re-check a live session");
            }
        }
    }
}

/// A registration in the live-session registry, removed on drop.
pub struct Registered {
    pub app: Arc<App>,
    pub key: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.app.live_sessions.deregister(self.key);
    }
}
