//! What a transition writes, decided once for both stores.
//!
//! A store reads the facts ([`TransitionFacts`]), asks [`TransitionPlan::decide`] what to
//! write, and carries the plan out in one transaction: the conditional status update,
//! the grant, the end of access, the audit event, the outbox event. A store decides
//! nothing itself, so the two cannot drift apart.

use crate::domain::audit::AuditDraft;
use crate::domain::event::{EventType, OutboxDraft};
use crate::domain::recording::CloseReason;
use crate::domain::reminder::{self, Reminder};
use crate::domain::{Action, Authorization, AuthorizationId, Status, TransitionError};
use crate::store::{StoreError, StoreResult, StoredGrant, TransitionRequest};

/// What a transition is decided on: the visible row's status and customer domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransitionFacts {
    pub status: Status,
    pub domain_id: String,
}

/// Everything one transition writes, in the order a store writes it.
#[derive(Debug, Clone)]
pub struct TransitionPlan<'r> {
    pub id: AuthorizationId,
    pub action: Action,
    /// The status update is conditional on `from`: zero rows changed means the race
    /// was lost (see [`TransitionPlan::lost_race`]).
    pub from: Status,
    pub to: Status,
    pub updated_at_ms: i64,
    /// `Some` when the row's `reject_reason` is set (a reject sets it, even to none).
    pub reject_reason: Option<Option<&'r str>>,
    /// The handler recorded with the status: who rejected or canceled.
    pub handler: Option<&'r str>,
    /// A confirm's grant, and the handler recorded with it.
    pub grant: Option<(&'r StoredGrant, &'r str)>,
    /// Leaving `authorized` ends access at once: host credentials purged, open
    /// sessions closed, in the same transaction.
    pub ends_access: bool,
    /// The notification event, written in the same transaction.
    pub outbox: OutboxDraft,
    /// Reminders to schedule (a confirm's, before its window ends).
    pub reminders: Vec<Reminder>,
    event: AuditDraft,
}

/// What ending access touched, for the audit note.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessEnded {
    pub credentials_purged: u64,
    pub sessions_closed: u64,
}

impl AccessEnded {
    /// `closed` sessions ended and `purged` credentials purged.
    pub fn new(closed: &[i64], purged: u64) -> AccessEnded {
        AccessEnded {
            credentials_purged: purged,
            sessions_closed: closed.len() as u64,
        }
    }
}

impl<'r> TransitionPlan<'r> {
    /// The plan for `request` on a row read as `facts` (`None`: not visible).
    pub fn decide(
        request: &'r TransitionRequest,
        facts: Option<TransitionFacts>,
    ) -> StoreResult<TransitionPlan<'r>> {
        let facts = facts.ok_or(StoreError::NotFound)?;
        let from = facts.status;
        let to = request.action.apply(from)?;
        let name = request.actor.name.as_str();
        let grant = match request.action {
            Action::Confirm => Some((
                request
                    .grant
                    .as_ref()
                    .ok_or_else(|| StoreError::Internal("confirm without a grant".into()))?,
                name,
            )),
            Action::Reject | Action::Cancel | Action::Recall | Action::Expire => None,
        };
        let event = AuditDraft::new(
            &facts.domain_id,
            Some(request.id),
            &request.actor,
            request.action.name(),
        )
        .transition(from, to)
        .reason(request.reason.clone());
        let outbox = OutboxDraft::authorization(
            EventType::of_action(request.action),
            &facts.domain_id,
            request.id,
            to,
            &request.actor.id,
            request.now,
        );
        Ok(TransitionPlan {
            id: request.id,
            action: request.action,
            from,
            to,
            updated_at_ms: request.now.as_millisecond(),
            reject_reason: (request.action == Action::Reject).then_some(request.reason.as_deref()),
            handler: matches!(request.action, Action::Reject | Action::Cancel).then_some(name),
            grant,
            ends_access: from == Status::Authorized,
            outbox,
            reminders: grant
                .map(|(g, _)| {
                    vec![reminder::for_window(
                        request.id,
                        g.effective_at,
                        g.expire_at,
                    )]
                })
                .unwrap_or_default(),
            event,
        })
    }

    /// The answer when the conditional update changed nothing: another writer moved
    /// the row first. `now_in` is the status read again (`None` if it is gone from
    /// view), so the caller learns where the row is now, on every store alike.
    pub fn lost_race(&self, now_in: Option<Status>) -> StoreError {
        StoreError::Transition(TransitionError {
            action: self.action,
            current: now_in.unwrap_or(self.from),
        })
    }

    /// The `session.closed` events (reason `access_ended`) of the sessions this
    /// transition's end of access closed, as a session closed any other way has; written
    /// after the transition's own event.
    pub fn sessions_closed(&self, sessions: &[i64]) -> Vec<OutboxDraft> {
        sessions
            .iter()
            .map(|&session| OutboxDraft {
                close_reason: Some(CloseReason::AccessEnded.name().to_owned()),
                ..OutboxDraft::session(
                    EventType::SessionClosed,
                    &self.outbox.customer_id,
                    self.id,
                    session,
                    &self.outbox.actor_id,
                    self.outbox.at,
                )
            })
            .collect()
    }

    /// Why the sessions this transition closes ended, as the engineer is told.
    pub fn close_reason(&self) -> String {
        crate::domain::broker::Refusal::NotAuthorized(self.to).message()
    }

    /// The transition's one audit event, with what ending access touched, if it did.
    pub fn event(&self, ended: Option<AccessEnded>) -> AuditDraft {
        let note = ended.map_or_else(String::new, |e| {
            format!(
                "credentials_purged={} sessions_closed={}",
                e.credentials_purged, e.sessions_closed
            )
        });
        self.event.clone().note(note)
    }
}

/// The notification event of a raise, written with the new row.
pub fn raised(auth: &Authorization, actor_id: &str) -> OutboxDraft {
    OutboxDraft::authorization(
        EventType::Raised,
        &auth.customer_id,
        auth.id,
        auth.status,
        actor_id,
        auth.created_at,
    )
}

/// The reminders of a raise, scheduled with the new row.
pub fn raised_reminders(auth: &Authorization) -> Vec<Reminder> {
    reminder::for_pending(auth.id, auth.created_at, auth.pending_deadline)
}

/// A reminder found due, with its authorization as it is now.
#[derive(Debug, Clone)]
pub struct DueReminder {
    pub authorization_id: AuthorizationId,
    pub kind: String,
    /// The status the reminder is meant for.
    pub status: Status,
    pub customer_id: String,
    /// The authorization's status now.
    pub now_in: Status,
}

/// What a due reminder writes: its `authorization.expiring` event, marked sent in the
/// same transaction; `None` when the authorization has moved on (the reminder is
/// dropped, nothing is sent).
pub fn reminder_event(due: &DueReminder, now: jiff::Timestamp) -> Option<OutboxDraft> {
    (due.now_in == due.status).then(|| {
        OutboxDraft::authorization(
            EventType::Expiring,
            &due.customer_id,
            due.authorization_id,
            due.now_in,
            &crate::domain::Actor::system().id,
            now,
        )
    })
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;

    use super::*;
    use crate::domain::{Actor, Scope};

    fn request(action: Action, reason: Option<&str>) -> TransitionRequest {
        TransitionRequest {
            id: AuthorizationId(7),
            scope: Scope::Provider { raised_by: None },
            action,
            now: Timestamp::from_second(1_000).unwrap(),
            actor: Actor::new("u1", "bob"),
            reason: reason.map(str::to_owned),
            grant: (action == Action::Confirm).then(|| StoredGrant {
                effective_at: Timestamp::from_second(1_000).unwrap(),
                expire_at: Timestamp::from_second(2_000).unwrap(),
                agency_id: None,
                details: Vec::new(),
            }),
        }
    }

    fn facts(status: Status) -> Option<TransitionFacts> {
        Some(TransitionFacts {
            status,
            domain_id: "d".into(),
        })
    }

    #[test]
    fn a_reject_records_its_reason_and_handler() {
        let req = request(Action::Reject, Some("no"));
        let plan = TransitionPlan::decide(&req, facts(Status::Pending)).unwrap();
        assert_eq!(
            (plan.to, plan.reject_reason, plan.handler),
            (Status::Rejected, Some(Some("no")), Some("bob"))
        );
        assert!(plan.grant.is_none() && !plan.ends_access);
        assert_eq!(
            (
                plan.outbox.event_type,
                plan.outbox.status,
                plan.outbox.actor_id.as_str()
            ),
            (EventType::Rejected, Some(Status::Rejected), "u1")
        );
        assert_eq!(plan.outbox.customer_id, "d");
        let event = plan.event(None);
        assert_eq!(
            (
                event.kind.as_str(),
                event.reason.as_deref(),
                event.note.as_str()
            ),
            ("reject", Some("no"), "")
        );
    }

    #[test]
    fn leaving_authorized_ends_access_and_says_so() {
        let req = request(Action::Cancel, None);
        let plan = TransitionPlan::decide(&req, facts(Status::Authorized)).unwrap();
        assert!(plan.ends_access);
        assert_eq!(plan.reject_reason, None);
        assert_eq!(plan.outbox.event_type, EventType::Canceled);
        let ended = AccessEnded {
            credentials_purged: 2,
            sessions_closed: 1,
        };
        assert_eq!(
            plan.event(Some(ended)).note,
            "credentials_purged=2 sessions_closed=1"
        );
    }

    #[test]
    fn a_confirm_carries_its_grant_and_handler() {
        let req = request(Action::Confirm, None);
        let plan = TransitionPlan::decide(&req, facts(Status::Pending)).unwrap();
        assert_eq!(plan.grant.map(|(_, handler)| handler), Some("bob"));
        assert_eq!(plan.handler, None);
        // Its window (1000 s..2000 s, under 2 hours) is reminded of at 90 %.
        let due: Vec<_> = plan
            .reminders
            .iter()
            .map(|r| r.due_at.as_second())
            .collect();
        assert_eq!(due, [1_900]);
    }

    #[test]
    fn refusals_are_decided_before_anything_is_written() {
        let req = request(Action::Recall, None);
        assert!(matches!(
            TransitionPlan::decide(&req, None),
            Err(StoreError::NotFound)
        ));
        match TransitionPlan::decide(&req, facts(Status::Canceled)) {
            Err(StoreError::Transition(e)) => {
                assert_eq!((e.action, e.current), (Action::Recall, Status::Canceled));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_lost_race_reports_where_the_row_is_now() {
        let req = request(Action::Confirm, None);
        let plan = TransitionPlan::decide(&req, facts(Status::Pending)).unwrap();
        let current = |e| match e {
            StoreError::Transition(TransitionError { action, current }) => (action, current),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            current(plan.lost_race(Some(Status::Rejected))),
            (Action::Confirm, Status::Rejected)
        );
        assert_eq!(
            current(plan.lost_race(None)),
            (Action::Confirm, Status::Pending)
        );
    }
}
