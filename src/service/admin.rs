//! Administrative use cases (the admin CLI's, and an admin API's): identities and
//! credentials. Every change is an audit event recording who made it and the
//! non-secret fields before and after, in the affected domain's chain or `system`.

use jiff::SignedDuration;
use serde_json::{Value, json};

use super::access_keys::{IssuedKey, TEMPORARY_MAX, TEMPORARY_MIN};
use super::identity::{PROVIDER_DOMAIN, check_name, check_password};
use super::{App, ServiceError, ServiceResult, new_hex_id};
use crate::domain::audit::{Actor, AuditDraft, SYSTEM_CHAIN};
use crate::domain::secret::Secret;
use crate::domain::time::format_utc;
use crate::domain::validation::{Rule, ValidationError, text};
use crate::store::{
    AccessKeyRecord, AdminChange, DomainRecord, GroupRecord, KeyOwner, StoreError, UserRecord,
};

/// A group with the names of its members.
pub struct GroupListing {
    pub group: GroupRecord,
    pub members: Vec<String>,
}

/// What a user update changes; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct UserUpdate {
    /// `Some(None)` clears the address.
    pub email: Option<Option<String>>,
    pub admin: Option<bool>,
}

/// The non-secret fields recorded before and after a change.
pub fn user_fields(u: &UserRecord) -> Value {
    json!({
        "id": u.id, "name": u.name, "domain_id": u.domain_id, "admin": u.is_admin,
        "engineer": u.is_engineer, "provider_admin": u.is_provider_admin,
        "enabled": u.enabled, "email": u.email,
    })
}

fn domain_fields(d: &DomainRecord) -> Value {
    json!({ "id": d.id, "name": d.name })
}

fn group_fields(g: &GroupRecord) -> Value {
    json!({ "id": g.id, "name": g.name, "domain_id": g.domain_id, "operator": g.is_operator })
}

fn key_fields(k: &AccessKeyRecord) -> Value {
    json!({
        "access_key": k.access_key, "user_id": k.user_id, "enabled": k.enabled,
        "expires_at": k.expires_at.map(format_utc),
    })
}

fn membership(g: &GroupRecord, u: &UserRecord) -> Value {
    json!({ "group_id": g.id, "group": g.name, "user_id": u.id, "user": u.name })
}

/// A taken name, said in words.
fn duplicate(what: String) -> impl FnOnce(ServiceError) -> ServiceError {
    move |e| match e {
        ServiceError::Store(StoreError::Duplicate(_)) => ServiceError::Duplicate(what),
        other => other,
    }
}

fn check_email(email: &str) -> Result<(), ValidationError> {
    text("email", email, 3, 254)?;
    let well_formed = email
        .split_once('@')
        .is_some_and(|(local, host)| !local.is_empty() && host.contains('.'));
    if !well_formed || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ValidationError::new("email", Rule::Malformed));
    }
    Ok(())
}

/// Administrative changes made by one actor.
pub struct Admin<'a> {
    app: &'a App,
    actor: Actor,
}

impl App {
    /// Administrative changes, recorded as made by `actor`.
    pub fn admin(&self, actor: Actor) -> Admin<'_> {
        Admin { app: self, actor }
    }

    pub async fn list_domains(&self) -> ServiceResult<Vec<DomainRecord>> {
        Ok(self.store.list_domains().await?)
    }

    pub async fn list_users(&self, domain: &str) -> ServiceResult<Vec<UserRecord>> {
        let domain = self.domain_named(domain).await?;
        Ok(self.store.list_users(&domain.id).await?)
    }

    pub async fn group_named(&self, domain: &str, group: &str) -> ServiceResult<GroupRecord> {
        let d = self.domain_named(domain).await?;
        self.store
            .group_by_name(&d.id, group)
            .await?
            .ok_or_else(|| ServiceError::Missing(format!("group `{group}` in domain `{domain}`")))
    }

    pub async fn group_listing(&self, group: GroupRecord) -> ServiceResult<GroupListing> {
        let members = self.store.group_member_names(&group.id).await?;
        Ok(GroupListing { group, members })
    }

    pub async fn list_groups(&self, domain: &str) -> ServiceResult<Vec<GroupListing>> {
        let domain = self.domain_named(domain).await?;
        let mut listings = Vec::new();
        for group in self.store.list_groups(&domain.id).await? {
            listings.push(self.group_listing(group).await?);
        }
        Ok(listings)
    }

    /// Engineers are the users of the `provider` domain; none before the first.
    pub async fn list_engineers(&self) -> ServiceResult<Vec<UserRecord>> {
        match self.store.domain_by_name(PROVIDER_DOMAIN).await? {
            Some(d) => Ok(self.store.list_users(&d.id).await?),
            None => Ok(Vec::new()),
        }
    }

    pub async fn engineer_named(&self, name: &str) -> ServiceResult<UserRecord> {
        self.user_named(PROVIDER_DOMAIN, name)
            .await
            .map_err(|e| match e {
                ServiceError::Missing(_) => ServiceError::Missing(format!("engineer `{name}`")),
                other => other,
            })
    }
}

impl Admin<'_> {
    /// Applies `change` with its audit event in one transaction.
    pub(super) async fn record(
        &self,
        chain: &str,
        change: AdminChange,
        kind: &str,
        before: Option<Value>,
        after: Option<Value>,
    ) -> ServiceResult<()> {
        let event = AuditDraft::admin(chain, &self.actor, kind, before, after);
        let result = self
            .app
            .store
            .apply_admin_change(change, event, self.app.clock.now())
            .await;
        // Whatever changed may have been a credential's power, or an engineer's access
        // through the SSH broker.
        self.app.credentials.clear();
        self.app.live_sessions.poke();
        Ok(result?)
    }

    pub async fn create_domain(&self, name: &str) -> ServiceResult<DomainRecord> {
        check_name("name", name)?;
        self.insert_domain(name, name == PROVIDER_DOMAIN).await
    }

    async fn insert_domain(&self, name: &str, is_provider: bool) -> ServiceResult<DomainRecord> {
        let domain = DomainRecord {
            id: new_hex_id(),
            name: name.into(),
            is_provider,
            created_at: self.app.clock.now(),
        };
        let after = domain_fields(&domain);
        let change = AdminChange::CreateDomain(domain.clone());
        self.record(SYSTEM_CHAIN, change, "domain.created", None, Some(after))
            .await
            .map_err(duplicate(format!("domain `{name}`")))?;
        Ok(domain)
    }

    pub async fn create_user(
        &self,
        domain: &str,
        name: &str,
        password: &str,
        admin: bool,
    ) -> ServiceResult<UserRecord> {
        let domain = self.app.domain_named(domain).await?;
        if domain.is_provider {
            // Engineers are made with `create_engineer`, which sets their role.
            return Err(ValidationError::new("domain", Rule::UnknownId).into());
        }
        self.insert_user(&domain, name, password, admin, None).await
    }

    /// Engineers are users of the `provider` domain, created on first use.
    pub async fn create_engineer(
        &self,
        name: &str,
        password: &str,
        provider_admin: bool,
    ) -> ServiceResult<UserRecord> {
        let domain = match self.app.store.domain_by_name(PROVIDER_DOMAIN).await? {
            Some(d) => d,
            None => match self.insert_domain(PROVIDER_DOMAIN, true).await {
                Err(ServiceError::Duplicate(_)) => self.app.domain_named(PROVIDER_DOMAIN).await?,
                other => other?,
            },
        };
        self.insert_user(&domain, name, password, false, Some(provider_admin))
            .await
    }

    async fn insert_user(
        &self,
        domain: &DomainRecord,
        name: &str,
        password: &str,
        admin: bool,
        engineer: Option<bool>,
    ) -> ServiceResult<UserRecord> {
        check_name("name", name)?;
        check_password(password)?;
        let user = UserRecord {
            id: new_hex_id(),
            domain_id: domain.id.clone(),
            name: name.into(),
            password_hash: self
                .app
                .passwords
                .hash(Secret::new(password.to_owned()))
                .await?,
            is_admin: admin,
            is_engineer: engineer.is_some(),
            is_provider_admin: engineer.unwrap_or(false),
            enabled: true,
            created_at: self.app.clock.now(),
            email: None,
        };
        let kind = if engineer.is_some() {
            "engineer.created"
        } else {
            "user.created"
        };
        let after = user_fields(&user);
        self.record(
            &domain.id,
            AdminChange::CreateUser(user.clone()),
            kind,
            None,
            Some(after),
        )
        .await
        .map_err(duplicate(format!(
            "user `{name}` in domain `{}`",
            domain.name
        )))?;
        Ok(user)
    }

    pub async fn update_user(
        &self,
        domain: &str,
        name: &str,
        update: UserUpdate,
    ) -> ServiceResult<UserRecord> {
        if let Some(Some(email)) = &update.email {
            check_email(email)?;
        }
        let before = self.app.user_named(domain, name).await?;
        let mut after = before.clone();
        if let Some(email) = update.email {
            after.email = email;
        }
        if let Some(admin) = update.admin {
            after.is_admin = admin;
        }
        let change = AdminChange::UpdateUser {
            user_id: after.id.clone(),
            is_admin: after.is_admin,
            email: after.email.clone(),
        };
        let (b, a) = (user_fields(&before), user_fields(&after));
        self.record(&after.domain_id, change, "user.updated", Some(b), Some(a))
            .await?;
        Ok(after)
    }

    /// A new password; the event records that it changed, never the password.
    pub async fn set_password(
        &self,
        domain: &str,
        name: &str,
        password: &str,
    ) -> ServiceResult<UserRecord> {
        check_password(password)?;
        let user = self.app.user_named(domain, name).await?;
        let change = AdminChange::SetPassword {
            user_id: user.id.clone(),
            password_hash: self
                .app
                .passwords
                .hash(Secret::new(password.to_owned()))
                .await?,
        };
        let fields = json!({ "id": user.id, "name": user.name });
        self.record(
            &user.domain_id,
            change,
            "user.password_changed",
            Some(fields.clone()),
            Some(fields),
        )
        .await?;
        Ok(user)
    }

    /// Disables (or enables again) a user, engineers included (domain `provider`): a
    /// disabled user cannot log in, and their tokens and access keys stop working;
    /// disabling deletes their tokens and temporary keys, so enabling revives neither.
    pub async fn set_user_enabled(
        &self,
        domain: &str,
        name: &str,
        enabled: bool,
    ) -> ServiceResult<UserRecord> {
        let before = self.app.user_named(domain, name).await?;
        let after = UserRecord {
            enabled,
            ..before.clone()
        };
        let change = AdminChange::SetUserEnabled {
            user_id: after.id.clone(),
            enabled,
        };
        let kind = if enabled {
            "user.enabled"
        } else {
            "user.disabled"
        };
        let (b, a) = (user_fields(&before), user_fields(&after));
        self.record(&after.domain_id, change, kind, Some(b), Some(a))
            .await?;
        Ok(after)
    }

    /// The user with their tokens, access keys and group memberships. Authorizations
    /// they submitted stay (history is never deleted).
    pub async fn delete_user(&self, domain: &str, name: &str) -> ServiceResult<UserRecord> {
        let user = self.app.user_named(domain, name).await?;
        let change = AdminChange::DeleteUser {
            user_id: user.id.clone(),
        };
        self.record(
            &user.domain_id,
            change,
            "user.deleted",
            Some(user_fields(&user)),
            None,
        )
        .await?;
        Ok(user)
    }

    pub async fn create_group(
        &self,
        domain: &str,
        name: &str,
        operator: bool,
    ) -> ServiceResult<GroupRecord> {
        check_name("name", name)?;
        let domain = self.app.domain_named(domain).await?;
        let group = GroupRecord {
            id: new_hex_id(),
            domain_id: domain.id.clone(),
            name: name.into(),
            is_operator: operator,
            created_at: self.app.clock.now(),
        };
        let after = group_fields(&group);
        self.record(
            &domain.id,
            AdminChange::CreateGroup(group.clone()),
            "group.created",
            None,
            Some(after),
        )
        .await
        .map_err(duplicate(format!(
            "group `{name}` in domain `{}`",
            domain.name
        )))?;
        Ok(group)
    }

    pub async fn add_group_member(
        &self,
        domain: &str,
        group: &str,
        user: &str,
    ) -> ServiceResult<(GroupRecord, UserRecord)> {
        self.change_membership(domain, group, user, true).await
    }

    pub async fn remove_group_member(
        &self,
        domain: &str,
        group: &str,
        user: &str,
    ) -> ServiceResult<(GroupRecord, UserRecord)> {
        self.change_membership(domain, group, user, false).await
    }

    async fn change_membership(
        &self,
        domain: &str,
        group: &str,
        user: &str,
        add: bool,
    ) -> ServiceResult<(GroupRecord, UserRecord)> {
        let g = self.app.group_named(domain, group).await?;
        let u = self.app.user_named(domain, user).await?;
        let (group_id, user_id) = (g.id.clone(), u.id.clone());
        let fields = Some(membership(&g, &u));
        let (change, kind, before, after) = if add {
            let change = AdminChange::AddGroupMember { group_id, user_id };
            (change, "group.member_added", None, fields)
        } else {
            let change = AdminChange::RemoveGroupMember { group_id, user_id };
            (change, "group.member_removed", fields, None)
        };
        self.record(&g.domain_id, change, kind, before, after)
            .await
            .map_err(|e| match e {
                ServiceError::NotFound => ServiceError::Missing(format!(
                    "user `{user}` as a member of group `{group}` in domain `{domain}`"
                )),
                other => other,
            })?;
        Ok((g, u))
    }

    pub async fn delete_group(&self, domain: &str, group: &str) -> ServiceResult<GroupRecord> {
        let g = self.app.group_named(domain, group).await?;
        let before = group_fields(&g);
        self.record(
            &g.domain_id,
            AdminChange::DeleteGroup {
                group_id: g.id.clone(),
            },
            "group.deleted",
            Some(before),
            None,
        )
        .await?;
        Ok(g)
    }

    pub async fn create_access_key(&self, domain: &str, user: &str) -> ServiceResult<IssuedKey> {
        let user = self.app.user_named(domain, user).await?;
        self.issue_key(&user, None).await
    }

    pub async fn create_temporary_access_key(
        &self,
        domain: &str,
        user: &str,
        lifetime: SignedDuration,
    ) -> ServiceResult<IssuedKey> {
        if lifetime < TEMPORARY_MIN || lifetime > TEMPORARY_MAX {
            let rule = Rule::Range {
                min: TEMPORARY_MIN.as_secs(),
                max: TEMPORARY_MAX.as_secs(),
            };
            return Err(ValidationError::new("duration (seconds)", rule).into());
        }
        let user = self.app.user_named(domain, user).await?;
        self.issue_key(&user, Some(lifetime)).await
    }

    async fn issue_key(
        &self,
        user: &UserRecord,
        lifetime: Option<SignedDuration>,
    ) -> ServiceResult<IssuedKey> {
        let (record, issued) = self.app.new_key(user, lifetime);
        let after = key_fields(&record);
        self.record(
            &user.domain_id,
            AdminChange::InsertAccessKey(record),
            "access_key.created",
            None,
            Some(after),
        )
        .await?;
        Ok(issued)
    }

    /// The key and the chain its events go to (its owner's domain).
    async fn key_named(&self, access_key: &str) -> ServiceResult<(AccessKeyRecord, String)> {
        match self.app.store.access_key_owner(access_key).await? {
            Some(KeyOwner { key, user, .. }) => Ok((key, user.domain_id)),
            None => Err(ServiceError::Missing(format!("access key `{access_key}`"))),
        }
    }

    pub async fn set_access_key_enabled(
        &self,
        access_key: &str,
        enabled: bool,
    ) -> ServiceResult<()> {
        let (before, chain) = self.key_named(access_key).await?;
        let after = AccessKeyRecord {
            enabled,
            ..before.clone()
        };
        let change = AdminChange::SetAccessKeyEnabled {
            access_key: access_key.into(),
            enabled,
        };
        let kind = if enabled {
            "access_key.enabled"
        } else {
            "access_key.disabled"
        };
        self.record(
            &chain,
            change,
            kind,
            Some(key_fields(&before)),
            Some(key_fields(&after)),
        )
        .await
    }

    pub async fn delete_access_key(&self, access_key: &str) -> ServiceResult<()> {
        let (before, chain) = self.key_named(access_key).await?;
        let change = AdminChange::DeleteAccessKey {
            access_key: access_key.into(),
        };
        self.record(
            &chain,
            change,
            "access_key.deleted",
            Some(key_fields(&before)),
            None,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_need_a_local_part_and_a_dotted_host() {
        assert!(check_email("bob@example.com").is_ok());
        for bad in [
            "bob",
            "@example.com",
            "bob@localhost",
            "b ob@example.com",
            "a@b",
        ] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
    }
}
