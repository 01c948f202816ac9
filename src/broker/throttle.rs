//! Failed broker logins, counted per engineer name and per source address: past the
//! limit, further attempts are refused without a look until the window passes.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const LIMIT: u32 = 10;
const WINDOW: Duration = Duration::from_secs(300);
/// Entries kept at most; the oldest windows are forgotten first.
const MAX_ENTRIES: usize = 10_000;

#[derive(Default)]
pub struct Throttle {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl Throttle {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u32, Instant)>> {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether any of `keys` is past the limit now.
    pub fn blocked(&self, keys: &[&str]) -> bool {
        let now = Instant::now();
        let map = self.lock();
        keys.iter().any(|k| {
            map.get(*k)
                .is_some_and(|(n, since)| *n >= LIMIT && now.duration_since(*since) < WINDOW)
        })
    }

    pub fn fail(&self, keys: &[&str]) {
        let now = Instant::now();
        let mut map = self.lock();
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, (_, since)| now.duration_since(*since) < WINDOW);
        }
        for k in keys {
            let entry = map.entry((*k).to_owned()).or_insert((0, now));
            if now.duration_since(entry.1) >= WINDOW {
                *entry = (0, now);
            }
            entry.0 += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_applies_per_key() {
        let t = Throttle::default();
        for _ in 0..LIMIT {
            assert!(!t.blocked(&["eve", "10.0.0.1"]));
            t.fail(&["eve", "10.0.0.1"]);
        }
        assert!(t.blocked(&["eve"]));
        assert!(t.blocked(&["bob", "10.0.0.1"]));
        assert!(!t.blocked(&["bob", "10.0.0.2"]));
    }
}
