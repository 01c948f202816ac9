//! Identities: domains, users, groups, engineers, and password-method tokens.

use std::sync::Arc;

use jiff::Timestamp;

use crate::crypto::token;
use crate::domain::Principal;
use crate::domain::principal::CredentialKind;
use crate::domain::secret::Secret;
use crate::domain::validation::{Rule, ValidationError, text};
use crate::store::{DomainRecord, GroupRecord, TokenRecord, UserRecord};

use super::{App, ServiceError, ServiceResult, new_hex_id};

/// The provider's own domain, where engineers live.
pub const PROVIDER_DOMAIN: &str = "provider";

/// Names of domains, users and groups: 1..64 printable characters.
fn check_name(field: &str, name: &str) -> Result<(), ValidationError> {
    text(field, name, 1, 64)?;
    if name.chars().any(|c| c.is_control()) || name.trim() != name {
        return Err(ValidationError::new(
            field,
            Rule::Length { min: 1, max: 64 },
        ));
    }
    Ok(())
}

fn check_password(pw: &str) -> Result<(), ValidationError> {
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
    pub async fn create_domain(&self, name: &str) -> ServiceResult<DomainRecord> {
        check_name("name", name)?;
        self.insert_domain(name, name == PROVIDER_DOMAIN).await
    }

    async fn insert_domain(&self, name: &str, is_provider: bool) -> ServiceResult<DomainRecord> {
        let domain = DomainRecord {
            id: new_hex_id(),
            name: name.into(),
            is_provider,
            created_at: self.clock.now(),
        };
        self.store
            .create_domain(domain.clone())
            .await
            .map_err(|e| match e {
                crate::store::StoreError::Duplicate(_) => {
                    ServiceError::Duplicate(format!("domain `{name}`"))
                }
                other => other.into(),
            })?;
        Ok(domain)
    }

    pub async fn domain_named(&self, name: &str) -> ServiceResult<DomainRecord> {
        self.store
            .domain_by_name(name)
            .await?
            .ok_or(ServiceError::NotFound)
    }

    pub async fn create_user(
        &self,
        domain: &str,
        name: &str,
        pw: &str,
        admin: bool,
    ) -> ServiceResult<UserRecord> {
        let domain = self.domain_named(domain).await?;
        if domain.is_provider {
            return Err(ValidationError::new("domain", Rule::UnknownId).into());
        }
        self.insert_user(&domain, name, pw, admin, None).await
    }

    /// Disables (or enables again) a user, engineers included (domain `provider`): a
    /// disabled user cannot log in, and their tokens and access keys stop working.
    pub async fn set_user_enabled(
        &self,
        domain: &str,
        name: &str,
        enabled: bool,
    ) -> ServiceResult<UserRecord> {
        let mut user = self.user_named(domain, name).await?;
        self.store.set_user_enabled(&user.id, enabled).await?;
        self.credentials.clear();
        self.live_sessions.poke();
        user.enabled = enabled;
        Ok(user)
    }

    /// Engineers are users of the `provider` domain, created on first use.
    pub async fn create_engineer(
        &self,
        name: &str,
        pw: &str,
        provider_admin: bool,
    ) -> ServiceResult<UserRecord> {
        let domain = match self.store.domain_by_name(PROVIDER_DOMAIN).await? {
            Some(d) => d,
            None => match self.insert_domain(PROVIDER_DOMAIN, true).await {
                Err(ServiceError::Duplicate(_)) => self.domain_named(PROVIDER_DOMAIN).await?,
                other => other?,
            },
        };
        self.insert_user(&domain, name, pw, false, Some(provider_admin))
            .await
    }

    async fn insert_user(
        &self,
        domain: &DomainRecord,
        name: &str,
        pw: &str,
        admin: bool,
        engineer: Option<bool>,
    ) -> ServiceResult<UserRecord> {
        check_name("name", name)?;
        check_password(pw)?;
        let user = UserRecord {
            id: new_hex_id(),
            domain_id: domain.id.clone(),
            name: name.into(),
            password_hash: self.passwords.hash(Secret::new(pw.to_owned())).await?,
            is_admin: admin,
            is_engineer: engineer.is_some(),
            is_provider_admin: engineer.unwrap_or(false),
            enabled: true,
            created_at: self.clock.now(),
        };
        self.store
            .create_user(user.clone())
            .await
            .map_err(|e| match e {
                crate::store::StoreError::Duplicate(_) => {
                    ServiceError::Duplicate(format!("user `{name}` in domain `{}`", domain.name))
                }
                other => other.into(),
            })?;
        Ok(user)
    }

    pub async fn create_group(
        &self,
        domain: &str,
        name: &str,
        operator: bool,
    ) -> ServiceResult<GroupRecord> {
        check_name("name", name)?;
        let domain = self.domain_named(domain).await?;
        let group = GroupRecord {
            id: new_hex_id(),
            domain_id: domain.id,
            name: name.into(),
            is_operator: operator,
            created_at: self.clock.now(),
        };
        self.store
            .create_group(group.clone())
            .await
            .map_err(|e| match e {
                crate::store::StoreError::Duplicate(_) => {
                    ServiceError::Duplicate(format!("group `{name}`"))
                }
                other => other.into(),
            })?;
        Ok(group)
    }

    pub async fn add_group_member(
        &self,
        domain: &str,
        group: &str,
        user: &str,
    ) -> ServiceResult<(GroupRecord, UserRecord)> {
        let domain = self.domain_named(domain).await?;
        let group = self
            .store
            .group_by_name(&domain.id, group)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let user = self
            .store
            .user_by_name(&domain.id, user)
            .await?
            .ok_or(ServiceError::NotFound)?;
        self.store.add_group_member(&group.id, &user.id).await?;
        Ok((group, user))
    }

    /// The password method of `POST /v3/auth/tokens`.
    pub async fn issue_token(
        &self,
        domain: DomainRef,
        user_name: &str,
        pw: Secret,
    ) -> ServiceResult<IssuedToken> {
        const REFUSED: &str = "The username or password is wrong.";
        let domain = match &domain {
            DomainRef::Name(name) => self.store.domain_by_name(name).await?,
            DomainRef::Id(id) => self.store.domain_by_id(id).await?,
        };
        let user = match &domain {
            Some(d) => self
                .store
                .user_by_name(&d.id, user_name)
                .await?
                .filter(|u| u.enabled),
            None => None,
        };
        let (Some(domain), Some(user)) = (domain, user) else {
            // Spend the same time as a real check, so timing does not reveal who exists.
            self.passwords.verify(pw, None).await?;
            return Err(ServiceError::Unauthenticated(REFUSED.into()));
        };
        let phc = user.password_hash.clone();
        if !self.passwords.verify(pw, Some(phc)).await? {
            return Err(ServiceError::Unauthenticated(REFUSED.into()));
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
