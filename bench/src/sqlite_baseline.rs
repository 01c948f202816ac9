//! The SQLite write baseline issue 16 compares rejects with: a plain
//! `UPDATE t SET status = ? WHERE id = ?` on random rows of a table as long as the
//! seeded one, with one secondary index, committed in batches of `c` rows at
//! `synchronous=FULL` in WAL mode (the service's settings), through rusqlite on one
//! thread with no HTTP. It is what SQLite and this disk allow a durable status change
//! when `c` callers share each commit, as the service's writer thread lets them.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::{Connection, params};

use crate::load::{ConnectionTally, Measured, summarize};
use crate::rng::Rng;

/// Rows per second of batched updates; each row's latency is its batch's commit time.
pub fn batched_update_rate(
    dir: &Path,
    rows: u64,
    batch: usize,
    warmup: Duration,
    duration: Duration,
) -> Result<Measured, String> {
    let path = dir.join("baseline.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let e = |e: rusqlite::Error| e.to_string();
    let conn = Connection::open(&path).map_err(e)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
         CREATE TABLE t (id INTEGER PRIMARY KEY, status INTEGER NOT NULL); \
         CREATE INDEX t_status ON t (status);",
    )
    .map_err(e)?;
    conn.execute(
        "INSERT INTO t (id, status) WITH RECURSIVE n(i) AS \
         (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1) SELECT i, i % 6 FROM n",
        params![rows as i64],
    )
    .map_err(e)?;
    let mut rng = Rng::new(16);
    let mut tally = ConnectionTally::default();
    let start = Instant::now() + warmup;
    let end = start + duration;
    loop {
        let began = Instant::now();
        if began >= end {
            break;
        }
        let tx = conn.unchecked_transaction().map_err(e)?;
        {
            let mut update = tx
                .prepare_cached("UPDATE t SET status = ?1 WHERE id = ?2")
                .map_err(e)?;
            for _ in 0..batch {
                let id = 1 + rng.below(rows) as i64;
                let status = rng.below(6) as i64;
                update.execute(params![status, id]).map_err(e)?;
            }
        }
        tx.commit().map_err(e)?;
        if began >= start {
            let us = began.elapsed().as_micros().min(u32::MAX as u128) as u32;
            tally.latencies_us.extend(std::iter::repeat_n(us, batch));
        }
    }
    drop(conn);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    Ok(summarize(vec![tally], start, end))
}
