//! `https://` URLs (and any other the own HTTP/1.1 client is not given) go through reqwest with rustls: no proxy,
//! no redirects followed, `TCP_NODELAY`, the same idle pool limits and response body limit as the own client.

use crate::MAX_BODY_BYTES;
use crate::pool::{IDLE_TIMEOUT, MAX_IDLE_PER_BACKEND};
use crate::transport::{ErrorClass, HookTransport, NoHost, Request, Response, SendError};
use bytes::Bytes;
use reqwest::Url;
use std::sync::Arc;

/// The reqwest client (TLS through rustls), with its own connection pool.
#[derive(Debug, Clone)]
pub struct HttpsClient {
    http: reqwest::Client,
}

/// One URL for [`HttpsClient`]; `Debug` shows it without credentials.
pub struct HttpsTarget {
    url: Url,
    /// The URL as text without credentials, for error messages.
    shown_as: String,
}

impl std::fmt::Debug for HttpsTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpsTarget")
            .field("url", &self.shown_as)
            .finish()
    }
}

impl HttpsClient {
    /// A client whose requests say `user-agent: <user_agent>`; fails only when TLS cannot be set up.
    pub fn new(user_agent: &str) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .no_proxy()
            // A signed webhook is not re-sent elsewhere: a 3xx answer is a failure like any non-2xx.
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(IDLE_TIMEOUT)
            .pool_max_idle_per_host(MAX_IDLE_PER_BACKEND)
            .tcp_nodelay(true)
            .user_agent(user_agent)
            .build()
            .map_err(|e| format!("cannot build the webhook HTTP client: {e}"))?;
        Ok(Self { http })
    }
}

impl HookTransport for HttpsClient {
    type Target = Arc<HttpsTarget>;

    fn target(&self, url: &Url, shown_as: &str) -> Result<Self::Target, NoHost> {
        if url.host_str().is_none() {
            return Err(NoHost(shown_as.to_string()));
        }
        Ok(Arc::new(HttpsTarget {
            url: url.clone(),
            shown_as: shown_as.to_string(),
        }))
    }

    async fn send(
        &self,
        target: &Self::Target,
        request: &Request<'_>,
    ) -> Result<Response, SendError> {
        let mut builder = self
            .http
            .post(target.url.clone())
            .timeout(request.timeout)
            .header("content-type", "application/json");
        for &(name, value) in request.headers {
            builder = builder.header(name, value);
        }
        let mut response = builder
            .body(request.body.clone())
            .send()
            .await
            .map_err(|error| classify(error, &target.shown_as))?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            return Ok(Response {
                status,
                body: Bytes::new(),
            });
        }
        let too_large = || {
            SendError::new(
                ErrorClass::TooLarge,
                format!(
                    "POST {}: response body larger than the limit of {} MiB",
                    target.shown_as,
                    MAX_BODY_BYTES / (1024 * 1024)
                ),
            )
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
            .map_err(|error| classify(error, &target.shown_as))?
        {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(too_large());
            }
            if body.is_empty() && response.content_length() == Some(chunk.len() as u64) {
                return Ok(Response {
                    status,
                    body: chunk,
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response {
            status,
            body: Bytes::from(body),
        })
    }
}

/// reqwest's error in the classes of [`ErrorClass`], described as `POST <url>: ` and reqwest's message followed by
/// its causes (a TLS handshake failure is only named by a cause), the URL shown as `shown_as` (without credentials).
fn classify(error: reqwest::Error, shown_as: &str) -> SendError {
    let class = if error.is_timeout() {
        ErrorClass::Timeout
    } else if error.is_connect() {
        ErrorClass::Connect
    } else if error.is_body() || error.is_request() {
        ErrorClass::Interrupted
    } else if error.is_decode() {
        ErrorClass::Malformed
    } else {
        ErrorClass::Other
    };
    let error = error.without_url();
    let mut message = format!("POST {shown_as}: {error}");
    let mut cause = std::error::Error::source(&error);
    while let Some(inner) = cause {
        message.push_str(": ");
        message.push_str(&inner.to_string());
        cause = inner.source();
    }
    SendError::new(class, message)
}
