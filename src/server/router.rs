//! What a request on the public listener is, read once when it is routed ([`Route`]), and matching request paths
//! to endpoints: `/p` and `/p/...` match `/p`; `/pX` does not.

use super::health::Probe;
use crate::engineio::sio09::Sio09Route;
use crate::engineio::{EngineRequest, Query};

/// What a request on the public listener is, from its method, path and query, each read once.
#[derive(Debug)]
pub enum Route {
    /// A health probe.
    Health(Probe),
    /// No endpoint serves the path.
    NotFound,
    /// A CORS preflight (`OPTIONS`) to the endpoint at this index, which has a CORS policy.
    Preflight(usize),
    /// A request to the endpoint at this index.
    Endpoint(usize, EndpointRequest),
}

/// A request to an endpoint, with its query decoded.
#[derive(Debug)]
pub enum EndpointRequest {
    /// An Engine.IO request.
    EngineIo(Query, EngineRequest),
    /// A Socket.IO 0.9 request (under `/{resource}/1`).
    Sio09(Query, Sio09Request),
}

/// A request under a Socket.IO 0.9 resource's `/{resource}/1`.
#[derive(Debug)]
pub struct Sio09Request {
    /// What the path after `/{resource}/1` asks for (`None`: nothing 0.9 clients ask for).
    pub route: Option<Sio09Route>,
    /// Whether that path is only slashes: a handshake, as far as origins and session limits go.
    pub handshake: bool,
}

impl Sio09Request {
    /// The request whose path after `/{resource}/1` is `rest`.
    pub fn read(rest: &str) -> Self {
        Self {
            route: Sio09Route::parse(rest),
            handshake: rest.trim_end_matches('/').is_empty(),
        }
    }
}

impl EndpointRequest {
    /// Whether the request would open a session.
    pub fn is_handshake(&self) -> bool {
        match self {
            Self::EngineIo(_, request) => request.is_handshake(),
            Self::Sio09(_, request) => request.handshake,
        }
    }

    /// Whether this is a Socket.IO 0.9 request.
    pub fn is_sio09(&self) -> bool {
        matches!(self, Self::Sio09(..))
    }

    /// Whether the request asks for JSONP (Engine.IO v3 `j=`, 0.9 `jsonp=`): browsers send it without `Origin`.
    pub fn is_jsonp(&self) -> bool {
        match self {
            Self::EngineIo(query, _) => query.get("j").is_some(),
            Self::Sio09(query, _) => query.get("jsonp").is_some(),
        }
    }
}

/// Whether `path` belongs to the endpoint whose normalized resource path is `base`.
pub fn matches(base: &str, path: &str) -> bool {
    if base == "/" {
        return true;
    }
    match path.strip_prefix(base) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

/// The index of the endpoint `path` belongs to; the longest matching base wins.
pub fn find<'a>(bases: impl IntoIterator<Item = &'a str>, path: &str) -> Option<usize> {
    bases
        .into_iter()
        .enumerate()
        .filter(|(_, base)| matches(base, path))
        .max_by_key(|(_, base)| base.len())
        .map(|(index, _)| index)
}

/// For a Socket.IO 0.9 request (`{base}/1` or `{base}/1/...`, `base` being the endpoint's `/{resource}`), the
/// rest of the path after `/1`; `None` for any other path.
pub fn sio09_rest<'a>(base: &str, path: &'a str) -> Option<&'a str> {
    let base = if base == "/" { "" } else { base };
    let rest = path.strip_prefix(base)?.strip_prefix("/1")?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sio09_paths_are_the_resource_then_protocol_1() {
        assert_eq!(sio09_rest("/socket.io", "/socket.io/1/"), Some("/"));
        assert_eq!(
            sio09_rest("/myApp/server.js", "/myApp/server.js/1/xhr-polling/abc"),
            Some("/xhr-polling/abc")
        );
        assert_eq!(sio09_rest("/socket.io", "/socket.io/1"), Some(""));
        assert_eq!(sio09_rest("/", "/1/"), Some("/"));
        assert_eq!(sio09_rest("/socket.io", "/socket.io/"), None);
        assert_eq!(sio09_rest("/socket.io", "/socket.io/12/"), None);
        assert_eq!(sio09_rest("/socket.io", "/socket.iox/1/"), None);
    }

    #[test]
    fn matches_exact_and_subpaths_only() {
        assert!(matches("/p", "/p"));
        assert!(matches("/p", "/p/"));
        assert!(matches("/p", "/p/x/y"));
        assert!(!matches("/p", "/pX"));
        assert!(!matches("/p", "/"));
        assert!(!matches("/myApp/socket", "/myApp/socketX/"));
    }

    #[test]
    fn longest_base_wins() {
        let bases = ["/a", "/a/b"];
        assert_eq!(find(bases, "/a/b/"), Some(1));
        assert_eq!(find(bases, "/a/c"), Some(0));
        assert_eq!(find(bases, "/c"), None);
    }
}
