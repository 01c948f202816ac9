//! Bounds how much of something runs at once, overall and per customer domain, so one
//! tenant cannot take every slot.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub overall: usize,
    pub per_domain: usize,
}

pub struct InFlight {
    limits: Limits,
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    counts: Mutex<Counts>,
    freed: Notify,
}

#[derive(Default)]
struct Counts {
    overall: usize,
    /// Only domains with something in flight, so the map stays small.
    by_domain: HashMap<String, usize>,
}

impl Shared {
    fn counts(&self) -> MutexGuard<'_, Counts> {
        self.counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// One running unit of work; its slot frees when this is dropped.
pub struct Slot {
    shared: Arc<Shared>,
    domain: String,
}

impl InFlight {
    pub fn new(limits: Limits) -> InFlight {
        InFlight {
            limits,
            shared: Arc::default(),
        }
    }

    fn try_take(&self, domain: &str) -> Option<Slot> {
        let mut counts = self.shared.counts();
        let in_domain = counts.by_domain.get(domain).copied().unwrap_or(0);
        if counts.overall >= self.limits.overall || in_domain >= self.limits.per_domain {
            return None;
        }
        counts.overall += 1;
        *counts.by_domain.entry(domain.to_owned()).or_default() += 1;
        Some(Slot {
            shared: self.shared.clone(),
            domain: domain.to_owned(),
        })
    }

    /// A slot for `domain`, waiting up to `wait` for one to free; `None` if none did.
    pub async fn acquire(&self, domain: &str, wait: Duration) -> Option<Slot> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            // Registered before looking, so a slot freed in between still wakes us.
            let freed = self.shared.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            if let Some(slot) = self.try_take(domain) {
                return Some(slot);
            }
            tokio::time::timeout_at(deadline, freed).await.ok()?;
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        {
            let mut counts = self.shared.counts();
            counts.overall -= 1;
            if let Some(n) = counts.by_domain.get_mut(&self.domain) {
                *n -= 1;
                if *n == 0 {
                    counts.by_domain.remove(&self.domain);
                }
            }
        }
        self.shared.freed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_WAIT: Duration = Duration::ZERO;

    fn limits(overall: usize, per_domain: usize) -> InFlight {
        InFlight::new(Limits {
            overall,
            per_domain,
        })
    }

    #[tokio::test]
    async fn each_domain_is_bounded() {
        let slots = limits(10, 2);
        let a1 = slots.acquire("a", NO_WAIT).await;
        let a2 = slots.acquire("a", NO_WAIT).await;
        assert!(a1.is_some() && a2.is_some());
        assert!(slots.acquire("a", NO_WAIT).await.is_none());
        assert!(slots.acquire("b", NO_WAIT).await.is_some());
        drop(a1);
        assert!(slots.acquire("a", NO_WAIT).await.is_some());
    }

    #[tokio::test]
    async fn the_total_is_bounded() {
        let slots = limits(2, 2);
        let _a = slots.acquire("a", NO_WAIT).await.unwrap();
        let _b = slots.acquire("b", NO_WAIT).await.unwrap();
        assert!(slots.acquire("c", NO_WAIT).await.is_none());
    }

    #[tokio::test]
    async fn a_waiter_gets_the_slot_freed_while_it_waits() {
        let slots = Arc::new(limits(1, 1));
        let held = slots.acquire("a", NO_WAIT).await.unwrap();
        let waiter = {
            let slots = slots.clone();
            tokio::spawn(async move { slots.acquire("a", Duration::from_secs(30)).await.is_some() })
        };
        tokio::task::yield_now().await;
        drop(held);
        assert!(waiter.await.unwrap());
        assert!(slots.shared.counts().by_domain.is_empty(), "nothing leaks");
    }
}
