//! Resolved credentials kept in memory: a token's holder, and an access key with its
//! owner and its secret key already unsealed. Without it every request paid a database
//! read for its credential, and an AES-GCM open for a signed one.
//!
//! Freshness rests on the store's *credential epoch*, a counter that database triggers
//! move whenever a user, domain, token or access key is updated or deleted, by any
//! process. The cache is emptied whenever the epoch moves. A background task reads it
//! every [`EPOCH_POLL`], and this process empties the cache itself right after its own
//! credential changes: a change made here holds from the next request on, one made by
//! another process (the admin CLI, a second instance) within one poll.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::watch;
use zeroize::Zeroizing;

use super::App;
use crate::store::{AccessKeyRecord, DomainRecord, TokenHolder, UserRecord};

/// How often the credential epoch is read.
pub const EPOCH_POLL: Duration = Duration::from_millis(250);
/// Entries per map; a full map is emptied rather than tracked by age.
const MAX_ENTRIES: usize = 100_000;

/// An access key as authentication needs it.
pub struct CachedKey {
    pub key: AccessKeyRecord,
    pub user: UserRecord,
    pub domain: DomainRecord,
    pub secret: Zeroizing<Vec<u8>>,
}

#[derive(Default)]
pub struct CredentialCache {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The epoch the entries were read under; `None` until the first poll succeeds.
    epoch: Option<i64>,
    /// Moves on every emptying: a lookup that started before it may not store its result.
    generation: u64,
    tokens: HashMap<[u8; 32], Arc<TokenHolder>>,
    keys: HashMap<String, Arc<CachedKey>>,
}

impl State {
    fn clear(&mut self) {
        self.generation += 1;
        self.tokens.clear();
        self.keys.clear();
    }
}

/// Where a cache miss started; its result is stored only if nothing changed meanwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generation(u64);

impl CredentialCache {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Taken before reading a credential from the store.
    pub fn generation(&self) -> Generation {
        Generation(self.state().generation)
    }

    /// The holder of an unexpired token.
    pub fn token(&self, hash: &[u8; 32], now: Timestamp) -> Option<Arc<TokenHolder>> {
        let found = self
            .state()
            .tokens
            .get(hash)
            .filter(|holder| holder.expires_at > now)
            .cloned();
        crate::telemetry::credential_lookup("token", found.is_some());
        found
    }

    pub fn put_token(&self, since: Generation, hash: [u8; 32], holder: Arc<TokenHolder>) {
        let mut state = self.state();
        if Generation(state.generation) == since {
            if state.tokens.len() >= MAX_ENTRIES {
                state.tokens.clear();
            }
            state.tokens.insert(hash, holder);
        }
    }

    pub fn key(&self, access_key: &str) -> Option<Arc<CachedKey>> {
        let found = self.state().keys.get(access_key).cloned();
        crate::telemetry::credential_lookup("access_key", found.is_some());
        found
    }

    pub fn put_key(&self, since: Generation, entry: Arc<CachedKey>) {
        let mut state = self.state();
        if Generation(state.generation) == since {
            if state.keys.len() >= MAX_ENTRIES {
                state.keys.clear();
            }
            state.keys.insert(entry.key.access_key.clone(), entry);
        }
    }

    /// Forgets everything; for this process's own credential changes.
    pub fn clear(&self) {
        self.state().clear();
    }

    /// Records the store's epoch, emptying the cache if it moved (or was unknown).
    pub fn observe_epoch(&self, epoch: i64) {
        let mut state = self.state();
        if state.epoch != Some(epoch) {
            state.clear();
            state.epoch = Some(epoch);
        }
    }

    /// The epoch could not be read: nothing cached can be vouched for.
    pub fn epoch_unknown(&self) {
        let mut state = self.state();
        state.clear();
        state.epoch = None;
    }
}

impl App {
    /// Reads the credential epoch once and applies it to the cache.
    pub async fn refresh_credential_epoch(&self) {
        match self.store.credential_epoch().await {
            Ok(epoch) => self.credentials.observe_epoch(epoch),
            Err(e) => {
                self.credentials.epoch_unknown();
                tracing::warn!(error = %crate::causes::Causes(&e), "could not read the credential epoch; cache emptied");
            }
        }
    }
}

/// Polls the credential epoch every [`EPOCH_POLL`] until `shutdown` turns true.
pub fn spawn_epoch_watch(
    app: Arc<App>,
    mut shutdown: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(EPOCH_POLL);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => app.refresh_credential_epoch().await,
                _ = shutdown.changed() => return,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::SignedDuration;

    fn holder(expires_at: Timestamp) -> Arc<TokenHolder> {
        let user = UserRecord {
            id: "u".into(),
            domain_id: "d".into(),
            name: "bob".into(),
            password_hash: String::new(),
            is_admin: false,
            is_engineer: false,
            is_provider_admin: false,
            enabled: true,
            created_at: Timestamp::UNIX_EPOCH,
            email: None,
        };
        let domain = DomainRecord {
            id: "d".into(),
            name: "acme".into(),
            is_provider: false,
            created_at: Timestamp::UNIX_EPOCH,
        };
        Arc::new(TokenHolder {
            user,
            domain,
            expires_at,
        })
    }

    const HASH: [u8; 32] = [7; 32];

    #[test]
    fn tokens_are_served_until_they_expire() {
        let cache = CredentialCache::default();
        let now = Timestamp::UNIX_EPOCH + SignedDuration::from_hours(1);
        cache.put_token(cache.generation(), HASH, holder(now));
        assert!(
            cache
                .token(&HASH, now - SignedDuration::from_secs(1))
                .is_some()
        );
        assert!(cache.token(&HASH, now).is_none(), "expired at its instant");
    }

    #[test]
    fn a_moved_epoch_empties_the_cache_and_an_unchanged_one_does_not() {
        let cache = CredentialCache::default();
        let later = Timestamp::MAX;
        cache.observe_epoch(3);
        cache.put_token(cache.generation(), HASH, holder(later));
        cache.observe_epoch(3);
        assert!(cache.token(&HASH, Timestamp::UNIX_EPOCH).is_some());
        cache.observe_epoch(4);
        assert!(cache.token(&HASH, Timestamp::UNIX_EPOCH).is_none());

        cache.put_token(cache.generation(), HASH, holder(later));
        cache.epoch_unknown();
        assert!(cache.token(&HASH, Timestamp::UNIX_EPOCH).is_none());
        // The first epoch seen after that empties it again: entries read while it was
        // unknown cannot be vouched for.
        cache.put_token(cache.generation(), HASH, holder(later));
        cache.observe_epoch(4);
        assert!(cache.token(&HASH, Timestamp::UNIX_EPOCH).is_none());
    }

    #[test]
    fn a_lookup_that_raced_an_emptying_is_not_stored() {
        let cache = CredentialCache::default();
        let since = cache.generation();
        // The store was read, then a credential change emptied the cache...
        cache.clear();
        // ...so what was read may be stale and must not be kept.
        cache.put_token(since, HASH, holder(Timestamp::MAX));
        assert!(cache.token(&HASH, Timestamp::UNIX_EPOCH).is_none());
    }
}
