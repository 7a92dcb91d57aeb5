//! Parsing one HTTP/1.x request head (pure: bytes in, a decision out), for the own bodyless path.
//!
//! Only requests that certainly carry no body are taken (an HTTP/1.1 one with `Upgrade` is marked, so that a 101
//! can hand the connection over): a request with a body, `Transfer-Encoding` or `Expect` is left to hyper for
//! that one request, and `CONNECT` or a head the `http` types cannot hold for the rest of the connection, with the
//! same bytes. Malformed heads get the statuses hyper gives them (400, 414, 431); a
//! head with both `Transfer-Encoding` and `Content-Length` gets 400 and the connection closes.

use crate::{RequestBody, has_token};
use bytes::Bytes;
use http::header::{self, HeaderName, HeaderValue};
use http::{Method, Request, StatusCode, Uri, Version};

/// The largest head ever read (the configured limit at most; hyper's default read buffer limit).
pub const MAX_HEAD_BYTES: usize = crate::MAX_HEAD_BYTES;

/// The most header lines a head may have (hyper's default); more get 431.
pub const MAX_HEADERS: usize = 100;

/// The longest request target (hyper's limit); longer gets 414.
const MAX_URI_LEN: usize = (u16::MAX - 1) as usize;

/// What the bytes read so far amount to.
#[derive(Debug)]
pub enum Parsed {
    /// The head is not complete yet.
    Partial,
    /// A complete request this path serves: a bodyless one, or one whose whole body (framed by one
    /// `Content-Length`) came with its head and nothing after it. Boxed: a connection's future stays small.
    Request(Box<Head>),
    /// A request with a body not all read yet (or chunked, or with `Expect`, or asking for an upgrade): hyper
    /// serves this one request, then the connection comes back.
    Body {
        /// Whether the client allows the connection to stay open after the response.
        keep_alive: bool,
        /// The whole message's length in bytes, head included, when its one `Content-Length` tells it (no
        /// `Transfer-Encoding` or `Expect`): reads for hyper stop there.
        length: Option<u64>,
    },
    /// A request hyper must serve together with the rest of the connection (`CONNECT`, anything unusual).
    HandOff,
    /// A malformed head: answer with this status and close.
    Reject(StatusCode),
    /// Not HTTP/1 at all (an HTTP/2 preface): close without an answer, as hyper does.
    Close,
}

/// A complete request head.
#[derive(Debug)]
pub struct Head {
    /// The request, with an empty body or the whole body that came with its head.
    pub request: Request<RequestBody>,
    /// How many bytes the message took: its head, and its body when it has one.
    pub len: usize,
    /// Whether the client allows the connection to stay open after the response.
    pub keep_alive: bool,
    /// Whether an HTTP/1.1 request asks for a protocol switch (`Upgrade`): answered with 101, the connection is
    /// handed over.
    pub upgrade: bool,
    /// For an upgrade, the bytes the client sent after the head (the parser leaves it empty; the driver fills it
    /// in from what it read).
    pub read_ahead: Bytes,
}

/// Parses the head at the start of `buf`; a head longer than `max_head` bytes is refused with 431 (hyper is given
/// the same limit, so what a client sees does not depend on which path served it).
pub fn parse(buf: &[u8], max_head: usize) -> Parsed {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut slots);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() >= max_head => {
            return Parsed::Reject(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
        }
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(httparse::Error::TooManyHeaders) => {
            return Parsed::Reject(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
        }
        Err(_) if buf.starts_with(b"PRI * HTTP/2.0") => return Parsed::Close,
        Err(_) => return Parsed::Reject(StatusCode::BAD_REQUEST),
    };
    if len > max_head {
        return Parsed::Reject(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    }
    let (Some(method), Some(path), Some(minor)) = (req.method, req.path, req.version) else {
        return Parsed::Reject(StatusCode::BAD_REQUEST);
    };
    if path.len() > MAX_URI_LEN {
        return Parsed::Reject(StatusCode::URI_TOO_LONG);
    }
    let Ok(method) = Method::from_bytes(method.as_bytes()) else {
        return Parsed::Reject(StatusCode::BAD_REQUEST);
    };
    if method == Method::CONNECT {
        return Parsed::HandOff;
    }
    let (version, mut keep_alive) = if minor == 1 {
        (Version::HTTP_11, true)
    } else {
        (Version::HTTP_10, false)
    };
    // One copy of the head; the URI and header values are slices of it, as hyper makes them.
    let head = Bytes::copy_from_slice(&buf[..len]);
    let Some(path) = slice_of(&head, buf, path.as_bytes()) else {
        return Parsed::HandOff;
    };
    let Ok(uri) = Uri::from_maybe_shared(path) else {
        return Parsed::Reject(StatusCode::BAD_REQUEST);
    };
    let mut builder = Request::builder().method(method).uri(uri).version(version);
    let Some(headers) = builder.headers_mut() else {
        return Parsed::HandOff;
    };
    headers.reserve(req.headers.len());
    let mut saw_close = false;
    let mut upgrade = false;
    let mut has_body = false;
    let mut framing_known = true;
    let mut body_length: Option<u64> = None;
    let (mut saw_transfer_encoding, mut saw_content_length) = (false, false);
    for line in req.headers.iter() {
        if line.name.len() >= 1 << 16 {
            return Parsed::Reject(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
        }
        let Ok(name) = HeaderName::from_bytes(line.name.as_bytes()) else {
            return Parsed::HandOff;
        };
        let Some(Ok(value)) = slice_of(&head, buf, line.value).map(HeaderValue::from_maybe_shared)
        else {
            return Parsed::HandOff;
        };
        match name {
            // As hyper: only HTTP/1.1 switches protocols.
            header::UPGRADE => upgrade = version == Version::HTTP_11,
            header::TRANSFER_ENCODING | header::EXPECT => {
                saw_transfer_encoding |= name == header::TRANSFER_ENCODING;
                has_body = true;
                framing_known = false;
            }
            header::CONTENT_LENGTH => {
                saw_content_length = true;
                if body_length.is_some() {
                    framing_known = false;
                }
                body_length = content_length(line.value);
                if body_length.is_none() {
                    framing_known = false;
                }
                if !is_zero_length(line.value) {
                    has_body = true;
                }
            }
            header::CONNECTION => {
                if saw_close || has_token(line.value, "close") {
                    saw_close = true;
                    keep_alive = false;
                } else if !keep_alive {
                    keep_alive = has_token(line.value, "keep-alive");
                }
            }
            _ => {}
        }
        headers.append(name, value);
    }
    if saw_transfer_encoding && saw_content_length {
        // Two framings disagree on where the body ends, the way request smuggling works: RFC 9112 (6.1) lets a
        // server refuse such a message, and a proxy in front may have read it the other way.
        return Parsed::Reject(StatusCode::BAD_REQUEST);
    }
    let (body, message_len) = if has_body {
        let length = body_length
            .filter(|_| framing_known)
            .and_then(|body| body.checked_add(len as u64));
        // A message read whole (a small POST arrives with its head) is served here, body and all; hyper serves
        // one still arriving, and one that asks for an upgrade.
        match length.and_then(|total| usize::try_from(total).ok()) {
            Some(total) if total == buf.len() && !upgrade => (
                RequestBody::Whole(Bytes::copy_from_slice(&buf[len..])),
                total,
            ),
            _ => return Parsed::Body { keep_alive, length },
        }
    } else {
        (RequestBody::Empty, len)
    };
    match builder.body(body) {
        Ok(request) => Parsed::Request(Box::new(Head {
            request,
            len: message_len,
            keep_alive,
            upgrade,
            read_ahead: Bytes::new(),
        })),
        Err(_) => Parsed::HandOff,
    }
}

/// The part of `head` (a copy of `buf`) where `part` (a slice of `buf`) lies.
fn slice_of(head: &Bytes, buf: &[u8], part: &[u8]) -> Option<Bytes> {
    let start = (part.as_ptr() as usize).checked_sub(buf.as_ptr() as usize)?;
    let end = start.checked_add(part.len())?;
    (end <= head.len()).then(|| head.slice(start..end))
}

/// A `Content-Length` value: digits only, fitting a `u64`.
fn content_length(value: &[u8]) -> Option<u64> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}

/// A `Content-Length` this path takes: digits only, worth zero.
fn is_zero_length(value: &[u8]) -> bool {
    !value.is_empty() && value.iter().all(|&b| b == b'0')
}

#[cfg(test)]
#[path = "head_tests.rs"]
mod tests;
