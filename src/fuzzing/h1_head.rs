//! The listener's request-head parser (`iogate_h1::head::parse`).
//!
//! Asserts: a head taken by the own path is within the bytes given and the head limit, carries no body framing
//! it does not read (no `Transfer-Encoding`, `Expect`, not `CONNECT`; a non-zero `Content-Length` only when the
//! body it frames is exactly the rest of the bytes, taken whole, with no upgrade: a body would otherwise be read
//! as the next request), is marked as an upgrade exactly when an HTTP/1.1 head has `Upgrade`, and is decided by its own bytes alone (the same head without what follows it
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
            let (head_end, _) = complete_head(data).expect("a head taken is complete");
            assert!(head_end <= limit, "head over the limit taken");
            if head.len > head_end {
                // A body read whole with its head: framed by one Content-Length that counts exactly the bytes
                // after the head, nothing after them, no upgrade.
                let lengths: Vec<_> = headers.get_all(header::CONTENT_LENGTH).iter().collect();
                assert_eq!(lengths.len(), 1, "a body taken without one Content-Length");
                assert_eq!(
                    lengths[0]
                        .to_str()
                        .ok()
                        .and_then(|v| v.parse::<usize>().ok()),
                    Some(head.len - head_end),
                    "a body taken that its Content-Length does not frame"
                );
                assert_eq!(head.len, data.len(), "a body taken with bytes after it");
                assert!(!head.upgrade, "a body taken with an upgrade");
                assert!(
                    matches!(head.request.body(), iogate_h1::RequestBody::Whole(body) if body[..] == data[head_end..]),
                    "the body taken is not the bytes after the head"
                );
            } else {
                for length in headers.get_all(header::CONTENT_LENGTH) {
                    assert!(
                        !length.is_empty() && length.as_bytes().iter().all(|&b| b == b'0'),
                        "bodyless path took Content-Length {length:?}"
                    );
                }
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
            if head.len > head_end {
                assert!(
                    matches!(shorter, Parsed::Body { length: Some(length), .. } if length == head.len as u64),
                    "the message less its last byte parses as {shorter:?}"
                );
            } else {
                assert!(
                    matches!(shorter, Parsed::Partial),
                    "the head less its last byte parses as {shorter:?}"
                );
            }
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

/// The head at the start of `data` as httparse reads it, when it is complete: where it ends, and its header names.
fn complete_head(data: &[u8]) -> Option<(usize, Vec<String>)> {
    let mut slots = [httparse::EMPTY_HEADER; iogate_h1::head::MAX_HEADERS];
    let mut request = httparse::Request::new(&mut slots);
    let Ok(httparse::Status::Complete(end)) = request.parse(data) else {
        return None;
    };
    let names = request.headers.iter().map(|h| h.name.to_owned()).collect();
    Some((end, names))
}

/// Whether the head at the start of `data` (as httparse reads it) has both `Transfer-Encoding` and
/// `Content-Length`.
fn both_framings(data: &[u8]) -> bool {
    let Some((_, names)) = complete_head(data) else {
        return false;
    };
    let has = |name: &str| names.iter().any(|h| h.eq_ignore_ascii_case(name));
    has("transfer-encoding") && has("content-length")
}
