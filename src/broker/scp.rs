//! Legacy scp (`scp -O`, the rcp protocol over `exec`): the command line is recorded
//! like any other; this observer reads the stream on the side for the files in it.
//!
//! The sending side writes `C<mode> <size> <name>\n`, the file's bytes and one status
//! byte per file (`D…`/`E` around directories, `T…` for times); the receiving side
//! answers each step with `\0`, or `\x01`/`\x02` and a message line. Upload (`scp -t`):
//! the engineer sends. Download (`scp -f`): the host sends.

use super::transfer::{Direction, Sinks, Transfer};

/// A header or message line longer than this is not scp.
const MAX_LINE: usize = 4096;

/// The host-side scp invocation in an exec command: which way files go and the path
/// given.
#[derive(Debug, PartialEq, Eq)]
pub struct ScpCommand {
    pub direction: Direction,
    pub path: String,
    /// `-d` or `-r`: files go into the path, a directory.
    pub into_directory: bool,
}

impl ScpCommand {
    pub fn parse(command: &str) -> Option<ScpCommand> {
        let mut words = command.split_whitespace();
        let program = words.next()?;
        if program.rsplit('/').next() != Some("scp") {
            return None;
        }
        let (mut direction, mut into_directory) = (None, false);
        let mut rest = Vec::new();
        let mut flags_done = false;
        for word in words {
            if flags_done || !word.starts_with('-') {
                flags_done = true;
                rest.push(word);
            } else if word == "--" {
                flags_done = true;
            } else {
                for flag in word.chars().skip(1) {
                    match flag {
                        't' => direction = Some(Direction::Upload),
                        'f' => direction = Some(Direction::Download),
                        'd' | 'r' => into_directory = true,
                        _ => {}
                    }
                }
            }
        }
        let path = rest.join(" ");
        let path = path
            .strip_prefix('\'')
            .and_then(|p| p.strip_suffix('\''))
            .unwrap_or(&path)
            .to_owned();
        Some(ScpCommand {
            direction: direction?,
            path,
            into_directory,
        })
    }
}

enum Sending {
    /// Reading a line (header, or a message after an error byte).
    Line { error: bool },
    /// `left` bytes of the current file to come.
    Data { left: u64 },
    /// The status byte after a file's bytes.
    Status,
}

/// What the receiver's next answer is about.
enum Awaiting {
    Nothing,
    /// The header of `current`: on `\0` its bytes follow.
    Header,
    /// A file whose bytes all crossed.
    Data(Box<Transfer>),
}

pub struct ScpObserver {
    sinks: Sinks,
    command: ScpCommand,
    dirs: Vec<String>,
    sending: Sending,
    line: Vec<u8>,
    current: Option<Transfer>,
    awaiting: Awaiting,
    /// The receiver's error line being read, if one is.
    answer: Option<Vec<u8>>,
    lost: bool,
}

impl ScpObserver {
    pub fn new(sinks: Sinks, command: ScpCommand) -> ScpObserver {
        ScpObserver {
            sinks,
            command,
            dirs: Vec::new(),
            sending: Sending::Line { error: false },
            line: Vec::new(),
            current: None,
            awaiting: Awaiting::Nothing,
            answer: None,
            lost: false,
        }
    }

    pub fn engineer_sent(&mut self, data: &[u8]) {
        match self.command.direction {
            Direction::Upload => self.sent(data),
            Direction::Download => self.answered(data),
        }
    }

    pub fn host_sent(&mut self, data: &[u8]) {
        match self.command.direction {
            Direction::Upload => self.answered(data),
            Direction::Download => self.sent(data),
        }
    }

    pub fn finish(&mut self) {
        if let Some(t) = self.current.take() {
            self.sinks
                .transfer(t.finish(Some("the channel closed before the file ended".into())));
        }
        if let Awaiting::Data(t) = std::mem::replace(&mut self.awaiting, Awaiting::Nothing) {
            self.sinks
                .transfer(t.finish(Some("the receiver did not confirm".into())));
        }
    }

    fn lose(&mut self) {
        self.finish();
        self.lost = true;
        self.sinks.command(
            "scp: stream not understood from here on; later transfers not recorded".into(),
        );
    }

    /// Where a file named `name` in the stream is on the host.
    fn host_path(&self, name: &str) -> String {
        let given = self.command.path.as_str();
        let base = match self.command.direction {
            // `scp -f dir/file` (or a pattern the shell expanded) sends names only.
            Direction::Download => given.rfind('/').map_or("", |i| &given[..=i]),
            Direction::Upload
                if self.command.into_directory || !self.dirs.is_empty() || given.ends_with('/') =>
            {
                given
            }
            // `scp -t path` for one file: written as `path` itself, unless it is a
            // directory, which the stream does not tell.
            Direction::Upload => return given.to_owned(),
        };
        let mut path = base.trim_end_matches('/').to_owned();
        for part in self.dirs.iter().map(String::as_str).chain([name]) {
            if !path.is_empty() || base.starts_with('/') {
                path.push('/');
            }
            path.push_str(part);
        }
        path
    }

    fn sent(&mut self, mut data: &[u8]) {
        while !data.is_empty() && !self.lost {
            match self.sending {
                Sending::Line { error } => {
                    let end = data.iter().position(|&b| b == b'\n');
                    let take = end.map_or(data.len(), |i| i + 1);
                    self.line.extend_from_slice(&data[..take]);
                    data = &data[take..];
                    if self.line.len() > MAX_LINE {
                        return self.lose();
                    }
                    if end.is_some() {
                        let line = std::mem::take(&mut self.line);
                        self.header(&line[..line.len() - 1], error);
                    }
                }
                Sending::Data { left } => {
                    let n = usize::try_from(left).unwrap_or(usize::MAX).min(data.len());
                    if let Some(t) = self.current.as_mut() {
                        let offset = t.bytes();
                        t.chunk(offset, &data[..n]);
                    }
                    data = &data[n..];
                    let left = left - n as u64;
                    self.sending = if left == 0 {
                        Sending::Status
                    } else {
                        Sending::Data { left }
                    };
                }
                Sending::Status => {
                    let status = data[0];
                    data = &data[1..];
                    if status == 0 {
                        if let Some(t) = self.current.take() {
                            self.awaiting = Awaiting::Data(Box::new(t));
                        }
                        self.sending = Sending::Line { error: false };
                    } else {
                        self.sending = Sending::Line { error: true };
                    }
                }
            }
        }
    }

    /// A line from the sender (without its newline); `error`: it followed a file's bytes.
    fn header(&mut self, line: &[u8], error: bool) {
        let text = String::from_utf8_lossy(line);
        if error {
            // The sender could not read the whole file.
            if let Some(t) = self.current.take() {
                self.sinks.transfer(t.finish(Some(message(&text[..]))));
            }
            self.sending = Sending::Line { error: false };
            return;
        }
        let Some(kind) = text.chars().next() else {
            return self.lose();
        };
        match kind {
            'C' => {
                let mut parts = text[1..].splitn(3, ' ');
                let (Some(_mode), Some(size), Some(name)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    return self.lose();
                };
                let Ok(size) = size.parse::<u64>() else {
                    return self.lose();
                };
                let path = self.host_path(name);
                let t = Transfer::new(self.command.direction, path, &self.sinks.clock);
                self.current = Some(t);
                self.awaiting = Awaiting::Header;
                self.sending = if size == 0 {
                    Sending::Status
                } else {
                    Sending::Data { left: size }
                };
            }
            'D' => {
                let name = text[1..].splitn(3, ' ').nth(2).unwrap_or_default();
                self.dirs.push(name.to_owned());
                self.awaiting = Awaiting::Nothing;
            }
            'E' => {
                self.dirs.pop();
                self.awaiting = Awaiting::Nothing;
            }
            'T' => self.awaiting = Awaiting::Nothing,
            '\x01' | '\x02' => {
                // The sender could not send a file (no such file, permission denied).
                let t = Transfer::new(
                    self.command.direction,
                    self.command.path.clone(),
                    &self.sinks.clock,
                );
                self.sinks.transfer(t.finish(Some(message(&text[1..]))));
            }
            _ => self.lose(),
        }
    }

    /// The receiver's answers: `\0`, or an error byte and a message line.
    fn answered(&mut self, mut data: &[u8]) {
        while !data.is_empty() && !self.lost {
            if let Some(line) = self.answer.as_mut() {
                let end = data.iter().position(|&b| b == b'\n');
                let take = end.map_or(data.len(), |i| i + 1);
                line.extend_from_slice(&data[..take]);
                data = &data[take..];
                if line.len() > MAX_LINE {
                    return self.lose();
                }
                if end.is_some() {
                    let line = self.answer.take().unwrap_or_default();
                    let text = String::from_utf8_lossy(&line[..line.len() - 1]).into_owned();
                    self.resolve(Some(message(&text)));
                }
                continue;
            }
            let byte = data[0];
            data = &data[1..];
            if byte == 0 {
                self.resolve(None);
            } else {
                self.answer = Some(Vec::new());
            }
        }
    }

    fn resolve(&mut self, failure: Option<String>) {
        match std::mem::replace(&mut self.awaiting, Awaiting::Nothing) {
            Awaiting::Nothing => {}
            Awaiting::Header => {
                if failure.is_some() {
                    // Refused before any byte: the sender moves on to the next file.
                    if let Some(t) = self.current.take() {
                        self.sinks.transfer(t.finish(failure));
                    }
                    self.sending = Sending::Line { error: false };
                }
            }
            Awaiting::Data(t) => self.sinks.transfer(t.finish(failure)),
        }
    }
}

/// An scp message without its `scp: ` prefix.
fn message(text: &str) -> String {
    let text = text.trim();
    text.strip_prefix("scp: ").unwrap_or(text).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::domain::session::FileTransfer;
    use sha2::{Digest, Sha256};
    use tokio::sync::mpsc;

    fn observer(command: &str) -> (ScpObserver, mpsc::UnboundedReceiver<FileTransfer>) {
        let (commands, _) = mpsc::unbounded_channel();
        let (transfers, received) = mpsc::unbounded_channel();
        let sinks = Sinks {
            commands,
            transfers,
            clock: Clock::System,
        };
        let command = ScpCommand::parse(command).unwrap();
        (ScpObserver::new(sinks, command), received)
    }

    #[test]
    fn commands_are_recognised() {
        assert_eq!(
            ScpCommand::parse("scp -t -- /tmp/x"),
            Some(ScpCommand {
                direction: Direction::Upload,
                path: "/tmp/x".into(),
                into_directory: false
            })
        );
        let c = ScpCommand::parse("/usr/bin/scp -v -r -f 'a b'").unwrap();
        assert_eq!(
            (c.direction, c.path.as_str(), c.into_directory),
            (Direction::Download, "a b", true)
        );
        assert_eq!(ScpCommand::parse("echo scp -t x"), None);
        assert_eq!(ScpCommand::parse("scp x y"), None);
    }

    #[test]
    fn an_upload_is_recorded_once_the_host_confirms() {
        let (mut o, mut got) = observer("scp -d -t /tmp/in");
        let content = vec![7u8; 70_000];
        o.host_sent(b"\0");
        o.engineer_sent(b"C0644 70000 f.bin\n");
        o.host_sent(b"\0");
        for part in content.chunks(32_768) {
            o.engineer_sent(part);
        }
        o.engineer_sent(b"\0");
        assert!(got.try_recv().is_err(), "not before the host confirms");
        o.host_sent(b"\0");
        let t = got.try_recv().unwrap();
        assert_eq!(
            (t.to_path.as_str(), t.file_name.as_str()),
            ("/tmp/in/f.bin", "f.bin")
        );
        assert_eq!(t.file_size_bytes, 70_000);
        assert_eq!(t.sha256, Some(hex::encode(Sha256::digest(&content))));
        assert_eq!(t.oper_result, "success");
    }

    #[test]
    fn a_download_with_directories_and_a_refusal() {
        let (mut o, mut got) = observer("scp -r -f /srv/logs");
        o.engineer_sent(b"\0");
        for (sent, answer) in [
            (&b"D0755 0 logs\n"[..], b"\0"),
            (b"C0600 3 a.log\n", b"\0"),
            (b"abc\0", b"\0"),
            (b"E\n", b"\0"),
        ] {
            o.host_sent(sent);
            o.engineer_sent(answer);
        }
        o.host_sent(b"\x01scp: /srv/logs/b: Permission denied\n");
        let t = got.try_recv().unwrap();
        assert_eq!(
            (t.from_path.as_str(), t.file_size_bytes),
            ("/srv/logs/a.log", 3)
        );
        assert_eq!(t.oper_result, "success");
        let t = got.try_recv().unwrap();
        assert_eq!(t.oper_result, "failed: /srv/logs/b: Permission denied");

        // The receiver refuses a header: a failed upload of nothing.
        let (mut o, mut got) = observer("scp -t /root/x");
        o.host_sent(b"\0");
        o.engineer_sent(b"C0644 5 x\n");
        o.host_sent(b"\x01scp: /root/x: Permission denied\n");
        let t = got.try_recv().unwrap();
        assert_eq!((t.file_size_bytes, t.to_path.as_str()), (0, "/root/x"));
        assert!(t.oper_result.contains("Permission denied"), "{t:?}");
    }
}
