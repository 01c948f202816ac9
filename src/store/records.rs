//! Rows of the identity tables.

use jiff::Timestamp;

use crate::domain::principal::{CredentialKind, Principal, PrincipalKind};

/// An access key with the user holding it and that user's domain.
#[derive(Debug, Clone)]
pub struct KeyOwner {
    pub key: AccessKeyRecord,
    pub user: UserRecord,
    pub domain: DomainRecord,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainRecord {
    pub id: String,
    pub name: String,
    /// The provider's own domain, where engineers live.
    pub is_provider: bool,
    pub created_at: Timestamp,
}

#[derive(Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: String,
    pub domain_id: String,
    pub name: String,
    /// argon2id PHC string.
    pub password_hash: String,
    pub is_admin: bool,
    pub is_engineer: bool,
    pub is_provider_admin: bool,
    pub enabled: bool,
    pub created_at: Timestamp,
    /// Where notifications are e-mailed, if anywhere.
    pub email: Option<String>,
    /// The language of those e-mails; none: the service's default.
    pub language: Option<crate::domain::Language>,
}

impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("domain_id", &self.domain_id)
            .field("name", &self.name)
            .field("is_admin", &self.is_admin)
            .field("is_engineer", &self.is_engineer)
            .finish_non_exhaustive()
    }
}

impl UserRecord {
    pub fn principal(&self, domain: &DomainRecord, credential: CredentialKind) -> Principal {
        Principal {
            user_id: self.id.clone(),
            user_name: self.name.clone(),
            domain_id: domain.id.clone(),
            domain_name: domain.name.clone(),
            is_domain_admin: self.is_admin,
            kind: if self.is_engineer {
                PrincipalKind::Engineer {
                    provider_admin: self.is_provider_admin,
                }
            } else {
                PrincipalKind::Customer
            },
            credential,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRecord {
    pub id: String,
    pub domain_id: String,
    pub name: String,
    /// Holds the ticket-group-operator permission.
    pub is_operator: bool,
    pub created_at: Timestamp,
}

#[derive(Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// SHA-256 of the token; the token itself is never stored.
    pub hash: [u8; 32],
    pub user_id: String,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
}

/// Who holds a token, and until when it works.
#[derive(Clone)]
pub struct TokenHolder {
    pub user: UserRecord,
    pub domain: DomainRecord,
    pub expires_at: Timestamp,
}

/// A permanent or temporary access key. Only the sealed secret key is stored.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessKeyRecord {
    pub access_key: String,
    pub user_id: String,
    pub secret_ciphertext: Vec<u8>,
    pub enabled: bool,
    pub created_at: Timestamp,
    /// Set for temporary credentials.
    pub expires_at: Option<Timestamp>,
    /// SHA-256 of the security token a temporary credential must present.
    pub security_token_hash: Option<[u8; 32]>,
}

impl std::fmt::Debug for AccessKeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKeyRecord")
            .field("access_key", &self.access_key)
            .field("user_id", &self.user_id)
            .field("enabled", &self.enabled)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A signed-in web console session. Only the hash of its cookie value is stored.
#[derive(Clone, PartialEq, Eq)]
pub struct ConsoleSessionRecord {
    pub hash: [u8; 32],
    pub user_id: String,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    /// The absolute end, however active the session is.
    pub expires_at: Timestamp,
}

/// Who holds a live console session, and when it was last used.
#[derive(Clone)]
pub struct ConsoleSessionHolder {
    pub user: UserRecord,
    pub domain: DomainRecord,
    pub last_seen_at: Timestamp,
}

/// A webhook subscription as stored; its secrets sealed with the service's cipher.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookRecord {
    pub id: String,
    /// The customer domain's id, or [`PROVIDER_OWNER`].
    pub owner: String,
    pub url: String,
    /// Event patterns (`authorization.*`, …).
    pub events: Vec<String>,
    pub secret_sealed: Vec<u8>,
    /// The secret before the last rotation, signing too until `previous_secret_until`.
    pub previous_secret_sealed: Option<Vec<u8>>,
    pub previous_secret_until: Option<Timestamp>,
    pub enabled: bool,
    pub created_at: Timestamp,
}

/// The owner of the provider's subscriptions, which receive every domain's events.
pub const PROVIDER_OWNER: &str = "provider";

impl std::fmt::Debug for WebhookRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookRecord")
            .field("id", &self.id)
            .field("owner", &self.owner)
            .field("url", &self.url)
            .field("events", &self.events)
            .finish_non_exhaustive()
    }
}

/// A delivery claimed by a worker: the event, where to send it, and the immutable
/// facts of its authorization the payload names.
#[derive(Debug, Clone)]
pub struct DeliveryJob {
    pub subscription: WebhookRecord,
    pub event: crate::domain::event::OutboxEvent,
    /// Attempts made before this one.
    pub attempts: u32,
    pub incident_id: Option<String>,
    pub detail_ids: Vec<i64>,
}

impl DeliveryJob {
    /// `authorization`: the incident id and detail ids of the event's authorization,
    /// if it has one that still exists.
    pub fn new(
        subscription: WebhookRecord,
        event: crate::domain::event::OutboxEvent,
        attempts: i64,
        authorization: Option<(Option<String>, Vec<i64>)>,
    ) -> DeliveryJob {
        let (incident_id, detail_ids) = authorization.unwrap_or_default();
        DeliveryJob {
            subscription,
            event,
            attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
            incident_id,
            detail_ids,
        }
    }
}

/// What one claim took: how many new events it fanned out, and the deliveries to attempt.
#[derive(Debug, Clone)]
pub struct DeliveryClaim {
    pub dispatched: u32,
    pub jobs: Vec<DeliveryJob>,
}

/// One delivery attempt's end, as `finish_deliveries` records it.
#[derive(Debug, Clone)]
pub struct FinishedDelivery {
    pub subscription_id: String,
    pub event_id: i64,
    pub outcome: DeliveryOutcome,
    /// The receiver's HTTP status, if it answered.
    pub status: Option<u16>,
    pub error: Option<String>,
    pub now: Timestamp,
}

impl FinishedDelivery {
    /// Records the attempt; the parameters, in order, are those of [`Self::params`].
    pub const SQL: &'static str = "UPDATE webhook_deliveries SET state = $1, \
        attempts = attempts + 1, next_attempt_at = $2, last_status = $3, last_error = $4, \
        updated_at = $5 WHERE subscription_id = $6 AND event_id = $7";

    /// The delivery's stored state (0 due, 1 delivered, 2 dead) and when it is next due.
    pub fn state(&self) -> (i64, i64) {
        let (state, next) = crate::store::rows::delivery_state(&self.outcome, self.now);
        (state, next.as_millisecond())
    }

    /// What a round of attempts does to each subscription's failing streak, one entry
    /// per subscription in order of first appearance: a success anywhere in the round
    /// ends the streak; otherwise it runs from its earliest failure, if not from before.
    /// So the streak is written once per subscription and round, not once per attempt.
    pub fn streaks(attempts: &[FinishedDelivery]) -> Vec<RoundStreak<'_>> {
        let mut streaks: Vec<RoundStreak> = Vec::new();
        for a in attempts {
            let failed = a.outcome != DeliveryOutcome::Delivered;
            match streaks
                .iter_mut()
                .find(|s| s.subscription_id == a.subscription_id)
            {
                Some(s) => {
                    s.failed &= failed;
                    s.at = s.at.min(a.now);
                }
                None => streaks.push(RoundStreak {
                    subscription_id: &a.subscription_id,
                    failed,
                    at: a.now,
                }),
            }
        }
        streaks
    }
}

/// One subscription's outcome in a round of attempts; see [`FinishedDelivery::streaks`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoundStreak<'a> {
    pub subscription_id: &'a str,
    /// Every attempt of the round failed.
    pub failed: bool,
    /// When the round's first attempt ended: where a new streak starts.
    pub at: Timestamp,
}

/// A subscription's failing streak after a round: since when it has been failing
/// without a success in between (`None`: it succeeded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailingSince {
    pub subscription_id: String,
    pub since: Option<Timestamp>,
}

/// Where one notification e-mail goes, in which language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailRecipient {
    pub user_id: String,
    pub address: String,
    pub language: crate::domain::Language,
}

/// An e-mail claimed by a worker: the event and its recipient.
#[derive(Debug, Clone)]
pub struct EmailJob {
    pub event: crate::domain::event::OutboxEvent,
    pub recipient: EmailRecipient,
    /// Attempts made before this one.
    pub attempts: u32,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Delivered,
    /// Failed; try again at this time.
    RetryAt(Timestamp),
    /// Failed for the last time: dead-lettered.
    Dead,
}

/// One delivery's state, for `deliveries`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    pub subscription_id: String,
    pub event_id: i64,
    pub event_type: String,
    /// `pending`, `delivered` or `dead`.
    pub state: &'static str,
    pub attempts: u32,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub updated_at: Timestamp,
}

pub fn delivery_state_name(code: i64) -> &'static str {
    match code {
        0 => "pending",
        1 => "delivered",
        _ => "dead",
    }
}

/// An administrative change to identities or credentials. The store applies it and
/// appends its audit event in one transaction.
#[derive(Debug, Clone)]
pub enum AdminChange {
    CreateDomain(DomainRecord),
    CreateUser(UserRecord),
    /// The user's non-secret attributes.
    UpdateUser {
        user_id: String,
        is_admin: bool,
        email: Option<String>,
        language: Option<crate::domain::Language>,
    },
    SetPassword {
        user_id: String,
        password_hash: String,
    },
    SetUserEnabled {
        user_id: String,
        enabled: bool,
    },
    /// The user, their tokens, access keys and group memberships.
    DeleteUser {
        user_id: String,
    },
    CreateGroup(GroupRecord),
    AddGroupMember {
        group_id: String,
        user_id: String,
    },
    RemoveGroupMember {
        group_id: String,
        user_id: String,
    },
    /// The group and its memberships.
    DeleteGroup {
        group_id: String,
    },
    InsertAccessKey(AccessKeyRecord),
    SetAccessKeyEnabled {
        access_key: String,
        enabled: bool,
    },
    DeleteAccessKey {
        access_key: String,
    },
    /// `Duplicate` if the key is registered already (to anyone).
    InsertSshKey(super::SshKeyRecord),
    /// `NotFound` if `user_id` has no such key.
    DeleteSshKey {
        user_id: String,
        fingerprint: String,
    },
    CreateWebhook(WebhookRecord),
    /// `NotFound` unless `owner` has a subscription `id`.
    DeleteWebhook {
        owner: String,
        id: String,
    },
    /// A new sealed secret; the current one becomes the previous, signing until
    /// `overlap_until`. `NotFound` unless `owner` has a subscription `id`.
    RotateWebhookSecret {
        owner: String,
        id: String,
        secret_sealed: Vec<u8>,
        overlap_until: Timestamp,
    },
    /// The SSH broker's host key, sealed with the data key; `Duplicate` if there is one.
    CreateBrokerHostKey {
        sealed: Vec<u8>,
        created_at: Timestamp,
    },
}

/// An `Idempotency-Key` claimed before the write it guards runs.
#[derive(Debug, Clone)]
pub struct IdempotencyClaim {
    /// The caller's user id: keys of different callers never meet.
    pub principal: String,
    pub key: String,
    pub fingerprint: Vec<u8>,
    pub now: Timestamp,
    /// Kept (and answered again) until then.
    pub expires_at: Timestamp,
    /// An unfinished claim made before this is taken over (its instance died).
    pub stale_before: Timestamp,
}

/// Which audit events to read, newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// A chain: a domain id or `system`.
    pub chain: Option<String>,
    pub authorization_id: Option<i64>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    /// The event kind, e.g. `confirm` or `user.created`.
    pub kind: Option<String>,
    pub offset: u32,
    /// `None`: every matching event.
    pub limit: Option<u32>,
}

/// What the recording, live view and terminate endpoints need of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionFacts {
    pub source: crate::domain::session::SessionSource,
    pub ended: bool,
    pub terminate_requested: bool,
    pub recording: Option<crate::domain::recording::RecordingInfo>,
    /// Why it ended, in the broker's words (a cut's reason, the engineer leaving...).
    pub close_reason: Option<String>,
}

/// One stored piece of a recording: a zstd frame of the asciicast.
#[derive(Debug, Clone)]
pub struct RecordingChunk {
    pub seq: i64,
    pub data: Vec<u8>,
    /// Uncompressed bytes in it.
    pub size_bytes: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(subscription_id: &str, outcome: DeliveryOutcome, at_secs: i64) -> FinishedDelivery {
        FinishedDelivery {
            subscription_id: subscription_id.into(),
            event_id: at_secs,
            outcome,
            status: None,
            error: None,
            now: Timestamp::from_second(at_secs).unwrap(),
        }
    }

    #[test]
    fn a_round_writes_one_streak_per_subscription_and_a_success_ends_it() {
        let retry = DeliveryOutcome::RetryAt(Timestamp::from_second(100).unwrap());
        let round = [
            attempt("a", retry.clone(), 12),
            attempt("b", DeliveryOutcome::Dead, 11),
            attempt("a", DeliveryOutcome::Delivered, 13),
            attempt("b", retry, 10),
            attempt("c", DeliveryOutcome::Delivered, 14),
        ];
        let at = |s| Timestamp::from_second(s).unwrap();
        assert_eq!(
            FinishedDelivery::streaks(&round),
            [
                RoundStreak {
                    subscription_id: "a",
                    failed: false,
                    at: at(12)
                },
                RoundStreak {
                    subscription_id: "b",
                    failed: true,
                    at: at(10)
                },
                RoundStreak {
                    subscription_id: "c",
                    failed: false,
                    at: at(14)
                },
            ]
        );
    }
}
