//! The SSH broker's rules (SPEC §7): which engineer keys are accepted, how the SSH user
//! name names a target, and the gate every login and channel passes.

use jiff::Timestamp;
use russh::keys::ssh_key::public::KeyData;
use russh::keys::{Algorithm, HashAlg, PublicKey};

use super::authorization::{Authorization, Detail, DetailType};
use super::ids::DetailId;
use super::locale::Language;
use super::status::Status;
use super::validation::{Rule, ValidationError};

/// The smallest RSA modulus accepted for an engineer key.
pub const MIN_RSA_BITS: usize = 3072;

/// A registrable engineer key, parsed from one OpenSSH line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineerKey {
    pub algorithm: String,
    pub fingerprint: String,
    /// `ALGORITHM BASE64`, without the comment.
    pub public_key: String,
    pub comment: String,
}

/// The OpenSSH `SHA256:…` fingerprint of a key.
pub fn key_fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// Parses `ssh-ed25519 AAAA… comment`: ed25519, ECDSA and RSA of at least 3072 bits.
pub fn parse_engineer_key(line: &str) -> Result<EngineerKey, ValidationError> {
    let invalid = || ValidationError::new("public_key", Rule::InvalidPublicKey);
    let line = line.trim();
    if line.is_empty() || line.contains('\n') || line.len() > 16_384 {
        return Err(invalid());
    }
    let key = PublicKey::from_openssh(line).map_err(|_| invalid())?;
    let accepted = match key.key_data() {
        KeyData::Ed25519(_) | KeyData::Ecdsa(_) => true,
        KeyData::Rsa(rsa) => rsa_bits(rsa.n().as_positive_bytes()) >= MIN_RSA_BITS,
        _ => false,
    };
    if !accepted {
        return Err(invalid());
    }
    let mut bare = key.clone();
    bare.set_comment("");
    Ok(EngineerKey {
        algorithm: key.algorithm().as_str().to_owned(),
        fingerprint: key_fingerprint(&key),
        public_key: bare.to_openssh().map_err(|_| invalid())?,
        comment: key.comment().as_str_lossy().chars().take(256).collect(),
    })
}

fn rsa_bits(modulus: Option<&[u8]>) -> usize {
    let Some(bytes) = modulus else { return 0 };
    match bytes.first() {
        Some(&top) => (bytes.len() - 1) * 8 + (8 - top.leading_zeros() as usize),
        None => 0,
    }
}

/// Whether an algorithm is one an engineer key may use (for keys offered at login).
pub fn accepted_algorithm(algorithm: &Algorithm) -> bool {
    matches!(
        algorithm,
        Algorithm::Ed25519 | Algorithm::Ecdsa { .. } | Algorithm::Rsa { .. }
    )
}

/// The SSH user name split into engineer and target detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerLogin {
    pub engineer: String,
    pub detail: DetailId,
}

/// `ENGINEER:DETAIL_ID` or `ENGINEER#DETAIL_ID` (scp, rsync and sshfs split at `:`).
pub fn parse_login(user: &str) -> Option<BrokerLogin> {
    let (engineer, detail) = user.rsplit_once([':', '#'])?;
    if engineer.is_empty() || engineer.len() > 64 {
        return None;
    }
    let detail: i64 = detail.parse().ok().filter(|d| *d > 0)?;
    Some(BrokerLogin {
        engineer: engineer.to_owned(),
        detail: DetailId(detail),
    })
}

/// Why the gate refused a login or a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Unknown engineer, unregistered key, or someone else's detail: all read the same.
    NoSuchTarget,
    NotAHost,
    EngineerDisabled,
    /// The authorization is in this status, not `authorized`.
    NotAuthorized(Status),
    /// Authorized, but now is outside `[effective, expire)`.
    OutsideWindow,
    /// The host presented another key than the pinned one.
    HostKeyChanged,
    /// The detail has no stored login (purged, or never granted).
    NoCredentials,
    /// A configured limit on concurrent sessions.
    TooManySessions,
    /// The host could not be reached or refused the stored login.
    HostUnavailable,
}

impl Refusal {
    /// The one line the engineer reads.
    pub fn message(self) -> String {
        match self {
            Refusal::NoSuchTarget => "no such target".into(),
            Refusal::NotAHost => "the target is not a host".into(),
            Refusal::EngineerDisabled => "your account is disabled".into(),
            Refusal::NotAuthorized(s) => format!("the authorization is {}", s.name(Language::En)),
            Refusal::OutsideWindow => "the authorization's access window is not open now".into(),
            Refusal::HostKeyChanged => {
                "host key changed: the host presented another key than the pinned one".into()
            }
            Refusal::NoCredentials => "the authorization holds no login for this host".into(),
            Refusal::TooManySessions => "too many concurrent sessions".into(),
            Refusal::HostUnavailable => "the host cannot be reached or refused the login".into(),
        }
    }

    /// How the refusal is named in the audit log.
    pub fn name(self) -> &'static str {
        match self {
            Refusal::NoSuchTarget => "no_such_target",
            Refusal::NotAHost => "not_a_host",
            Refusal::EngineerDisabled => "engineer_disabled",
            Refusal::NotAuthorized(_) => "not_authorized",
            Refusal::OutsideWindow => "outside_window",
            Refusal::HostKeyChanged => "host_key_changed",
            Refusal::NoCredentials => "no_credentials",
            Refusal::TooManySessions => "too_many_sessions",
            Refusal::HostUnavailable => "host_unavailable",
        }
    }
}

/// The gate: `engineer_id` (enabled) raised `auth`, the detail is one of its hosts, and
/// the authorization allows access at `now`. Returns the host detail.
pub fn gate<'a>(
    auth: &'a Authorization,
    detail: DetailId,
    engineer_id: &str,
    engineer_enabled: bool,
    now: Timestamp,
) -> Result<&'a Detail, Refusal> {
    // Access is personal: not even a provider administrator uses another's authorization.
    if auth.raised_by != engineer_id {
        return Err(Refusal::NoSuchTarget);
    }
    let detail = auth
        .details
        .iter()
        .find(|d| d.id == detail)
        .ok_or(Refusal::NoSuchTarget)?;
    if !engineer_enabled {
        return Err(Refusal::EngineerDisabled);
    }
    if detail.detail_type != DetailType::Host || detail.host.is_none() {
        return Err(Refusal::NotAHost);
    }
    if auth.status != Status::Authorized {
        return Err(Refusal::NotAuthorized(auth.status));
    }
    if !auth.allows_access_at(now) {
        return Err(Refusal::OutsideWindow);
    }
    Ok(detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED25519: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOvknzGcTMp1kpNq3JJd9yBQ3Th+0+sxgceI+FjM2G6R eve@laptop";

    #[test]
    fn login_names_split_at_the_last_colon_or_hash() {
        let eve = |d| {
            Some(BrokerLogin {
                engineer: "eve".into(),
                detail: DetailId(d),
            })
        };
        assert_eq!(
            parse_login("eve:7301234567890123"),
            eve(7_301_234_567_890_123)
        );
        assert_eq!(parse_login("eve#42"), eve(42));
        assert_eq!(parse_login("eve"), None);
        assert_eq!(parse_login(":42"), None);
        assert_eq!(parse_login("eve:x"), None);
        assert_eq!(parse_login("eve:-1"), None);
    }

    #[test]
    fn ed25519_lines_parse_with_their_fingerprint() {
        let key = parse_engineer_key(ED25519).unwrap();
        assert_eq!(key.algorithm, "ssh-ed25519");
        assert_eq!(
            key.fingerprint,
            "SHA256:ZOJS44/NYnrRXWgZvjFPHsjiWKSLwAF/waWHSS9Ovac"
        );
        assert_eq!(key.comment, "eve@laptop");
        assert!(!key.public_key.contains("eve@laptop"));
    }

    #[test]
    fn garbage_and_short_rsa_keys_are_refused() {
        for bad in ["", "ssh-ed25519", "hello world", "ssh-ed25519 AAAA"] {
            assert!(parse_engineer_key(bad).is_err(), "{bad:?}");
        }
        // 2048 bits (the CheckHosts test fixture's public half).
        let rsa = russh::keys::PrivateKey::from_openssh(include_str!(
            "../../tests/api/fixtures/rsa_host_key"
        ))
        .unwrap();
        let line = rsa.public_key().to_openssh().unwrap();
        assert_eq!(
            parse_engineer_key(&line).unwrap_err().rule,
            Rule::InvalidPublicKey
        );
        assert_eq!(rsa_bits(Some(&[0x01, 0, 0])), 17);
    }
}
