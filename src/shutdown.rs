//! Waiting for the signal that starts a graceful shutdown: SIGTERM or Ctrl-C (Ctrl-C and Ctrl-Break on Windows).
//! The handlers are installed before the listeners start ([`StopSignals::install`]): a signal that arrives once
//! the gateway answers (a probe saw it healthy, an orchestrator stops it at once) starts a graceful shutdown
//! instead of ending the process by the signal's default action.

/// The installed stop signals of the process (each `None` when the system refused to install it).
pub struct StopSignals {
    #[cfg(unix)]
    signals: [Option<tokio::signal::unix::Signal>; 2],
    #[cfg(windows)]
    ctrl_c: Option<tokio::signal::windows::CtrlC>,
    #[cfg(windows)]
    ctrl_break: Option<tokio::signal::windows::CtrlBreak>,
}

impl StopSignals {
    /// Installs the handlers now; must run inside a Tokio runtime.
    pub fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Self {
                signals: [
                    signal(SignalKind::terminate()).ok(),
                    signal(SignalKind::interrupt()).ok(),
                ],
            }
        }
        #[cfg(windows)]
        {
            Self {
                ctrl_c: tokio::signal::windows::ctrl_c().ok(),
                ctrl_break: tokio::signal::windows::ctrl_break().ok(),
            }
        }
    }

    /// Resolves when the process is asked to stop.
    pub async fn recv(self) {
        #[cfg(unix)]
        {
            let [term, interrupt] = self.signals;
            tokio::select! {
                _ = once(term, |mut s| async move { s.recv().await }) => {}
                _ = once(interrupt, |mut s| async move { s.recv().await }) => {}
            }
        }
        #[cfg(windows)]
        {
            tokio::select! {
                _ = once(self.ctrl_c, |mut s| async move { s.recv().await }) => {}
                _ = once(self.ctrl_break, |mut s| async move { s.recv().await }) => {}
            }
        }
    }
}

/// Waits for `signal`'s next delivery; never resolves when it could not be installed.
async fn once<S, F: std::future::Future>(signal: Option<S>, next: impl FnOnce(S) -> F) {
    match signal {
        Some(signal) => {
            next(signal).await;
        }
        None => std::future::pending::<()>().await,
    }
}
