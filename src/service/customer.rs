//! The customer's operations (docs/API.md, Customer API).

use crate::domain::confirm::{ConfirmInput, ConfirmPolicy};
use crate::domain::session::{FileTransfer, Operation, Session};
use crate::domain::{Action, Authorization, AuthorizationId, DetailId, Principal};
use crate::store::{ListFilter, Order, Page, StoredDetailGrant, StoredGrant, TransitionRequest};

use super::{App, ServiceError, ServiceResult, SessionPath, actor};
use crate::domain::validation::remark;

impl App {
    pub async fn list_authorizations(
        &self,
        p: &Principal,
        group_id: Option<&str>,
        filter: &ListFilter,
    ) -> ServiceResult<(u64, Vec<Authorization>)> {
        let scope = self.customer_scope(p, group_id).await?;
        Ok(self.store.list_authorizations(&scope, filter).await?)
    }

    pub async fn show_authorization(
        &self,
        p: &Principal,
        group_id: Option<&str>,
        id: Option<AuthorizationId>,
    ) -> ServiceResult<Authorization> {
        let scope = self.customer_scope(p, group_id).await?;
        let id = id.ok_or(ServiceError::NotFound)?;
        self.store
            .get_authorization(&scope, id)
            .await?
            .ok_or(ServiceError::NotFound)
    }

    /// ConfirmAuthorizations: validates the grant, seals the host passwords, and moves
    /// the authorization to `authorized` if it is still pending.
    pub async fn confirm(
        &self,
        p: &Principal,
        group_id: Option<&str>,
        id: Option<AuthorizationId>,
        input: ConfirmInput,
    ) -> ServiceResult<()> {
        input.check_fields()?;
        let scope = self.customer_scope(p, group_id).await?;
        let id = id.ok_or(ServiceError::NotFound)?;
        let auth = self
            .store
            .get_authorization(&scope, id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        // Checked before the grant is validated against the authorization's details.
        Action::Confirm.apply(auth.status)?;
        let now = self.clock.now();
        let grant = input.validate(
            &auth,
            ConfirmPolicy {
                now,
                max_window: self.policy.max_window,
            },
        )?;
        let details = grant
            .details
            .into_iter()
            .map(|d| StoredDetailGrant {
                detail_id: d.detail_id,
                port: d.port,
                account: d.account,
                password_ciphertext: d.password.map(|pw| {
                    self.secrets
                        .seal(pw.expose().as_bytes(), &format!("detail:{}", d.detail_id.0))
                }),
            })
            .collect();
        let request = TransitionRequest {
            id: auth.id,
            scope,
            action: Action::Confirm,
            now,
            actor: actor(p),
            reason: None,
            grant: Some(StoredGrant {
                effective_at: grant.effective_at,
                expire_at: grant.expire_at,
                agency_id: grant.agency_id,
                details,
            }),
        };
        self.apply_transition(request).await
    }

    /// UpdateAuthorizations: `reject` (pending) or `cancel` (authorized).
    pub async fn reject_or_cancel(
        &self,
        p: &Principal,
        group_id: Option<&str>,
        id: Option<AuthorizationId>,
        action: Action,
        reason: Option<String>,
    ) -> ServiceResult<()> {
        debug_assert!(matches!(action, Action::Reject | Action::Cancel));
        let reason = remark("reject_reason", reason)?;
        let scope = self.customer_scope(p, group_id).await?;
        let id = id.ok_or(ServiceError::NotFound)?;
        let request = TransitionRequest {
            id,
            scope,
            action,
            now: self.clock.now(),
            actor: actor(p),
            reason,
            grant: None,
        };
        self.apply_transition(request).await?;
        // A cancel ends access: live broker sessions are cut now, not at the next poll.
        self.live_sessions.poke();
        Ok(())
    }

    pub async fn list_sessions(
        &self,
        p: &Principal,
        group_id: Option<&str>,
        id: Option<AuthorizationId>,
        detail: Option<DetailId>,
        page: Page,
    ) -> ServiceResult<(u64, Vec<Session>)> {
        let scope = self.customer_scope(p, group_id).await?;
        let (Some(id), Some(detail)) = (id, detail) else {
            return Err(ServiceError::NotFound);
        };
        Ok(self.store.list_sessions(&scope, id, detail, page).await?)
    }

    pub async fn list_operations(
        &self,
        p: &Principal,
        group_id: Option<&str>,
        path: SessionPath,
        order: Order,
        page: Page,
    ) -> ServiceResult<(u64, Vec<Operation>)> {
        let target = path.within(self.customer_scope(p, group_id).await?)?;
        Ok(self.store.list_operations(target, order, page).await?)
    }

    pub async fn list_file_transfers(
        &self,
        p: &Principal,
        group_id: Option<&str>,
        path: SessionPath,
        order: Order,
        page: Page,
    ) -> ServiceResult<(u64, Vec<FileTransfer>)> {
        let target = path.within(self.customer_scope(p, group_id).await?)?;
        Ok(self.store.list_file_transfers(target, order, page).await?)
    }
}
