//! The chat page on the demo's public listener: `/` and its script and style, embedded in the binary. Every other
//! request goes to the front door. Only `iogate demo` serves it.

use crate::engineio::ConnInfo;
use crate::engineio::http::{Body, RequestBody, complete};
use crate::server::endpoint::ResponseFuture;
use crate::server::limits::Gate;
use crate::server::{FrontDoor, HttpHandler};
use http::header::HeaderValue;
use http::{Method, Request, Response};
use std::net::IpAddr;
use std::sync::Arc;

/// The page's files: path, content type, text.
const FILES: &[(&str, &str, &str)] = &[
    (
        "/",
        "text/html; charset=utf-8",
        include_str!("assets/index.html"),
    ),
    (
        "/demo/chat.css",
        "text/css; charset=utf-8",
        include_str!("assets/chat.css"),
    ),
    (
        "/demo/client.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/client.js"),
    ),
    (
        "/demo/chat.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/chat.js"),
    ),
];

/// The page asks for nothing outside this origin.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; connect-src 'self' ws: wss:";

/// The public listener's handler in the demo: the page's files, then the front door.
pub struct PageDoor {
    front: Arc<FrontDoor>,
}

impl PageDoor {
    /// Serves the page in front of `front`.
    pub fn new(front: Arc<FrontDoor>) -> Arc<Self> {
        Arc::new(Self { front })
    }
}

/// The page file at `path`, for a `GET` or `HEAD`.
fn file(method: &Method, path: &str) -> Option<Response<Body>> {
    if method != Method::GET && method != Method::HEAD {
        return None;
    }
    let path = if path == "/index.html" { "/" } else { path };
    let (_, content_type, text) = FILES.iter().find(|(at, _, _)| *at == path)?;
    let mut response = complete(200, content_type, *text);
    response.headers_mut().insert(
        "content-security-policy",
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    Some(response)
}

impl HttpHandler for PageDoor {
    fn serve(&self, req: Request<RequestBody>, conn: ConnInfo) -> ResponseFuture<'_> {
        match file(req.method(), req.uri().path()) {
            Some(response) => Box::pin(std::future::ready(response)),
            None => self.front.serve(req, conn),
        }
    }

    fn gate(&self) -> &Arc<Gate> {
        self.front.gate()
    }

    fn is_trusted_proxy(&self, peer: IpAddr) -> bool {
        self.front.is_trusted_proxy(peer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_and_its_files_are_served_and_nothing_else() {
        let page = file(&Method::GET, "/").unwrap();
        assert_eq!(page.status(), 200);
        assert!(file(&Method::GET, "/demo/client.js").is_some());
        assert!(file(&Method::POST, "/").is_none());
        assert!(file(&Method::GET, "/socket.io/").is_none());
        assert!(file(&Method::GET, "/demo/").is_none());
    }

    #[test]
    fn the_page_loads_nothing_from_elsewhere() {
        for (path, _, text) in FILES {
            assert!(!text.contains("http://"), "{path}");
            assert!(!text.contains("https://"), "{path}");
        }
    }
}
