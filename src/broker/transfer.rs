//! One file crossing the broker (SFTP or legacy scp): the bytes counted and hashed as
//! they pass, never kept, and the record it becomes. Also the [`Tap`] a relayed channel
//! feeds when it carries file transfers.

use std::collections::BTreeMap;
use std::time::Instant;

use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use super::relay::Commands;
use super::scp::ScpObserver;
use super::sftp::SftpObserver;
use crate::clock::Clock;
use crate::domain::session::FileTransfer;

/// Where finished transfers go (the session's recorder).
pub type Transfers = mpsc::UnboundedSender<FileTransfer>;

/// Out-of-order chunks (pipelined requests answered out of order) held per file until
/// the gap before them fills; past this the hash is given up, the count goes on.
const MAX_HELD_BYTES: usize = 1 << 20;
/// `oper_result` is at most this long (the provider API's limit).
const MAX_RESULT_CHARS: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Engineer to host.
    Upload,
    /// Host to engineer.
    Download,
}

impl Direction {
    fn name(self) -> &'static str {
        match self {
            Direction::Upload => "upload",
            Direction::Download => "download",
        }
    }
}

/// A file being transferred: the hash covers the bytes in file order from the first
/// offset that crossed (0 unless a transfer resumes); chunks ahead of a gap wait (up
/// to [`MAX_HELD_BYTES`]), a chunk behind what was hashed (a re-read, a rewrite) or a
/// gap left at the end means the bytes were not one contiguous run: no hash then.
pub struct Transfer {
    direction: Direction,
    /// The path on the host.
    path: String,
    operate_time: jiff::Timestamp,
    started: Instant,
    hasher: Option<Sha256>,
    /// The next offset the hash expects (`None` before the first chunk).
    next: Option<u64>,
    held: BTreeMap<u64, Vec<u8>>,
    held_bytes: usize,
    bytes: u64,
    /// The first failure seen (an SFTP status, a scp error line).
    failure: Option<String>,
}

impl Transfer {
    pub fn new(direction: Direction, path: String, clock: &Clock) -> Transfer {
        Transfer {
            direction,
            path,
            operate_time: clock.now(),
            started: Instant::now(),
            hasher: Some(Sha256::new()),
            next: None,
            held: BTreeMap::new(),
            held_bytes: 0,
            bytes: 0,
            failure: None,
        }
    }

    pub fn direction(&self) -> Direction {
        self.direction
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The first offset asked for, when the data may come back out of order (reads): the
    /// hash starts there rather than at the first answer.
    pub fn starts_at(&mut self, offset: u64) {
        self.next.get_or_insert(offset);
    }

    /// `data` crossed at `offset` of the file.
    pub fn chunk(&mut self, offset: u64, data: &[u8]) {
        self.bytes += data.len() as u64;
        let Some(hasher) = self.hasher.as_mut() else {
            return;
        };
        let next = *self.next.get_or_insert(offset);
        if offset == next {
            hasher.update(data);
            let mut next = next + data.len() as u64;
            // Chunks that waited for this one.
            while let Some(entry) = self.held.first_entry() {
                if *entry.key() != next {
                    break;
                }
                let held = entry.remove();
                self.held_bytes -= held.len();
                hasher.update(&held);
                next += held.len() as u64;
            }
            self.next = Some(next);
            if self.held.first_key_value().is_some_and(|(k, _)| *k < next) {
                self.give_up_hash();
            }
        } else if offset > next
            && self.held_bytes + data.len() <= MAX_HELD_BYTES
            && !self.held.contains_key(&offset)
        {
            self.held_bytes += data.len();
            self.held.insert(offset, data.to_vec());
        } else {
            self.give_up_hash();
        }
    }

    fn give_up_hash(&mut self) {
        self.hasher = None;
        self.held.clear();
        self.held_bytes = 0;
    }

    /// Keeps the first failure.
    pub fn fail(&mut self, why: impl Into<String>) {
        self.failure.get_or_insert_with(|| why.into());
    }

    /// The record, with `failure` if none was seen before.
    pub fn finish(mut self, failure: Option<String>) -> FileTransfer {
        if let Some(why) = failure {
            self.fail(why);
        }
        let sha256 = match self.hasher {
            Some(h) if self.held.is_empty() => Some(hex::encode(h.finalize())),
            _ => None,
        };
        let oper_result = match self.failure {
            None => "success".to_owned(),
            Some(why) => format!("failed: {why}")
                .chars()
                .take(MAX_RESULT_CHARS)
                .collect(),
        };
        let file_name = self
            .path
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .filter(|n| !n.is_empty())
            .unwrap_or(&self.path)
            .to_owned();
        // The engineer's side of the transfer is not visible to the broker.
        let (from_path, to_path) = match self.direction {
            Direction::Upload => (String::new(), self.path),
            Direction::Download => (self.path, String::new()),
        };
        FileTransfer {
            operate_type: self.direction.name().to_owned(),
            file_name,
            from_path,
            to_path,
            file_size_bytes: i64::try_from(self.bytes).unwrap_or(i64::MAX),
            duration_ms: i64::try_from(self.started.elapsed().as_millis()).unwrap_or(i64::MAX),
            oper_result,
            operate_time: self.operate_time,
            sha256,
        }
    }
}

/// What a relayed channel carrying files reports to.
#[derive(Clone)]
pub struct Sinks {
    pub commands: Commands,
    pub transfers: Transfers,
    pub clock: Clock,
}

impl Sinks {
    pub fn command(&self, line: String) {
        let _ = self.commands.send(line);
    }

    pub fn transfer(&self, t: FileTransfer) {
        let _ = self.transfers.send(t);
    }
}

/// The observer of a channel that carries files: it sees a copy of each direction's
/// bytes, in order, and never holds the relay up.
pub enum Tap {
    Sftp(Box<SftpObserver>),
    Scp(Box<ScpObserver>),
}

impl Tap {
    pub fn engineer_sent(&mut self, data: &[u8]) {
        match self {
            Tap::Sftp(o) => o.client_sent(data),
            Tap::Scp(o) => o.engineer_sent(data),
        }
    }

    pub fn host_sent(&mut self, data: &[u8]) {
        match self {
            Tap::Sftp(o) => o.server_sent(data),
            Tap::Scp(o) => o.host_sent(data),
        }
    }

    /// The channel ended: files still open are recorded as cut short.
    pub fn finish(&mut self) {
        match self {
            Tap::Sftp(o) => o.finish(),
            Tap::Scp(o) => o.finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(data: &[u8]) -> String {
        hex::encode(Sha256::digest(data))
    }

    fn transfer() -> Transfer {
        Transfer::new(Direction::Download, "/srv/data.bin".into(), &Clock::System)
    }

    #[test]
    fn in_order_chunks_hash_as_the_whole_file() {
        let mut t = transfer();
        t.chunk(0, b"hello ");
        t.chunk(6, b"world");
        let r = t.finish(None);
        assert_eq!(r.sha256.as_deref(), Some(sha(b"hello world").as_str()));
        assert_eq!(
            (
                r.file_size_bytes,
                r.file_name.as_str(),
                r.oper_result.as_str()
            ),
            (11, "data.bin", "success")
        );
        assert_eq!(
            (r.from_path.as_str(), r.to_path.as_str()),
            ("/srv/data.bin", "")
        );
    }

    #[test]
    fn chunks_answered_out_of_order_wait_for_the_gap() {
        let mut t = transfer();
        t.chunk(0, b"ab");
        t.chunk(4, b"ef");
        t.chunk(2, b"cd");
        assert_eq!(t.finish(None).sha256, Some(sha(b"abcdef")));
    }

    #[test]
    fn overlaps_and_gaps_leave_no_hash_but_count_the_bytes() {
        let mut t = transfer();
        t.chunk(0, b"abcd");
        t.chunk(2, b"cd");
        let r = t.finish(None);
        assert_eq!((r.sha256, r.file_size_bytes), (None, 6));

        let mut t = transfer();
        t.chunk(0, b"ab");
        t.chunk(4, b"ef");
        assert_eq!(t.finish(None).sha256, None, "a gap remained");

        let mut t = transfer();
        t.chunk(0, b"ab");
        t.chunk(3, &vec![0; MAX_HELD_BYTES + 1]);
        assert_eq!(t.finish(None).sha256, None, "too much held");
    }

    #[test]
    fn a_resumed_transfer_hashes_from_where_it_resumed() {
        let mut t = transfer();
        t.chunk(100, b"tail");
        assert_eq!(t.finish(None).sha256, Some(sha(b"tail")));
    }

    #[test]
    fn the_first_failure_is_the_result() {
        let mut t = Transfer::new(Direction::Upload, "notes.txt".into(), &Clock::System);
        t.fail("permission denied");
        let r = t.finish(Some("connection closed".into()));
        assert_eq!(r.oper_result, "failed: permission denied");
        assert_eq!(
            (r.operate_type.as_str(), r.to_path.as_str()),
            ("upload", "notes.txt")
        );
        assert_eq!(r.file_name, "notes.txt");
    }
}
