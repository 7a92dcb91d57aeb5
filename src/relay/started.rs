//! Starting a hook worker: on the caller's own turn when a client's packet started it, else as a task of its own.

use std::pin::Pin;
use std::task::{Context, Waker};

/// Starts `worker`: run until it first has to wait, here and now ([`spawn_started`]) when `first_step_here`, else
/// spawned.
pub fn start_worker<F>(worker: F, first_step_here: bool)
where
    F: Future<Output = ()> + Send + 'static,
{
    if first_step_here {
        spawn_started(worker);
    } else {
        tokio::spawn(worker);
    }
}

/// Runs `work` until it first has to wait, here and now, then spawns it to finish.
///
/// A hook worker started this way writes its webhook request before the caller goes on: a long-poll POST that
/// carried an event reaches the backend before the POST's own `ok` is written, where a task spawned the usual way
/// runs only after the POST's connection task has answered and gone back to waiting. The backend starts on the
/// event sooner, by the time it takes to answer the POST.
///
/// The first poll uses a waker that does nothing; the spawned task polls the work again at once with its own,
/// which takes over every registration the first poll made (a socket's readiness, a timer, a notification) and
/// finds whatever became ready in between, so no wake-up is lost. The work must not need anything the caller holds
/// (a lock), since it runs inside the caller.
pub fn spawn_started<F>(work: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    let mut work: Pin<Box<F>> = Box::pin(work);
    let mut first_turn = Context::from_waker(Waker::noop());
    if work.as_mut().poll(&mut first_turn).is_pending() {
        tokio::spawn(work);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::sync::oneshot;

    #[tokio::test(flavor = "current_thread")]
    async fn the_first_step_runs_before_the_caller_goes_on_and_the_rest_after_a_wake() {
        let steps = Arc::new(AtomicUsize::new(0));
        let (go_on, wait) = oneshot::channel::<()>();
        let (finished, done) = oneshot::channel::<()>();
        let counted = steps.clone();
        spawn_started(async move {
            counted.fetch_add(1, Ordering::SeqCst);
            let _ = wait.await;
            counted.fetch_add(1, Ordering::SeqCst);
            let _ = finished.send(());
        });
        // One thread: nothing spawned has run yet, so only the first step can have.
        assert_eq!(steps.load(Ordering::SeqCst), 1);
        // Sent before the spawned task's first poll: the first poll registered only a waker that does nothing.
        go_on.send(()).expect("the worker waits");
        tokio::time::timeout(std::time::Duration::from_secs(5), done)
            .await
            .expect("the worker finished after its wake")
            .expect("the worker signalled");
        assert_eq!(steps.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_wake_after_the_spawned_poll_reaches_the_task() {
        let (go_on, wait) = oneshot::channel::<()>();
        let (finished, done) = oneshot::channel::<()>();
        spawn_started(async move {
            let _ = wait.await;
            let _ = finished.send(());
        });
        // Let the spawned task poll (and register its own waker) first.
        tokio::task::yield_now().await;
        go_on.send(()).expect("the worker waits");
        tokio::time::timeout(std::time::Duration::from_secs(5), done)
            .await
            .expect("the worker finished after its wake")
            .expect("the worker signalled");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn work_that_never_waits_ends_here_and_spawns_nothing() {
        let ran = Arc::new(AtomicUsize::new(0));
        let counted = ran.clone();
        let tasks_before = tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks();
        start_worker(
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
            },
            true,
        );
        assert_eq!(ran.load(Ordering::SeqCst), 1);
        assert_eq!(
            tokio::runtime::Handle::current()
                .metrics()
                .num_alive_tasks(),
            tasks_before
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_worker_not_started_here_runs_only_as_its_own_task() {
        let ran = Arc::new(AtomicUsize::new(0));
        let counted = ran.clone();
        start_worker(
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
            },
            false,
        );
        assert_eq!(ran.load(Ordering::SeqCst), 0);
        tokio::task::yield_now().await;
        assert_eq!(ran.load(Ordering::SeqCst), 1);
    }
}
