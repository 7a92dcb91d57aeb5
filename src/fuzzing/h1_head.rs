//! The listener's request-head parser (`iogate_h1::head::parse`).
//!
//! Asserts: a head taken by the own bodyless path is within the bytes given and the head limit, carries no body
//! framing (no `Transfer-Encoding`, `Expect`, non-zero `Content-Length`, not `CONNECT`: a body would be read as
//! the next request), is marked as an upgrade exactly when an HTTP/1.1 head has `Upgrade`, and is decided by its own bytes alone (the same head without what follows it
//! parses the same; one byte less is incomplete); "incomplete" is never said past the head limit; refusals are
//! 400, 414 or 431; a head with both `Transfer-Encoding` and `Content-Length` is refused. Run with the largest
//! head limit and the smallest `[server] max_request_head` allows.

use http::{Method, header};
use iogate_h1::head::{MAX_HEAD_BYTES, Parsed, parse};

/// Runs the checks on `data`, a request head and whatever follows it.
pub fn check(data: &[u8]) {
    for limit in [MAX_HEAD_BYTES, *crate::config::REQUEST_HEAD_RANGE.start()] {
        check_with_limit(data, limit);
    }
}

/// The checks with a head limit of `limit` bytes.
fn check_with_limit(data: &[u8], limit: usize) {
    match parse(data, limit) {
        Parsed::Partial => assert!(data.len() < limit, "incomplete past the head limit"),
        Parsed::Request(head) => {
            assert!(head.len <= data.len(), "head longer than the input");
            assert!(head.len <= limit, "head over the limit taken");
            let request = &head.request;
            assert_ne!(request.method(), Method::CONNECT);
            let headers = request.headers();
            assert_eq!(
                head.upgrade,
                request.version() == http::Version::HTTP_11
                    && headers.contains_key(header::UPGRADE),
                "upgrade marked wrong"
            );
            for framing in [header::TRANSFER_ENCODING, header::EXPECT] {
                assert!(
                    !headers.contains_key(&framing),
                    "bodyless path took {framing}"
                );
            }
            for length in headers.get_all(header::CONTENT_LENGTH) {
                assert!(
                    !length.is_empty() && length.as_bytes().iter().all(|&b| b == b'0'),
                    "bodyless path took Content-Length {length:?}"
                );
            }
            match parse(&data[..head.len], limit) {
                Parsed::Request(again) => {
                    assert_eq!(again.len, head.len);
                    assert_eq!(again.request.uri(), request.uri());
                    assert_eq!(again.keep_alive, head.keep_alive);
                    assert_eq!(again.upgrade, head.upgrade);
                }
                other => panic!("the head alone parses as {other:?}"),
            }
            let shorter = parse(&data[..head.len - 1], limit);
            assert!(
                matches!(shorter, Parsed::Partial),
                "the head less its last byte parses as {shorter:?}"
            );
        }
        Parsed::Body {
            length: Some(length),
            ..
        } => {
            assert!(length > 0, "a body of no bytes");
            assert!(
                !both_framings(data),
                "Content-Length with Transfer-Encoding taken"
            );
        }
        Parsed::Reject(status) => assert!(
            [400, 414, 431].contains(&status.as_u16()),
            "refused with {status}"
        ),
        Parsed::Body { length: None, .. } => {
            assert!(
                !both_framings(data),
                "Content-Length with Transfer-Encoding taken"
            );
        }
        Parsed::HandOff | Parsed::Close => {}
    }
}

/// Whether the head at the start of `data` (as httparse reads it) has both `Transfer-Encoding` and
/// `Content-Length`.
fn both_framings(data: &[u8]) -> bool {
    let mut slots = [httparse::EMPTY_HEADER; iogate_h1::head::MAX_HEADERS];
    let mut request = httparse::Request::new(&mut slots);
    if !matches!(request.parse(data), Ok(httparse::Status::Complete(_))) {
        return false;
    }
    let has = |name: &str| {
        request
            .headers
            .iter()
            .any(|h| h.name.eq_ignore_ascii_case(name))
    };
    has("transfer-encoding") && has("content-length")
}
