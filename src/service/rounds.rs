//! The loop of a background worker that works in rounds (webhook deliveries, e-mail),
//! and the thread such a worker runs on.

use std::future::Future;
use std::time::Duration;

use tokio::sync::{oneshot, watch};

use super::ServiceResult;

/// Runs `round` until `shutdown` turns true: again right away while a round found work
/// (it returns how much), else after `idle`. A failed round is logged and retried after
/// `idle`.
pub async fn run<Fut>(
    what: &str,
    idle: Duration,
    mut shutdown: watch::Receiver<bool>,
    mut round: impl FnMut() -> Fut,
) where
    Fut: Future<Output = ServiceResult<usize>>,
{
    loop {
        let busy = match round().await {
            Ok(n) => n > 0,
            Err(e) => {
                tracing::warn!(error = %crate::causes::Causes(&e), "{what} round failed; will retry");
                false
            }
        };
        if !busy {
            tokio::select! {
                () = tokio::time::sleep(idle) => {}
                _ = shutdown.changed() => return,
            }
        } else if *shutdown.borrow() {
            return;
        }
    }
}

/// Runs `work` on a thread of its own named `name`, in a single-threaded runtime, at a
/// lower scheduling priority than the threads that serve requests: a notification may
/// wait a few milliseconds for the CPU, a customer's request should not wait for a
/// notification. The receiver resolves once `work` has ended.
pub fn spawn_background<Work, Fut>(name: &str, work: Work) -> std::io::Result<oneshot::Receiver<()>>
where
    Work: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (ended, on_end) = oneshot::channel();
    let what = name.to_owned();
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            lower_this_threads_priority(&what);
            runtime.block_on(work());
            let _ = ended.send(());
        })?;
    Ok(on_end)
}

/// Ten steps nicer than the process (19 at most); on Linux a priority belongs to the
/// calling thread alone.
#[cfg(target_os = "linux")]
fn lower_this_threads_priority(what: &str) {
    use rustix::process::{getpriority_process, setpriority_process};
    let lowered =
        getpriority_process(None).and_then(|nice| setpriority_process(None, (nice + 10).min(19)));
    if let Err(e) = lowered {
        tracing::warn!(error = %e, "{what} runs at the normal priority");
    }
}

/// Elsewhere the priority is the whole process's, so it stays as it is.
#[cfg(not(target_os = "linux"))]
fn lower_this_threads_priority(_what: &str) {}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[tokio::test]
    async fn background_work_runs_on_its_own_lower_priority_thread() {
        let ours = std::thread::current().id();
        let our_niceness = rustix::process::getpriority_process(None).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let ended = super::spawn_background("test-background", move || async move {
            let niceness = rustix::process::getpriority_process(None).unwrap();
            tx.send((std::thread::current().id(), niceness)).unwrap();
        })
        .unwrap();
        ended.await.unwrap();
        let (theirs, niceness) = rx.recv().unwrap();
        assert_ne!(theirs, ours);
        assert_eq!(niceness, (our_niceness + 10).min(19));
        assert_eq!(
            rustix::process::getpriority_process(None).unwrap(),
            our_niceness
        );
    }
}
