//! Sending webhooks: headers, signatures, timeouts (retries of those that must arrive: `retry.rs`). The HTTP
//! client itself is the `iogate-hook-client` crate, used through its [`HookTransport`] trait.

use super::failure_notice::{self, FailureNotices};
use super::plain_words;
use super::signing::signature_header;
use crate::config::{Secrets, WebhookUrl};
use crate::metrics::HookMetrics;
use crate::webhook_stats::UrlStats;
use bytes::Bytes;
use iogate_hook_client::{Endpoint, HookTransport, HttpClient, Request, SendError};
use rand::RngCore;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::Notify;

/// `User-Agent` of every webhook request.
pub const USER_AGENT: &str = concat!("iogate/", env!("CARGO_PKG_VERSION"));

/// Where and how one endpoint's webhooks are sent; built by [`HookClient::target`].
#[derive(Debug, Clone)]
pub struct HookTarget {
    /// The URL POSTed to.
    url: WebhookUrl,
    /// The URL prepared by the HTTP client (for its own HTTP/1.1 client or for reqwest: the relay does not care).
    endpoint: Endpoint,
    /// Secrets that sign each request (none = unsigned); never printed.
    pub secrets: Secrets,
    /// Time allowed for one call.
    pub timeout: Duration,
    /// Latency, failure and retry metrics of the endpoint.
    pub metrics: HookMetrics,
    /// Latency and failures of this URL (the status page's).
    pub url_stats: Arc<UrlStats>,
}

impl HookTarget {
    /// The URL POSTed to.
    pub fn url(&self) -> &reqwest::Url {
        self.url.as_url()
    }
}

/// `url` as the status page shows it: without credentials, query or fragment (they may hold secrets).
fn shown_url(url: &WebhookUrl) -> String {
    let mut shown = url.as_url().clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

/// One webhook request, ready to send (and resend with the same delivery id).
#[derive(Debug, Clone)]
pub struct Delivery {
    /// `X-Iogate-Event`.
    pub event: &'static str,
    /// `X-Iogate-Delivery`: unique per delivery, stable across retries.
    pub id: DeliveryId,
    /// The JSON body.
    pub body: Bytes,
}

impl Delivery {
    /// A delivery with a fresh id.
    pub fn new(event: &'static str, body: impl Into<Bytes>) -> Self {
        Self {
            event,
            id: DeliveryId::fresh(),
            body: body.into(),
        }
    }
}

/// A delivery id: 16 random bytes as 32 lowercase hex digits, kept inline (no allocation per webhook).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DeliveryId([u8; 32]);

impl DeliveryId {
    /// A fresh random id.
    pub fn fresh() -> Self {
        let mut raw = [0u8; 16];
        rand::rng().fill_bytes(&mut raw);
        let mut digits = [0u8; 32];
        // Cannot fail: the output is exactly twice the input's length.
        let _ = hex::encode_to_slice(raw, &mut digits);
        Self(digits)
    }

    /// The id as the header carries it.
    pub fn as_str(&self) -> &str {
        // Hex digits are ASCII, so always UTF-8.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl std::fmt::Display for DeliveryId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for DeliveryId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

/// What went wrong with a webhook call.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// The backend could not be reached or did not answer in time.
    #[error("webhook unreachable: {0}")]
    Transport(SendError),
    /// The backend answered with a status outside 2xx.
    #[error("webhook answered HTTP {0}")]
    Status(u16),
}

impl HookError {
    /// Whether the delivery may succeed if sent again: transport errors, 408, 429 and 5xx.
    pub(super) fn is_retryable(&self) -> bool {
        match self {
            HookError::Transport(_) => true,
            HookError::Status(status) => *status >= 500 || *status == 429 || *status == 408,
        }
    }
}

/// The shared HTTP client that sends every webhook, and the count of hook workers still running.
///
/// The HTTP client is `iogate_hook_client::HttpClient` (its `README.md` states the contract): `http://` URLs go
/// through its own HTTP/1.1 client, with one pool of keep-alive connections per backend `host:port`; `https://`
/// URLs through reqwest (TLS). Both: no proxy, no redirects followed, `TCP_NODELAY`, at most
/// [`MAX_IDLE_PER_BACKEND`](super::MAX_IDLE_PER_BACKEND) idle connections per backend, closed after 60 s idle,
/// response bodies up to [`MAX_BODY_BYTES`](super::MAX_BODY_BYTES).
#[derive(Clone)]
pub struct HookClient {
    http: HttpClient,
    busy: Arc<Busy>,
    /// Failures told once per URL, not once per call.
    notices: Arc<FailureNotices>,
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
        Ok(Self {
            http: HttpClient::new(USER_AGENT)?,
            busy: Arc::default(),
            notices: Arc::default(),
        })
    }

    /// The target for webhooks to `url`, signed with `secrets` (none = unsigned), each call bounded by `timeout`.
    /// `url` is a [`WebhookUrl`] parsed with the config (text is parsed the same way, for tests and tools).
    /// `http://` targets on the same `host:port` share one connection pool.
    pub fn target(
        &self,
        url: impl TryInto<WebhookUrl, Error: std::fmt::Display>,
        secrets: Secrets,
        timeout: Duration,
        metrics: HookMetrics,
    ) -> Result<HookTarget, String> {
        let url = url.try_into().map_err(|e| e.to_string())?;
        let endpoint = self
            .http
            .target(url.as_url(), &url.redacted())
            .map_err(|e| e.to_string())?;
        let url_stats = metrics.url_stats(&shown_url(&url));
        Ok(HookTarget {
            url,
            endpoint,
            secrets,
            timeout,
            metrics,
            url_stats,
        })
    }

    /// Idle keep-alive connections held for `http://` targets on `host:port` (`host` as the URL spells it).
    pub fn idle_connections(&self, host_port: &str) -> usize {
        self.http.idle_connections(host_port)
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

    /// Sends `delivery` once; a 2xx answer returns its body. Latency and failures are counted; failures are
    /// logged in plain words once per URL, then at most once a minute ([`failure_notice`]).
    pub async fn send(&self, target: &HookTarget, delivery: &Delivery) -> Result<Bytes, HookError> {
        let started = std::time::Instant::now();
        let result = self.send_once(target, delivery).await;
        let took = started.elapsed();
        target.metrics.observe(delivery.event, took);
        target.url_stats.record(took, result.is_err());
        match &result {
            Ok(_) => {
                if let Some(notice) = self.notices.succeeded(target.url().as_str()) {
                    failure_notice::log(notice, &target.url.redacted(), delivery.event, "");
                }
            }
            Err(error) => {
                target.metrics.failed(delivery.event);
                let now = std::time::Instant::now();
                if let Some(notice) = self.notices.failed(target.url().as_str(), now) {
                    let words = plain_words::describe(error, target.timeout);
                    failure_notice::log(notice, &target.url.redacted(), delivery.event, &words);
                }
            }
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
        let secrets = target.secrets.as_slice();
        let signature =
            (!secrets.is_empty()).then(|| signature_header(secrets, timestamp, &delivery.body));
        let mut headers = [
            ("x-iogate-event", delivery.event),
            ("x-iogate-delivery", delivery.id.as_str()),
            ("x-iogate-signature", ""),
        ];
        let headers = match &signature {
            Some(signature) => {
                headers[2].1 = signature;
                &headers[..]
            }
            None => &headers[..2],
        };
        let request = Request {
            headers,
            body: &delivery.body,
            timeout: target.timeout,
        };
        let response = self
            .http
            .send(&target.endpoint, &request)
            .await
            .map_err(HookError::Transport)?;
        if !response.is_success() {
            return Err(HookError::Status(response.status));
        }
        Ok(response.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::EndpointMetrics;

    #[test]
    fn a_target_formats_without_its_secrets_or_url_credentials() {
        let client = HookClient::new().unwrap();
        for url in [
            "http://user:url-PASSWORD@h/hook",
            "https://user:url-PASSWORD@h/hook",
        ] {
            let secrets = ["signing-SECRET".to_string()].into_iter().collect();
            let metrics = EndpointMetrics::detached().hooks;
            let target = client
                .target(url, secrets, Duration::from_secs(1), metrics)
                .unwrap();
            let printed = format!("{target:?}");
            assert!(!printed.contains("SECRET"), "{printed}");
            assert!(!printed.contains("PASSWORD"), "{printed}");
            assert!(printed.contains("h/hook"), "{printed}");
            // What is sent still carries both.
            assert_eq!(target.url().password(), Some("url-PASSWORD"));
            assert_eq!(target.secrets.as_slice()[0].expose(), "signing-SECRET");
        }
    }

    #[test]
    fn text_urls_are_refused_as_the_config_refuses_them() {
        let client = HookClient::new().unwrap();
        let refusal = |url: &str| {
            let metrics = EndpointMetrics::detached().hooks;
            match client.target(url, Secrets::default(), Duration::from_secs(1), metrics) {
                Ok(_) => panic!("accepted {url}"),
                Err(message) => message,
            }
        };
        assert_eq!(
            refusal("ftp://h/"),
            "\"ftp://h/\" must be an http or https URL"
        );
        assert_eq!(
            refusal("nope"),
            "\"nope\" is not a URL (relative URL without a base)"
        );
    }
}
