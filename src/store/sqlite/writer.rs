//! The one writer connection, on its own thread, with group commit.
//!
//! Jobs that arrive while a transaction is being committed are run together in the
//! next one: each inside its own savepoint (so one job's failure rolls back only its
//! own writes), then one COMMIT — one fsync — for all. Each caller is answered only
//! after that commit, so an acknowledged write is durable at `synchronous=FULL`.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::checkpointer::CatchUp;
use crate::store::{StoreError, StoreResult};

/// The most jobs one transaction takes; bounds the latency of the first in line.
const MAX_BATCH: usize = 256;

trait Job: Send {
    /// Runs inside the batch transaction; `true` if the job's writes should stay.
    fn run(&mut self, conn: &Connection) -> bool;
    /// Answers the caller once the batch's fate is known.
    fn finish(self: Box<Self>, commit: Result<(), StoreError>);
}

struct TypedJob<T, F> {
    work: Option<F>,
    result: Option<StoreResult<T>>,
    reply: oneshot::Sender<StoreResult<T>>,
}

impl<T, F> Job for TypedJob<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> StoreResult<T> + Send,
{
    fn run(&mut self, conn: &Connection) -> bool {
        let work = self.work.take().expect("a job runs once");
        let result = catch_unwind(AssertUnwindSafe(|| work(conn)))
            .unwrap_or_else(|_| Err(StoreError::Internal("a storage job panicked".into())));
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn finish(self: Box<Self>, commit: Result<(), StoreError>) {
        // A job's own error wins: it was rolled back whatever the commit did.
        let answer = match (self.result, commit) {
            (Some(Err(e)), _) => Err(e),
            (_, Err(e)) => Err(e),
            (Some(Ok(v)), Ok(())) => Ok(v),
            (None, Ok(())) => Err(StoreError::Internal("the job did not run".into())),
        };
        let _ = self.reply.send(answer);
    }
}

#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Box<dyn Job>>,
}

impl Writer {
    pub fn spawn(conn: Connection, catch_up: CatchUp) -> std::io::Result<Writer> {
        let (jobs, queue) = mpsc::channel::<Box<dyn Job>>();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run(conn, queue, catch_up))?;
        Ok(Writer { jobs })
    }

    /// Runs `work` in the next transaction and answers after it commits.
    pub async fn write<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = TypedJob {
            work: Some(work),
            result: None,
            reply,
        };
        self.jobs
            .send(Box::new(job))
            .map_err(|_| StoreError::Unavailable("the writer thread has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the writer thread has stopped".into()))?
    }
}

fn run(conn: Connection, queue: mpsc::Receiver<Box<dyn Job>>, catch_up: CatchUp) {
    while let Ok(first) = queue.recv() {
        run_batch(&conn, first, &queue);
        // The batch's callers are answered already.
        catch_up.run_if_asked(&conn);
    }
}

/// Runs `first` and whatever else is queued, in one transaction. Jobs that arrive
/// while earlier ones run still join it: the queue is drained again before the
/// COMMIT, so callers that were answered together come back together and share the
/// next fsync, instead of alternating between a big and a small batch.
fn run_batch(conn: &Connection, first: Box<dyn Job>, queue: &mpsc::Receiver<Box<dyn Job>>) {
    let mut batch = vec![first];
    let started = std::time::Instant::now();
    let outcome = (|| -> rusqlite::Result<()> {
        execute(conn, "BEGIN IMMEDIATE")?;
        let mut next = 0;
        loop {
            if next == batch.len() {
                let room = MAX_BATCH - batch.len();
                batch.extend(queue.try_iter().take(room));
                if next == batch.len() {
                    break;
                }
            }
            run_one(conn, batch[next].as_mut())?;
            next += 1;
        }
        execute(conn, "COMMIT")
    })();
    crate::telemetry::commit_batch("sqlite", batch.len(), started.elapsed());
    // Every job of the batch fails with the one cause.
    let commit = outcome.map_err(|e| {
        // Leave no transaction open for the next batch.
        let _ = conn.execute_batch("ROLLBACK");
        tracing::error!(error = %e, "sqlite batch transaction failed");
        std::sync::Arc::new(e)
    });
    for job in batch {
        job.finish(match &commit {
            Ok(()) => Ok(()),
            Err(e) => Err(StoreError::Unavailable(Box::new(e.clone()))),
        });
    }
}

/// One job in its own savepoint: its failure undoes only its own writes.
fn run_one(conn: &Connection, job: &mut dyn Job) -> rusqlite::Result<()> {
    execute(conn, "SAVEPOINT job")?;
    if job.run(conn) {
        execute(conn, "RELEASE job")
    } else {
        execute(conn, "ROLLBACK TO job")?;
        execute(conn, "RELEASE job")
    }
}

/// Transaction control through the statement cache: parsed once, not per batch.
fn execute(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}
