//! A passive SFTP (version 3, as OpenSSH speaks it) observer: it reads a copy of the
//! packets crossing the `sftp` subsystem both ways and turns them into the session's
//! records, while the relay forwards the bytes untouched.
//!
//! Its own small parser rather than a crate's: an observer must not decode handles and
//! names lossily (binary handles would collide), must follow pipelined requests by id,
//! and must let packets it does not know pass. At most one packet per direction is
//! held (≤ 256 KiB, OpenSSH's limit); file data is hashed as it passes, never kept
//! (except chunks answered out of order, see [`Transfer`]).
//!
//! Recorded: every file opened for writing (an upload) or read from (a download), when
//! it is closed or the channel ends, with the bytes that crossed and their SHA-256;
//! removals, renames, links, directories and attribute changes as operation lines
//! (`sftp rm /path`). Past anything it cannot parse, the observer says so once in the
//! operation log and stops; the relay goes on.

use std::collections::HashMap;

use super::transfer::{Direction, Sinks, Transfer};

/// OpenSSH's largest SFTP packet.
const MAX_PACKET: usize = 256 * 1024 + 1024;
/// Requests awaiting an answer, and open files, tracked at once.
const MAX_TRACKED: usize = 10_000;

// Packet types (draft-ietf-secsh-filexfer-02).
const OPEN: u8 = 3;
const CLOSE: u8 = 4;
const READ: u8 = 5;
const WRITE: u8 = 6;
const SETSTAT: u8 = 9;
const FSETSTAT: u8 = 10;
const REMOVE: u8 = 13;
const MKDIR: u8 = 14;
const RMDIR: u8 = 15;
const RENAME: u8 = 18;
const SYMLINK: u8 = 20;
const EXTENDED: u8 = 200;
const STATUS: u8 = 101;
const HANDLE: u8 = 102;
const DATA: u8 = 103;

const PFLAG_WRITE: u32 = 0x02;

const STATUS_OK: u32 = 0;
const STATUS_EOF: u32 = 1;

fn status_name(code: u32) -> &'static str {
    match code {
        0 => "ok",
        1 => "end of file",
        2 => "no such file",
        3 => "permission denied",
        4 => "failure",
        5 => "bad message",
        6 => "no connection",
        7 => "connection lost",
        8 => "operation unsupported",
        _ => "unknown status",
    }
}

/// Reads the fields of one packet; `None` when it is shorter than its fields say.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_be_bytes(b.try_into().unwrap_or_default()))
    }

    fn u64(&mut self) -> Option<u64> {
        self.take(8)
            .map(|b| u64::from_be_bytes(b.try_into().unwrap_or_default()))
    }

    fn string(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    fn text(&mut self) -> Option<String> {
        self.string()
            .map(|s| String::from_utf8_lossy(s).into_owned())
    }

    /// ATTRS, described for the operation log (`mode=0644 uid=0 gid=0 ...`).
    fn attrs(&mut self) -> Option<Vec<String>> {
        let flags = self.u32()?;
        let mut out = Vec::new();
        if flags & 0x1 != 0 {
            out.push(format!("size={}", self.u64()?));
        }
        if flags & 0x2 != 0 {
            out.push(format!("uid={} gid={}", self.u32()?, self.u32()?));
        }
        if flags & 0x4 != 0 {
            out.push(format!("mode={:04o}", self.u32()? & 0o7777));
        }
        if flags & 0x8 != 0 {
            out.push(format!("atime={} mtime={}", self.u32()?, self.u32()?));
        }
        Some(out)
    }
}

/// Splits one direction's byte stream into packets (`u32` length, then the body).
#[derive(Default)]
struct Framer {
    buf: Vec<u8>,
}

impl Framer {
    /// Calls `packet` with each complete packet body; `Err` on a length past the limit.
    fn feed(&mut self, mut data: &[u8], mut packet: impl FnMut(&[u8])) -> Result<(), ()> {
        while !data.is_empty() {
            if self.buf.is_empty() && data.len() >= 4 {
                let len = u32::from_be_bytes([data[0], data[1], data[2], data[3]]) as usize;
                if len > MAX_PACKET {
                    return Err(());
                }
                // A whole packet in this chunk: read in place.
                if data.len() >= 4 + len {
                    packet(&data[4..4 + len]);
                    data = &data[4 + len..];
                    continue;
                }
            }
            let want = if self.buf.len() < 4 {
                4 - self.buf.len()
            } else {
                let len = u32::from_be_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]])
                    as usize;
                if len > MAX_PACKET {
                    return Err(());
                }
                4 + len - self.buf.len()
            };
            let n = want.min(data.len());
            self.buf.extend_from_slice(&data[..n]);
            data = &data[n..];
            if self.buf.len() >= 4 {
                let len = u32::from_be_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]])
                    as usize;
                if len > MAX_PACKET {
                    return Err(());
                }
                if self.buf.len() == 4 + len {
                    packet(&self.buf[4..]);
                    self.buf.clear();
                }
            }
        }
        Ok(())
    }
}

/// A request awaiting its answer.
enum Request {
    Open {
        path: String,
        pflags: u32,
    },
    Read {
        handle: Vec<u8>,
        offset: u64,
    },
    Write {
        handle: Vec<u8>,
    },
    Close {
        handle: Vec<u8>,
    },
    /// A change recorded once its status says how it went.
    Change(String),
}

/// An open file.
struct OpenFile {
    transfer: Transfer,
    /// A download is recorded only if something was read.
    read_from: bool,
}

pub struct SftpObserver {
    sinks: Sinks,
    to_server: Framer,
    to_client: Framer,
    requests: HashMap<u32, Request>,
    files: HashMap<Vec<u8>, OpenFile>,
    /// Set once the stream could not be followed; nothing more is observed.
    lost: bool,
}

impl SftpObserver {
    pub fn new(sinks: Sinks) -> SftpObserver {
        SftpObserver {
            sinks,
            to_server: Framer::default(),
            to_client: Framer::default(),
            requests: HashMap::new(),
            files: HashMap::new(),
            lost: false,
        }
    }

    pub fn client_sent(&mut self, data: &[u8]) {
        self.observe(data, true);
    }

    pub fn server_sent(&mut self, data: &[u8]) {
        self.observe(data, false);
    }

    fn observe(&mut self, data: &[u8], client_sent: bool) {
        if self.lost {
            return;
        }
        let framer = if client_sent {
            &mut self.to_server
        } else {
            &mut self.to_client
        };
        let mut framer = std::mem::take(framer);
        let mut ok = true;
        let framed = framer.feed(data, |p| {
            let parsed = if client_sent {
                self.client_packet(p)
            } else {
                self.server_packet(p)
            };
            ok &= parsed.is_some();
        });
        if client_sent {
            self.to_server = framer;
        } else {
            self.to_client = framer;
        }
        if framed.is_err() || !ok {
            self.lose();
        }
    }

    /// The channel ended: files still open were cut short.
    pub fn finish(&mut self) {
        for (_, file) in std::mem::take(&mut self.files) {
            self.record(file, Some("the channel closed before the file".into()));
        }
        self.requests.clear();
    }

    fn lose(&mut self) {
        self.finish();
        self.lost = true;
        self.to_server = Framer::default();
        self.to_client = Framer::default();
        self.sinks.command(
            "sftp: stream not understood from here on; later transfers not recorded".into(),
        );
    }

    fn track(&mut self, id: u32, request: Request) -> Option<()> {
        if self.requests.len() >= MAX_TRACKED {
            return None;
        }
        self.requests.insert(id, request);
        Some(())
    }

    fn path_of(&self, handle: &[u8]) -> String {
        self.files
            .get(handle)
            .map_or_else(|| "(handle)".to_owned(), |f| f.transfer.path().to_owned())
    }

    /// `None`: the packet is malformed.
    fn client_packet(&mut self, packet: &[u8]) -> Option<()> {
        let mut r = Reader(packet);
        let kind = r.u8()?;
        if !matches!(
            kind,
            OPEN | CLOSE
                | READ
                | WRITE
                | SETSTAT
                | FSETSTAT
                | REMOVE
                | MKDIR
                | RMDIR
                | RENAME
                | SYMLINK
                | EXTENDED
        ) {
            return Some(()); // INIT, reads of names and attributes: nothing to record
        }
        let id = r.u32()?;
        let request = match kind {
            OPEN => {
                let path = r.text()?;
                let pflags = r.u32()?;
                Request::Open { path, pflags }
            }
            CLOSE => Request::Close {
                handle: r.string()?.to_vec(),
            },
            READ => {
                let handle = r.string()?.to_vec();
                let offset = r.u64()?;
                if let Some(file) = self.files.get_mut(&handle) {
                    file.read_from = true;
                    file.transfer.starts_at(offset);
                }
                Request::Read { handle, offset }
            }
            WRITE => {
                let handle = r.string()?;
                let offset = r.u64()?;
                let data = r.string()?;
                if let Some(file) = self.files.get_mut(handle) {
                    file.transfer.chunk(offset, data);
                }
                Request::Write {
                    handle: handle.to_vec(),
                }
            }
            SETSTAT => {
                let path = r.text()?;
                Request::Change(describe_setstat(&path, &r.attrs()?))
            }
            FSETSTAT => {
                let path = self.path_of(r.string()?);
                Request::Change(describe_setstat(&path, &r.attrs()?))
            }
            REMOVE => Request::Change(format!("sftp rm {}", r.text()?)),
            MKDIR => Request::Change(format!("sftp mkdir {}", r.text()?)),
            RMDIR => Request::Change(format!("sftp rmdir {}", r.text()?)),
            RENAME => Request::Change(format!("sftp rename {} {}", r.text()?, r.text()?)),
            // OpenSSH sends the link's target first, then the link.
            SYMLINK => Request::Change(format!("sftp ln -s {} {}", r.text()?, r.text()?)),
            _ => match r.text()?.as_str() {
                "posix-rename@openssh.com" => {
                    Request::Change(format!("sftp rename {} {}", r.text()?, r.text()?))
                }
                "hardlink@openssh.com" => {
                    Request::Change(format!("sftp ln {} {}", r.text()?, r.text()?))
                }
                "lsetstat@openssh.com" => {
                    let path = r.text()?;
                    Request::Change(describe_setstat(&path, &r.attrs()?))
                }
                _ => return Some(()),
            },
        };
        self.track(id, request)
    }

    fn server_packet(&mut self, packet: &[u8]) -> Option<()> {
        let mut r = Reader(packet);
        let kind = r.u8()?;
        if !matches!(kind, STATUS | HANDLE | DATA) {
            if kind > 2 {
                // NAME, ATTRS, EXTENDED_REPLY: answers to requests not tracked.
                let id = r.u32()?;
                self.requests.remove(&id);
            }
            return Some(());
        }
        let id = r.u32()?;
        let Some(request) = self.requests.remove(&id) else {
            return Some(());
        };
        match kind {
            HANDLE => {
                let handle = r.string()?.to_vec();
                if let Request::Open { path, pflags } = request {
                    if self.files.len() >= MAX_TRACKED {
                        return None;
                    }
                    let direction = if pflags & PFLAG_WRITE != 0 {
                        Direction::Upload
                    } else {
                        Direction::Download
                    };
                    let transfer = Transfer::new(direction, path, &self.sinks.clock);
                    // A handle reused without a close seen: the old file ended.
                    let old = self.files.insert(
                        handle,
                        OpenFile {
                            transfer,
                            read_from: false,
                        },
                    );
                    if let Some(old) = old {
                        self.record(old, None);
                    }
                }
            }
            DATA => {
                let data = r.string()?;
                if let Request::Read { handle, offset } = request
                    && let Some(file) = self.files.get_mut(&handle)
                    && file.transfer.direction() == Direction::Download
                {
                    file.transfer.chunk(offset, data);
                }
            }
            _ => {
                let code = r.u32()?;
                let message = r.text().unwrap_or_default();
                self.status(request, code, &message);
            }
        }
        Some(())
    }

    fn status(&mut self, request: Request, code: u32, message: &str) {
        let failure = (code != STATUS_OK).then(|| {
            let name = status_name(code);
            if message.is_empty() || message.eq_ignore_ascii_case(name) {
                name.to_owned()
            } else {
                format!("{name} ({message})")
            }
        });
        match request {
            Request::Open { path, pflags } => {
                // The file could not be opened: a failed attempt, recorded as such.
                let direction = if pflags & PFLAG_WRITE != 0 {
                    Direction::Upload
                } else {
                    Direction::Download
                };
                let transfer = Transfer::new(direction, path, &self.sinks.clock);
                self.sinks.transfer(transfer.finish(failure));
            }
            Request::Read { handle, .. } | Request::Write { handle } => {
                if code != STATUS_EOF
                    && let (Some(why), Some(file)) = (failure, self.files.get_mut(&handle))
                {
                    file.transfer.fail(why);
                }
            }
            Request::Close { handle } => {
                if let Some(file) = self.files.remove(&handle) {
                    self.record(file, failure);
                }
            }
            Request::Change(line) => self.sinks.command(match failure {
                None => line,
                Some(why) => format!("{line} (failed: {why})"),
            }),
        }
    }

    fn record(&self, file: OpenFile, failure: Option<String>) {
        if file.transfer.direction() == Direction::Download && !file.read_from {
            return; // opened and closed without reading: no file crossed
        }
        self.sinks.transfer(file.transfer.finish(failure));
    }
}

fn describe_setstat(path: &str, attrs: &[String]) -> String {
    match attrs {
        [mode] if mode.starts_with("mode=") => {
            format!("sftp chmod {} {path}", &mode["mode=".len()..])
        }
        _ => format!("sftp setstat {path} {}", attrs.join(" ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::domain::session::FileTransfer;
    use sha2::{Digest, Sha256};
    use tokio::sync::mpsc;

    fn packet(kind: u8, id: Option<u32>, fields: &[&[u8]]) -> Vec<u8> {
        let mut body = vec![kind];
        if let Some(id) = id {
            body.extend_from_slice(&id.to_be_bytes());
        }
        for f in fields {
            body.extend_from_slice(f);
        }
        let mut out = (body.len() as u32).to_be_bytes().to_vec();
        out.extend(body);
        out
    }

    fn s(bytes: &[u8]) -> Vec<u8> {
        let mut out = (bytes.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(bytes);
        out
    }

    struct Harness {
        observer: SftpObserver,
        commands: mpsc::UnboundedReceiver<String>,
        transfers: mpsc::UnboundedReceiver<FileTransfer>,
    }

    fn harness() -> Harness {
        let (c, commands) = mpsc::unbounded_channel();
        let (t, transfers) = mpsc::unbounded_channel();
        let sinks = Sinks {
            commands: c,
            transfers: t,
            clock: Clock::System,
        };
        Harness {
            observer: SftpObserver::new(sinks),
            commands,
            transfers,
        }
    }

    fn status(id: u32, code: u32) -> Vec<u8> {
        packet(STATUS, Some(id), &[&code.to_be_bytes(), &s(b""), &s(b"")])
    }

    #[test]
    fn an_upload_split_across_chunks_is_recorded_with_its_hash() {
        let mut h = harness();
        let mut client = packet(
            OPEN,
            Some(1),
            &[
                &s(b"/tmp/up.bin"),
                &0x1au32.to_be_bytes(),
                &0u32.to_be_bytes(),
            ],
        );
        h.observer.client_sent(&client);
        h.observer
            .server_sent(&packet(HANDLE, Some(1), &[&s(&[0, 1, 0xff])]));
        client.clear();
        let content: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        for (i, part) in content.chunks(40_000).enumerate() {
            let offset = (i * 40_000) as u64;
            client.extend(packet(
                WRITE,
                Some(10 + i as u32),
                &[&s(&[0, 1, 0xff]), &offset.to_be_bytes(), &s(part)],
            ));
        }
        client.extend(packet(CLOSE, Some(20), &[&s(&[0, 1, 0xff])]));
        // Fed in odd-sized pieces, as SSH channel data arrives.
        for piece in client.chunks(7_777) {
            h.observer.client_sent(piece);
        }
        for id in [10, 11, 12, 20] {
            h.observer.server_sent(&status(id, STATUS_OK));
        }
        let t = h.transfers.try_recv().unwrap();
        assert_eq!(
            (
                t.operate_type.as_str(),
                t.to_path.as_str(),
                t.file_name.as_str()
            ),
            ("upload", "/tmp/up.bin", "up.bin")
        );
        assert_eq!(t.file_size_bytes, 100_000);
        assert_eq!(t.sha256, Some(hex::encode(Sha256::digest(&content))));
        assert_eq!(t.oper_result, "success");
    }

    #[test]
    fn a_download_is_hashed_from_the_replies_and_failures_keep_their_status() {
        let mut h = harness();
        let handle = s(b"h1");
        h.observer.client_sent(&packet(
            OPEN,
            Some(1),
            &[&s(b"/etc/hosts"), &1u32.to_be_bytes(), &0u32.to_be_bytes()],
        ));
        h.observer.server_sent(&packet(HANDLE, Some(1), &[&handle]));
        for (id, offset) in [(2u32, 0u64), (3, 4)] {
            h.observer.client_sent(&packet(
                READ,
                Some(id),
                &[&handle, &offset.to_be_bytes(), &4u32.to_be_bytes()],
            ));
        }
        // Answered out of order.
        h.observer
            .server_sent(&packet(DATA, Some(3), &[&s(b"5678")]));
        h.observer
            .server_sent(&packet(DATA, Some(2), &[&s(b"1234")]));
        h.observer.client_sent(&packet(CLOSE, Some(4), &[&handle]));
        h.observer.server_sent(&status(4, STATUS_OK));
        let t = h.transfers.try_recv().unwrap();
        assert_eq!(t.operate_type, "download");
        assert_eq!(t.from_path, "/etc/hosts");
        assert_eq!(t.sha256, Some(hex::encode(Sha256::digest(b"12345678"))));

        // A refused open is a failed attempt.
        h.observer.client_sent(&packet(
            OPEN,
            Some(5),
            &[&s(b"/root/x"), &0x1au32.to_be_bytes(), &0u32.to_be_bytes()],
        ));
        h.observer.server_sent(&packet(
            STATUS,
            Some(5),
            &[&3u32.to_be_bytes(), &s(b"Permission denied"), &s(b"")],
        ));
        let t = h.transfers.try_recv().unwrap();
        assert_eq!(t.oper_result, "failed: permission denied");
    }

    #[test]
    fn changes_become_operation_lines_once_answered() {
        let mut h = harness();
        h.observer
            .client_sent(&packet(REMOVE, Some(1), &[&s(b"/tmp/a")]));
        h.observer.client_sent(&packet(
            EXTENDED,
            Some(2),
            &[
                &s(b"posix-rename@openssh.com"),
                &s(b"/tmp/b"),
                &s(b"/tmp/c"),
            ],
        ));
        h.observer.client_sent(&packet(
            SETSTAT,
            Some(3),
            &[
                &s(b"/tmp/c"),
                &4u32.to_be_bytes(),
                &0o100600u32.to_be_bytes(),
            ],
        ));
        h.observer.server_sent(&status(2, STATUS_OK));
        h.observer.server_sent(&status(1, 2));
        h.observer.server_sent(&status(3, STATUS_OK));
        let lines: Vec<String> = std::iter::from_fn(|| h.commands.try_recv().ok()).collect();
        assert_eq!(
            lines,
            [
                "sftp rename /tmp/b /tmp/c",
                "sftp rm /tmp/a (failed: no such file)",
                "sftp chmod 0600 /tmp/c"
            ]
        );
    }

    #[test]
    fn an_unreadable_stream_is_said_once_and_open_files_are_recorded() {
        let mut h = harness();
        let handle = s(b"h");
        h.observer.client_sent(&packet(
            OPEN,
            Some(1),
            &[&s(b"/tmp/big"), &0x1au32.to_be_bytes(), &0u32.to_be_bytes()],
        ));
        h.observer.server_sent(&packet(HANDLE, Some(1), &[&handle]));
        h.observer.client_sent(&[0xff, 0xff, 0xff, 0xff, 1]);
        h.observer.client_sent(&[0xff, 0xff, 0xff, 0xff, 1]);
        let t = h.transfers.try_recv().unwrap();
        assert!(
            t.oper_result.starts_with("failed: the channel closed"),
            "{t:?}"
        );
        assert!(h.commands.try_recv().unwrap().contains("not understood"));
        assert!(h.commands.try_recv().is_err(), "said once");
    }
}
