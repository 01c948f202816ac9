//! Password hashing on a few dedicated threads with a short queue.
//!
//! Each thread owns one argon2 `Workspace` (19 MiB), so hashing memory is bounded by
//! the number of threads whatever the load. A login that finds the queue full is
//! answered "busy" at once rather than waiting behind hundreds of others; creating a
//! user (an administrator's act) waits for room instead.

use std::sync::{Arc, Mutex, OnceLock};

use tokio::sync::{mpsc, oneshot};

use super::{ServiceError, ServiceResult};
use crate::crypto::password::Workspace;
use crate::domain::secret::Secret;

/// How long a refused login is told to wait.
const RETRY_AFTER_SECS: u64 = 1;
/// Waiting jobs per hashing thread.
const QUEUE_PER_THREAD: usize = 2;

enum Job {
    Hash {
        password: Secret,
        reply: oneshot::Sender<String>,
    },
    /// `phc: None` verifies against a decoy, so an unknown user costs a real check.
    Verify {
        password: Secret,
        phc: Option<String>,
        reply: oneshot::Sender<bool>,
    },
}

pub struct PasswordPool {
    jobs: mpsc::Sender<Job>,
}

impl Default for PasswordPool {
    /// One thread per core.
    fn default() -> Self {
        let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        PasswordPool::new(threads, threads * QUEUE_PER_THREAD)
    }
}

impl PasswordPool {
    /// `threads` hashing threads; they end when the pool is dropped.
    pub fn new(threads: usize, queue: usize) -> PasswordPool {
        let (jobs, waiting) = mpsc::channel(queue.max(1));
        let waiting = Arc::new(Mutex::new(waiting));
        for i in 0..threads.max(1) {
            let waiting = waiting.clone();
            std::thread::Builder::new()
                .name(format!("password-hash-{i}"))
                .spawn(move || work(&waiting))
                .expect("spawning a hashing thread");
        }
        PasswordPool { jobs }
    }

    /// Hashes a new password, waiting for room in the queue.
    pub async fn hash(&self, password: Secret) -> ServiceResult<String> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job::Hash { password, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())
    }

    /// Verifies a login's password (against a decoy if `phc` is `None`); busy if the
    /// queue is full.
    pub async fn verify(&self, password: Secret, phc: Option<String>) -> ServiceResult<bool> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .try_send(Job::Verify {
                password,
                phc,
                reply,
            })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => ServiceError::Busy {
                    retry_after_secs: RETRY_AFTER_SECS,
                },
                mpsc::error::TrySendError::Closed(_) => stopped(),
            })?;
        answer.await.map_err(|_| stopped())
    }
}

fn stopped() -> ServiceError {
    ServiceError::broken("the password hashing threads stopped")
}

fn work(waiting: &Mutex<mpsc::Receiver<Job>>) {
    let mut workspace = Workspace::new();
    loop {
        // The lock is held only while waiting for the next job, not while hashing.
        let job = match waiting.lock() {
            Ok(mut queue) => queue.blocking_recv(),
            Err(_) => None,
        };
        let Some(job) = job else { return };
        match job {
            Job::Hash { password, reply } => {
                let _ = reply.send(workspace.hash(password.expose()));
            }
            Job::Verify {
                password,
                phc,
                reply,
            } => {
                let phc = phc.as_deref().unwrap_or_else(|| decoy(&mut workspace));
                let _ = reply.send(workspace.verify(password.expose(), phc));
            }
        }
    }
}

/// A hash that verifies nothing.
fn decoy(workspace: &mut Workspace) -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| workspace.hash("support-access decoy"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn verifies_hashes_and_refuses_beyond_the_queue() {
        let pool = PasswordPool::new(1, 1);
        let phc = pool
            .hash(Secret::new("right password".into()))
            .await
            .unwrap();
        let check = |pw: &str| pool.verify(Secret::new(pw.into()), Some(phc.clone()));
        assert!(check("right password").await.unwrap());
        assert!(!check("wrong password").await.unwrap());
        assert!(
            !pool
                .verify(Secret::new("anything".into()), None)
                .await
                .unwrap()
        );

        // One thread, one queue slot: of many at once, some are refused as busy.
        let many: Vec<_> = (0..8).map(|_| check("wrong password")).collect();
        let results = futures_util::future::join_all(many).await;
        let busy = results
            .iter()
            .filter(|r| matches!(r, Err(ServiceError::Busy { .. })))
            .count();
        assert!(busy > 0, "the queue bounds waiting logins");
        assert!(results.iter().any(|r| matches!(r, Ok(false))));
    }
}
