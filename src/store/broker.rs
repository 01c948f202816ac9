//! Rows the SSH broker keeps: engineers' public keys and the detail logins it injects.

use jiff::Timestamp;

use crate::domain::DetailId;

/// An engineer's registered SSH public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshKeyRecord {
    /// OpenSSH `SHA256:…` fingerprint; unique across all engineers.
    pub fingerprint: String,
    pub user_id: String,
    /// e.g. `ssh-ed25519`.
    pub algorithm: String,
    /// The OpenSSH line without its comment.
    pub public_key: String,
    pub comment: String,
    pub created_at: Timestamp,
}

/// What the broker needs to log in to a host detail: the password still sealed.
#[derive(Clone)]
pub struct SealedHostLogin {
    pub detail_id: DetailId,
    pub account: Option<String>,
    pub port: Option<u16>,
    pub password_ciphertext: Option<Vec<u8>>,
}
