//! The authorization state machine (docs/API.md, Statuses).

use super::locale::Language;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum Status {
    Pending = 0,
    Authorized = 1,
    Rejected = 2,
    Expired = 3,
    Recalled = 4,
    Canceled = 5,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::Pending,
        Status::Authorized,
        Status::Rejected,
        Status::Expired,
        Status::Recalled,
        Status::Canceled,
    ];

    pub fn code(self) -> i32 {
        self as i32
    }

    pub fn from_code(code: i64) -> Option<Status> {
        Status::ALL
            .into_iter()
            .find(|s| i64::from(s.code()) == code)
    }

    pub fn is_final(self) -> bool {
        !matches!(self, Status::Pending | Status::Authorized)
    }

    pub fn name(self, lang: Language) -> &'static str {
        match (self, lang) {
            (Status::Pending, Language::En) => "pending",
            (Status::Authorized, Language::En) => "authorized",
            (Status::Rejected, Language::En) => "rejected",
            (Status::Expired, Language::En) => "expired",
            (Status::Recalled, Language::En) => "recalled",
            (Status::Canceled, Language::En) => "canceled",
            (Status::Pending, Language::Zh) => "待授权",
            (Status::Authorized, Language::Zh) => "已授权",
            (Status::Rejected, Language::Zh) => "已拒绝",
            (Status::Expired, Language::Zh) => "已过期",
            (Status::Recalled, Language::Zh) => "已撤回",
            (Status::Canceled, Language::Zh) => "已取消",
        }
    }
}

/// Everything that can move an authorization from one status to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// The customer approves (ConfirmAuthorizations).
    Confirm,
    /// The customer refuses (`action_id=reject`).
    Reject,
    /// The customer revokes a granted authorization (`action_id=cancel`).
    Cancel,
    /// The engineer withdraws a pending request.
    Recall,
    /// The sweeper: pending TTL or window end.
    Expire,
}

impl Action {
    pub const ALL: [Action; 5] = [
        Action::Confirm,
        Action::Reject,
        Action::Cancel,
        Action::Recall,
        Action::Expire,
    ];

    /// The status this action requires; anything else is a conflict.
    pub fn required_from(self) -> &'static [Status] {
        match self {
            Action::Confirm | Action::Reject | Action::Recall => &[Status::Pending],
            Action::Cancel => &[Status::Authorized],
            Action::Expire => &[Status::Pending, Status::Authorized],
        }
    }

    /// The status that follows when the action is allowed from `from`.
    pub fn apply(self, from: Status) -> Result<Status, TransitionError> {
        if !self.required_from().contains(&from) {
            return Err(TransitionError {
                action: self,
                current: from,
            });
        }
        Ok(match self {
            Action::Confirm => Status::Authorized,
            Action::Reject => Status::Rejected,
            Action::Cancel => Status::Canceled,
            Action::Recall => Status::Recalled,
            Action::Expire => Status::Expired,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Action::Confirm => "confirm",
            Action::Reject => "reject",
            Action::Cancel => "cancel",
            Action::Recall => "recall",
            Action::Expire => "expire",
        }
    }
}

/// The action is not allowed in the authorization's current status (HTTP 409).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot {} an authorization that is {:?}", action.name(), current)]
pub struct TransitionError {
    pub action: Action,
    pub current: Status,
}

impl TransitionError {
    pub fn message(&self, lang: Language) -> String {
        match lang {
            Language::En => format!(
                "Cannot {} this authorization: it is {} (status {}).",
                self.action.name(),
                self.current.name(lang),
                self.current.code()
            ),
            Language::Zh => format!(
                "无法对该授权执行 {} 操作：当前状态为{}（status {}）。",
                self.action.name(),
                self.current.name(lang),
                self.current.code()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action::*;
    use Status::*;

    /// Every (status, action) pair: the expected outcome, written out by hand.
    #[test]
    fn transition_table_is_exactly_the_spec() {
        let allowed = [
            (Pending, Confirm, Authorized),
            (Pending, Reject, Rejected),
            (Pending, Recall, Recalled),
            (Pending, Expire, Expired),
            (Authorized, Cancel, Canceled),
            (Authorized, Expire, Expired),
        ];
        for from in Status::ALL {
            for action in Action::ALL {
                let expected = allowed
                    .iter()
                    .find(|(f, a, _)| *f == from && *a == action)
                    .map(|(_, _, to)| *to);
                match (action.apply(from), expected) {
                    (Ok(to), Some(want)) => assert_eq!(to, want, "{from:?} {action:?}"),
                    (Err(e), None) => assert_eq!(e.current, from),
                    (got, want) => panic!("{from:?} {action:?}: got {got:?}, want {want:?}"),
                }
            }
        }
    }

    #[test]
    fn final_statuses_accept_nothing() {
        for from in [Rejected, Expired, Recalled, Canceled] {
            assert!(from.is_final());
            assert!(Action::ALL.iter().all(|a| a.apply(from).is_err()));
        }
    }

    #[test]
    fn codes_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::from_code(i64::from(s.code())), Some(s));
        }
        assert_eq!(Status::from_code(6), None);
    }

    #[test]
    fn conflict_message_names_the_current_status() {
        let e = Cancel.apply(Pending).unwrap_err();
        assert!(e.message(Language::En).contains("pending (status 0)"));
    }
}
