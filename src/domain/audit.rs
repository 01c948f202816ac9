//! The audit log: every transition, purge and session event, hash-chained per domain.

use jiff::Timestamp;
use sha2::{Digest, Sha256};

use super::ids::AuthorizationId;
use super::status::Status;

/// What happened, before the store gives it a place in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditDraft {
    /// The chain this event belongs to: the customer domain.
    pub domain_id: String,
    pub authorization_id: Option<AuthorizationId>,
    pub actor_id: String,
    pub actor_name: String,
    /// e.g. `confirm`, `reject`, `expire`, `credentials_purged`, `session_opened`.
    pub kind: String,
    pub from_status: Option<Status>,
    pub to_status: Option<Status>,
    pub reason: Option<String>,
    /// Free-form facts (never secrets), e.g. `session=123 operations=4`.
    pub note: String,
}

/// A stored event: its position in its domain's chain and the hashes linking it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub seq: i64,
    pub at: Timestamp,
    pub draft: AuditDraft,
    pub prev_hash: [u8; 32],
    pub hash: [u8; 32],
}

pub const GENESIS_HASH: [u8; 32] = [0; 32];

/// The system actor used by the expiry sweeper.
pub const SYSTEM_ACTOR: &str = "system";

/// The chain of administrative events that belong to no customer domain (domains
/// themselves, the broker's host key).
pub const SYSTEM_CHAIN: &str = "system";

/// Who did something, as the audit log records it: a user's id and name; `cli:<os user>`
/// for the admin CLI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub id: String,
    pub name: String,
}

impl Actor {
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Actor {
        Actor {
            id: id.into(),
            name: name.into(),
        }
    }

    /// The admin CLI run by `os_user`.
    pub fn cli(os_user: &str) -> Actor {
        let id = format!("cli:{os_user}");
        Actor {
            name: id.clone(),
            id,
        }
    }

    /// The service itself: the expiry sweeper, seeding demo data, first-use set-up.
    pub fn system() -> Actor {
        Actor::new(SYSTEM_ACTOR, SYSTEM_ACTOR)
    }
}

/// The `note` of an administrative event: the non-secret fields before and after the
/// change (`null` for a creation's before and a deletion's after), as JSON.
pub fn change_note(before: Option<serde_json::Value>, after: Option<serde_json::Value>) -> String {
    serde_json::json!({ "before": before, "after": after }).to_string()
}

impl AuditDraft {
    pub fn new(
        domain_id: &str,
        authorization_id: Option<AuthorizationId>,
        actor: &Actor,
        kind: &str,
    ) -> Self {
        AuditDraft {
            domain_id: domain_id.into(),
            authorization_id,
            actor_id: actor.id.clone(),
            actor_name: actor.name.clone(),
            kind: kind.into(),
            from_status: None,
            to_status: None,
            reason: None,
            note: String::new(),
        }
    }

    /// An administrative change, e.g. kind `user.updated`, in chain `chain` (a domain id
    /// or [`SYSTEM_CHAIN`]).
    pub fn admin(
        chain: &str,
        actor: &Actor,
        kind: &str,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
    ) -> Self {
        AuditDraft::new(chain, None, actor, kind).note(change_note(before, after))
    }

    pub fn transition(mut self, from: Status, to: Status) -> Self {
        self.from_status = Some(from);
        self.to_status = Some(to);
        self
    }

    pub fn reason(mut self, reason: Option<String>) -> Self {
        self.reason = reason;
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = note.into();
        self
    }

    /// Links this draft after `prev` in its chain.
    pub fn seal(self, seq: i64, at: Timestamp, prev_hash: [u8; 32]) -> AuditEvent {
        let hash = event_hash(&self, seq, at, &prev_hash);
        AuditEvent {
            seq,
            at,
            draft: self,
            prev_hash,
            hash,
        }
    }
}

/// SHA-256 over every field, each length-prefixed so no two events can encode alike.
pub fn event_hash(d: &AuditDraft, seq: i64, at: Timestamp, prev_hash: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    let mut field = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    let status = |s: Option<Status>| s.map_or(-1, Status::code).to_le_bytes();
    field(b"support-access audit v1");
    field(prev_hash);
    field(d.domain_id.as_bytes());
    field(&seq.to_le_bytes());
    field(&at.as_millisecond().to_le_bytes());
    field(&d.authorization_id.map_or(0, |a| a.0).to_le_bytes());
    field(d.actor_id.as_bytes());
    field(d.actor_name.as_bytes());
    field(d.kind.as_bytes());
    field(&status(d.from_status));
    field(&status(d.to_status));
    field(d.reason.as_deref().unwrap_or("\u{0}none").as_bytes());
    field(d.note.as_bytes());
    h.finalize().into()
}

/// Where a chain is broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    pub domain_id: String,
    pub seq: i64,
    pub problem: &'static str,
}

/// Checks one domain's events, given in `seq` order.
pub fn verify_chain(events: &[AuditEvent]) -> Result<(), ChainBreak> {
    let mut prev = GENESIS_HASH;
    for (i, e) in events.iter().enumerate() {
        let fail = |problem| {
            Err(ChainBreak {
                domain_id: e.draft.domain_id.clone(),
                seq: e.seq,
                problem,
            })
        };
        if e.seq != i as i64 + 1 {
            return fail("sequence number out of order (an event was removed or inserted)");
        }
        if e.prev_hash != prev {
            return fail("previous-hash link does not match the event before it");
        }
        if event_hash(&e.draft, e.seq, e.at, &e.prev_hash) != e.hash {
            return fail("event content does not match its hash (the event was altered)");
        }
        prev = e.hash;
    }
    Ok(())
}

/// The status each authorization's events lead to: the `to_status` of its last
/// transition, `Pending` after its raise alone.
pub fn replayed_statuses<'a>(
    events: impl IntoIterator<Item = &'a AuditEvent>,
) -> std::collections::BTreeMap<AuthorizationId, Status> {
    let mut statuses = std::collections::BTreeMap::new();
    for e in events {
        let Some(id) = e.draft.authorization_id else {
            continue;
        };
        match e.draft.to_status {
            Some(to) => {
                statuses.insert(id, to);
            }
            None if e.draft.kind == "raise" => {
                statuses.entry(id).or_insert(Status::Pending);
            }
            None => {}
        }
    }
    statuses
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<AuditEvent> {
        let mut prev = GENESIS_HASH;
        (1..=n)
            .map(|seq| {
                let e = AuditDraft::new(
                    "d",
                    Some(AuthorizationId(seq)),
                    &Actor::new("u", "bob"),
                    "reject",
                )
                .transition(Status::Pending, Status::Rejected)
                .seal(seq, Timestamp::from_second(seq).unwrap(), prev);
                prev = e.hash;
                e
            })
            .collect()
    }

    #[test]
    fn an_intact_chain_verifies() {
        assert_eq!(verify_chain(&chain(5)), Ok(()));
    }

    #[test]
    fn any_tampering_is_found() {
        let mut altered = chain(5);
        altered[2].draft.reason = Some("edited".into());
        assert_eq!(verify_chain(&altered).unwrap_err().seq, 3);

        let mut removed = chain(5);
        removed.remove(1);
        assert_eq!(verify_chain(&removed).unwrap_err().seq, 3);

        let mut relinked = chain(5);
        relinked.remove(4);
        relinked[3].draft.kind = "confirm".into();
        relinked[3].hash = event_hash(
            &relinked[3].draft,
            4,
            relinked[3].at,
            &relinked[3].prev_hash,
        );
        assert_eq!(
            verify_chain(&relinked),
            Ok(()),
            "a re-hashed tail is only caught by the head"
        );
    }
}
