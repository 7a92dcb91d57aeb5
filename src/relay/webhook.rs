//! Sending webhooks: headers, signatures, timeouts (retries of those that must arrive: `retry.rs`).

use super::hook_conn::MAX_BODY_BYTES;
use super::hook_http1::Http1Target;
use super::hook_pool::{IDLE_TIMEOUT, MAX_IDLE_PER_BACKEND, Pool};
use super::hook_request::USER_AGENT;
use super::signing::signature_header;
use crate::config::{Secrets, WebhookUrl};
use crate::metrics::HookMetrics;
use bytes::Bytes;
use rand::RngCore;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::Notify;

/// Where and how one endpoint's webhooks are sent; built by [`HookClient::target`].
#[derive(Debug, Clone)]
pub struct HookTarget {
    /// The URL POSTed to.
    url: WebhookUrl,
    /// `http://` URLs: the URL parsed for iogate's own HTTP/1.1 client (`https://` goes through reqwest).
    http1: Option<Arc<Http1Target>>,
    /// Secrets that sign each request (none = unsigned); never printed.
    pub secrets: Secrets,
    /// Time allowed for one call.
    pub timeout: Duration,
    /// Latency, failure and retry metrics of the endpoint.
    pub metrics: HookMetrics,
}

impl HookTarget {
    /// The URL POSTed to.
    pub fn url(&self) -> &reqwest::Url {
        self.url.as_url()
    }
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
/// `http://` URLs are sent by iogate's own HTTP/1.1 client (`hook_http1.rs`), with one pool of keep-alive
/// connections per backend `host:port`; `https://` URLs by reqwest (TLS). Both: no proxy, no redirects followed,
/// `TCP_NODELAY`, at most [`MAX_IDLE_PER_BACKEND`] idle connections per backend, closed after 60 s idle, response
/// bodies up to [`MAX_BODY_BYTES`].
#[derive(Clone)]
pub struct HookClient {
    http: reqwest::Client,
    pools: Arc<Mutex<HashMap<String, Pool>>>,
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
            .pool_idle_timeout(IDLE_TIMEOUT)
            .pool_max_idle_per_host(MAX_IDLE_PER_BACKEND)
            .tcp_nodelay(true)
            .user_agent(USER_AGENT)
            .build()
            .map_err(|e| format!("cannot build the webhook HTTP client: {e}"))?;
        Ok(Self {
            http,
            pools: Arc::default(),
            busy: Arc::default(),
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
        let http1 = if url.is_https() {
            None
        } else {
            let no_host = || format!("{} has no host", url.redacted());
            let pool = Http1Target::pool_key(url.as_url())
                .map(|key| {
                    let mut pools = self.pools.lock().unwrap_or_else(|p| p.into_inner());
                    pools.entry(key).or_default().clone()
                })
                .ok_or_else(no_host)?;
            Some(Arc::new(Http1Target::new(&url, pool).ok_or_else(no_host)?))
        };
        Ok(HookTarget {
            url,
            http1,
            secrets,
            timeout,
            metrics,
        })
    }

    /// Idle keep-alive connections held for `http://` targets on `host:port` (`host` as the URL spells it).
    pub fn idle_connections(&self, host_port: &str) -> usize {
        let pools = self.pools.lock().unwrap_or_else(|p| p.into_inner());
        pools.get(host_port).map_or(0, Pool::idle)
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
        let secrets = target.secrets.as_slice();
        let signature =
            (!secrets.is_empty()).then(|| signature_header(secrets, timestamp, &delivery.body));
        let Some(http1) = &target.http1 else {
            return self.send_reqwest(target, delivery, signature).await;
        };
        let (status, body) = http1
            .post(
                delivery.event,
                &delivery.id,
                signature.as_deref(),
                &delivery.body,
                target.timeout,
            )
            .await
            .map_err(HookError::Transport)?;
        if !(200..300).contains(&status) {
            return Err(HookError::Status(status));
        }
        Ok(body)
    }

    /// Sends through reqwest (`https://` targets).
    async fn send_reqwest(
        &self,
        target: &HookTarget,
        delivery: &Delivery,
        signature: Option<String>,
    ) -> Result<Bytes, HookError> {
        let mut request = self
            .http
            .post(target.url.as_url().clone())
            .timeout(target.timeout)
            .header("content-type", "application/json")
            .header("x-iogate-event", delivery.event)
            .header("x-iogate-delivery", &delivery.id);
        if let Some(signature) = signature {
            request = request.header("x-iogate-signature", signature);
        }
        let mut response = request
            .body(delivery.body.clone())
            .send()
            .await
            .map_err(|e| HookError::Transport(e.to_string()))?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(HookError::Status(status));
        }
        let too_large = || {
            HookError::Transport(format!(
                "POST {}: response body larger than the limit of {} MiB",
                target.url.redacted(),
                MAX_BODY_BYTES / (1024 * 1024)
            ))
        };
        if response
            .content_length()
            .is_some_and(|n| n > MAX_BODY_BYTES as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| HookError::Transport(e.to_string()))?
        {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(too_large());
            }
            if body.is_empty() && response.content_length() == Some(chunk.len() as u64) {
                return Ok(chunk);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Bytes::from(body))
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
