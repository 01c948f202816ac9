//! Engineers' SSH public keys for the broker: self-service and the operator's CLI. Adding
//! and removing a key is an administrative change, audited in the engineer's domain.

use serde_json::{Value, json};

use crate::domain::audit::Actor;
use crate::domain::broker::parse_engineer_key;
use crate::domain::principal::Principal;
use crate::domain::time::format_utc;
use crate::store::{AdminChange, SshKeyRecord, StoreError};

use super::{App, ServiceError, ServiceResult, actor};

/// A key's fields for the audit (all public; the key itself by its fingerprint).
fn key_fields(k: &SshKeyRecord) -> Value {
    json!({
        "fingerprint": k.fingerprint, "user_id": k.user_id, "algorithm": k.algorithm,
        "comment": k.comment, "created_at": format_utc(k.created_at),
    })
}

impl App {
    /// Registers `line` (one OpenSSH public key) to the calling engineer.
    pub async fn add_ssh_key(&self, p: &Principal, line: &str) -> ServiceResult<SshKeyRecord> {
        p.provider_scope()?;
        self.register_ssh_key(&actor(p), &p.user_id, &p.domain_id, line)
            .await
    }

    pub async fn list_ssh_keys(&self, p: &Principal) -> ServiceResult<Vec<SshKeyRecord>> {
        p.provider_scope()?;
        Ok(self.store.list_ssh_keys(&p.user_id).await?)
    }

    pub async fn remove_ssh_key(&self, p: &Principal, fingerprint: &str) -> ServiceResult<()> {
        p.provider_scope()?;
        self.unregister_ssh_key(&actor(p), &p.user_id, &p.domain_id, fingerprint)
            .await
    }

    /// `admin engineer add-ssh-key`.
    pub async fn admin_add_ssh_key(
        &self,
        by: &Actor,
        engineer: &str,
        line: &str,
    ) -> ServiceResult<SshKeyRecord> {
        let user = self.engineer_named(engineer).await?;
        self.register_ssh_key(by, &user.id, &user.domain_id, line)
            .await
    }

    pub async fn admin_list_ssh_keys(&self, engineer: &str) -> ServiceResult<Vec<SshKeyRecord>> {
        let user = self.engineer_named(engineer).await?;
        Ok(self.store.list_ssh_keys(&user.id).await?)
    }

    pub async fn admin_remove_ssh_key(
        &self,
        by: &Actor,
        engineer: &str,
        fingerprint: &str,
    ) -> ServiceResult<()> {
        let user = self.engineer_named(engineer).await?;
        self.unregister_ssh_key(by, &user.id, &user.domain_id, fingerprint)
            .await
    }

    async fn register_ssh_key(
        &self,
        by: &Actor,
        user_id: &str,
        chain: &str,
        line: &str,
    ) -> ServiceResult<SshKeyRecord> {
        let key = parse_engineer_key(line)?;
        let record = SshKeyRecord {
            fingerprint: key.fingerprint,
            user_id: user_id.to_owned(),
            algorithm: key.algorithm,
            public_key: key.public_key,
            comment: key.comment,
            created_at: self.clock.now(),
        };
        let after = key_fields(&record);
        let change = AdminChange::InsertSshKey(record.clone());
        match self
            .admin(by.clone())
            .record(chain, change, "ssh_key.added", None, Some(after))
            .await
        {
            Ok(()) => Ok(record),
            // One key identifies one engineer; who holds it is not told.
            Err(ServiceError::Store(StoreError::Duplicate(_))) => Err(ServiceError::Duplicate(
                format!("SSH key {} is registered already", record.fingerprint),
            )),
            Err(e) => Err(e),
        }
    }

    async fn unregister_ssh_key(
        &self,
        by: &Actor,
        user_id: &str,
        chain: &str,
        fingerprint: &str,
    ) -> ServiceResult<()> {
        let before = self
            .store
            .list_ssh_keys(user_id)
            .await?
            .into_iter()
            .find(|k| k.fingerprint == fingerprint)
            .ok_or(ServiceError::NotFound)?;
        let change = AdminChange::DeleteSshKey {
            user_id: user_id.to_owned(),
            fingerprint: fingerprint.to_owned(),
        };
        self.admin(by.clone())
            .record(
                chain,
                change,
                "ssh_key.removed",
                Some(key_fields(&before)),
                None,
            )
            .await
    }
}
