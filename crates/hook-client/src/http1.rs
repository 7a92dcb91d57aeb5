//! The own HTTP/1.1 client for `http://` URLs: one POST per call over pooled keep-alive connections.
//!
//! The URL is taken apart once, when the target is built: the address to connect to and the start of every request
//! head. A call takes the most recently idle connection (or opens one), writes the request in one vectored write,
//! reads the response (`pooled_connection.rs`) and puts the connection back if it can carry another request. A pooled
//! connection is checked without waiting before it is reused, and before it goes back into the pool: one on which
//! the backend sent anything since the last response (stray bytes, or the end of the stream) is closed, so those
//! bytes are never read as the next request's answer. A reused connection the backend closed after that check
//! (closed or reset before any byte of the answer) is replaced by a new one and the request is sent again, once,
//! within the same call: webhooks are delivered at least once anyway, and the delivery id stays the same.

use crate::codec::request::HeadPrefix;
use crate::pool::{Pool, Pooled};
use crate::pooled_connection::{Answer, ExchangeError, Idle, PooledConnection};
use crate::transport::{ErrorClass, HookTransport, NoHost, Request, Response, SendError};
use reqwest::Url;
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

/// The HTTP/1.1 client: one pool of idle connections per backend `host:port`, shared by every target there.
#[derive(Debug, Clone)]
pub struct Http1Client {
    pools: Arc<Mutex<HashMap<String, Pool>>>,
    user_agent: Arc<str>,
}

impl Http1Client {
    /// A client whose requests say `user-agent: <user_agent>`.
    pub fn new(user_agent: &str) -> Self {
        Self {
            pools: Arc::default(),
            user_agent: user_agent.into(),
        }
    }

    /// Idle keep-alive connections held for `host:port` (`host` as the URL spells it).
    pub fn idle_connections(&self, host_port: &str) -> usize {
        let pools = self.pools.lock().unwrap_or_else(|p| p.into_inner());
        pools.get(host_port).map_or(0, Pool::idle)
    }
}

impl HookTransport for Http1Client {
    type Target = Arc<Http1Target>;

    fn target(&self, url: &Url, shown_as: &str) -> Result<Self::Target, NoHost> {
        let no_host = || NoHost(shown_as.to_string());
        let pool = pool_key(url)
            .map(|key| {
                let mut pools = self.pools.lock().unwrap_or_else(|p| p.into_inner());
                pools.entry(key).or_default().clone()
            })
            .ok_or_else(no_host)?;
        Http1Target::new(url, shown_as, &self.user_agent, pool)
            .map(Arc::new)
            .ok_or_else(no_host)
    }

    async fn send(
        &self,
        target: &Self::Target,
        request: &Request<'_>,
    ) -> Result<Response, SendError> {
        target.post(request).await
    }
}

/// The key of the pool a URL's connections share: `host:port`.
fn pool_key(url: &Url) -> Option<String> {
    Some(format!(
        "{}:{}",
        url.host_str()?,
        url.port_or_known_default()?
    ))
}

/// Where a target's connections go.
#[derive(Debug, Clone)]
enum Address {
    /// An IP literal, used as is.
    Ip(SocketAddr),
    /// A host name, resolved for every new connection (as the system resolver answers, caches included).
    Name(String, u16),
}

/// One `http://` URL, parsed for sending; `Debug` shows it without credentials.
pub struct Http1Target {
    address: Address,
    prefix: HeadPrefix,
    pool: Pool,
    /// The URL as text without credentials, for error messages.
    url: String,
}

impl std::fmt::Debug for Http1Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http1Target")
            .field("url", &self.url)
            .field("address", &self.address)
            .field("pool", &self.pool)
            .finish()
    }
}

impl Http1Target {
    /// The target for `url`, an `http://` URL with a host; `pool` holds the idle connections to its `host:port`.
    fn new(url: &Url, shown_as: &str, user_agent: &str, pool: Pool) -> Option<Self> {
        let port = url.port_or_known_default()?;
        let host = url.host_str()?;
        // IPv6 literals come in brackets.
        let literal = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
        let address = match literal.unwrap_or(host).parse::<IpAddr>() {
            Ok(ip) => Address::Ip(SocketAddr::new(ip, port)),
            Err(_) => Address::Name(host.to_string(), port),
        };
        Some(Self {
            address,
            prefix: HeadPrefix::new(url, user_agent)?,
            pool,
            url: shown_as.to_string(),
        })
    }

    /// POSTs the request and returns the status and, for a 2xx answer, the body; the whole call (connecting
    /// included) takes at most the request's timeout. Errors are described for the log, naming the URL.
    async fn post(&self, request: &Request<'_>) -> Result<Response, SendError> {
        let call = self.call(request.headers, request.body);
        match tokio::time::timeout(request.timeout, call).await {
            Ok(Ok(answer)) => Ok(Response {
                status: answer.status,
                body: answer.body,
            }),
            Ok(Err(error)) => Err(SendError::new(
                error.class(),
                format!("POST {}: {error}", self.url),
            )),
            Err(_) => Err(SendError::new(
                ErrorClass::Timeout,
                format!(
                    "POST {}: no answer within {}",
                    self.url,
                    humantime::format_duration(request.timeout)
                ),
            )),
        }
    }

    async fn call(&self, headers: &[(&str, &str)], body: &[u8]) -> Result<Answer, SendError> {
        if let Some(mut pooled) = self.checkout() {
            let exchanged = pooled.conn.exchange(&self.prefix, headers, body).await;
            match exchanged {
                Ok(answer) => return Ok(self.keep(pooled.conn, answer)),
                Err(ExchangeError::Closed(error)) => {
                    // An I/O error of this connection's own socket (no text a backend sent): displayed as is.
                    tracing::debug!(url = %self.url, %error, "idle webhook connection was closed by the backend; sending on a new one");
                    drop(pooled.conn);
                    self.pool.forget_idle_since(pooled.idle_since);
                }
                Err(ExchangeError::Failed(error)) => return Err(error),
            }
        }
        let mut conn = self.connect().await.map_err(|error| {
            SendError::new(ErrorClass::Connect, format!("cannot connect: {error}"))
        })?;
        match conn.exchange(&self.prefix, headers, body).await {
            Ok(answer) => Ok(self.keep(conn, answer)),
            Err(ExchangeError::Closed(error)) if error.kind() == io::ErrorKind::UnexpectedEof => {
                Err(SendError::new(
                    ErrorClass::Closed,
                    "connection closed before any response",
                ))
            }
            Err(ExchangeError::Closed(error)) => Err(SendError::new(
                ErrorClass::Closed,
                format!("connection lost before any response: {error}"),
            )),
            Err(ExchangeError::Failed(error)) => Err(error),
        }
    }

    /// The most recently idle pooled connection that can carry a request. Those on which the backend sent
    /// something while they were idle are closed on the way (with the ones idle longer, when it closed them).
    fn checkout(&self) -> Option<Pooled> {
        while let Some(pooled) = self.pool.checkout() {
            match pooled.conn.idle_state() {
                Idle::Quiet => return Some(pooled),
                Idle::Closed(how) => {
                    tracing::debug!(url = %self.url, %how, "idle webhook connection was closed by the backend; not reused");
                    drop(pooled.conn);
                    self.pool.forget_idle_since(pooled.idle_since);
                }
                Idle::Stray(what) => {
                    tracing::debug!(url = %self.url, %what, "idle webhook connection received bytes no request asked for; closed, not reused");
                }
            }
        }
        None
    }

    /// Puts `conn` back in the pool if `answer` left it able to carry another request and nothing followed the
    /// answer.
    fn keep(&self, conn: PooledConnection, answer: Answer) -> Answer {
        if answer.reusable {
            match conn.idle_state() {
                Idle::Quiet => self.pool.put_back(conn),
                Idle::Closed(how) => {
                    tracing::debug!(url = %self.url, %how, "webhook connection closed by the backend after its answer");
                }
                Idle::Stray(what) => {
                    tracing::debug!(url = %self.url, %what, "webhook answer followed by bytes no request asked for; connection closed");
                }
            }
        }
        answer
    }

    async fn connect(&self) -> io::Result<PooledConnection> {
        match &self.address {
            Address::Ip(address) => PooledConnection::connect(std::slice::from_ref(address)).await,
            Address::Name(host, port) => {
                let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), *port))
                    .await?
                    .collect();
                if addresses.is_empty() {
                    return Err(io::Error::new(
                        io::ErrorKind::NotFound,
                        format!("{host} has no address"),
                    ));
                }
                PooledConnection::connect(&addresses).await
            }
        }
    }
}
