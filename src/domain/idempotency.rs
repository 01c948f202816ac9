//! `Idempotency-Key` on the provider's writes: what a key may look like, what makes two
//! requests "the same", and what a second request with a known key is answered.

use jiff::SignedDuration;
use sha2::{Digest, Sha256};

use super::validation::{Rule, ValidationError};

/// The header, as documented.
pub const HEADER: &str = "Idempotency-Key";
/// How long a key's first answer is kept (and answered again); the sweeper prunes after.
pub const KEPT_FOR: SignedDuration = SignedDuration::from_hours(24);
/// A claim whose request never finished (the instance died) may be taken over after this.
pub const STALE_CLAIM: SignedDuration = SignedDuration::from_mins(5);
/// Longest key accepted (UUIDs and the like fit many times over).
pub const MAX_KEY_CHARS: usize = 255;

/// A key is 1..=255 printable ASCII characters.
pub fn check_key(key: &str) -> Result<(), ValidationError> {
    let printable = key.bytes().all(|b| b.is_ascii_graphic() || b == b' ');
    if key.is_empty() || key.len() > MAX_KEY_CHARS {
        return Err(ValidationError::new(
            HEADER,
            Rule::Length {
                min: 1,
                max: MAX_KEY_CHARS,
            },
        ));
    }
    if !printable {
        return Err(ValidationError::new(HEADER, Rule::Malformed));
    }
    Ok(())
}

/// What identifies "the same request" under one key: method, path, query and body.
pub fn fingerprint(method: &str, path: &str, query: Option<&str>, body: &[u8]) -> Vec<u8> {
    let mut h = Sha256::new();
    for part in [
        method.as_bytes(),
        path.as_bytes(),
        query.unwrap_or("").as_bytes(),
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.update(body);
    h.finalize().to_vec()
}

/// A key as stored: the request it was first used with and, once that request
/// succeeded, its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyUse {
    pub fingerprint: Vec<u8>,
    /// `None` while the first request is still running.
    pub answer: Option<(u16, Vec<u8>)>,
}

/// What a request with a key already in use gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Repeat {
    /// The first answer, status and body, again.
    Replay(u16, Vec<u8>),
    /// The key was used with another request: refused.
    Mismatch,
    /// The first request with this key is still running: wait for it.
    InProgress,
}

impl KeyUse {
    pub fn answer_to(&self, fingerprint: &[u8]) -> Repeat {
        if self.fingerprint != fingerprint {
            return Repeat::Mismatch;
        }
        match &self.answer {
            Some((status, body)) => Repeat::Replay(*status, body.clone()),
            None => Repeat::InProgress,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_short_printable_ascii() {
        assert!(check_key("3f2b9c1e-0d4a-4c55-9d0b-7a1e2f3c4d5e").is_ok());
        assert!(check_key(&"k".repeat(255)).is_ok());
        for bad in ["", "\u{7f}", "tab\there", "é", &"k".repeat(256)] {
            assert!(check_key(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_same_request_is_the_same_method_path_query_and_body() {
        let a = fingerprint("POST", "/p/v1/authorizations", None, b"{}");
        assert_eq!(a, fingerprint("POST", "/p/v1/authorizations", None, b"{}"));
        assert_ne!(a, fingerprint("POST", "/p/v1/authorizations", None, b"{ }"));
        assert_ne!(
            a,
            fingerprint("POST", "/p/v1/authorization", Some("s"), b"{}")
        );
        assert_ne!(a, fingerprint("PUT", "/p/v1/authorizations", None, b"{}"));
    }

    #[test]
    fn a_repeat_gets_the_first_answer_only_for_the_same_request() {
        let done = KeyUse {
            fingerprint: vec![1],
            answer: Some((201, b"{\"id\":1}".to_vec())),
        };
        assert_eq!(
            done.answer_to(&[1]),
            Repeat::Replay(201, b"{\"id\":1}".to_vec())
        );
        assert_eq!(done.answer_to(&[2]), Repeat::Mismatch);
        let running = KeyUse {
            answer: None,
            ..done
        };
        assert_eq!(running.answer_to(&[1]), Repeat::InProgress);
        assert_eq!(running.answer_to(&[2]), Repeat::Mismatch);
    }
}
