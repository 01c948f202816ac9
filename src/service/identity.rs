//! Identities: domains, users, groups, engineers, and password-method tokens.

use std::net::IpAddr;
use std::sync::Arc;

use jiff::Timestamp;

use crate::crypto::token;
use crate::domain::Principal;
use crate::domain::principal::CredentialKind;
use crate::domain::secret::Secret;
use crate::domain::validation::{Rule, ValidationError, text};
use crate::store::{DomainRecord, TokenRecord, UserRecord};

use super::{App, ServiceError, ServiceResult};

/// The provider's own domain, where engineers live.
pub const PROVIDER_DOMAIN: &str = "provider";

/// Names of domains, users and groups: 1..64 printable characters.
pub(super) fn check_name(field: &str, name: &str) -> Result<(), ValidationError> {
    text(field, name, 1, 64)?;
    if name.chars().any(char::is_control) || name.trim() != name {
        return Err(ValidationError::new(
            field,
            Rule::Length { min: 1, max: 64 },
        ));
    }
    Ok(())
}

pub(super) fn check_password(pw: &str) -> Result<(), ValidationError> {
    text("password", pw, 8, 128)
}

/// How a login names its domain.
#[derive(Debug, Clone)]
pub enum DomainRef {
    Name(String),
    Id(String),
}

/// A freshly issued token: the only time its plaintext exists.
pub struct IssuedToken {
    pub token: Secret,
    pub user: UserRecord,
    pub domain: DomainRecord,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
}

impl App {
    pub async fn domain_named(&self, name: &str) -> ServiceResult<DomainRecord> {
        self.store
            .domain_by_name(name)
            .await?
            .ok_or_else(|| ServiceError::Missing(format!("domain `{name}`")))
    }

    /// The password method of `POST /v3/auth/tokens`.
    pub async fn issue_token(
        &self,
        domain: DomainRef,
        user_name: &str,
        pw: Secret,
        source: IpAddr,
        scope: Option<DomainRef>,
    ) -> ServiceResult<IssuedToken> {
        let (domain, user) = self.verify_password(domain, user_name, pw, source).await?;
        // As Keystone: a scope naming another domain than the user's is refused.
        let in_scope = match &scope {
            None => true,
            Some(DomainRef::Id(id)) => *id == domain.id,
            Some(DomainRef::Name(name)) => *name == domain.name,
        };
        if !in_scope {
            return Err(ServiceError::Unauthenticated(
                "The request you have made requires authentication.".into(),
            ));
        }
        let (token, hash) = token::generate();
        let issued_at = self.clock.now();
        let expires_at = issued_at
            .saturating_add(self.policy.token_ttl)
            .unwrap_or(issued_at);
        self.store
            .insert_token(TokenRecord {
                hash,
                user_id: user.id.clone(),
                issued_at,
                expires_at,
            })
            .await?;
        Ok(IssuedToken {
            token,
            user,
            domain,
            issued_at,
            expires_at,
        })
    }

    /// The enabled user with this name and password, with their domain (the password
    /// check of `POST /v3/auth/tokens` and of the console's sign-in). Failures are
    /// throttled per user name and per source address, before any password is hashed.
    pub(super) async fn verify_password(
        &self,
        domain: DomainRef,
        user_name: &str,
        pw: Secret,
        source: IpAddr,
    ) -> ServiceResult<(DomainRecord, UserRecord)> {
        const REFUSED: &str = "The username or password is wrong.";
        let domain = match &domain {
            DomainRef::Name(name) => self.store.domain_by_name(name).await?,
            DomainRef::Id(id) => self.store.domain_by_id(id).await?,
        }
        .ok_or(domain);
        let user_key = match &domain {
            Ok(d) => format!("{}/{user_name}", d.id),
            Err(DomainRef::Name(name)) => format!("name:{name}/{user_name}"),
            Err(DomainRef::Id(id)) => format!("{id}/{user_name}"),
        };
        let source_key = source.to_string();
        let now = self.clock.now();
        let throttles = &self.throttles;
        if let Some(secs) = [
            throttles.login_user.wait(&user_key, now),
            throttles.login_source.wait(&source_key, now),
        ]
        .into_iter()
        .flatten()
        .max()
        {
            return Err(ServiceError::Throttled {
                retry_after_secs: secs,
            });
        }
        let user = match &domain {
            Ok(d) => self
                .store
                .user_by_name(&d.id, user_name)
                .await?
                .filter(|u| u.enabled),
            Err(_) => None,
        };
        let verified = match (domain, user) {
            (Ok(domain), Some(user)) => {
                let phc = user.password_hash.clone();
                self.passwords
                    .verify(pw, Some(phc))
                    .await?
                    .then_some((domain, user))
            }
            _ => {
                // Spend the same time as a real check, so timing does not reveal who exists.
                self.passwords.verify(pw, None).await?;
                None
            }
        };
        let Some((domain, user)) = verified else {
            throttles.login_user.failed(&user_key, now);
            throttles.login_source.failed(&source_key, now);
            return Err(ServiceError::Unauthenticated(REFUSED.into()));
        };
        throttles.login_user.succeeded(&user_key);
        Ok((domain, user))
    }

    /// Resolves `X-Auth-Token`.
    pub async fn authenticate_token(&self, presented: &str) -> ServiceResult<Principal> {
        let hash = token::hash(presented);
        let now = self.clock.now();
        let holder = match self.credentials.token(&hash, now) {
            Some(holder) => holder,
            None => {
                let since = self.credentials.generation();
                let holder = Arc::new(self.store.user_by_token(&hash, now).await?.ok_or(
                    ServiceError::Unauthenticated("The token is invalid or has expired.".into()),
                )?);
                self.credentials.put_token(since, hash, holder.clone());
                holder
            }
        };
        Ok(holder
            .user
            .principal(&holder.domain, CredentialKind::Password))
    }
}
