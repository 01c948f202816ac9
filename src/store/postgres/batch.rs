//! Group commit for transitions on PostgreSQL.
//!
//! One transaction per transition paid a commit flush and about nine round trips each,
//! and serialized on the domain's audit head for all of them. Here transitions that
//! arrive together share one transaction, carried out set-based
//! ([`super::transitions::transition_all`]): a fixed number of statements whatever the
//! batch's size, then one COMMIT. Every caller is answered only after that commit.
//!
//! Each job still succeeds or fails alone: a refused precondition (not visible, wrong
//! status) is decided before the job writes anything. Any other error aborts the
//! PostgreSQL transaction for all, so then every job of the batch runs again on its
//! own, in its own transaction, and gets its own answer.
//!
//! Two jobs on one authorization never share a batch: inside one transaction their
//! order would not be the order of their audit events. Jobs on different
//! authorizations commute, so their order within the batch does not matter.

use std::collections::{HashSet, VecDeque};

use deadpool_postgres::Pool;
use tokio::sync::{mpsc, oneshot};

use super::transitions::{transition, transition_all};
use crate::domain::Status;
use crate::store::{StoreError, StoreResult, TransitionRequest};

/// The most jobs one transaction takes; bounds the latency of the first in line.
const MAX_BATCH: usize = 128;

struct Job {
    request: TransitionRequest,
    reply: oneshot::Sender<StoreResult<Status>>,
}

#[derive(Clone)]
pub struct TransitionBatcher {
    jobs: mpsc::UnboundedSender<Job>,
}

impl TransitionBatcher {
    /// Starts the batching task on the current runtime; it ends with the last sender.
    pub fn spawn(pool: Pool) -> TransitionBatcher {
        let (jobs, queue) = mpsc::unbounded_channel();
        tokio::spawn(run(pool, queue));
        TransitionBatcher { jobs }
    }

    pub async fn transition(&self, request: TransitionRequest) -> StoreResult<Status> {
        let (reply, answer) = oneshot::channel();
        let gone = || StoreError::Unavailable("the transition batcher has stopped".into());
        self.jobs.send(Job { request, reply }).map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

async fn run(pool: Pool, mut queue: mpsc::UnboundedReceiver<Job>) {
    // Jobs held back because their authorization was already in the batch.
    let mut held: VecDeque<Job> = VecDeque::new();
    loop {
        if held.is_empty() {
            match queue.recv().await {
                Some(job) => held.push_back(job),
                None => return,
            }
        }
        while let Ok(job) = queue.try_recv() {
            held.push_back(job);
        }
        let batch = take_batch(&mut held);
        run_batch(&pool, batch).await;
    }
}

/// Up to `MAX_BATCH` jobs on distinct authorizations, oldest first; the rest stay.
fn take_batch(held: &mut VecDeque<Job>) -> Vec<Job> {
    let mut ids = HashSet::new();
    let mut batch = Vec::new();
    let mut rest = VecDeque::new();
    while let Some(job) = held.pop_front() {
        if batch.len() < MAX_BATCH && ids.insert(job.request.id) {
            batch.push(job);
        } else {
            rest.push_back(job);
        }
    }
    *held = rest;
    batch
}

async fn run_batch(pool: &Pool, batch: Vec<Job>) {
    let started = std::time::Instant::now();
    let answers = match batch.as_slice() {
        [job] => vec![alone(pool, &job.request).await],
        jobs => match together(pool, jobs).await {
            Ok(answers) => answers,
            Err(e) => {
                tracing::warn!(error = %crate::causes::Causes(&e), jobs = jobs.len(), "transition batch failed; running its jobs one by one");
                let mut answers = Vec::with_capacity(jobs.len());
                for job in jobs {
                    answers.push(alone(pool, &job.request).await);
                }
                answers
            }
        },
    };
    crate::telemetry::commit_batch("postgres", batch.len(), started.elapsed());
    for (job, answer) in batch.into_iter().zip(answers) {
        let _ = job.reply.send(answer);
    }
}

/// One job in its own transaction.
async fn alone(pool: &Pool, request: &TransitionRequest) -> StoreResult<Status> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let from = transition(&tx, request).await?;
    tx.commit().await?;
    Ok(from)
}

/// All jobs in one transaction; `Err` when that transaction failed as a whole.
async fn together(pool: &Pool, batch: &[Job]) -> StoreResult<Vec<StoreResult<Status>>> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let requests: Vec<&TransitionRequest> = batch.iter().map(|job| &job.request).collect();
    let answers = transition_all(&tx, &requests).await?;
    tx.commit().await?;
    Ok(answers)
}
