//! Which browser origins may open a session or a WebSocket: cross-site WebSocket hijacking is refused here.
//!
//! A browser sends `Origin` on every WebSocket handshake and CORS request, and no CORS rule stops a page on
//! another site from opening a WebSocket (or loading a JSONP script) with the user's cookies. So the requests
//! that open something (handshakes, WebSocket upgrades, Socket.IO 0.9 handshakes and WebSockets) are checked:
//! the origin's host is the host the request was sent to (same site), or `cors_origins` lists the origin (or
//! holds `"*"`). Socket.IO 0.9 requests, which browsers may make without an
//! `Origin`, are checked on their `Referer`; JSONP requests, which only browsers make (script tags, which carry
//! no `Origin`), must name their page in `Referer`, unless any origin is allowed. Other requests with neither
//! header (not a browser) are not checked.

use super::cors::Cors;
use http::HeaderMap;
use http::header::{HOST, ORIGIN, REFERER};

/// How a request shows where a browser made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// By `Origin` (WebSocket handshakes, XHR and fetch): without one, not a browser.
    ByOrigin,
    /// By `Origin`, else `Referer` (Socket.IO 0.9 pages and clients): with neither, not a browser.
    ByReferer,
    /// A JSONP script: by `Origin`, else `Referer`; with neither, refused unless any origin is allowed.
    ByScript,
}

/// Whether the request with `headers`, which shows its page as `shown`, may open a session or WebSocket on an
/// endpoint with `cors`. `forwarded_host`: whether `X-Forwarded-Host` is believed (a trusted proxy sent it).
pub fn allowed(
    cors: Option<&Cors>,
    headers: &HeaderMap,
    shown: Shown,
    forwarded_host: bool,
) -> bool {
    let Some(origin) = request_origin(headers, shown != Shown::ByOrigin) else {
        return shown != Shown::ByScript || cors.is_some_and(Cors::allows_any);
    };
    // A page of the site the request was sent to is never cross-site, whatever the list says (non-browser clients
    // such as python-socketio's WebSocket library name the server they connect to as their origin).
    cors.is_some_and(|cors| cors.allows(&origin)) || same_host(&origin, headers, forwarded_host)
}

/// Whether `origin` names the host the request was sent to.
fn same_host(origin: &str, headers: &HeaderMap, forwarded_host: bool) -> bool {
    let Some(origin_host) = host_of_origin(origin) else {
        return false;
    };
    served_hosts(headers, forwarded_host).any(|host| host.eq_ignore_ascii_case(origin_host))
}

/// The origin a browser named: `Origin`, else (when allowed) the scheme and authority of `Referer`.
fn request_origin(headers: &HeaderMap, by_referer: bool) -> Option<String> {
    if let Some(origin) = headers.get(ORIGIN) {
        return Some(String::from_utf8_lossy(origin.as_bytes()).into_owned());
    }
    if !by_referer {
        return None;
    }
    let referer = headers.get(REFERER)?.to_str().ok()?;
    let (scheme, rest) = referer.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    Some(format!("{scheme}://{authority}"))
}

/// The host name of an origin `scheme://host[:port]` (brackets kept for IPv6; old WebSocket clients, such as
/// Socket.IO 0.9's, send `host:port` alone); `None` for `null` and the like.
fn host_of_origin(origin: &str) -> Option<&str> {
    if origin.eq_ignore_ascii_case("null") {
        return None;
    }
    let authority = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    let authority = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    Some(strip_port(authority)).filter(|host| !host.is_empty())
}

/// The host names the request was addressed to: `Host`, and `X-Forwarded-Host` from a trusted proxy (which may
/// have rewritten `Host`). Ports are left out: a proxy's `$host` drops them.
fn served_hosts(headers: &HeaderMap, forwarded_host: bool) -> impl Iterator<Item = &str> {
    let host = headers.get(HOST).into_iter();
    let forwarded = headers
        .get("x-forwarded-host")
        .filter(|_| forwarded_host)
        .into_iter();
    host.chain(forwarded)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|host| strip_port(host.trim()))
}

/// `host:port` -> `host`; `[v6]:port` -> `[v6]`.
fn strip_port(authority: &str) -> &str {
    if authority.starts_with('[') {
        return authority
            .find(']')
            .map_or(authority, |end| &authority[..=end]);
    }
    authority
        .rsplit_once(':')
        .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
        .map_or(authority, |(host, _)| host)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    fn listed(origins: &[&str]) -> Cors {
        let origins: Vec<String> = origins.iter().map(|o| o.to_string()).collect();
        Cors::from_config(Some(&origins)).unwrap()
    }

    #[test]
    fn the_served_host_itself_is_allowed_beside_the_list() {
        // python-socketio's WebSocket library sends the server's own address as its Origin.
        let cors = listed(&["https://app.example.com"]);
        let own = headers(&[
            ("origin", "http://127.0.0.1:8080"),
            ("host", "127.0.0.1:8080"),
        ]);
        assert!(allowed(Some(&cors), &own, Shown::ByOrigin, false));
    }

    #[test]
    fn listed_origins_and_star() {
        let cors = listed(&["https://app.example.com"]);
        let good = headers(&[("origin", "https://app.example.com")]);
        let evil = headers(&[("origin", "https://evil.example")]);
        assert!(allowed(Some(&cors), &good, Shown::ByOrigin, false));
        assert!(!allowed(Some(&cors), &evil, Shown::ByOrigin, false));
        assert!(allowed(
            Some(&listed(&["*"])),
            &evil,
            Shown::ByOrigin,
            false
        ));
        assert!(
            allowed(Some(&cors), &headers(&[]), Shown::ByOrigin, false),
            "not a browser"
        );
    }

    #[test]
    fn without_cors_origins_only_the_same_host() {
        let same = headers(&[
            ("origin", "http://chat.example:8443"),
            ("host", "chat.example"),
        ]);
        assert!(allowed(None, &same, Shown::ByOrigin, false));
        let other = headers(&[
            ("origin", "https://evil.example"),
            ("host", "chat.example:80"),
        ]);
        assert!(!allowed(None, &other, Shown::ByOrigin, false));
        let null = headers(&[("origin", "null"), ("host", "chat.example")]);
        assert!(!allowed(None, &null, Shown::ByOrigin, false));
        let bare = headers(&[("origin", "127.0.0.1:8080"), ("host", "127.0.0.1:8080")]);
        assert!(
            allowed(None, &bare, Shown::ByOrigin, false),
            "the scheme-less origin of Socket.IO 0.9's WebSocket client"
        );
        let v6 = headers(&[("origin", "http://[::1]:3000"), ("host", "[::1]:8080")]);
        assert!(allowed(None, &v6, Shown::ByOrigin, false));
        let rewritten = headers(&[
            ("origin", "https://chat.example"),
            ("host", "localhost:8080"),
            ("x-forwarded-host", "chat.example"),
        ]);
        assert!(allowed(None, &rewritten, Shown::ByOrigin, true));
        assert!(
            !allowed(None, &rewritten, Shown::ByOrigin, false),
            "X-Forwarded-Host from anyone but a trusted proxy is not believed"
        );
    }

    #[test]
    fn jsonp_and_socketio09_are_checked_on_their_referer() {
        let cors = listed(&["https://app.example.com"]);
        let good = headers(&[("referer", "https://app.example.com/page?x=1")]);
        let evil = headers(&[("referer", "https://evil.example/attack.html")]);
        for shown in [Shown::ByReferer, Shown::ByScript] {
            assert!(allowed(Some(&cors), &good, shown, false));
            assert!(!allowed(Some(&cors), &evil, shown, false));
        }
        assert!(
            allowed(Some(&cors), &evil, Shown::ByOrigin, false),
            "a Referer alone does not count where browsers send Origin"
        );
        let same = headers(&[
            ("referer", "http://chat.example/"),
            ("host", "chat.example"),
        ]);
        assert!(allowed(None, &same, Shown::ByReferer, false));
    }

    #[test]
    fn a_jsonp_script_must_name_its_page_unless_any_origin_is_allowed() {
        let nothing = headers(&[("host", "chat.example")]);
        let cors = listed(&["https://app.example.com"]);
        assert!(!allowed(Some(&cors), &nothing, Shown::ByScript, false));
        assert!(!allowed(None, &nothing, Shown::ByScript, false));
        assert!(allowed(
            Some(&listed(&["*"])),
            &nothing,
            Shown::ByScript,
            false
        ));
        assert!(
            allowed(Some(&cors), &nothing, Shown::ByReferer, false),
            "a 0.9 client that is not a browser"
        );
    }
}
