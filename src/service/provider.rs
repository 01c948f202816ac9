//! The engineer's operations (docs/API.md, Provider API).

use crate::domain::audit::AuditDraft;
use crate::domain::authorization::{NewAuthorization, RaiseInput};
use crate::domain::session::{
    FileTransferInput, OperationInput, RecordWindow, Session, SessionSource,
    validate_file_transfers, validate_operations,
};
use crate::domain::{
    Action, Authorization, AuthorizationId, DetailId, Principal, Rule, Scope, SessionId,
    ValidationError,
};
use crate::store::{ListFilter, SessionRef, StoreError, TransitionRequest};

use super::network_policy::{Refusal, resolve_allowed};
use super::{App, ServiceError, ServiceResult, SessionPath, actor};
use crate::domain::validation::remark;

/// How often a random id may collide before we give up (it never should).
const ID_ATTEMPTS: usize = 3;

/// How long a raise waits for a host name to resolve; a name that does not resolve in
/// time is judged again at connect time.
const RAISE_RESOLVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

impl App {
    /// Refuses hosts that resolve to addresses outside `target_networks`. Names that do
    /// not resolve (yet) are accepted: CheckHosts and the broker judge them again.
    async fn check_target_hosts(&self, new: &NewAuthorization) -> ServiceResult<()> {
        for (i, detail) in new.details.iter().enumerate() {
            let (Some(host), Some(port)) = (&detail.host, detail.port) else {
                continue;
            };
            let resolved = tokio::time::timeout(
                RAISE_RESOLVE_TIMEOUT,
                resolve_allowed(&self.target_networks, host, port),
            )
            .await;
            if let Ok(Err(Refusal::NotAllowed(_))) = resolved {
                let field = format!("details[{i}].host");
                return Err(ValidationError::new(field, Rule::TargetNotAllowed).into());
            }
        }
        Ok(())
    }

    /// Raises a request for access on behalf of the engineer `p`.
    pub async fn raise(
        &self,
        p: &Principal,
        input: RaiseInput,
        site: i32,
    ) -> ServiceResult<Authorization> {
        p.provider_scope()?;
        let new = input.validate()?;
        self.check_target_hosts(&new).await?;
        let unknown =
            |field: &str| ServiceError::Invalid(ValidationError::new(field, Rule::UnknownId));
        let customer = self.store.domain_by_id(&new.customer_id).await?;
        if customer.is_none_or(|d| d.is_provider) {
            return Err(unknown("customer_id"));
        }
        let submitter = self
            .store
            .user_by_id(&new.x_customer_id)
            .await?
            .filter(|u| u.domain_id == new.customer_id && !u.is_engineer)
            .ok_or_else(|| unknown("x_customer_id"))?;
        for _ in 0..ID_ATTEMPTS {
            let id = AuthorizationId::from_random(rand::random());
            let detail_ids: Vec<DetailId> = new
                .details
                .iter()
                .map(|_| DetailId::from_random(rand::random()))
                .collect();
            let auth = new.clone().into_authorization(
                id,
                &detail_ids,
                submitter.name.clone(),
                actor(p),
                site,
                self.clock.now(),
                self.policy.pending_ttl,
            );
            let event =
                AuditDraft::new(&auth.customer_id, Some(id), &actor(p), "raise").note(format!(
                    "incident={} details={}",
                    auth.incident_id,
                    auth.details.len()
                ));
            match self.store.insert_authorization(auth.clone(), event).await {
                Ok(()) => return Ok(auth),
                Err(StoreError::Duplicate(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::broken(
            "could not allocate a unique authorization id",
        ))
    }

    pub async fn provider_list(
        &self,
        p: &Principal,
        filter: &ListFilter,
    ) -> ServiceResult<(u64, Vec<Authorization>)> {
        let scope = p.provider_scope()?;
        Ok(self.store.list_authorizations(&scope, filter).await?)
    }

    pub async fn provider_show(
        &self,
        p: &Principal,
        id: Option<AuthorizationId>,
    ) -> ServiceResult<Authorization> {
        let scope = p.provider_scope()?;
        let id = id.ok_or(ServiceError::NotFound)?;
        self.store
            .get_authorization(&scope, id)
            .await?
            .ok_or(ServiceError::NotFound)
    }

    /// Withdraws a pending request.
    pub async fn recall(
        &self,
        p: &Principal,
        id: Option<AuthorizationId>,
        reason: Option<String>,
    ) -> ServiceResult<()> {
        let reason = remark("reason", reason)?;
        let scope = p.provider_scope()?;
        let id = id.ok_or(ServiceError::NotFound)?;
        let request = TransitionRequest {
            id,
            scope,
            action: Action::Recall,
            now: self.clock.now(),
            actor: actor(p),
            reason,
            grant: None,
        };
        self.apply_transition(request).await
    }

    /// Opens a session on a detail: only while authorized and inside the window.
    pub async fn open_session(
        &self,
        p: &Principal,
        id: Option<AuthorizationId>,
        detail: Option<DetailId>,
    ) -> ServiceResult<SessionId> {
        p.provider_scope()?;
        // Access is personal: only the engineer who raised the request opens sessions on
        // it, provider administrators included (to others it is not found).
        let scope = Scope::Provider {
            raised_by: Some(p.user_id.clone()),
        };
        let (Some(authorization_id), Some(detail_id)) = (id, detail) else {
            return Err(ServiceError::NotFound);
        };
        for _ in 0..ID_ATTEMPTS {
            let session = Session {
                id: SessionId::from_random(rand::random()),
                authorization_id,
                detail_id,
                engineer_id: p.user_id.clone(),
                started_at: self.clock.now(),
                ended_at: None,
                source: SessionSource::Reported,
            };
            let session_id = session.id;
            match self.store.open_session(&scope, session, actor(p)).await {
                Ok(()) => return Ok(session_id),
                Err(StoreError::Duplicate(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::broken(
            "could not allocate a unique session id",
        ))
    }

    pub async fn append_operations(
        &self,
        p: &Principal,
        path: SessionPath,
        input: &[OperationInput],
    ) -> ServiceResult<usize> {
        let target = path.within(p.provider_scope()?)?;
        let ops = validate_operations(input, self.record_window(&target).await?)?;
        let count = ops.len();
        self.store
            .append_operations(target, ops, actor(p), self.clock.now())
            .await?;
        Ok(count)
    }

    pub async fn append_file_transfers(
        &self,
        p: &Principal,
        path: SessionPath,
        input: &[FileTransferInput],
    ) -> ServiceResult<usize> {
        let target = path.within(p.provider_scope()?)?;
        let items = validate_file_transfers(input, self.record_window(&target).await?)?;
        let count = items.len();
        self.store
            .append_file_transfers(target, items, actor(p), self.clock.now())
            .await?;
        Ok(count)
    }

    /// What a session records happened between its start and now (the store refuses
    /// appends to sessions that are closed). Its start never changes, so it is read
    /// before the append.
    async fn record_window(&self, target: &SessionRef) -> ServiceResult<RecordWindow> {
        Ok(RecordWindow {
            earliest: self.store.session_started_at(target).await?,
            now: self.clock.now(),
        })
    }

    pub async fn close_session(&self, p: &Principal, path: SessionPath) -> ServiceResult<()> {
        let target = path.within(p.provider_scope()?)?;
        self.store
            .close_session(target, self.clock.now(), actor(p))
            .await?;
        Ok(())
    }
}
