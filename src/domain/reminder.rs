//! Reminders before things expire: when each is due.
//!
//! A pending request is reminded of at half its time-to-live and 1 hour before it
//! expires; an authorized window 15 minutes before it ends, or at 90 % of a window
//! shorter than 2 hours. Each is scheduled when the request is raised or confirmed and
//! sent once, only while the authorization is still in the status it was meant for.

use jiff::{SignedDuration, Timestamp};

use super::ids::AuthorizationId;
use super::status::Status;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReminderKind {
    /// A pending request at half its time-to-live.
    PendingHalfLife,
    /// A pending request 1 hour before it expires.
    PendingLastHour,
    /// An authorized window about to end.
    WindowEnding,
}

impl ReminderKind {
    pub const ALL: [ReminderKind; 3] = [
        ReminderKind::PendingHalfLife,
        ReminderKind::PendingLastHour,
        ReminderKind::WindowEnding,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ReminderKind::PendingHalfLife => "pending_half_life",
            ReminderKind::PendingLastHour => "pending_last_hour",
            ReminderKind::WindowEnding => "window_ending",
        }
    }

    pub fn from_name(name: &str) -> Option<ReminderKind> {
        ReminderKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// A reminder to send at `due_at` if the authorization is then still in `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reminder {
    pub authorization_id: AuthorizationId,
    pub kind: ReminderKind,
    pub status: Status,
    pub due_at: Timestamp,
}

const LAST_HOUR: SignedDuration = SignedDuration::from_hours(1);
const WINDOW_NOTICE: SignedDuration = SignedDuration::from_mins(15);
const SHORT_WINDOW: SignedDuration = SignedDuration::from_hours(2);

/// The reminders of a request raised at `created_at`, pending until `deadline`. The
/// last-hour one only when it falls after the half-life one (a TTL over 2 hours).
pub fn for_pending(
    id: AuthorizationId,
    created_at: Timestamp,
    deadline: Timestamp,
) -> Vec<Reminder> {
    let ttl = deadline.duration_since(created_at);
    let half = created_at + ttl / 2;
    let last_hour = deadline - LAST_HOUR;
    let reminder = |kind, due_at| Reminder {
        authorization_id: id,
        kind,
        status: Status::Pending,
        due_at,
    };
    let mut out = vec![reminder(ReminderKind::PendingHalfLife, half)];
    if last_hour > half {
        out.push(reminder(ReminderKind::PendingLastHour, last_hour));
    }
    out
}

/// The reminder of a window `[effective_at, expire_at)`: 15 minutes before its end, or
/// at 90 % of a window shorter than 2 hours.
pub fn for_window(id: AuthorizationId, effective_at: Timestamp, expire_at: Timestamp) -> Reminder {
    let window = expire_at.duration_since(effective_at);
    let due_at = if window >= SHORT_WINDOW {
        expire_at - WINDOW_NOTICE
    } else {
        effective_at + window.mul_f64(0.9)
    };
    Reminder {
        authorization_id: id,
        kind: ReminderKind::WindowEnding,
        status: Status::Authorized,
        due_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hours: f64) -> Timestamp {
        Timestamp::UNIX_EPOCH + SignedDuration::from_secs_f64(hours * 3600.0)
    }

    #[test]
    fn a_pending_request_is_reminded_at_half_life_and_an_hour_before() {
        let r = for_pending(AuthorizationId(1), at(0.0), at(72.0));
        let due: Vec<_> = r.iter().map(|r| (r.kind, r.due_at, r.status)).collect();
        assert_eq!(
            due,
            [
                (ReminderKind::PendingHalfLife, at(36.0), Status::Pending),
                (ReminderKind::PendingLastHour, at(71.0), Status::Pending),
            ]
        );
        // A TTL of 2 hours or less: the last hour starts at or before the half-life.
        let short = for_pending(AuthorizationId(1), at(0.0), at(2.0));
        assert_eq!(short.len(), 1);
        assert_eq!(short[0].due_at, at(1.0));
    }

    #[test]
    fn a_window_is_reminded_15_minutes_before_or_at_90_percent_when_short() {
        let long = for_window(AuthorizationId(1), at(0.0), at(24.0));
        assert_eq!(
            (long.due_at, long.status),
            (at(24.0 - 0.25), Status::Authorized)
        );
        assert_eq!(
            for_window(AuthorizationId(1), at(0.0), at(2.0)).due_at,
            at(1.75)
        );
        assert_eq!(
            for_window(AuthorizationId(1), at(0.0), at(1.0)).due_at,
            at(0.9)
        );
    }

    #[test]
    fn kinds_round_trip() {
        for k in ReminderKind::ALL {
            assert_eq!(ReminderKind::from_name(k.name()), Some(k));
        }
    }
}
