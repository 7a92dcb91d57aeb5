//! Webhook failures told to the operator once per URL, in plain words, instead of once per request: the first
//! failure of a URL is logged at once (`webhook http://127.0.0.1:5000/iogate: connection refused (is the backend
//! running?)`), further ones at most once per [`REPORT_EVERY`] with how many failed since, and the URL answering
//! again once. Every failure is counted in the metrics either way; the log stays bounded while a backend is down.

use crate::log_escape::Escaped;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The least time between two failure lines of one URL.
pub const REPORT_EVERY: Duration = Duration::from_secs(60);

/// What to log about one call's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// A failure, the first of the URL or [`REPORT_EVERY`] or more after its last line: log it.
    Failed {
        /// Failed calls since the last line, this one included (1: nothing failed unreported).
        failures: u64,
        /// Time since the last line, if there was one.
        since: Option<Duration>,
    },
    /// A success after failures that were logged: log that the URL answers again.
    Recovered {
        /// Failed calls since the URL last answered.
        failures: u64,
    },
}

/// Per-URL failure state; URLs are those of the config (endpoints and routes), so the map stays small. Each URL
/// gets at most one failure line and one recovery line per [`REPORT_EVERY`], however its calls alternate.
#[derive(Default)]
pub struct FailureNotices {
    urls: Mutex<HashMap<String, UrlState>>,
    /// URLs failing now: while none is, a success costs one atomic load.
    failing: AtomicUsize,
}

/// What is known of one URL's failures.
#[derive(Default)]
struct UrlState {
    /// Whether its last call failed.
    failing: bool,
    /// When its last failure line was logged.
    reported_at: Option<Instant>,
    /// Failures since that line.
    unreported: u64,
    /// Failures since it last answered.
    since_answered: u64,
    /// Whether a failure line was logged since the last recovery line.
    told: bool,
}

impl FailureNotices {
    /// A call to `url` failed at `now`: what to log, if anything.
    pub fn failed(&self, url: &str, now: Instant) -> Option<Notice> {
        let mut urls = self
            .urls
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let state = match urls.get_mut(url) {
            Some(state) => state,
            None => urls.entry(url.to_string()).or_default(),
        };
        if !state.failing {
            state.failing = true;
            state.since_answered = 0;
            self.failing.fetch_add(1, Ordering::AcqRel);
        }
        state.since_answered += 1;
        state.unreported += 1;
        let since = state
            .reported_at
            .map(|at| now.saturating_duration_since(at));
        if since.is_some_and(|since| since < REPORT_EVERY) {
            return None;
        }
        state.reported_at = Some(now);
        state.told = true;
        Some(Notice::Failed {
            failures: std::mem::take(&mut state.unreported),
            since,
        })
    }

    /// A call to `url` succeeded: [`Notice::Recovered`] when it was failing and that was logged.
    pub fn succeeded(&self, url: &str) -> Option<Notice> {
        if self.failing.load(Ordering::Acquire) == 0 {
            return None;
        }
        let mut urls = self
            .urls
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let state = urls.get_mut(url).filter(|state| state.failing)?;
        state.failing = false;
        self.failing.fetch_sub(1, Ordering::AcqRel);
        std::mem::take(&mut state.told).then_some(Notice::Recovered {
            failures: state.since_answered,
        })
    }
}

/// Logs `notice` about `url` (shown without credentials), `words` saying what failed ([`super::plain_words`]).
pub fn log(notice: Notice, url: &str, event: &str, words: &str) {
    match notice {
        Notice::Failed {
            failures,
            since: Some(since),
        } if failures > 1 => tracing::warn!(
            event,
            "webhook {url}: {} ({failures} calls failed since the last report {}s ago)",
            Escaped(words),
            since.as_secs()
        ),
        Notice::Failed { .. } => tracing::warn!(event, "webhook {url}: {}", Escaped(words)),
        Notice::Recovered { failures } => tracing::info!(
            event,
            "webhook {url}: answering again ({failures} calls had failed)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "http://127.0.0.1:5000/iogate";

    fn first() -> Option<Notice> {
        Some(Notice::Failed {
            failures: 1,
            since: None,
        })
    }

    #[test]
    fn the_first_failure_is_told_then_one_line_a_minute_with_a_count() {
        let notices = FailureNotices::default();
        let start = Instant::now();
        assert_eq!(notices.failed(URL, start), first());
        for second in 1..60 {
            assert_eq!(
                notices.failed(URL, start + Duration::from_secs(second)),
                None
            );
        }
        assert_eq!(
            notices.failed(URL, start + Duration::from_secs(61)),
            Some(Notice::Failed {
                failures: 60,
                since: Some(Duration::from_secs(61))
            })
        );
        assert_eq!(notices.failed(URL, start + Duration::from_secs(62)), None);
    }

    #[test]
    fn urls_are_told_apart() {
        let notices = FailureNotices::default();
        let now = Instant::now();
        assert_eq!(notices.failed(URL, now), first());
        assert_eq!(notices.failed("http://127.0.0.1:5001/typing", now), first());
        assert_eq!(notices.failed(URL, now), None);
    }

    #[test]
    fn a_success_after_logged_failures_is_told_once() {
        let notices = FailureNotices::default();
        let now = Instant::now();
        assert_eq!(notices.succeeded(URL), None);
        notices.failed(URL, now);
        notices.failed(URL, now);
        assert_eq!(
            notices.succeeded(URL),
            Some(Notice::Recovered { failures: 2 })
        );
        assert_eq!(notices.succeeded(URL), None);
    }

    #[test]
    fn a_url_that_fails_every_other_call_stays_at_two_lines_a_minute() {
        let notices = FailureNotices::default();
        let start = Instant::now();
        let mut lines = 0;
        for second in 0..60 {
            let now = start + Duration::from_secs(second);
            lines += usize::from(notices.failed(URL, now).is_some());
            lines += usize::from(notices.succeeded(URL).is_some());
        }
        assert_eq!(lines, 2, "one failure line, one recovery line");
        assert_eq!(
            notices.failed(URL, start + Duration::from_secs(60)),
            Some(Notice::Failed {
                failures: 60,
                since: Some(Duration::from_secs(60))
            })
        );
    }
}
