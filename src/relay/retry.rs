//! At-least-once delivery of the webhooks that must arrive (`disconnect`, `close`, events of `async` routes):
//! retries with capped exponential backoff and jitter, within a time window, with a bound on how many wait at once.
//!
//! A delivery that fails with a retryable error (unreachable, timeout, 408, 429, 5xx) waits and goes again under the
//! same delivery id. The backoff starts at [`RetryPolicy::first_backoff`] and doubles up to
//! [`RetryPolicy::max_backoff`]; each wait is drawn between half the backoff and all of it, so deliveries that failed
//! together (every socket's `disconnect` while the backend was down) do not come back in step. A delivery is given
//! up when it still fails at the end of [`RetryPolicy::window`] after its first attempt (the last wait is cut
//! short to make that last attempt), or when it fails while [`RetryPolicy::max_retrying`] deliveries of its
//! endpoint already wait for a retry: what waits during an outage is bounded by both. Given-up deliveries are
//! counted (`iogate_webhook_given_up_total`) and logged at warn; one the backend refuses with a final answer (any
//! other status) is logged at error and not retried.

use super::webhook::{Delivery, HookClient, HookError, HookTarget};
use crate::config::EndpointConfig;
use crate::log_escape::Escaped;
use crate::metrics::HookMetrics;
use rand::Rng;
use std::fmt::Display;
use std::time::Duration;
use tokio::time::Instant;

/// How a delivery that must arrive is retried (one per endpoint).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// How long after its first attempt a delivery is retried (`webhook_retry_window`): the last attempt is made
    /// when it ends, and a delivery still failing then is given up.
    pub window: Duration,
    /// The backoff after the first attempt; it doubles after each attempt.
    pub first_backoff: Duration,
    /// The largest backoff.
    pub max_backoff: Duration,
    /// Deliveries of the endpoint that may wait for a retry at once (`max_retrying_hooks`); one that fails while
    /// this many wait is given up at once.
    pub max_retrying: usize,
}

impl Default for RetryPolicy {
    /// The config's defaults: retried for 5 minutes, backoff 0.2 s doubling up to 10 s, 10 000 waiting per endpoint.
    fn default() -> Self {
        Self {
            window: Duration::from_secs(300),
            first_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            max_retrying: 10_000,
        }
    }
}

impl RetryPolicy {
    /// The policy of an endpoint: its `webhook_retry_window` and `max_retrying_hooks`, the default backoff.
    pub fn for_endpoint(config: &EndpointConfig) -> Self {
        Self {
            window: config.webhook_retry_window,
            max_retrying: config.max_retrying_hooks,
            ..Self::default()
        }
    }

    /// The wait after an attempt made with `backoff`: between half of it and all of it.
    fn jittered(backoff: Duration) -> Duration {
        let half = backoff / 2;
        half + half.mul_f64(rand::rng().random::<f64>())
    }
}

impl HookClient {
    /// Sends `delivery` until it succeeds or a final (non-retryable) answer comes, retrying as `policy` says. Its
    /// failures end here, logged naming `sid` (the socket or session the hook is about): a final answer at error,
    /// a delivery given up counted and at warn. The backend's reply is not returned: these hooks' replies carry no
    /// instructions.
    pub async fn send_with_retries(
        &self,
        target: &HookTarget,
        delivery: &Delivery,
        policy: RetryPolicy,
        sid: &(dyn Display + Sync),
    ) {
        let mut waiting = Waiting {
            metrics: &target.metrics,
            delivery,
            sid,
            first: Instant::now(),
            attempts: 1,
            holds_place: false,
        };
        let mut error = match self.send(target, delivery).await {
            Ok(_) => return,
            Err(error) if !error.is_retryable() => return waiting.refused(&error),
            Err(error) => error,
        };
        if !target.metrics.start_retrying(policy.max_retrying) {
            return waiting.give_up(
                &error,
                "too many webhooks waiting for a retry (max_retrying_hooks)",
            );
        }
        waiting.holds_place = true;
        let mut backoff = policy.first_backoff;
        loop {
            // The last attempt is made when the window ends.
            let Some(left) = policy
                .window
                .checked_sub(waiting.first.elapsed())
                .filter(|left| !left.is_zero())
            else {
                return waiting.give_up(&error, "still failing after webhook_retry_window");
            };
            let wait = RetryPolicy::jittered(backoff).min(left);
            tracing::debug!(event = delivery.event, delivery = %delivery.id, sid = %Escaped(sid), attempt = waiting.attempts, ?wait, error = %Escaped(&error), "webhook failed; retrying");
            target.metrics.retried(delivery.event);
            tokio::time::sleep(wait).await;
            backoff = (backoff * 2).min(policy.max_backoff);
            waiting.attempts += 1;
            match self.send(target, delivery).await {
                Ok(_) => return waiting.release(),
                Err(next) if next.is_retryable() => error = next,
                Err(next) => return waiting.refused(&next),
            }
        }
    }
}

/// A delivery that failed and may wait for a retry. While `holds_place`, it counts in its endpoint's
/// `iogate_webhook_retrying`; dropped while it still does (the runtime drops its task when iogate stops before
/// the delivery is done), it is given up.
struct Waiting<'a> {
    metrics: &'a HookMetrics,
    delivery: &'a Delivery,
    sid: &'a (dyn Display + Sync),
    first: Instant,
    attempts: u32,
    holds_place: bool,
}

impl Waiting<'_> {
    /// Leaves the count of deliveries waiting for a retry.
    fn release(&mut self) {
        if std::mem::take(&mut self.holds_place) {
            self.metrics.stop_retrying();
        }
    }

    /// Leaves the count of waiting deliveries and logs the backend's final answer, `error`.
    fn refused(&mut self, error: &HookError) {
        self.release();
        tracing::error!(
            endpoint = %self.metrics.endpoint(),
            event = self.delivery.event,
            delivery = %self.delivery.id,
            sid = %Escaped(self.sid),
            attempts = self.attempts,
            error = %Escaped(error),
            "webhook refused by the backend; not retried"
        );
    }

    /// Counts and logs the delivery as given up, for `why`, after `error`.
    fn give_up(&mut self, error: &HookError, why: &str) {
        self.given_up(&format_args!("{why} (last error: {})", Escaped(error)));
    }

    /// Leaves the count of waiting deliveries, counts this one as given up and logs why.
    fn given_up(&mut self, why: &dyn Display) {
        self.release();
        self.metrics.given_up(self.delivery.event);
        tracing::warn!(
            endpoint = %self.metrics.endpoint(),
            event = self.delivery.event,
            delivery = %self.delivery.id,
            sid = %Escaped(self.sid),
            attempts = self.attempts,
            tried_for = %format_args!("{:.1}s", self.first.elapsed().as_secs_f64()),
            "webhook given up: {why}"
        );
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if self.holds_place {
            self.given_up(&"iogate stopped while it waited for a retry");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_the_config_default() {
        let config = crate::config::parse_str(
            "t.toml",
            "[[endpoint]]\npath = \"/p\"\nwebhook = \"http://127.0.0.1:1/\"\n",
            &|_| None,
        )
        .expect("valid config");
        assert_eq!(
            RetryPolicy::for_endpoint(&config.endpoints[0]),
            RetryPolicy::default()
        );
    }

    #[test]
    fn the_config_keys_take_values_and_refuse_zero() {
        let endpoint = "[[endpoint]]\npath = \"/p\"\nwebhook = \"http://127.0.0.1:1/\"\n";
        let parse = |extra: &str| {
            crate::config::parse_str("t.toml", &format!("{endpoint}{extra}\n"), &|_| None)
        };
        let config =
            parse("webhook_retry_window = \"90s\"\nmax_retrying_hooks = 7").expect("valid");
        let policy = RetryPolicy::for_endpoint(&config.endpoints[0]);
        assert_eq!(policy.window, Duration::from_secs(90));
        assert_eq!(policy.max_retrying, 7);
        for (extra, key) in [
            (
                "webhook_retry_window = \"0s\"",
                "endpoint[0].webhook_retry_window",
            ),
            ("max_retrying_hooks = 0", "endpoint[0].max_retrying_hooks"),
        ] {
            let error = parse(extra).expect_err(extra);
            assert_eq!(error.key, key);
            assert!(error.message.contains("greater than zero"), "{error}");
        }
    }

    #[test]
    fn waits_are_jittered_between_half_and_all_of_the_backoff() {
        let backoff = Duration::from_secs(10);
        let waits: Vec<Duration> = (0..200).map(|_| RetryPolicy::jittered(backoff)).collect();
        assert!(
            waits.iter().all(|w| *w >= backoff / 2 && *w <= backoff),
            "{waits:?}"
        );
        assert!(
            waits.iter().any(|w| *w != waits[0]),
            "not all the same: {waits:?}"
        );
    }
}
