//! One client for every webhook URL: `http://` through the own HTTP/1.1 client, `https://` through reqwest.

use crate::http1::{Http1Client, Http1Target};
use crate::https::{HttpsClient, HttpsTarget};
use crate::transport::{HookTransport, NoHost, Request, Response, SendError};
use reqwest::Url;
use std::sync::Arc;

/// Both clients; a target is sent through the one its URL's scheme needs.
#[derive(Debug, Clone)]
pub struct HttpClient {
    http1: Http1Client,
    https: HttpsClient,
}

/// A URL prepared by [`HttpClient`].
#[derive(Debug, Clone)]
pub enum Endpoint {
    /// An `http://` URL, sent by [`Http1Client`].
    Http1(Arc<Http1Target>),
    /// An `https://` URL, sent by [`HttpsClient`].
    Https(Arc<HttpsTarget>),
}

impl HttpClient {
    /// Both clients, their requests saying `user-agent: <user_agent>`; fails only when TLS cannot be set up.
    pub fn new(user_agent: &str) -> Result<Self, String> {
        Ok(Self {
            http1: Http1Client::new(user_agent),
            https: HttpsClient::new(user_agent)?,
        })
    }

    /// Idle keep-alive connections held for `http://` URLs on `host:port` (`host` as the URL spells it).
    pub fn idle_connections(&self, host_port: &str) -> usize {
        self.http1.idle_connections(host_port)
    }
}

impl HookTransport for HttpClient {
    type Target = Endpoint;

    fn target(&self, url: &Url, shown_as: &str) -> Result<Endpoint, NoHost> {
        if url.scheme() == "https" {
            self.https.target(url, shown_as).map(Endpoint::Https)
        } else {
            self.http1.target(url, shown_as).map(Endpoint::Http1)
        }
    }

    async fn send(&self, target: &Endpoint, request: &Request<'_>) -> Result<Response, SendError> {
        match target {
            Endpoint::Http1(target) => self.http1.send(target, request).await,
            Endpoint::Https(target) => self.https.send(target, request).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_scheme_goes_through_its_client() {
        let client = HttpClient::new("agent/1").unwrap();
        let target = |url: &str| client.target(&Url::parse(url).unwrap(), url).unwrap();
        assert!(matches!(target("http://h/hook"), Endpoint::Http1(_)));
        assert!(matches!(target("https://h/hook"), Endpoint::Https(_)));
        assert_eq!(client.idle_connections("h:80"), 0);
    }
}
