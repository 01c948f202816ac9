//! Access keys (AK/SK) and the `SDK-HMAC-SHA256` authentication the official SDKs use.

use std::net::IpAddr;
use std::sync::Arc;

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

/// The one answer to every failed signature.
const SIGNATURE_REFUSED: &str = "the access key, signature or security token is not valid";

enum SignedFailure {
    /// The caller's fault, with the detail for the log.
    Refused(String),
    Service(ServiceError),
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
            .map_err(|e| ServiceError::internal("cannot open the access key's secret", e))?;
        let entry = Arc::new(CachedKey {
            key,
            user,
            domain,
            secret,
        });
        self.credentials.put_key(since, entry.clone());
        Ok(entry)
    }

    /// Verifies an `SDK-HMAC-SHA256` signed request and resolves its caller. Failures
    /// are throttled per source address (a key's id travels in clear, so throttling
    /// per key would let anyone who saw it lock its owner out). Every signature failure
    /// gets the same answer; what was wrong goes to the log.
    pub async fn authenticate_signed(
        &self,
        req: &RawRequest<'_>,
        authorization: &str,
        source: IpAddr,
    ) -> ServiceResult<Principal> {
        let now = self.clock.now();
        let source_key = source.to_string();
        let throttle = &self.throttles.signature_source;
        if let Some(secs) = throttle.wait(&source_key, now) {
            return Err(ServiceError::Throttled {
                retry_after_secs: secs,
            });
        }
        let (entry, signature) = match self.verify_signed(req, authorization, now).await {
            Ok(verified) => verified,
            Err(SignedFailure::Refused(why)) => {
                tracing::info!(%source, why, "signature refused");
                throttle.failed(&source_key, now);
                return Err(refused(SIGNATURE_REFUSED));
            }
            Err(SignedFailure::Service(e)) => return Err(e),
        };
        let CachedKey {
            key, user, domain, ..
        } = entry.as_ref();
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
        if changes_state(req.method) {
            // Inside the date window an identical signed write would be accepted again:
            // each signature of a write is good for one use.
            let used = format!("{}:{}", key.access_key, hex::encode(signature));
            let forget_at = now + 2 * sdk_signature::MAX_CLOCK_SKEW;
            if !self.store.use_signature(&used, forget_at, now).await? {
                tracing::info!(%source, access_key = %key.access_key, "replayed signature refused");
                throttle.failed(&source_key, now);
                return Err(refused(SIGNATURE_REFUSED));
            }
        }
        let kind = if key.expires_at.is_some() {
            CredentialKind::Assumed
        } else {
            CredentialKind::Password
        };
        Ok(user.principal(domain, kind))
    }

    /// Parses the header, finds the key and checks the signature.
    async fn verify_signed(
        &self,
        req: &RawRequest<'_>,
        authorization: &str,
        now: Timestamp,
    ) -> Result<(Arc<CachedKey>, [u8; 32]), SignedFailure> {
        let header = sdk_signature::parse_authorization(authorization)
            .map_err(|e| SignedFailure::Refused(e.to_string()))?;
        let entry = match self.resolve_key(&header.access_key).await {
            Ok(entry) => entry,
            Err(ServiceError::Unauthenticated(why)) => {
                return Err(SignedFailure::Refused(why.into_owned()));
            }
            Err(e) => return Err(SignedFailure::Service(e)),
        };
        match self.check_signed(req, &header, &entry.key, &entry.secret, now) {
            Ok(()) => Ok((entry, header.signature)),
            Err(ServiceError::Unauthenticated(why)) => {
                Err(SignedFailure::Refused(why.into_owned()))
            }
            Err(e) => Err(SignedFailure::Service(e)),
        }
    }

    /// The checks that count as a failed signature: signature, date, temporary-key token.
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
            (Some(_), None, Some(_)) => Err(ServiceError::broken("temporary key without a token")),
        }
    }
}

/// Methods that change something: their signatures are single-use.
fn changes_state(method: &str) -> bool {
    !matches!(method, "GET" | "HEAD" | "OPTIONS")
}

fn header_value<'a>(req: &RawRequest<'a>, name: &str) -> Option<&'a str> {
    req.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| std::str::from_utf8(v).ok())
        .map(str::trim)
}
