//! Engineer sessions and what is recorded in them (append-only).

use jiff::{SignedDuration, Timestamp};

use super::ids::{AuthorizationId, DetailId, SessionId};
use super::status::Status;
use super::time::parse_rfc3339;
use super::validation::{Rule, ValidationError, int_range, optional_text, required_text};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: SessionId,
    pub authorization_id: AuthorizationId,
    pub detail_id: DetailId,
    pub engineer_id: String,
    pub started_at: Timestamp,
    pub ended_at: Option<Timestamp>,
    pub source: SessionSource,
    /// Why it ended (a cut's reason, the engineer leaving...); `None` while open, and
    /// for sessions their reporter closed.
    pub close_reason: Option<String>,
}

/// Where a session record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionSource {
    /// Recorded first-hand by this service's SSH broker.
    Broker,
    /// Posted through the provider API by the engineer's own tooling.
    Reported,
}

impl SessionSource {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionSource::Broker => "broker",
            SessionSource::Reported => "reported",
        }
    }

    /// Anything but `broker` reads as reported: that is the default of old rows.
    pub fn from_stored(value: &str) -> SessionSource {
        if value == "broker" {
            SessionSource::Broker
        } else {
            SessionSource::Reported
        }
    }
}

impl Session {
    /// How long the session lasted, or has lasted so far.
    pub fn duration_ms(&self, now: Timestamp) -> i64 {
        let end = self.ended_at.unwrap_or(now);
        end.as_millisecond() - self.started_at.as_millisecond()
    }
}

/// What of an authorization decides what its sessions may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    pub status: Status,
    pub effective_at: Option<Timestamp>,
    pub expire_at: Option<Timestamp>,
}

/// Why a session may not be opened, written to or closed (HTTP 409).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message())]
pub enum SessionRefused {
    OutsideAccess,
    NoLongerAuthorized,
    Closed,
    AlreadyClosed,
    /// Only sessions through the SSH broker can be terminated or watched.
    NotBrokered,
}

impl SessionRefused {
    pub fn message(self) -> &'static str {
        match self {
            SessionRefused::OutsideAccess => "the authorization does not allow access now",
            SessionRefused::NoLongerAuthorized => "the authorization is no longer authorized",
            SessionRefused::Closed => "the session is closed",
            SessionRefused::AlreadyClosed => "the session is already closed",
            SessionRefused::NotBrokered => {
                "the session was reported by the engineer's tooling, not run through the broker"
            }
        }
    }
}

impl Access {
    /// Sessions may be opened only while authorized and inside the window.
    pub fn allows_access_at(&self, now: Timestamp) -> bool {
        self.status == Status::Authorized
            && self.effective_at.is_some_and(|t| t <= now)
            && self.expire_at.is_some_and(|t| now < t)
    }

    pub fn may_open(&self, now: Timestamp) -> Result<(), SessionRefused> {
        if self.allows_access_at(now) {
            Ok(())
        } else {
            Err(SessionRefused::OutsideAccess)
        }
    }

    /// Commands and file transfers go to an open session of a still-authorized
    /// authorization (the window's end is the sweeper's to enforce, by expiring it).
    pub fn may_record(&self, session_ended: bool) -> Result<(), SessionRefused> {
        if session_ended {
            Err(SessionRefused::Closed)
        } else if self.status != Status::Authorized {
            Err(SessionRefused::NoLongerAuthorized)
        } else {
            Ok(())
        }
    }
}

/// A session is closed once.
pub fn may_close(session_ended: bool) -> Result<(), SessionRefused> {
    if session_ended {
        Err(SessionRefused::AlreadyClosed)
    } else {
        Ok(())
    }
}

/// One command typed in a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    pub oper: String,
    pub operate_time: Timestamp,
}

/// One file moved in a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileTransfer {
    pub operate_type: String,
    pub file_name: String,
    pub from_path: String,
    pub to_path: String,
    pub file_size_bytes: i64,
    pub duration_ms: i64,
    pub oper_result: String,
    pub operate_time: Timestamp,
    /// SHA-256 (hex) of the bytes that crossed, when the broker saw them cross as one
    /// contiguous run; never set for reported transfers.
    pub sha256: Option<String>,
}

/// Records per append call.
pub const MAX_RECORDS_PER_APPEND: usize = 1000;
/// Commands are kept whole: longer than Huawei's documented 64 characters, because a
/// truncated command is useless as evidence.
pub const MAX_COMMAND_CHARS: usize = 4096;

#[derive(Debug, Clone, Default)]
pub struct OperationInput {
    pub oper: Option<String>,
    pub operate_time: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct FileTransferInput {
    pub operate_type: Option<String>,
    pub file_name: Option<String>,
    pub from_path: Option<String>,
    pub to_path: Option<String>,
    pub file_size_bytes: Option<i64>,
    pub duration_ms: Option<i64>,
    pub oper_result: Option<String>,
    pub operate_time: Option<String>,
}

fn check_batch_len(field: &str, len: usize) -> Result<(), ValidationError> {
    if len == 0 || len > MAX_RECORDS_PER_APPEND {
        return Err(ValidationError::new(
            field,
            Rule::Items {
                min: 1,
                max: MAX_RECORDS_PER_APPEND,
            },
        ));
    }
    Ok(())
}

/// Clock skew allowed between the recording client and this service.
pub const TIME_SKEW: SignedDuration = SignedDuration::from_mins(5);

/// When recorded commands and transfers may have happened: not before the session could
/// have started, not after now (each give or take `TIME_SKEW`).
#[derive(Debug, Clone, Copy)]
pub struct RecordWindow {
    pub earliest: Timestamp,
    pub now: Timestamp,
}

impl RecordWindow {
    fn contains(self, t: Timestamp) -> bool {
        t >= self.earliest - TIME_SKEW && t <= self.now + TIME_SKEW
    }
}

fn required_time(
    field: &str,
    value: Option<&str>,
    window: RecordWindow,
) -> Result<Timestamp, ValidationError> {
    let raw = value.ok_or_else(|| ValidationError::new(field, Rule::Required))?;
    let t = parse_rfc3339(field, raw)?;
    if !window.contains(t) {
        return Err(ValidationError::new(field, Rule::OutsideSession));
    }
    Ok(t)
}

/// Whether recorded text holds control characters (ANSI escapes, CR, LF...; a tab is
/// ordinary). Such text is stored as sent, flagged in the audit, and escaped for display.
pub fn has_control_characters(text: &str) -> bool {
    text.chars().any(|c| c.is_control() && c != '\t')
}

/// `text` fit to show on a screen: control characters (but tabs) written as `\u{1b}`,
/// `\r`, `\n`, so a recorded escape sequence cannot act on the viewer's terminal or page.
pub fn escaped_for_display(text: &str) -> std::borrow::Cow<'_, str> {
    if !has_control_characters(text) {
        return text.into();
    }
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\t' {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

/// How many of `texts` hold control characters, for the audit note.
pub fn flagged_count<'a>(texts: impl IntoIterator<Item = &'a str>) -> usize {
    texts
        .into_iter()
        .filter(|t| has_control_characters(t))
        .count()
}

pub fn validate_operations(
    input: &[OperationInput],
    window: RecordWindow,
) -> Result<Vec<Operation>, ValidationError> {
    check_batch_len("operations", input.len())?;
    input
        .iter()
        .enumerate()
        .map(|(i, op)| {
            let f = |name: &str| format!("operations[{i}].{name}");
            Ok(Operation {
                oper: required_text(&f("oper"), op.oper.as_deref(), 1, MAX_COMMAND_CHARS)?.into(),
                operate_time: required_time(
                    &f("operate_time"),
                    op.operate_time.as_deref(),
                    window,
                )?,
            })
        })
        .collect()
}

pub fn validate_file_transfers(
    input: &[FileTransferInput],
    window: RecordWindow,
) -> Result<Vec<FileTransfer>, ValidationError> {
    check_batch_len("file_transfers", input.len())?;
    input
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let f = |name: &str| format!("file_transfers[{i}].{name}");
            optional_text(&f("from_path"), t.from_path.as_deref(), 0, 1024)?;
            optional_text(&f("to_path"), t.to_path.as_deref(), 0, 1024)?;
            let size = t
                .file_size_bytes
                .ok_or_else(|| ValidationError::new(f("file_size_bytes"), Rule::Required))?;
            let duration = t
                .duration_ms
                .ok_or_else(|| ValidationError::new(f("duration_ms"), Rule::Required))?;
            Ok(FileTransfer {
                operate_type: required_text(&f("operate_type"), t.operate_type.as_deref(), 1, 64)?
                    .into(),
                file_name: required_text(&f("file_name"), t.file_name.as_deref(), 1, 512)?.into(),
                from_path: t.from_path.clone().unwrap_or_default(),
                to_path: t.to_path.clone().unwrap_or_default(),
                file_size_bytes: int_range(&f("file_size_bytes"), size, 0, i64::MAX)?,
                duration_ms: int_range(&f("duration_ms"), duration, 0, i64::MAX)?,
                oper_result: required_text(&f("oper_result"), t.oper_result.as_deref(), 1, 64)?
                    .into(),
                operate_time: required_time(&f("operate_time"), t.operate_time.as_deref(), window)?,
                sha256: None,
            })
        })
        .collect()
}

/// Huawei documents `file_size` as "how many K, M or G": `512B`, `1.5K`, `12.0M`.
pub fn human_size(bytes: i64) -> String {
    const UNITS: [&str; 5] = ["K", "M", "G", "T", "P"];
    if bytes < 1024 {
        return format!("{bytes}B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1}{}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_the_docs() {
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(1023), "1023B");
        assert_eq!(human_size(1536), "1.5K");
        assert_eq!(human_size(12 * 1024 * 1024), "12.0M");
        assert_eq!(human_size(3 * 1024 * 1024 * 1024), "3.0G");
    }

    /// A session that started at 2026-01-01T00:00Z, an hour ago.
    fn window() -> RecordWindow {
        let earliest: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        RecordWindow {
            earliest,
            now: earliest + SignedDuration::from_hours(1),
        }
    }

    #[test]
    fn times_fall_inside_the_session_give_or_take_the_skew() {
        let at = |t: &str| OperationInput {
            oper: Some("ls".into()),
            operate_time: Some(t.into()),
        };
        for (t, ok) in [
            ("2026-01-01T00:30:00Z", true),
            ("2025-12-31T23:55:00Z", true),
            ("2025-12-31T23:54:59Z", false),
            ("2026-01-01T01:05:00Z", true),
            ("2026-01-01T01:05:01Z", false),
            ("2099-01-01T00:00:00Z", false),
            ("2000-01-01T00:00:00Z", false),
        ] {
            let got = validate_operations(&[at(t)], window()).map_err(|e| e.rule);
            assert_eq!(got.is_ok(), ok, "{t}: {got:?}");
            if !ok {
                assert_eq!(got.unwrap_err(), Rule::OutsideSession);
            }
        }
    }

    #[test]
    fn control_characters_are_flagged_and_escaped_for_display() {
        assert!(!has_control_characters("ls -la\t/tmp"));
        assert!(has_control_characters("\u{1b}[31mred"));
        assert!(has_control_characters("echo hi\r\nrm -rf /"));
        assert_eq!(escaped_for_display("ls\t-l"), "ls\t-l");
        assert_eq!(escaped_for_display("\u{1b}[2Jok\r\n"), "\\u{1b}[2Jok\\r\\n");
        assert_eq!(flagged_count(["ls", "a\rb", "\u{7}"]), 2);
    }

    #[test]
    fn batches_are_bounded() {
        let op = OperationInput {
            oper: Some("ls".into()),
            operate_time: Some("2026-01-01T00:00:00Z".into()),
        };
        assert!(validate_operations(&[], window()).is_err());
        assert!(validate_operations(&vec![op.clone(); 1000], window()).is_ok());
        assert!(validate_operations(&vec![op; 1001], window()).is_err());
    }

    #[test]
    fn records_need_valid_times() {
        let op = OperationInput {
            oper: Some("ls".into()),
            operate_time: Some("yesterday".into()),
        };
        assert_eq!(
            validate_operations(&[op], window()).unwrap_err().field,
            "operations[0].operate_time"
        );
        let t = FileTransferInput {
            operate_type: Some("upload".into()),
            ..Default::default()
        };
        assert!(validate_file_transfers(&[t], window()).is_err());
    }
}
