//! The terminal recording of one broker connection: every channel that asked for a
//! terminal (pty) is recorded as asciicast v2, output only (host to engineer), never
//! keystrokes. Events go to the live view at once and to the database in chunks
//! (zstd frames of [`CHUNK_BYTES`] of asciicast, or whatever accumulated when the
//! flush timer fires), so a long session never sits whole in memory.
//!
//! Chunks travel to the writer through a small bounded queue: should the database fall
//! behind, the session's output waits for it rather than the recording losing events.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use russh::ChannelId;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::domain::SessionId;
use crate::domain::recording::{
    RecordingSummary, Utf8Carry, header, output_event, resize_event, terminal_size,
};
use crate::service::App;
use crate::service::live_view::LiveFeed;
use crate::store::RecordingChunk;

/// Uncompressed asciicast per chunk (typically a few tens of KiB once compressed).
pub const CHUNK_BYTES: usize = 256 * 1024;
/// Output older than this is written even if the chunk is not full.
const FLUSH_EVERY: Duration = Duration::from_secs(5);
/// Chunks waiting for the database before the session's output waits.
const QUEUE: usize = 4;
const ZSTD_LEVEL: i32 = 3;

/// A chunk on its way to the database: its sequence number and raw asciicast.
type Pending = (i64, Vec<u8>);

pub struct Recorder {
    app: Arc<App>,
    session: SessionId,
    state: Mutex<State>,
    feed: Arc<LiveFeed>,
    queue: Mutex<Option<mpsc::Sender<Pending>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

struct State {
    /// When the first terminal was opened: event times count from here.
    started: Option<Instant>,
    recorded: HashSet<ChannelId>,
    carry: HashMap<ChannelId, Utf8Carry>,
    pending: Vec<u8>,
    hasher: Sha256,
    size: u64,
    next_seq: i64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl State {
    fn seconds(&self) -> f64 {
        self.started.map_or(0.0, |s| s.elapsed().as_secs_f64())
    }

    fn append(&mut self, line: &str) {
        self.hasher.update(line.as_bytes());
        self.size += line.len() as u64;
        self.pending.extend_from_slice(line.as_bytes());
    }

    /// The pending bytes as the next chunk, if there are any.
    fn take(&mut self) -> Option<Pending> {
        if self.pending.is_empty() {
            return None;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        Some((seq, std::mem::take(&mut self.pending)))
    }
}

impl Recorder {
    /// The recorder of session `session`, watchable in this process from now on.
    pub fn start(app: Arc<App>, session: SessionId) -> Arc<Recorder> {
        let (queue, chunks) = mpsc::channel(QUEUE);
        let feed = Arc::new(LiveFeed::default());
        app.live_feeds.insert(session, feed.clone());
        let writer = tokio::spawn(write_chunks(app.clone(), session, chunks));
        let recorder = Arc::new(Recorder {
            app,
            session,
            state: Mutex::new(State {
                started: None,
                recorded: HashSet::new(),
                carry: HashMap::new(),
                pending: Vec::new(),
                hasher: Sha256::new(),
                size: 0,
                next_seq: 0,
            }),
            feed,
            queue: Mutex::new(Some(queue)),
            writer: Mutex::new(Some(writer)),
        });
        tokio::spawn(flush_on_timer(Arc::downgrade(&recorder)));
        recorder
    }

    /// Channel `channel` asked for a terminal: it is recorded from now on. The first
    /// one writes the header; a later one of another size is a resize.
    pub fn pty(&self, channel: ChannelId, term: &str, cols: u32, rows: u32) {
        let (cols, rows) = terminal_size(cols, rows);
        let mut s = lock(&self.state);
        s.recorded.insert(channel);
        if s.started.is_none() {
            s.started = Some(Instant::now());
            let line = header(cols, rows, self.app.clock.now(), term);
            s.append(&line);
            self.feed.start(cols, rows, &line);
        } else {
            let at = s.seconds();
            let line = resize_event(at, cols, rows);
            s.append(&line);
            self.feed.publish(at, &line, b"", Some((cols, rows)));
        }
    }

    pub fn resize(&self, channel: ChannelId, cols: u32, rows: u32) {
        let (cols, rows) = terminal_size(cols, rows);
        let mut s = lock(&self.state);
        if !s.recorded.contains(&channel) {
            return;
        }
        let at = s.seconds();
        let line = resize_event(at, cols, rows);
        s.append(&line);
        self.feed.publish(at, &line, b"", Some((cols, rows)));
    }

    /// Output the host sent on `channel` (ignored unless it has a terminal).
    pub async fn output(&self, channel: ChannelId, data: &[u8]) {
        let full = {
            let mut s = lock(&self.state);
            if !s.recorded.contains(&channel) {
                return;
            }
            let text = s.carry.entry(channel).or_default().push(data);
            if text.is_empty() {
                return;
            }
            let at = s.seconds();
            let line = output_event(at, &text);
            s.append(&line);
            self.feed.publish(at, &line, data, None);
            if s.pending.len() >= CHUNK_BYTES {
                s.take()
            } else {
                None
            }
        };
        if let Some(chunk) = full {
            self.send(chunk).await;
        }
    }

    /// Writes what accumulated, if anything.
    pub async fn flush(&self) {
        let chunk = lock(&self.state).take();
        if let Some(chunk) = chunk {
            self.send(chunk).await;
        }
    }

    async fn send(&self, chunk: Pending) {
        let queue = lock(&self.queue).clone();
        if let Some(queue) = queue {
            let _ = queue.send(chunk).await;
        }
    }

    /// Writes the rest and waits for the database; the recording's hash, if anything
    /// was recorded. The session is no longer watchable.
    pub async fn finish(&self) -> Option<RecordingSummary> {
        self.app.live_feeds.remove(self.session);
        self.flush().await;
        drop(lock(&self.queue).take());
        let writer = lock(&self.writer).take();
        if let Some(writer) = writer {
            let _ = writer.await;
        }
        let s = lock(&self.state);
        s.started?;
        Some(RecordingSummary {
            sha256: hex::encode(s.hasher.clone().finalize()),
            size_bytes: s.size,
        })
    }
}

async fn flush_on_timer(recorder: std::sync::Weak<Recorder>) {
    loop {
        tokio::time::sleep(FLUSH_EVERY).await;
        let Some(recorder) = recorder.upgrade() else {
            return;
        };
        if lock(&recorder.queue).is_none() {
            return;
        }
        recorder.flush().await;
    }
}

/// Compresses and stores chunks in order until the queue closes. A chunk the database
/// refuses is retried a few times, then logged as lost (the hash still covers it).
async fn write_chunks(app: Arc<App>, session: SessionId, mut chunks: mpsc::Receiver<Pending>) {
    while let Some((seq, raw)) = chunks.recv().await {
        let size_bytes = raw.len() as u64;
        let data = match zstd::bulk::compress(&raw, ZSTD_LEVEL) {
            Ok(data) => data,
            Err(e) => {
                tracing::error!(error = %e, "broker: cannot compress a recording chunk");
                continue;
            }
        };
        let chunk = RecordingChunk {
            seq,
            data,
            size_bytes,
        };
        let mut attempt = 0;
        loop {
            match app.broker_store_chunk(session, chunk.clone()).await {
                Ok(()) => break,
                Err(e) if attempt < 5 => {
                    attempt += 1;
                    tracing::warn!(error = %e, "broker: recording chunk not stored; retrying");
                    tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
                }
                Err(e) => {
                    tracing::error!(error = %e, seq, "broker: recording chunk lost");
                    break;
                }
            }
        }
    }
}
