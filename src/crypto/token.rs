//! Opaque bearer tokens: 256 random bits, stored only as SHA-256.

use sha2::{Digest, Sha256};

use crate::domain::secret::Secret;

/// A new token (hex) and the hash to store.
pub fn generate() -> (Secret, [u8; 32]) {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    let token = hex::encode(bytes);
    let hash = hash(&token);
    (Secret::new(token), hash)
}

pub fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, ha) = generate();
        let (b, _) = generate();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), 64);
        assert_eq!(hash(a.expose()), ha);
    }
}
