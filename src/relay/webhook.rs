//! Sending webhooks: headers, signatures, timeouts, and at-least-once retries.

use super::signing::signature_header;
use crate::metrics::HookMetrics;
use bytes::Bytes;
use rand::RngCore;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::Notify;

/// Where and how one endpoint's webhooks are sent.
#[derive(Debug, Clone)]
pub struct HookTarget {
    /// The URL POSTed to.
    pub url: reqwest::Url,
    /// Secrets that sign each request (none = unsigned).
    pub secrets: Vec<String>,
    /// Time allowed for one call.
    pub timeout: Duration,
    /// Latency, failure and retry metrics of the endpoint.
    pub metrics: HookMetrics,
}

/// One webhook request, ready to send (and resend with the same delivery id).
#[derive(Debug, Clone)]
pub struct Delivery {
    /// `X-Iogate-Event`.
    pub event: &'static str,
    /// `X-Iogate-Delivery`: unique per delivery, stable across retries.
    pub id: String,
    /// The JSON body.
    pub body: Bytes,
}

impl Delivery {
    /// A delivery with a fresh id.
    pub fn new(event: &'static str, body: impl Into<Bytes>) -> Self {
        let mut raw = [0u8; 16];
        rand::rng().fill_bytes(&mut raw);
        Self {
            event,
            id: hex::encode(raw),
            body: body.into(),
        }
    }
}

/// What went wrong with a webhook call.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// The backend could not be reached or did not answer in time.
    #[error("webhook unreachable: {0}")]
    Transport(String),
    /// The backend answered with a status outside 2xx.
    #[error("webhook answered HTTP {0}")]
    Status(u16),
}

impl HookError {
    fn is_retryable(&self) -> bool {
        match self {
            HookError::Transport(_) => true,
            HookError::Status(status) => *status >= 500 || *status == 429 || *status == 408,
        }
    }
}

/// How a delivery that must arrive is retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Total attempts, the first included.
    pub attempts: u32,
    /// Wait before the second attempt; doubles each time.
    pub first_backoff: Duration,
    /// Longest wait between attempts.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 10,
            first_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
        }
    }
}

/// The shared HTTP client that sends every webhook, and the count of hook workers still running.
#[derive(Clone)]
pub struct HookClient {
    http: reqwest::Client,
    busy: Arc<Busy>,
}

#[derive(Default)]
struct Busy {
    workers: AtomicUsize,
    idle: Notify,
}

/// Marks a hook worker as running until dropped.
pub struct BusyGuard(Arc<Busy>);

impl Drop for BusyGuard {
    fn drop(&mut self) {
        if self.0.workers.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl HookClient {
    /// A client with connection pooling and no proxy.
    pub fn new() -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .no_proxy()
            // A signed webhook is not re-sent elsewhere: a 3xx answer is a failure like any non-2xx.
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(Duration::from_secs(60))
            .tcp_nodelay(true)
            .user_agent(concat!("iogate/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the webhook HTTP client: {e}"))?;
        Ok(Self {
            http,
            busy: Arc::default(),
        })
    }

    /// Counts a hook worker as running until the guard drops (shutdown waits for them).
    pub fn busy(&self) -> BusyGuard {
        self.busy.workers.fetch_add(1, Ordering::AcqRel);
        BusyGuard(self.busy.clone())
    }

    /// Hook workers still running.
    pub fn busy_workers(&self) -> usize {
        self.busy.workers.load(Ordering::Acquire)
    }

    /// Resolves when no hook worker is running.
    pub async fn wait_idle(&self) {
        loop {
            let notified = self.busy.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.busy_workers() == 0 {
                return;
            }
            notified.await;
        }
    }

    /// Sends `delivery` once; a 2xx answer returns its body. Latency and failures are counted.
    pub async fn send(&self, target: &HookTarget, delivery: &Delivery) -> Result<Bytes, HookError> {
        let started = std::time::Instant::now();
        let result = self.send_once(target, delivery).await;
        target.metrics.observe(delivery.event, started.elapsed());
        if result.is_err() {
            target.metrics.failed(delivery.event);
        }
        result
    }

    async fn send_once(
        &self,
        target: &HookTarget,
        delivery: &Delivery,
    ) -> Result<Bytes, HookError> {
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut request = self
            .http
            .post(target.url.clone())
            .timeout(target.timeout)
            .header("content-type", "application/json")
            .header("x-iogate-event", delivery.event)
            .header("x-iogate-delivery", &delivery.id);
        if !target.secrets.is_empty() {
            request = request.header(
                "x-iogate-signature",
                signature_header(&target.secrets, timestamp, &delivery.body),
            );
        }
        let response = request
            .body(delivery.body.clone())
            .send()
            .await
            .map_err(|e| HookError::Transport(e.to_string()))?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(HookError::Status(status));
        }
        response
            .bytes()
            .await
            .map_err(|e| HookError::Transport(e.to_string()))
    }

    /// Sends `delivery` until it succeeds, a non-retryable answer comes, or the policy gives up.
    pub async fn send_with_retries(
        &self,
        target: &HookTarget,
        delivery: &Delivery,
        policy: RetryPolicy,
    ) -> Result<Bytes, HookError> {
        let mut backoff = policy.first_backoff;
        let mut attempt = 1;
        loop {
            match self.send(target, delivery).await {
                Ok(body) => return Ok(body),
                Err(error) if attempt < policy.attempts && error.is_retryable() => {
                    tracing::debug!(event = delivery.event, delivery = %delivery.id, attempt, %error, "webhook failed; retrying");
                    target.metrics.retried(delivery.event);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(policy.max_backoff);
                    attempt += 1;
                }
                Err(error) => return Err(error),
            }
        }
    }
}
