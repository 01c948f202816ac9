//! Engineers' SSH public keys for the broker: self-service and the operator's CLI.

use crate::domain::broker::parse_engineer_key;
use crate::domain::principal::Principal;
use crate::store::{SshKeyRecord, StoreError};

use super::{App, ServiceError, ServiceResult};

impl App {
    /// Registers `line` (one OpenSSH public key) to the calling engineer.
    pub async fn add_ssh_key(&self, p: &Principal, line: &str) -> ServiceResult<SshKeyRecord> {
        p.provider_scope()?;
        self.register_ssh_key(&p.user_id, line).await
    }

    pub async fn list_ssh_keys(&self, p: &Principal) -> ServiceResult<Vec<SshKeyRecord>> {
        p.provider_scope()?;
        Ok(self.store.list_ssh_keys(&p.user_id).await?)
    }

    pub async fn remove_ssh_key(&self, p: &Principal, fingerprint: &str) -> ServiceResult<()> {
        p.provider_scope()?;
        Ok(self.store.delete_ssh_key(&p.user_id, fingerprint).await?)
    }

    /// `admin engineer add-ssh-key`.
    pub async fn admin_add_ssh_key(
        &self,
        engineer: &str,
        line: &str,
    ) -> ServiceResult<SshKeyRecord> {
        let user = self.engineer_named(engineer).await?;
        self.register_ssh_key(&user.id, line).await
    }

    pub async fn admin_list_ssh_keys(&self, engineer: &str) -> ServiceResult<Vec<SshKeyRecord>> {
        let user = self.engineer_named(engineer).await?;
        Ok(self.store.list_ssh_keys(&user.id).await?)
    }

    pub async fn admin_remove_ssh_key(
        &self,
        engineer: &str,
        fingerprint: &str,
    ) -> ServiceResult<()> {
        let user = self.engineer_named(engineer).await?;
        Ok(self.store.delete_ssh_key(&user.id, fingerprint).await?)
    }

    async fn register_ssh_key(&self, user_id: &str, line: &str) -> ServiceResult<SshKeyRecord> {
        let key = parse_engineer_key(line)?;
        let record = SshKeyRecord {
            fingerprint: key.fingerprint,
            user_id: user_id.to_owned(),
            algorithm: key.algorithm,
            public_key: key.public_key,
            comment: key.comment,
            created_at: self.clock.now(),
        };
        match self.store.insert_ssh_key(record.clone()).await {
            Ok(()) => Ok(record),
            // One key identifies one engineer; who holds it is not told.
            Err(StoreError::Duplicate(_)) => Err(ServiceError::Duplicate(format!(
                "SSH key {} is registered already",
                record.fingerprint
            ))),
            Err(e) => Err(e.into()),
        }
    }
}
