//! Envelope encryption: secrets are sealed with AES-256-GCM under a data key, and the
//! data key is stored wrapped (sealed) by the master key, which never touches the
//! database.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use zeroize::Zeroizing;

const NONCE_LEN: usize = 12;
const VERSION: u8 = 1;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("the master key does not open this database's data key (wrong master key?)")]
    WrongMasterKey,
    #[error("a stored secret could not be decrypted")]
    Corrupt,
}

/// A key that seals and opens byte strings.
#[derive(Clone)]
pub struct Cipher {
    aead: Aes256Gcm,
}

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cipher(***)")
    }
}

impl Cipher {
    pub fn new(key: &[u8; 32]) -> Cipher {
        Cipher {
            aead: Aes256Gcm::new(&Key::<Aes256Gcm>::from(*key)),
        }
    }

    /// `version || nonce || ciphertext+tag`. `context` (e.g. `detail:123`) is bound as
    /// associated data, so a ciphertext copied to another row does not open.
    pub fn seal(&self, plaintext: &[u8], context: &str) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::fill(&mut nonce);
        let sealed = self
            .aead
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    pub fn open(&self, sealed: &[u8], context: &str) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        if sealed.len() < 1 + NONCE_LEN || sealed[0] != VERSION {
            return Err(CryptoError::Corrupt);
        }
        let (nonce, body) = sealed[1..].split_at(NONCE_LEN);
        let nonce = Nonce::try_from(nonce).map_err(|_| CryptoError::Corrupt)?;
        self.aead
            .decrypt(
                &nonce,
                Payload {
                    msg: body,
                    aad: context.as_bytes(),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| CryptoError::Corrupt)
    }

    /// A fresh random data key, and its wrapped form to store.
    pub fn new_data_key(master: &Cipher) -> Vec<u8> {
        let mut key = Zeroizing::new([0u8; 32]);
        rand::fill(&mut key[..]);
        master.seal(&key[..], DATA_KEY_CONTEXT)
    }

    /// Unwraps a stored data key with the master key.
    pub fn from_wrapped(master: &Cipher, wrapped: &[u8]) -> Result<Cipher, CryptoError> {
        let key = master
            .open(wrapped, DATA_KEY_CONTEXT)
            .map_err(|_| CryptoError::WrongMasterKey)?;
        let key: [u8; 32] = key
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::WrongMasterKey)?;
        Ok(Cipher::new(&key))
    }
}

const DATA_KEY_CONTEXT: &str = "support-access data key v1";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_and_open_round_trip_with_context() {
        let c = Cipher::new(&[7; 32]);
        let sealed = c.seal(b"s3cret", "detail:1");
        assert!(!sealed.windows(6).any(|w| w == b"s3cret"));
        assert_eq!(&c.open(&sealed, "detail:1").unwrap()[..], b"s3cret");
        assert_eq!(c.open(&sealed, "detail:2"), Err(CryptoError::Corrupt));
        assert_ne!(c.seal(b"s3cret", "detail:1"), sealed, "nonces are fresh");
    }

    #[test]
    fn data_keys_need_the_right_master_key() {
        let master = Cipher::new(&[1; 32]);
        let wrapped = Cipher::new_data_key(&master);
        let data = Cipher::from_wrapped(&master, &wrapped).unwrap();
        let sealed = data.seal(b"x", "c");
        let again = Cipher::from_wrapped(&master, &wrapped).unwrap();
        assert_eq!(&again.open(&sealed, "c").unwrap()[..], b"x");
        assert_eq!(
            Cipher::from_wrapped(&Cipher::new(&[2; 32]), &wrapped).unwrap_err(),
            CryptoError::WrongMasterKey
        );
    }
}
