//! Encoding a response head the way hyper frames it: status line, the handler's headers, the keep-alive fix-ups
//! for the client's HTTP version, `content-length`, `date`.

use crate::has_token;
use http::header::{CONNECTION, CONTENT_LENGTH, DATE, TRANSFER_ENCODING};
use http::{HeaderMap, Method, StatusCode, Version};
use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

/// How the response is framed on the wire, decided from the request.
#[derive(Debug, Clone, Copy)]
pub struct Framing {
    /// The request was `HEAD`: the body is described, not sent.
    pub head_request: bool,
    /// The client speaks HTTP/1.0: answer in HTTP/1.0.
    pub http10: bool,
    /// The connection stays open after this response (updated by [`encode_head`] from the response's headers).
    pub keep_alive: bool,
}

impl Framing {
    /// The framing for a request with `method` and `version`, which allowed keep-alive or not.
    pub fn new(method: &Method, version: Version, keep_alive: bool) -> Self {
        Self {
            head_request: method == Method::HEAD,
            http10: version == Version::HTTP_10,
            keep_alive,
        }
    }

    /// Whether a body of this status goes on the wire.
    pub fn sends_body(&self, status: StatusCode) -> bool {
        !self.head_request && allows_length(status)
    }
}

/// 1xx, 204 and 304 carry neither a body nor a length.
fn allows_length(status: StatusCode) -> bool {
    !(status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED)
}

/// Writes the head of a response with `status`, `headers` and a body of `body_len` bytes into `dst`.
/// A `Connection: close` among `headers` turns `framing.keep_alive` off. A 101 gets no keep-alive fix-up: the
/// connection is handed over, not kept or closed.
pub fn encode_head(
    status: StatusCode,
    headers: &HeaderMap,
    body_len: usize,
    framing: &mut Framing,
    dst: &mut Vec<u8>,
) {
    encode_head_with(status, headers, Some(body_len), framing, dst);
}

/// Writes the head of a response whose body is streamed until the connection closes: no `content-length`, and
/// `connection: close` (the end of the body is the end of the connection).
pub fn encode_streamed_head(
    status: StatusCode,
    headers: &HeaderMap,
    framing: &mut Framing,
    dst: &mut Vec<u8>,
) {
    framing.keep_alive = false;
    encode_head_with(status, headers, None, framing, dst);
}

fn encode_head_with(
    status: StatusCode,
    headers: &HeaderMap,
    body_len: Option<usize>,
    framing: &mut Framing,
    dst: &mut Vec<u8>,
) {
    let connection = headers.get_all(CONNECTION);
    if connection.iter().any(|v| has_token(v.as_bytes(), "close")) {
        framing.keep_alive = false;
    }
    let says_keep_alive = connection
        .iter()
        .any(|v| has_token(v.as_bytes(), "keep-alive"));
    dst.extend_from_slice(if framing.http10 {
        b"HTTP/1.0 "
    } else {
        b"HTTP/1.1 "
    });
    dst.extend_from_slice(status.as_str().as_bytes());
    dst.push(b' ');
    dst.extend_from_slice(status.canonical_reason().unwrap_or("<none>").as_bytes());
    dst.extend_from_slice(b"\r\n");
    for (name, value) in headers {
        // The length is this writer's business: it knows the body it sends.
        if name == CONTENT_LENGTH || name == TRANSFER_ENCODING {
            continue;
        }
        line(dst, name.as_str().as_bytes(), value.as_bytes());
    }
    if status == StatusCode::SWITCHING_PROTOCOLS {
        // Its `Connection: upgrade` is the handler's.
    } else if framing.http10 {
        // An HTTP/1.0 client keeps the connection only when told so.
        if framing.keep_alive && !says_keep_alive {
            line(dst, b"connection", b"keep-alive");
        }
    } else if !framing.keep_alive && !connection.iter().any(|v| has_token(v.as_bytes(), "close")) {
        line(dst, b"connection", b"close");
    }
    if let Some(body_len) = body_len
        && allows_length(status)
        && (body_len > 0 || !framing.head_request)
    {
        let digits = itoa_buf(body_len);
        line(dst, b"content-length", digits.as_slice());
    }
    if !headers.contains_key(DATE) {
        with_date(|date| line(dst, b"date", date));
    }
    dst.extend_from_slice(b"\r\n");
}

fn line(dst: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    dst.extend_from_slice(name);
    dst.extend_from_slice(b": ");
    dst.extend_from_slice(value);
    dst.extend_from_slice(b"\r\n");
}

/// A number in decimal, without allocating.
struct Digits {
    buf: [u8; 20],
    start: usize,
}

impl Digits {
    fn as_slice(&self) -> &[u8] {
        &self.buf[self.start..]
    }
}

fn itoa_buf(mut n: usize) -> Digits {
    let mut digits = Digits {
        buf: [b'0'; 20],
        start: 20,
    };
    loop {
        digits.start -= 1;
        digits.buf[digits.start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 || digits.start == 0 {
            return digits;
        }
    }
}

thread_local! {
    /// The `Date` value of the current second, formatted once per second per thread.
    static DATE_CACHE: RefCell<(u64, [u8; 29])> = const { RefCell::new((u64::MAX, [b' '; 29])) };
}

/// Calls `f` with the current IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn with_date(f: impl FnOnce(&[u8])) {
    let now = SystemTime::now();
    let second = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    DATE_CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.0 != second {
            let text = httpdate::fmt_http_date(now);
            let len = text.len().min(29);
            cache.1[..len].copy_from_slice(&text.as_bytes()[..len]);
            cache.0 = second;
        }
        f(&cache.1);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn encoded(status: u16, headers: &[(&str, &str)], len: usize, mut framing: Framing) -> String {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_str(value).expect("value"),
            );
        }
        let mut dst = Vec::new();
        let status = StatusCode::from_u16(status).expect("status");
        encode_head(status, &map, len, &mut framing, &mut dst);
        let text = String::from_utf8(dst).expect("ascii");
        // The date changes; keep its name only.
        let date = text.find("date: ").expect("a date");
        format!("{}date\r\n\r\n", &text[..date])
    }

    use http::header::HeaderName;

    #[test]
    fn http11_keep_alive_has_length_and_date() {
        let framing = Framing::new(&Method::GET, Version::HTTP_11, true);
        assert_eq!(
            encoded(200, &[("content-type", "text/plain")], 2, framing),
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\ndate\r\n\r\n"
        );
    }

    #[test]
    fn http11_close_says_close() {
        let mut framing = Framing::new(&Method::GET, Version::HTTP_11, false);
        assert_eq!(
            encoded(404, &[], 0, framing),
            "HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\ndate\r\n\r\n"
        );
        framing.keep_alive = true;
        let mut dst = Vec::new();
        let mut map = HeaderMap::new();
        map.insert(CONNECTION, HeaderValue::from_static("close"));
        encode_head(StatusCode::OK, &map, 0, &mut framing, &mut dst);
        assert!(
            !framing.keep_alive,
            "the handler's Connection: close ends it"
        );
    }

    #[test]
    fn http10_keep_alive_is_announced_and_version_is_10() {
        let framing = Framing::new(&Method::GET, Version::HTTP_10, true);
        assert_eq!(
            encoded(200, &[], 1, framing),
            "HTTP/1.0 200 OK\r\nconnection: keep-alive\r\ncontent-length: 1\r\ndate\r\n\r\n"
        );
        let framing = Framing::new(&Method::GET, Version::HTTP_10, false);
        assert_eq!(
            encoded(200, &[], 1, framing),
            "HTTP/1.0 200 OK\r\ncontent-length: 1\r\ndate\r\n\r\n"
        );
    }

    #[test]
    fn no_length_for_204_and_empty_head() {
        let framing = Framing::new(&Method::OPTIONS, Version::HTTP_11, true);
        assert_eq!(
            encoded(204, &[], 0, framing),
            "HTTP/1.1 204 No Content\r\ndate\r\n\r\n"
        );
        assert!(!framing.sends_body(StatusCode::NO_CONTENT));
        let framing = Framing::new(&Method::HEAD, Version::HTTP_11, true);
        assert_eq!(
            encoded(200, &[], 0, framing),
            "HTTP/1.1 200 OK\r\ndate\r\n\r\n"
        );
        assert_eq!(
            encoded(200, &[], 5, framing),
            "HTTP/1.1 200 OK\r\ncontent-length: 5\r\ndate\r\n\r\n"
        );
        assert!(!framing.sends_body(StatusCode::OK));
    }

    #[test]
    fn a_switch_has_the_handler_headers_and_a_date_only() {
        let framing = Framing::new(&Method::GET, Version::HTTP_11, false);
        assert_eq!(
            encoded(
                101,
                &[("upgrade", "websocket"), ("connection", "Upgrade")],
                0,
                framing
            ),
            "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\ndate\r\n\r\n"
        );
    }

    #[test]
    fn digits() {
        for n in [0usize, 7, 10, 12345, usize::MAX] {
            assert_eq!(itoa_buf(n).as_slice(), n.to_string().as_bytes());
        }
    }
}
