//! What the web console needs beyond the API's use cases: signed-in sessions, an
//! authorization's timeline, per-status counts, and naming a customer by name.
//! Visibility and validation stay in the use cases the API calls.

use std::net::IpAddr;

use jiff::SignedDuration;

use crate::crypto::token;
use crate::domain::principal::CredentialKind;
use crate::domain::secret::Secret;
use crate::domain::{AuditEvent, AuthorizationId, Principal, Rule, Status, ValidationError};
use crate::store::{AuditFilter, ConsoleSessionRecord, GroupRecord, ListFilter};

use super::identity::DomainRef;
use super::{App, ServiceError, ServiceResult};

/// A session unused for this long has ended.
pub const IDLE_TIMEOUT: SignedDuration = SignedDuration::from_mins(30);
/// A session ends this long after sign-in, however active.
pub const ABSOLUTE_TIMEOUT: SignedDuration = SignedDuration::from_hours(12);
/// Last use is recorded at most this often, so reading pages does not mean writing rows.
const TOUCH_EVERY: SignedDuration = SignedDuration::from_secs(60);

/// A console session resolved from its cookie value.
#[derive(Debug, Clone)]
pub struct ConsoleViewer {
    pub principal: Principal,
    /// SHA-256 of the cookie value: the session's key in the store.
    pub session_hash: [u8; 32],
}

impl App {
    /// The operator groups `p` is a member of (the group switch offers them), by name.
    pub async fn my_operator_groups(&self, p: &Principal) -> ServiceResult<Vec<GroupRecord>> {
        // One query: the list page asks on every load. Sorted here, so both databases
        // order names alike.
        let mut mine = self
            .store
            .operator_groups_of(&p.domain_id, &p.user_id)
            .await?;
        mine.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(mine)
    }

    /// Checks the password as `POST /v3/auth/tokens` does, under the same throttles
    /// (per user name and per source address), and opens a session; returns its
    /// cookie value.
    pub async fn console_sign_in(
        &self,
        domain: &str,
        user_name: &str,
        pw: Secret,
        source: IpAddr,
    ) -> ServiceResult<(Secret, Principal)> {
        let now = self.clock.now();
        let (domain, user) = self
            .verify_password(DomainRef::Name(domain.to_owned()), user_name, pw, source)
            .await?;
        let (cookie, hash) = token::generate();
        self.store
            .insert_console_session(ConsoleSessionRecord {
                hash,
                user_id: user.id.clone(),
                created_at: now,
                last_seen_at: now,
                expires_at: now.saturating_add(ABSOLUTE_TIMEOUT).unwrap_or(now),
            })
            .await?;
        Ok((cookie, user.principal(&domain, CredentialKind::Password)))
    }

    /// The longest window a customer may grant (the approve page shows it).
    pub fn max_window(&self) -> SignedDuration {
        self.policy.max_window
    }

    /// The viewer holding this cookie value, if the session is live.
    pub async fn console_session(&self, cookie: &str) -> ServiceResult<Option<ConsoleViewer>> {
        let hash = token::hash(cookie);
        let now = self.clock.now();
        let idle_since = now.saturating_sub(IDLE_TIMEOUT).unwrap_or(now);
        let Some(holder) = self.store.console_session(&hash, now, idle_since).await? else {
            return Ok(None);
        };
        if now.duration_since(holder.last_seen_at) >= TOUCH_EVERY {
            self.store.touch_console_session(&hash, now).await?;
        }
        Ok(Some(ConsoleViewer {
            principal: holder
                .user
                .principal(&holder.domain, CredentialKind::Password),
            session_hash: hash,
        }))
    }

    /// Sign-out: the session ends in the store, so the cookie is worthless everywhere.
    pub async fn console_sign_out(&self, viewer: &ConsoleViewer) -> ServiceResult<()> {
        Ok(self
            .store
            .delete_console_session(&viewer.session_hash)
            .await?)
    }

    /// The authorization (as `show_authorization` sees it) and everything that happened
    /// to it, oldest first.
    pub async fn authorization_timeline(
        &self,
        p: &Principal,
        group_id: Option<&str>,
        id: Option<AuthorizationId>,
    ) -> ServiceResult<(crate::domain::Authorization, Vec<AuditEvent>)> {
        let auth = self.show_authorization(p, group_id, id).await?;
        let filter = AuditFilter {
            chain: Some(auth.customer_id.clone()),
            authorization_id: Some(auth.id.0),
            ..AuditFilter::default()
        };
        let (_, mut events) = self.store.audit_events(&filter).await?;
        events.reverse();
        Ok((auth, events))
    }

    /// How many authorizations `filter` matches in each status (its own status and page
    /// are ignored), every status listed, within the same visibility as the list.
    pub async fn status_counts(
        &self,
        p: &Principal,
        group_id: Option<&str>,
        filter: &ListFilter,
    ) -> ServiceResult<Vec<(Status, u64)>> {
        let scope = self.customer_scope(p, group_id).await?;
        let found = self.store.count_by_status(&scope, filter).await?;
        Ok(Status::ALL
            .into_iter()
            .map(|s| {
                (
                    s,
                    found.iter().find(|(f, _)| *f == s).map_or(0, |(_, n)| *n),
                )
            })
            .collect())
    }

    /// The ids an engineer's request needs, from the names a person knows: the customer
    /// domain and the user who submitted the ticket.
    pub async fn customer_by_name(
        &self,
        p: &Principal,
        domain: &str,
        submitter: &str,
    ) -> ServiceResult<(String, String)> {
        p.provider_scope()?;
        let unknown =
            |field: &str| ServiceError::Invalid(ValidationError::new(field, Rule::UnknownId));
        let domain = self
            .store
            .domain_by_name(domain)
            .await?
            .filter(|d| !d.is_provider)
            .ok_or_else(|| unknown("customer_id"))?;
        let user = self
            .store
            .user_by_name(&domain.id, submitter)
            .await?
            .filter(|u| !u.is_engineer)
            .ok_or_else(|| unknown("x_customer_id"))?;
        Ok((domain.id, user.id))
    }
}
