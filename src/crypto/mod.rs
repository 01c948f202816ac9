//! Everything that touches plaintext secrets: password hashing, tokens, and the
//! envelope encryption of host credentials and secret keys.

pub mod cipher;
pub mod master_key;
pub mod password;
pub mod token;
pub mod webhook;

pub use cipher::{Cipher, CryptoError};
