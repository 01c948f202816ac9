//! Command lines an engineer submits in an interactive shell, read off a virtual
//! terminal fed with the host's output: what the shell shows on the prompt line when
//! Enter is pressed, after line editing, backspace, Ctrl-U or history recall.
//!
//! Input only marks where the line starts (the cursor at the first keystroke after the
//! prompt) and when it is submitted (Enter); the line itself is read from the screen
//! once the host answers Enter with a line break. Not a security boundary: a full-screen
//! program (alternate screen) is skipped, and of a pasted block only the first line is
//! seen as such.

/// Sizes below this are clamped (a 0x0 terminal is what a client without a pty sends).
const MIN_SIZE: u16 = 2;
/// Output read after Enter without a line break before the line is taken anyway.
const MAX_WAIT_BYTES: usize = 2048;

pub struct CommandDetector {
    parser: vt100::Parser,
    /// Where the line being typed starts (row, col).
    prompt: Option<(u16, u16)>,
    submitted: bool,
    since_submit: usize,
}

fn clamp(rows: u32, cols: u32) -> (u16, u16) {
    let fit = |n: u32, default: u16| match u16::try_from(n) {
        Ok(n) if n >= MIN_SIZE => n,
        _ => default,
    };
    (fit(rows, 24), fit(cols, 80))
}

impl CommandDetector {
    pub fn new(cols: u32, rows: u32) -> CommandDetector {
        let (rows, cols) = clamp(rows, cols);
        CommandDetector {
            parser: vt100::Parser::new(rows, cols, 0),
            prompt: None,
            submitted: false,
            since_submit: 0,
        }
    }

    /// A resize mid-line moves text around: that line is given up.
    pub fn resize(&mut self, cols: u32, rows: u32) {
        let (rows, cols) = clamp(rows, cols);
        self.parser.screen_mut().set_size(rows, cols);
        self.prompt = None;
        self.submitted = false;
    }

    /// Keystrokes from the engineer.
    pub fn input(&mut self, data: &[u8]) {
        for &byte in data {
            match byte {
                b'\r' | b'\n' if self.prompt.is_some() => {
                    self.submitted = true;
                    self.since_submit = 0;
                }
                b'\r' | b'\n' => {}
                // Ctrl-C abandons the line.
                0x03 => {
                    self.prompt = None;
                    self.submitted = false;
                }
                _ if self.prompt.is_none() && !self.submitted => {
                    self.prompt = Some(self.parser.screen().cursor_position());
                }
                _ => {}
            }
        }
    }

    /// Output from the host; returns the command lines it completed.
    pub fn output(&mut self, mut data: &[u8]) -> Vec<String> {
        let mut lines = Vec::new();
        while self.submitted {
            let Some(at) = data.iter().position(|b| *b == b'\r' || *b == b'\n') else {
                self.parser.process(data);
                self.since_submit += data.len();
                if self.since_submit > MAX_WAIT_BYTES {
                    lines.extend(self.take_line());
                }
                return lines;
            };
            self.parser.process(&data[..at]);
            lines.extend(self.take_line());
            data = &data[at..];
        }
        self.parser.process(data);
        lines
    }

    fn take_line(&mut self) -> Option<String> {
        self.submitted = false;
        let (row, col) = self.prompt.take()?;
        let screen = self.parser.screen();
        if screen.alternate_screen() {
            return None;
        }
        let (cursor_row, _) = screen.cursor_position();
        let (_, cols) = screen.size();
        let line = screen.contents_between(row, col, cursor_row.max(row), cols);
        let line = line.trim();
        (!line.is_empty()).then(|| line.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Types `keys` at a `$ ` prompt, with the host echoing `echo`, then a line break.
    fn submit(d: &mut CommandDetector, keys: &[u8], echo: &[u8]) -> Vec<String> {
        d.input(keys);
        let mut out = d.output(echo);
        out.extend(d.output(b"\r\nresult\r\n$ "));
        out
    }

    #[test]
    fn lines_are_read_as_the_terminal_shows_them() {
        let mut d = CommandDetector::new(80, 24);
        d.output(b"welcome\r\n$ ");
        assert_eq!(submit(&mut d, b"ls -l\r", b"ls -l"), vec!["ls -l"]);
        // Backspace: the shell echoes BS, space, BS.
        assert_eq!(
            submit(&mut d, b"echo twx\x7fo\r", b"echo twx\x08 \x08o"),
            vec!["echo two"]
        );
        // History recall: the shell redraws the recalled line.
        assert_eq!(submit(&mut d, b"\x1b[A\r", b"echo two"), vec!["echo two"]);
        // Ctrl-U then a new line: the shell redraws the prompt and clears the rest.
        d.input(b"rm -rf x");
        d.output(b"rm -rf x");
        d.input(b"\x15");
        d.output(b"\r$ \x1b[K");
        assert_eq!(submit(&mut d, b"id\r", b"id"), vec!["id"]);
    }

    #[test]
    fn empty_lines_ctrl_c_and_full_screen_programs_record_nothing() {
        let mut d = CommandDetector::new(0, 0);
        d.output(b"$ ");
        assert!(submit(&mut d, b"\r", b"").is_empty());
        d.input(b"abc\x03");
        assert!(d.output(b"^C\r\n$ ").is_empty());
        d.output(b"\x1b[?1049h");
        assert!(submit(&mut d, b"q\r", b"q").is_empty());
    }
}
