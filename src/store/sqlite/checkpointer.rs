//! WAL checkpoints off the commit path.
//!
//! SQLite's automatic checkpoint runs inside whichever commit pushes the WAL past its
//! threshold, so every job batched into that commit waited for the copy back into the
//! database file and its fsync. Here the writer does not checkpoint inside a commit;
//! this thread, on its own connection, runs a PASSIVE checkpoint (which never blocks
//! the writer or readers) every `INTERVAL`.
//!
//! A checkpoint from here can never quite catch up with a busy writer, though, and the
//! WAL only starts over from its beginning once a checkpoint has caught up. So when
//! the WAL has grown past `RESTART_FRAMES` and this thread is within `CATCH_UP_FRAMES`
//! of its end, it asks the writer to checkpoint once itself, between two batches
//! (after answering the first): with only those frames left to copy that is short,
//! and the next batch can restart the WAL. Should this thread never get that close,
//! the writer is asked anyway once the WAL passes `FORCE_FRAMES`, and pauses longer.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use rusqlite::Connection;

const INTERVAL: Duration = Duration::from_millis(250);
/// About 16 MiB of 4 KiB pages.
const RESTART_FRAMES: i64 = 4096;
const CATCH_UP_FRAMES: i64 = 512;
/// About 256 MiB.
const FORCE_FRAMES: i64 = 65_536;

/// Set by the checkpointer when the writer should checkpoint between two batches.
#[derive(Clone, Default)]
pub struct CatchUp(Arc<AtomicBool>);

impl CatchUp {
    /// Called by the writer between batches.
    pub fn run_if_asked(&self, conn: &Connection) {
        if self.0.swap(false, Ordering::Relaxed)
            && let Err(e) = passive_checkpoint(conn)
        {
            tracing::warn!(error = %e, "WAL checkpoint by the writer failed");
        }
    }
}

/// (frames in the WAL, frames of it now in the database file) after a PASSIVE
/// checkpoint.
fn passive_checkpoint(conn: &Connection) -> rusqlite::Result<(i64, i64)> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((r.get(1)?, r.get(2)?))
    })
}

/// Whether the writer should checkpoint between its next two batches.
fn writer_should_catch_up(frames: i64, copied: i64) -> bool {
    frames >= FORCE_FRAMES || (frames >= RESTART_FRAMES && frames - copied <= CATCH_UP_FRAMES)
}

/// The checkpoint thread; it stops when this is dropped.
pub struct Checkpointer {
    _stop: mpsc::Sender<()>,
}

impl Checkpointer {
    pub fn spawn(conn: Connection, catch_up: CatchUp) -> std::io::Result<Checkpointer> {
        let (stop, stopped) = mpsc::channel();
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || run(conn, catch_up, stopped))?;
        Ok(Checkpointer { _stop: stop })
    }
}

fn run(conn: Connection, catch_up: CatchUp, stopped: mpsc::Receiver<()>) {
    while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(INTERVAL) {
        match passive_checkpoint(&conn) {
            Ok((frames, copied)) if writer_should_catch_up(frames, copied) => {
                catch_up.0.store(true, Ordering::Relaxed);
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed; will retry"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_writer_is_asked_when_the_wal_is_long_and_nearly_copied_or_far_too_long() {
        assert!(!writer_should_catch_up(1000, 1000), "short WAL");
        assert!(writer_should_catch_up(5000, 4800), "long, nearly copied");
        assert!(
            !writer_should_catch_up(5000, 1000),
            "long, far behind: wait"
        );
        assert!(writer_should_catch_up(70_000, 0), "far too long: now");
    }

    /// The writer checkpoints only when asked, and once per asking.
    #[test]
    fn the_writer_catches_up_when_asked_and_only_then() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0; CREATE TABLE t (x BLOB)",
        )
        .unwrap();
        for _ in 0..200 {
            conn.execute("INSERT INTO t VALUES (zeroblob(1000))", [])
                .unwrap();
        }
        let main_file = || std::fs::metadata(&path).unwrap().len();
        let before = main_file();
        let catch_up = CatchUp::default();
        catch_up.run_if_asked(&conn);
        assert_eq!(main_file(), before, "not asked: nothing copied");
        catch_up.0.store(true, Ordering::Relaxed);
        catch_up.run_if_asked(&conn);
        assert!(main_file() > before, "asked: the WAL was copied back");
        assert!(
            !catch_up.0.load(Ordering::Relaxed),
            "the request is used up"
        );
    }
}
