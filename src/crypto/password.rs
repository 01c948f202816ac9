//! User passwords: argon2id, PHC strings, computed in a reusable memory workspace.
//!
//! argon2id with the default parameters needs 19 MiB per computation. Allocating that
//! afresh for every login let the allocator keep gigabytes under load, so the memory is
//! a `Workspace` that its owner (one hashing thread) allocates once and reuses.

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};

/// The largest memory cost a stored hash may ask for (64 MiB): a hash edited in the
/// database cannot make a verification allocate without bound.
const MAX_BLOCKS: usize = 64 * 1024;

/// The memory of one argon2 computation, kept between computations.
pub struct Workspace {
    blocks: Vec<Block>,
}

impl Default for Workspace {
    fn default() -> Self {
        Workspace::new()
    }
}

impl Workspace {
    /// Allocates nothing yet: the first computation sizes the memory.
    pub fn new() -> Workspace {
        Workspace { blocks: Vec::new() }
    }

    /// The first `params.block_count()` blocks, growing (once) if needed.
    fn memory(&mut self, params: &Params) -> Option<&mut [Block]> {
        let needed = params.block_count();
        if needed > MAX_BLOCKS {
            return None;
        }
        if self.blocks.len() < needed {
            self.blocks.resize(needed, Block::new());
        }
        Some(&mut self.blocks[..needed])
    }

    /// Hashes with a fresh random salt. CPU-heavy: call from a hashing thread.
    pub fn hash(&mut self, password: &str) -> String {
        let params = Params::DEFAULT;
        let salt = argon2::password_hash::generate_salt();
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        let memory = self
            .memory(&params)
            .expect("the default parameters fit the workspace");
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
            .hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, memory)
            .expect("argon2 with default parameters cannot fail");
        PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&params).expect("default parameters print"),
            salt: Some(Salt::new(&salt).expect("a 16-byte salt")),
            hash: Some(Output::new(&out).expect("a 32-byte output")),
        }
        .to_string()
    }

    /// Constant-time verification against a stored PHC string; anything unparsable or
    /// asking for more memory than `MAX_BLOCKS` verifies nothing.
    pub fn verify(&mut self, password: &str, phc: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(phc) else {
            return false;
        };
        let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
            return false;
        };
        let Ok(algorithm) = Algorithm::try_from(parsed.algorithm.as_str()) else {
            return false;
        };
        let version = match parsed.version.map(Version::try_from).transpose() {
            Ok(v) => v.unwrap_or_default(),
            Err(_) => return false,
        };
        let Ok(params) = Params::try_from(&parsed) else {
            return false;
        };
        let mut out = vec![0u8; expected.len()];
        let Some(memory) = self.memory(&params) else {
            return false;
        };
        let computed = Argon2::new(algorithm, version, params).hash_password_into_with_memory(
            password.as_bytes(),
            salt,
            &mut out,
            memory,
        );
        // `Output`'s equality is constant-time.
        computed.is_ok() && Output::new(&out).is_ok_and(|o| &o == expected)
    }
}

/// One hash in a workspace of its own, for one-off tools (seeding); the service hashes
/// on its pool.
pub fn hash(password: &str) -> String {
    Workspace::new().hash(password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_only_their_password() {
        let mut w = Workspace::new();
        let h = w.hash("correct horse");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(w.verify("correct horse", &h));
        assert!(!w.verify("wrong", &h));
        assert!(!w.verify("x", "not a hash"));
    }

    #[test]
    fn hashes_of_the_argon2_crate_still_verify() {
        use argon2::password_hash::PasswordHasher;
        let h = Argon2::default()
            .hash_password(b"older hash")
            .unwrap()
            .to_string();
        assert!(Workspace::new().verify("older hash", &h));
    }

    #[test]
    fn a_hash_asking_for_absurd_memory_verifies_nothing() {
        let h = "$argon2id$v=19$m=4194304,t=1,p=1$c29tZXNhbHRzb21l$\
                 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        let mut w = Workspace::new();
        assert!(!w.verify("anything", h));
        assert!(w.blocks.is_empty(), "nothing was allocated for it");
    }
}
