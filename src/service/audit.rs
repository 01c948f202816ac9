//! Reading the audit trail: a customer domain administrator reads their own domain's
//! chain.

use super::{App, ServiceResult};
use crate::domain::Principal;
use crate::domain::audit::AuditEvent;
use crate::store::AuditFilter;

impl App {
    /// The caller's domain's events `filter` selects (its chain is forced to the
    /// caller's domain), newest first, with their total.
    pub async fn domain_audit_events(
        &self,
        p: &Principal,
        mut filter: AuditFilter,
    ) -> ServiceResult<(u64, Vec<AuditEvent>)> {
        filter.chain = Some(p.require_domain_admin()?.to_owned());
        Ok(self.store.audit_events(&filter).await?)
    }
}
