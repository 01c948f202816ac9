//! The live view of interactive broker sessions running in this process: the broker
//! publishes each asciicast event of a session here, customers watching it subscribe.
//!
//! Publishing never waits for a viewer (a broadcast channel: a viewer that falls behind
//! by more than [`BACKLOG`] events is dropped), and a new viewer gets the current screen
//! first, taken under the same lock as publishing, so it neither misses nor repeats an
//! event.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::broadcast;

use crate::domain::SessionId;
use crate::domain::recording::{header, output_event};

/// Events a viewer may lag behind before it is dropped.
pub const BACKLOG: usize = 1024;

/// One asciicast line (without its newline).
pub type Event = Arc<str>;

/// The sessions watchable in this process.
#[derive(Default)]
pub struct LiveFeeds {
    feeds: Mutex<HashMap<SessionId, Arc<LiveFeed>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl LiveFeeds {
    pub fn insert(&self, session: SessionId, feed: Arc<LiveFeed>) {
        lock(&self.feeds).insert(session, feed);
    }

    pub fn remove(&self, session: SessionId) {
        lock(&self.feeds).remove(&session);
    }

    pub fn get(&self, session: SessionId) -> Option<Arc<LiveFeed>> {
        lock(&self.feeds).get(&session).cloned()
    }
}

/// One session's feed: the screen as it stands, and the events since.
pub struct LiveFeed {
    state: Mutex<Screen>,
    events: broadcast::Sender<Event>,
}

struct Screen {
    /// `None` until the session asked for a terminal.
    parser: Option<vt100::Parser>,
    header: String,
    /// Seconds into the recording of the last event.
    at: f64,
}

/// What a new viewer gets: the header, the current screen as one event, then the rest.
pub struct Subscription {
    pub header: Event,
    pub screen: Event,
    pub events: broadcast::Receiver<Event>,
}

fn clamp(n: u32) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX).max(2)
}

impl Default for LiveFeed {
    fn default() -> Self {
        LiveFeed {
            state: Mutex::new(Screen {
                parser: None,
                header: String::new(),
                at: 0.0,
            }),
            events: broadcast::channel(BACKLOG).0,
        }
    }
}

impl LiveFeed {
    /// The terminal's size at the start, and the recording's header line.
    pub fn start(&self, cols: u32, rows: u32, header_line: &str) {
        let mut s = lock(&self.state);
        s.parser = Some(vt100::Parser::new(clamp(rows), clamp(cols), 0));
        s.header = header_line.trim_end().to_owned();
    }

    /// An event at `at` seconds; `output` is what it adds to the screen, `size` a resize.
    pub fn publish(&self, at: f64, line: &str, output: &[u8], size: Option<(u32, u32)>) {
        let mut s = lock(&self.state);
        s.at = at;
        if let Some(parser) = s.parser.as_mut() {
            if let Some((cols, rows)) = size {
                parser.screen_mut().set_size(clamp(rows), clamp(cols));
            }
            parser.process(output);
        }
        // No receiver is not an error: nobody is watching.
        let _ = self.events.send(Arc::from(line.trim_end()));
    }

    /// `None` while the session has no terminal yet.
    pub fn subscribe(&self) -> Option<Subscription> {
        let s = lock(&self.state);
        let parser = s.parser.as_ref()?;
        let screen = parser.screen();
        let (rows, cols) = screen.size();
        // The header gives the size now, so the screen below fits it.
        let header_line = match serde_json::from_str::<serde_json::Value>(&s.header) {
            Ok(mut h) => {
                h["width"] = cols.into();
                h["height"] = rows.into();
                h.to_string()
            }
            Err(_) => header(u32::from(cols), u32::from(rows), jiff::Timestamp::now(), ""),
        };
        let mut contents = b"\x1b[2J\x1b[H".to_vec();
        contents.extend(screen.contents_formatted());
        let text = String::from_utf8_lossy(&contents);
        Some(Subscription {
            header: Arc::from(header_line.trim_end()),
            screen: Arc::from(output_event(s.at, &text).trim_end()),
            events: self.events.subscribe(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_viewer_gets_the_screen_then_every_later_event_and_a_slow_one_lags() {
        let feed = LiveFeed::default();
        assert!(feed.subscribe().is_none(), "no terminal yet");
        feed.start(80, 24, "{\"version\":2,\"width\":80,\"height\":24}\n");
        feed.publish(0.5, "[0.5,\"o\",\"before\"]\n", b"before", None);
        let mut sub = feed.subscribe().unwrap();
        assert!(sub.screen.contains("before"), "{}", sub.screen);
        feed.publish(1.0, "[1.0,\"o\",\"after\"]\n", b"after", None);
        assert_eq!(&*sub.events.recv().await.unwrap(), "[1.0,\"o\",\"after\"]");
        feed.publish(1.5, "[1.5,\"r\",\"100x30\"]\n", b"", Some((100, 30)));
        let resized = feed.subscribe().unwrap();
        assert!(
            resized.header.contains("\"width\":100"),
            "{}",
            resized.header
        );
        for i in 0..=BACKLOG {
            feed.publish(2.0, &format!("[2.0,\"o\",\"{i}\"]"), b"x", None);
        }
        assert!(matches!(
            sub.events.recv().await,
            Err(broadcast::error::RecvError::Lagged(_))
        ));
    }
}
