//! Broker sessions running in this process, so that a change that ends an
//! authorization's access (cancel, window end, a disabled engineer) can cut them.
//!
//! Changes made in this process poke the registry at once; the broker's watcher also
//! re-checks every live session on a short poll, which is how changes made by another
//! instance (or the clock) reach it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{Notify, watch};

use crate::domain::{AuthorizationId, DetailId, SessionId};

/// What the watcher needs to re-check a live session.
#[derive(Debug, Clone)]
pub struct LiveSession {
    pub authorization_id: AuthorizationId,
    pub detail_id: DetailId,
    pub engineer_id: String,
    /// Its session record, once opened (a terminate names it).
    pub session_id: Option<SessionId>,
}

struct Entry {
    session: LiveSession,
    cut: watch::Sender<Option<String>>,
}

#[derive(Default)]
pub struct LiveSessions {
    entries: Mutex<HashMap<u64, Entry>>,
    next: AtomicU64,
    changed: Notify,
}

impl LiveSessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Entry>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers a session (returning its key and where its cut will be announced)
    /// unless the engineer or the authorization already has as
    /// many as allowed here.
    pub fn register(
        &self,
        session: LiveSession,
        per_engineer: usize,
        per_authorization: usize,
    ) -> Option<(u64, watch::Receiver<Option<String>>)> {
        let mut entries = self.lock();
        let by_engineer = entries
            .values()
            .filter(|e| e.session.engineer_id == session.engineer_id)
            .count();
        let by_authorization = entries
            .values()
            .filter(|e| e.session.authorization_id == session.authorization_id)
            .count();
        if by_engineer >= per_engineer || by_authorization >= per_authorization {
            return None;
        }
        let key = self.next.fetch_add(1, Ordering::Relaxed);
        let (cut, receiver) = watch::channel(None);
        entries.insert(key, Entry { session, cut });
        Some((key, receiver))
    }

    /// Names the session record of a registered session.
    pub fn attach(&self, key: u64, session: SessionId) {
        if let Some(entry) = self.lock().get_mut(&key) {
            entry.session.session_id = Some(session);
        }
    }

    pub fn deregister(&self, key: u64) {
        self.lock().remove(&key);
    }

    /// Every live session, for the watcher to re-check.
    pub fn snapshot(&self) -> Vec<(u64, LiveSession)> {
        self.lock()
            .iter()
            .map(|(k, e)| (*k, e.session.clone()))
            .collect()
    }

    /// Ends one session, telling it why.
    pub fn cut(&self, key: u64, why: &str) {
        if let Some(entry) = self.lock().get(&key) {
            entry.cut.send_if_modified(|current| {
                let first = current.is_none();
                if first {
                    *current = Some(why.to_owned());
                }
                first
            });
        }
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Something that may end access changed in this process: re-check now.
    pub fn poke(&self) {
        self.changed.notify_one();
    }

    /// Resolves at the next poke.
    pub async fn changed(&self) {
        self.changed.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(auth: i64, engineer: &str) -> LiveSession {
        LiveSession {
            authorization_id: AuthorizationId(auth),
            detail_id: DetailId(1),
            engineer_id: engineer.into(),
            session_id: None,
        }
    }

    #[test]
    fn limits_count_per_engineer_and_per_authorization_and_drop_frees() {
        let registry = LiveSessions::default();
        let (a, _) = registry.register(live(1, "eve"), 2, 2).unwrap();
        let _b = registry.register(live(2, "eve"), 2, 2).unwrap();
        assert!(registry.register(live(3, "eve"), 2, 2).is_none());
        let _c = registry.register(live(1, "bob"), 2, 2).unwrap();
        assert!(registry.register(live(1, "ann"), 2, 2).is_none());
        registry.deregister(a);
        assert!(registry.register(live(1, "ann"), 2, 2).is_some());
    }

    #[test]
    fn a_cut_reaches_the_ticket_once_with_the_first_reason() {
        let registry = LiveSessions::default();
        let (key, cut) = registry.register(live(1, "eve"), 9, 9).unwrap();
        registry.cut(key, "canceled");
        registry.cut(key, "later");
        assert_eq!(cut.borrow().as_deref(), Some("canceled"));
    }
}
