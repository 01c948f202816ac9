//! Access keys (AK/SK) and the `SDK-HMAC-SHA256` authentication the official SDKs use.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use jiff::{SignedDuration, Timestamp};
use rand::RngExt;

use crate::auth::sdk_signature::{self, RawRequest};
use crate::crypto::token;
use crate::domain::Principal;
use crate::domain::principal::CredentialKind;
use crate::domain::secret::Secret;
use crate::store::{AccessKeyRecord, KeyOwner, UserRecord};

use super::credential_cache::CachedKey;
use super::{App, ServiceError, ServiceResult};

/// Consecutive failures after which a key is refused for a while, as the API gateway does.
const MAX_FAILURES: u32 = 5;
const LOCKOUT: SignedDuration = SignedDuration::from_mins(5);
/// Temporary credentials last between 15 minutes and 36 hours.
pub(super) const TEMPORARY_MIN: SignedDuration = SignedDuration::from_mins(15);
pub(super) const TEMPORARY_MAX: SignedDuration = SignedDuration::from_hours(36);

/// A freshly created key: the only moment its secret exists in plain text.
pub struct IssuedKey {
    pub access_key: String,
    pub secret_key: Secret,
    pub security_token: Option<Secret>,
    pub expires_at: Option<Timestamp>,
}

/// Consecutive signature failures per access key (per process).
#[derive(Default)]
pub struct SignatureFailures {
    by_key: Mutex<HashMap<String, (u32, Option<Timestamp>)>>,
}

impl SignatureFailures {
    fn locked_until(&self, key: &str, now: Timestamp) -> Option<Timestamp> {
        let map = self
            .by_key
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.get(key)
            .and_then(|(_, until)| *until)
            .filter(|until| *until > now)
    }

    fn failed(&self, key: &str, now: Timestamp) {
        let mut map = self
            .by_key
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = map.entry(key.to_owned()).or_insert((0, None));
        entry.0 += 1;
        if entry.0 >= MAX_FAILURES {
            *entry = (0, Some(now + LOCKOUT));
        }
    }

    fn succeeded(&self, key: &str) {
        self.by_key
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(key);
    }
}

fn random_string(len: usize, alphabet: &[u8]) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
        .collect()
}

const UPPER_DIGITS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn sealing_context(access_key: &str) -> String {
    format!("access-key:{access_key}")
}

fn refused(why: impl Into<String>) -> ServiceError {
    ServiceError::Unauthenticated(why.into().into())
}

impl App {
    pub async fn user_named(&self, domain: &str, user: &str) -> ServiceResult<UserRecord> {
        let domain = self.domain_named(domain).await?;
        self.store
            .user_by_name(&domain.id, user)
            .await?
            .ok_or_else(|| {
                ServiceError::Missing(format!("user `{user}` in domain `{}`", domain.name))
            })
    }

    /// A new key's record and its plain secrets; the caller stores it (audited).
    pub(super) fn new_key(
        &self,
        user: &UserRecord,
        lifetime: Option<SignedDuration>,
    ) -> (AccessKeyRecord, IssuedKey) {
        let now = self.clock.now();
        let access_key = random_string(20, UPPER_DIGITS);
        let secret_key = Secret::new(random_string(40, ALPHANUMERIC));
        let security_token = lifetime.map(|_| Secret::new(random_string(96, ALPHANUMERIC)));
        let expires_at = lifetime.map(|d| now + d);
        let record = AccessKeyRecord {
            secret_ciphertext: self.secrets.seal(
                secret_key.expose().as_bytes(),
                &sealing_context(&access_key),
            ),
            access_key: access_key.clone(),
            user_id: user.id.clone(),
            enabled: true,
            created_at: now,
            expires_at,
            security_token_hash: security_token.as_ref().map(|t| token::hash(t.expose())),
        };
        let issued = IssuedKey {
            access_key,
            secret_key,
            security_token,
            expires_at,
        };
        (record, issued)
    }

    pub async fn list_access_keys(
        &self,
        domain: &str,
        user: &str,
    ) -> ServiceResult<Vec<AccessKeyRecord>> {
        let user = self.user_named(domain, user).await?;
        Ok(self.store.list_access_keys(&user.id).await?)
    }

    /// The key with its owner and unsealed secret, from the cache or the store.
    async fn resolve_key(&self, access_key: &str) -> ServiceResult<Arc<CachedKey>> {
        if let Some(entry) = self.credentials.key(access_key) {
            return Ok(entry);
        }
        let since = self.credentials.generation();
        let KeyOwner { key, user, domain } = self
            .store
            .access_key_owner(access_key)
            .await?
            .ok_or_else(|| refused("unknown access key"))?;
        let secret = self
            .secrets
            .open(&key.secret_ciphertext, &sealing_context(&key.access_key))
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        let entry = Arc::new(CachedKey {
            key,
            user,
            domain,
            secret,
        });
        self.credentials.put_key(since, entry.clone());
        Ok(entry)
    }

    /// Verifies an `SDK-HMAC-SHA256` signed request and resolves its caller. Every
    /// refusal says what was wrong, never what the signature should have been.
    pub async fn authenticate_signed(
        &self,
        req: &RawRequest<'_>,
        authorization: &str,
    ) -> ServiceResult<Principal> {
        let header = sdk_signature::parse_authorization(authorization)
            .map_err(|e| refused(e.to_string()))?;
        let now = self.clock.now();
        let ak = header.access_key.as_str();
        if let Some(until) = self.failures.locked_until(ak, now) {
            let wait = until.duration_since(now).as_secs().max(1);
            return Err(refused(format!(
                "the access key is locked after repeated failures; retry in {wait} s"
            )));
        }
        let entry = self.resolve_key(ak).await?;
        let CachedKey {
            key, user, domain, ..
        } = entry.as_ref();
        let result = self.check_signed(req, &header, key, &entry.secret, now);
        match &result {
            Ok(()) => self.failures.succeeded(ak),
            Err(_) => self.failures.failed(ak, now),
        }
        result?;
        if !key.enabled {
            return Err(refused("the access key is disabled"));
        }
        if !user.enabled {
            return Err(refused("the user is disabled"));
        }
        if let Some(claimed) = header_value(req, "x-domain-id")
            && claimed != domain.id
        {
            return Err(refused(
                "X-Domain-Id does not match the access key's domain",
            ));
        }
        let kind = if key.expires_at.is_some() {
            CredentialKind::Assumed
        } else {
            CredentialKind::Password
        };
        Ok(user.principal(domain, kind))
    }

    /// The checks that count towards the lockout: signature, date, temporary-key token.
    fn check_signed(
        &self,
        req: &RawRequest<'_>,
        header: &sdk_signature::SignatureHeader,
        key: &AccessKeyRecord,
        secret: &[u8],
        now: Timestamp,
    ) -> ServiceResult<()> {
        sdk_signature::verify(req, header, secret, now).map_err(|e| refused(e.to_string()))?;
        let presented = header_value(req, "x-security-token");
        match (key.expires_at, key.security_token_hash, presented) {
            (None, _, None) => Ok(()),
            (None, _, Some(_)) => Err(refused(
                "X-Security-Token is only for temporary credentials",
            )),
            (Some(_), _, None) => Err(refused("temporary credentials need X-Security-Token")),
            (Some(expires_at), Some(hash), Some(token)) => {
                if token::hash(token) != hash {
                    Err(refused(
                        "the security token does not belong to this access key",
                    ))
                } else if expires_at <= now {
                    Err(refused("the temporary credentials have expired"))
                } else {
                    Ok(())
                }
            }
            (Some(_), None, Some(_)) => Err(ServiceError::Internal(
                "temporary key without a token".into(),
            )),
        }
    }
}

fn header_value<'a>(req: &RawRequest<'a>, name: &str) -> Option<&'a str> {
    req.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| std::str::from_utf8(v).ok())
        .map(str::trim)
}
