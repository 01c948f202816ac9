//! Throttling of failed credentials: after a few free failures, each further failure
//! makes its key (a user name, a source address) wait twice as long as the last, up to
//! a ceiling. Nothing is locked for good: the wait ends by itself, and a key quiet for
//! `forget_after` starts again from zero.

use std::collections::HashMap;
use std::sync::Mutex;

use jiff::{SignedDuration, Timestamp};

/// Keys remembered at most; beyond that the quietest are forgotten first.
const MAX_KEYS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
pub struct BackoffRule {
    /// Failures without any wait.
    pub free: u32,
    /// The first wait, doubled by each further failure.
    pub first_wait: SignedDuration,
    pub max_wait: SignedDuration,
    /// A key without failures for this long starts again from zero.
    pub forget_after: SignedDuration,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last_failure: Timestamp,
    wait_until: Timestamp,
}

/// Failures per key, in this process.
pub struct Backoff {
    rule: BackoffRule,
    entries: Mutex<HashMap<String, Entry>>,
}

impl Backoff {
    pub fn new(rule: BackoffRule) -> Backoff {
        Backoff {
            rule,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whole seconds `key` must still wait, if any.
    pub fn wait(&self, key: &str, now: Timestamp) -> Option<u64> {
        let entries = self.entries();
        let entry = entries.get(key)?;
        (entry.wait_until > now).then(|| {
            let left = entry.wait_until.duration_since(now);
            (left.as_secs() + i64::from(left.subsec_nanos() > 0)).max(1) as u64
        })
    }

    /// Records a failure of `key`.
    pub fn failed(&self, key: &str, now: Timestamp) {
        let mut entries = self.entries();
        if entries.len() >= MAX_KEYS && !entries.contains_key(key) {
            self.forget_quiet(&mut entries, now);
        }
        let entry = entries.entry(key.to_owned()).or_insert(Entry {
            failures: 0,
            last_failure: now,
            wait_until: now,
        });
        if now.duration_since(entry.last_failure) > self.rule.forget_after {
            entry.failures = 0;
        }
        entry.failures = entry.failures.saturating_add(1);
        entry.last_failure = now;
        if let Some(extra) = entry.failures.checked_sub(self.rule.free + 1) {
            let wait = self
                .rule
                .first_wait
                .checked_mul(1_i32 << extra.min(30))
                .unwrap_or(self.rule.max_wait)
                .min(self.rule.max_wait);
            entry.wait_until = now + wait;
        }
    }

    /// A success forgets the key's failures.
    pub fn succeeded(&self, key: &str) {
        self.entries().remove(key);
    }

    /// Drops keys quiet for `forget_after`; if none are, the quietest tenth.
    fn forget_quiet(&self, entries: &mut HashMap<String, Entry>, now: Timestamp) {
        let forget = self.rule.forget_after;
        entries.retain(|_, e| now.duration_since(e.last_failure) <= forget);
        if entries.len() >= MAX_KEYS {
            let mut times: Vec<Timestamp> = entries.values().map(|e| e.last_failure).collect();
            times.sort_unstable();
            let cutoff = times[times.len() / 10];
            entries.retain(|_, e| e.last_failure > cutoff);
        }
    }
}

/// The throttles of the service's credentials.
pub struct Throttles {
    /// Failed password logins per user name (domain and name as given).
    pub login_user: Backoff,
    /// Failed password logins per source address.
    pub login_source: Backoff,
    /// Failed `SDK-HMAC-SHA256` authentications per source address.
    pub signature_source: Backoff,
}

const FORGET_AFTER: SignedDuration = SignedDuration::from_mins(15);

impl Default for Throttles {
    fn default() -> Self {
        let rule = |free, max_wait| BackoffRule {
            free,
            first_wait: SignedDuration::from_secs(1),
            max_wait,
            forget_after: FORGET_AFTER,
        };
        Throttles {
            // A user's name is public: an attacker can make its owner wait a minute at
            // most, never lock them out.
            login_user: Backoff::new(rule(5, SignedDuration::from_mins(1))),
            login_source: Backoff::new(rule(20, SignedDuration::from_mins(15))),
            signature_source: Backoff::new(rule(10, SignedDuration::from_mins(5))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> BackoffRule {
        BackoffRule {
            free: 2,
            first_wait: SignedDuration::from_secs(1),
            max_wait: SignedDuration::from_secs(8),
            forget_after: SignedDuration::from_mins(10),
        }
    }

    #[test]
    fn waits_double_after_the_free_failures_up_to_the_ceiling() {
        let b = Backoff::new(rule());
        let t0 = Timestamp::UNIX_EPOCH;
        let mut waits = Vec::new();
        for _ in 0..7 {
            b.failed("k", t0);
            waits.push(b.wait("k", t0));
        }
        assert_eq!(
            waits,
            [None, None, Some(1), Some(2), Some(4), Some(8), Some(8)]
        );
        assert_eq!(b.wait("other", t0), None, "keys are separate");
        assert_eq!(b.wait("k", t0 + SignedDuration::from_secs(8)), None);
    }

    #[test]
    fn success_and_quiet_time_forget_failures() {
        let b = Backoff::new(rule());
        let t0 = Timestamp::UNIX_EPOCH;
        for _ in 0..3 {
            b.failed("k", t0);
        }
        assert!(b.wait("k", t0).is_some());
        b.succeeded("k");
        assert_eq!(b.wait("k", t0), None);

        for _ in 0..3 {
            b.failed("k", t0);
        }
        let later = t0 + SignedDuration::from_mins(11);
        b.failed("k", later);
        assert_eq!(b.wait("k", later), None, "counting restarted");
    }
}
