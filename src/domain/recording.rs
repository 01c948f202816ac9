//! Terminal recordings of broker sessions (asciicast v2) and how sessions end: the
//! event lines, the plain-text transcript, the close reasons and the terminate rule.
//!
//! Only what the host sent to the engineer's terminal is recorded, never keystrokes: a
//! password typed at a prompt that does not echo stays out.

use jiff::Timestamp;
use serde_json::json;

use super::session::{SessionRefused, SessionSource};

/// The longest reason a customer may give when terminating a session.
pub const MAX_TERMINATE_REASON: usize = 300;

/// Why a session ended, as `session.closed` events report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The engineer (or the host) ended it.
    Disconnected,
    /// A customer terminated this one session.
    Terminated,
    /// The authorization's access ended (cancel, window end, disabled engineer).
    AccessEnded,
}

impl CloseReason {
    pub fn name(self) -> &'static str {
        match self {
            CloseReason::Disconnected => "disconnected",
            CloseReason::Terminated => "terminated",
            CloseReason::AccessEnded => "access_ended",
        }
    }

    /// A terminate request wins over any other cut: it is what the customer asked for.
    pub fn of(terminate_requested: bool, cut: bool) -> CloseReason {
        match (terminate_requested, cut) {
            (true, _) => CloseReason::Terminated,
            (false, true) => CloseReason::AccessEnded,
            (false, false) => CloseReason::Disconnected,
        }
    }
}

/// The end of a recording: what the closing audit event carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingSummary {
    /// SHA-256 (hex) of the whole uncompressed asciicast.
    pub sha256: String,
    pub size_bytes: u64,
}

/// How a broker session ends, as the broker saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionEnd {
    /// The broker cut it (access ended or a terminate), rather than the engineer leaving.
    pub cut: bool,
    pub recording: Option<RecordingSummary>,
    /// Why it ended, in the words the engineer was shown (kept on the session record).
    pub why: Option<String>,
}

/// Only an open session recorded by the broker can be terminated: a reported one runs
/// outside this service.
pub fn may_terminate(source: SessionSource, ended: bool) -> Result<(), SessionRefused> {
    if ended {
        Err(SessionRefused::Closed)
    } else if source != SessionSource::Broker {
        Err(SessionRefused::NotBrokered)
    } else {
        Ok(())
    }
}

/// What the engineer reads when a customer terminates their session. The reason is
/// the customer's text: control characters are replaced, so it cannot drive the
/// engineer's terminal.
pub fn terminated_message(reason: Option<&str>) -> String {
    match reason {
        Some(reason) => {
            let clean: String = reason
                .chars()
                .map(|c| if c.is_control() { '?' } else { c })
                .collect();
            format!("terminated by the customer: {clean}")
        }
        None => "terminated by the customer".to_owned(),
    }
}

/// A stored recording's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingInfo {
    pub started_at: Timestamp,
    pub ended_at: Option<Timestamp>,
    pub size_bytes: u64,
    pub chunks: u64,
    pub sha256: Option<String>,
    pub purged_at: Option<Timestamp>,
}

/// The size a recording states: a client without a terminal of its own (`ssh -tt` from
/// a script) asks for 0x0, which players cannot show; the host then assumes 80x24.
pub fn terminal_size(cols: u32, rows: u32) -> (u32, u32) {
    let fit = |n: u32, default: u32| {
        if (2..=10_000).contains(&n) {
            n
        } else {
            default
        }
    };
    (fit(cols, 80), fit(rows, 24))
}

/// The asciicast v2 header line (with its newline).
pub fn header(cols: u32, rows: u32, started: Timestamp, term: &str) -> String {
    let header = json!({
        "version": 2,
        "width": cols,
        "height": rows,
        "timestamp": started.as_second(),
        "env": {"TERM": term},
    });
    format!("{header}\n")
}

/// An output event: `[t, "o", data]`.
pub fn output_event(seconds: f64, data: &str) -> String {
    format!("{}\n", json!([round(seconds), "o", data]))
}

/// A resize event: `[t, "r", "COLSxROWS"]`.
pub fn resize_event(seconds: f64, cols: u32, rows: u32) -> String {
    format!(
        "{}\n",
        json!([round(seconds), "r", format!("{cols}x{rows}")])
    )
}

/// Microseconds are plenty, and keep the lines short.
fn round(seconds: f64) -> f64 {
    (seconds * 1e6).round() / 1e6
}

/// Turns output bytes into text without splitting a UTF-8 character that arrives in
/// two packets; bytes that are not UTF-8 become U+FFFD.
#[derive(Debug, Default)]
pub struct Utf8Carry {
    tail: Vec<u8>,
}

impl Utf8Carry {
    pub fn push(&mut self, data: &[u8]) -> String {
        let mut bytes = std::mem::take(&mut self.tail);
        bytes.extend_from_slice(data);
        let mut out = String::with_capacity(bytes.len());
        let mut rest = &bytes[..];
        loop {
            match std::str::from_utf8(rest) {
                Ok(s) => {
                    out.push_str(s);
                    break;
                }
                Err(e) => {
                    let (valid, after) = rest.split_at(e.valid_up_to());
                    out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                    match e.error_len() {
                        Some(n) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            rest = &after[n..];
                        }
                        // An incomplete character at the end: wait for the rest.
                        None => {
                            self.tail = after.to_vec();
                            break;
                        }
                    }
                }
            }
        }
        out
    }
}

/// The plain transcript of an asciicast, fed line by line: output with escape
/// sequences removed and line editing (carriage return, backspace, erase to the end of
/// the line) applied, so it reads as the terminal showed it.
#[derive(Default)]
pub struct Transcript {
    parser: vte::Parser,
    lines: TextLines,
}

#[derive(Default)]
struct TextLines {
    line: Vec<char>,
    col: usize,
    done: String,
}

impl TextLines {
    fn end_line(&mut self) {
        let line: String = self.line.iter().collect();
        self.done.push_str(line.trim_end());
        self.done.push('\n');
        self.line.clear();
        self.col = 0;
    }
}

impl vte::Perform for TextLines {
    fn print(&mut self, c: char) {
        if self.col < self.line.len() {
            self.line[self.col] = c;
        } else {
            self.line.resize(self.col, ' ');
            self.line.push(c);
        }
        self.col += 1;
    }

    fn execute(&mut self, byte: u8) {
        match byte {
            b'\n' => self.end_line(),
            b'\r' => self.col = 0,
            0x08 => self.col = self.col.saturating_sub(1),
            b'\t' => self.col = (self.col / 8 + 1) * 8,
            _ => {}
        }
    }

    fn csi_dispatch(&mut self, params: &vte::Params, _: &[u8], _: bool, action: char) {
        let n = params
            .iter()
            .next()
            .and_then(|p| p.first().copied())
            .unwrap_or(0);
        match action {
            // Erase in line: from the cursor on (0), or the whole line (2).
            'K' if n == 0 => self.line.truncate(self.col),
            'K' if n == 2 => self.line.clear(),
            'C' => self.col += usize::from(n.max(1)),
            'D' => self.col = self.col.saturating_sub(usize::from(n.max(1))),
            _ => {}
        }
    }
}

impl Transcript {
    /// One asciicast line; returns the text completed so far. The header, resize
    /// events and lines that are not events are skipped.
    pub fn line(&mut self, line: &str) -> String {
        let parsed: Option<(f64, String, String)> = serde_json::from_str(line).ok();
        if let Some((_, kind, data)) = parsed
            && kind == "o"
        {
            self.parser.advance(&mut self.lines, data.as_bytes());
        }
        std::mem::take(&mut self.lines.done)
    }

    /// The last, unterminated line.
    pub fn finish(mut self) -> String {
        if !self.lines.line.is_empty() {
            self.lines.end_line();
        }
        self.lines.done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_asciicast_v2_lines() {
        let h = header(
            80,
            24,
            Timestamp::from_second(1_800_000_000).unwrap(),
            "xterm",
        );
        let v: serde_json::Value = serde_json::from_str(h.trim_end()).unwrap();
        assert_eq!(
            (v["version"].as_i64(), v["width"].as_i64()),
            (Some(2), Some(80))
        );
        assert_eq!(v["env"]["TERM"], "xterm");
        assert_eq!(
            output_event(1.5, "a\"b\r\n"),
            "[1.5,\"o\",\"a\\\"b\\r\\n\"]\n"
        );
        assert_eq!(resize_event(2.0, 100, 30), "[2.0,\"r\",\"100x30\"]\n");
    }

    #[test]
    fn a_character_split_across_packets_stays_whole() {
        let mut carry = Utf8Carry::default();
        let word = "é€".as_bytes();
        assert_eq!(carry.push(&word[..1]), "");
        assert_eq!(carry.push(&word[1..3]), "é");
        assert_eq!(carry.push(&word[3..]), "€");
        assert_eq!(carry.push(b"a\xffb"), "a\u{fffd}b");
    }

    #[test]
    fn the_transcript_applies_line_editing_and_drops_escapes() {
        let mut t = Transcript::default();
        let mut text = t.line(&header(80, 24, Timestamp::UNIX_EPOCH, "xterm"));
        for (i, chunk) in [
            "\x1b[1;32m$ \x1b[0mecho secomd",
            "\x08\x08\x1b[Knd\r\nsecond\r\n",
            "100%\r 50%\r\n$ ",
        ]
        .iter()
        .enumerate()
        {
            text.push_str(&t.line(&output_event(i as f64, chunk)));
        }
        text.push_str(&t.line(&resize_event(3.0, 10, 10)));
        text.push_str(&t.finish());
        assert_eq!(text, "$ echo second\nsecond\n 50%\n$\n");
    }

    #[test]
    fn the_engineer_reads_the_reason_without_control_characters() {
        assert_eq!(
            terminated_message(Some("stop\x1b[2J now")),
            "terminated by the customer: stop?[2J now"
        );
        assert_eq!(terminated_message(None), "terminated by the customer");
    }

    #[test]
    fn close_reasons_and_the_terminate_rule() {
        assert_eq!(CloseReason::of(true, true), CloseReason::Terminated);
        assert_eq!(CloseReason::of(false, true), CloseReason::AccessEnded);
        assert_eq!(CloseReason::of(false, false).name(), "disconnected");
        assert_eq!(may_terminate(SessionSource::Broker, false), Ok(()));
        assert_eq!(
            may_terminate(SessionSource::Broker, true),
            Err(SessionRefused::Closed)
        );
        assert_eq!(
            may_terminate(SessionSource::Reported, false),
            Err(SessionRefused::NotBrokered)
        );
    }
}
