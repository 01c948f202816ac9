//! Notification events (the outbox): what happened, as ids and statuses only.
//!
//! An event is written in the same transaction as the change it reports, so none is
//! lost and none is reported for a change that was rolled back. Its payload never
//! carries free text, a password or a token: receivers fetch details through the API.

use jiff::Timestamp;

use super::ids::AuthorizationId;
use super::status::{Action, Status};

/// The event types of the notification contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    Raised,
    Confirmed,
    Rejected,
    Canceled,
    Recalled,
    Expired,
    /// A reminder: pending past half its time-to-live, or a window about to end.
    Expiring,
    SessionOpened,
    SessionClosed,
    SessionTerminated,
    HostKeyMismatch,
    WebhookDisabled,
}

impl EventType {
    pub const ALL: [EventType; 12] = [
        EventType::Raised,
        EventType::Confirmed,
        EventType::Rejected,
        EventType::Canceled,
        EventType::Recalled,
        EventType::Expired,
        EventType::Expiring,
        EventType::SessionOpened,
        EventType::SessionClosed,
        EventType::SessionTerminated,
        EventType::HostKeyMismatch,
        EventType::WebhookDisabled,
    ];

    pub fn name(self) -> &'static str {
        match self {
            EventType::Raised => "authorization.raised",
            EventType::Confirmed => "authorization.confirmed",
            EventType::Rejected => "authorization.rejected",
            EventType::Canceled => "authorization.canceled",
            EventType::Recalled => "authorization.recalled",
            EventType::Expired => "authorization.expired",
            EventType::Expiring => "authorization.expiring",
            EventType::SessionOpened => "session.opened",
            EventType::SessionClosed => "session.closed",
            EventType::SessionTerminated => "session.terminated",
            EventType::HostKeyMismatch => "host_key.mismatch",
            EventType::WebhookDisabled => "webhook.disabled",
        }
    }

    pub fn from_name(name: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The event a transition by `action` reports.
    pub fn of_action(action: Action) -> EventType {
        match action {
            Action::Confirm => EventType::Confirmed,
            Action::Reject => EventType::Rejected,
            Action::Cancel => EventType::Canceled,
            Action::Recall => EventType::Recalled,
            Action::Expire => EventType::Expired,
        }
    }
}

/// A subscription's event filter: an exact type, `prefix.*`, or `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventPattern(String);

impl EventPattern {
    /// `None` if the pattern names no event type at all (a typo, most likely).
    pub fn parse(pattern: &str) -> Option<EventPattern> {
        let p = EventPattern(pattern.to_owned());
        EventType::ALL
            .into_iter()
            .any(|t| p.matches(t))
            .then_some(p)
    }

    pub fn matches(&self, t: EventType) -> bool {
        match self.0.strip_suffix('*') {
            Some(prefix) => {
                (prefix.is_empty() || prefix.ends_with('.')) && t.name().starts_with(prefix)
            }
            None => t.name() == self.0,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An event before the store gives it its place in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxDraft {
    pub event_type: EventType,
    /// The customer domain the event belongs to (whose subscriptions receive it).
    pub customer_id: String,
    pub authorization_id: Option<AuthorizationId>,
    /// The authorization's status after the change.
    pub status: Option<Status>,
    pub actor_id: String,
    pub session_id: Option<i64>,
    /// `session.closed`: why it ended ([`crate::domain::recording::CloseReason`]).
    pub close_reason: Option<String>,
    /// `session.closed`: the SHA-256 of its recording, if it was recorded.
    pub sha256: Option<String>,
    pub at: Timestamp,
    /// The subscription a `webhook.disabled` event is about.
    pub webhook_id: Option<String>,
}

impl OutboxDraft {
    /// The event of an authorization's change.
    pub fn authorization(
        event_type: EventType,
        customer_id: &str,
        id: AuthorizationId,
        status: Status,
        actor_id: &str,
        at: Timestamp,
    ) -> OutboxDraft {
        OutboxDraft {
            event_type,
            customer_id: customer_id.to_owned(),
            authorization_id: Some(id),
            status: Some(status),
            actor_id: actor_id.to_owned(),
            session_id: None,
            close_reason: None,
            sha256: None,
            at,
            webhook_id: None,
        }
    }

    /// `webhook.disabled`: subscription `id` of `owner` (a domain, or the provider).
    pub fn webhook_disabled(owner: &str, id: &str, actor_id: &str, at: Timestamp) -> OutboxDraft {
        OutboxDraft {
            event_type: EventType::WebhookDisabled,
            customer_id: owner.to_owned(),
            authorization_id: None,
            status: None,
            actor_id: actor_id.to_owned(),
            session_id: None,
            close_reason: None,
            sha256: None,
            at,
            webhook_id: Some(id.to_owned()),
        }
    }

    /// The event of a session's change (`session.*`).
    pub fn session(
        event_type: EventType,
        customer_id: &str,
        id: AuthorizationId,
        session_id: i64,
        actor_id: &str,
        at: Timestamp,
    ) -> OutboxDraft {
        OutboxDraft {
            session_id: Some(session_id),
            status: None,
            ..OutboxDraft::authorization(
                event_type,
                customer_id,
                id,
                Status::Authorized,
                actor_id,
                at,
            )
        }
    }
}

/// A stored event: its place in the outbox gives its id, stable across retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEvent {
    pub seq: i64,
    pub draft: OutboxDraft,
}

impl OutboxEvent {
    /// The `webhook-id` receivers de-duplicate on.
    pub fn event_id(&self) -> String {
        format!("evt_{}", self.seq)
    }

    /// Parses an id made by [`OutboxEvent::event_id`].
    pub fn seq_of(event_id: &str) -> Option<i64> {
        event_id.strip_prefix("evt_")?.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_every_action_has_its_event() {
        for t in EventType::ALL {
            assert_eq!(EventType::from_name(t.name()), Some(t));
        }
        let names: Vec<_> = Action::ALL
            .into_iter()
            .map(|a| EventType::of_action(a).name())
            .collect();
        assert_eq!(
            names,
            [
                "authorization.confirmed",
                "authorization.rejected",
                "authorization.canceled",
                "authorization.recalled",
                "authorization.expired"
            ]
        );
    }

    #[test]
    fn patterns_match_exact_names_prefixes_and_everything() {
        let all = EventPattern::parse("*").unwrap();
        let auth = EventPattern::parse("authorization.*").unwrap();
        let rejected = EventPattern::parse("authorization.rejected").unwrap();
        assert!(EventType::ALL.into_iter().all(|t| all.matches(t)));
        assert!(auth.matches(EventType::Expiring) && !auth.matches(EventType::SessionOpened));
        assert!(rejected.matches(EventType::Rejected) && !rejected.matches(EventType::Raised));
        for typo in ["authorisation.*", "authorization.reject", "author*", ""] {
            assert_eq!(EventPattern::parse(typo), None, "{typo}");
        }
    }

    #[test]
    fn event_ids_round_trip() {
        let e = OutboxEvent {
            seq: 42,
            draft: OutboxDraft::authorization(
                EventType::Raised,
                "d",
                AuthorizationId(1),
                Status::Pending,
                "u",
                Timestamp::UNIX_EPOCH,
            ),
        };
        assert_eq!(OutboxEvent::seq_of(&e.event_id()), Some(42));
        assert_eq!(OutboxEvent::seq_of("msg_42"), None);
    }
}
