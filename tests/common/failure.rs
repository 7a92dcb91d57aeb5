//! A failing test's message, said again after the logs its deployment prints while it unwinds.
//!
//! A deployment (iogate nodes, nginx, Redis) prints its logs when a test panics, after the panic message. In a long
//! test run's output the message then sits in the middle of those logs, where a reader who sees only the output's
//! head and tail never finds it. A [`FailureEcho`] dropped after the logs prints the message's first line again, so
//! the tail names the failure.

use std::cell::RefCell;
use std::sync::Once;

/// How much of the message's first line is repeated.
const ECHO_CHARS: usize = 600;

thread_local! {
    /// The message of the last panic on this thread, and where it was raised.
    static LAST_PANIC: RefCell<Option<(String, String)>> = const { RefCell::new(None) };
}

/// Installs (once per process) a panic hook that keeps each panic's message for its thread, then reports the panic
/// as the default hook does.
fn keep_panic_messages() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let report = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|text| text.to_string()))
                .unwrap_or_else(|| "(a panic without a text message)".to_string());
            let place = info
                .location()
                .map(|at| format!(" (at {}:{})", at.file(), at.line()))
                .unwrap_or_default();
            LAST_PANIC.with(|last| *last.borrow_mut() = Some((message, place)));
            report(info);
        }));
    });
}

/// Prints the failing test's message when dropped during a panic (once: a later echo finds it taken).
pub struct FailureEcho {
    armed: bool,
}

impl FailureEcho {
    /// An echo that prints when dropped during a panic.
    pub fn armed() -> Self {
        keep_panic_messages();
        Self { armed: true }
    }

    /// Stops this echo from printing (another one, dropped later, says it instead).
    pub fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for FailureEcho {
    fn drop(&mut self) {
        if !self.armed || !std::thread::panicking() {
            return;
        }
        let Some((message, place)) = LAST_PANIC.with(|last| last.borrow_mut().take()) else {
            return;
        };
        let first_line: String = message
            .lines()
            .next()
            .unwrap_or_default()
            .chars()
            .take(ECHO_CHARS)
            .collect();
        eprintln!(
            "--- this test failed (the whole message is above the logs): {first_line}{place}"
        );
    }
}
