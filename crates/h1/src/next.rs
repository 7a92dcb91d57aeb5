//! What the bytes read from an idle connection amount to (pure: bytes in, a decision out).

use crate::head::{self, Head, Parsed};
use bytes::Bytes;
use http::StatusCode;

/// What the next request on the connection turned out to be.
pub(crate) enum Next {
    /// A bodyless request, served here; one that asks for a protocol switch carries the bytes the client sent
    /// after its head.
    Request(Box<Head>),
    /// A request with a body: hyper serves it, starting with these bytes, and gives the connection back. Also
    /// whether the client allows keep-alive, and the message's length when its head tells it. (Boxed, as is the
    /// hand-off's bytes: the value lives in the connection's future while a poll is parked, so it is kept small.)
    Body(Box<(Bytes, bool, Option<u64>)>),
    /// Hyper serves the rest, starting with these bytes.
    HandOff(Box<[u8]>),
    /// A malformed head: answer with this status and close.
    Reject(StatusCode),
    /// The client closed, or the connection failed.
    Closed,
}

/// What `read` (appended to `partial`) amounts to; `None` while the head is incomplete. Heads longer than
/// `max_head` bytes are refused.
pub(crate) fn decide(read: &[u8], partial: &mut Vec<u8>, max_head: usize) -> Option<Next> {
    if !partial.is_empty() {
        partial.extend_from_slice(read);
        // What was there parsed as an incomplete head, and a head ends with a line break: without one in the new
        // bytes the answer is the same, so a head trickling in is not parsed again for every byte.
        if !read.contains(&b'\n') && partial.len() < max_head {
            return None;
        }
    }
    let buf = if partial.is_empty() {
        read
    } else {
        &partial[..]
    };
    match head::parse(buf, max_head) {
        Parsed::Partial => {
            if partial.is_empty() {
                partial.extend_from_slice(read);
            }
            None
        }
        // What a client sent after a WebSocket handshake is the new protocol's (or its next request, when the
        // answer is not a 101); bytes after another upgrade's head are a pipelined request, as below.
        Parsed::Request(mut head)
            if head.upgrade && (head.len == buf.len() || asks_for_websocket(&head)) =>
        {
            head.read_ahead = Bytes::copy_from_slice(&buf[head.len..]);
            Some(Next::Request(head))
        }
        Parsed::Request(head) if head.len == buf.len() => Some(Next::Request(head)),
        // Bytes past the head (a pipelined request) go to hyper together with this request.
        Parsed::Request(_) | Parsed::HandOff => Some(Next::HandOff(buf.into())),
        Parsed::Body { keep_alive, length } => Some(Next::Body(Box::new((
            Bytes::copy_from_slice(buf),
            keep_alive,
            length,
        )))),
        Parsed::Reject(status) => Some(Next::Reject(status)),
        Parsed::Close => Some(Next::Closed),
    }
}

/// Whether `head` asks to switch to WebSocket.
fn asks_for_websocket(head: &Head) -> bool {
    head.request
        .headers()
        .get_all(http::header::UPGRADE)
        .iter()
        .any(|value| crate::has_token(value.as_bytes(), "websocket"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: usize = head::MAX_HEAD_BYTES;
    /// A read's size, as the driver reads.
    const READ_CHUNK: usize = 8 * 1024;

    #[test]
    fn a_head_in_pieces_is_gathered_until_complete() {
        let mut partial = Vec::new();
        assert!(decide(b"GET /healthz HT", &mut partial, MAX).is_none());
        assert!(decide(b"TP/1.1\r\nHost: x", &mut partial, MAX).is_none());
        assert!(decide(b"yz", &mut partial, MAX).is_none());
        match decide(b"\r\n\r\n", &mut partial, MAX) {
            Some(Next::Request(head)) => {
                assert_eq!(head.request.uri().path(), "/healthz");
                assert_eq!(head.request.headers()["host"], "xyz");
            }
            _ => panic!("a complete head"),
        }
    }

    #[test]
    fn a_head_that_never_ends_is_refused_at_the_limit() {
        let mut partial = Vec::new();
        assert!(decide(b"GET / HTTP/1.1\r\nx: ", &mut partial, MAX).is_none());
        let chunk = [b'a'; READ_CHUNK];
        let mut outcome = None;
        for _ in 0..=head::MAX_HEAD_BYTES / READ_CHUNK {
            outcome = decide(&chunk, &mut partial, MAX);
            if outcome.is_some() {
                break;
            }
        }
        assert!(matches!(
            outcome,
            Some(Next::Reject(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE))
        ));
    }

    #[test]
    fn bytes_after_a_head_and_bodies_still_arriving_go_to_hyper() {
        let mut partial = Vec::new();
        let pipelined = b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
        assert!(matches!(
            decide(pipelined, &mut partial, MAX),
            Some(Next::HandOff(bytes)) if bytes.len() == pipelined.len()
        ));
        let post = b"POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nok";
        assert!(matches!(
            decide(post, &mut Vec::new(), MAX),
            Some(Next::Body(body))
                if matches!(&*body, (bytes, true, Some(length))
                    if bytes.len() == post.len() && *length == post.len() as u64 + 1)
        ));
        let post_then_get =
            b"POST /a HTTP/1.1\r\nContent-Length: 2\r\n\r\nokGET /b HTTP/1.1\r\n\r\n";
        assert!(matches!(
            decide(post_then_get, &mut Vec::new(), MAX),
            Some(Next::Body(body)) if body.0.len() == post_then_get.len()
        ));
    }

    #[test]
    fn a_post_read_whole_is_served_here_with_its_body() {
        let mut partial = Vec::new();
        assert!(decide(b"POST /a HTTP/1.1\r\nContent-Le", &mut partial, MAX).is_none());
        let rest = b"ngth: 2\r\n\r\nok";
        match decide(rest, &mut partial, MAX) {
            Some(Next::Request(head)) => {
                assert_eq!(head.len, partial.len());
                assert!(head.keep_alive && !head.upgrade);
                let body = head.request.into_body();
                assert!(matches!(&body, crate::RequestBody::Whole(bytes) if &bytes[..] == b"ok"));
            }
            _ => panic!("a whole POST"),
        }
    }

    #[test]
    fn an_upgrade_keeps_the_bytes_after_its_head_for_the_new_protocol() {
        let handshake = b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
        let mut read = handshake.to_vec();
        read.extend_from_slice(b"\x81\x80frame");
        match decide(&read, &mut Vec::new(), MAX) {
            Some(Next::Request(head)) => {
                assert!(head.upgrade);
                assert_eq!(head.len, handshake.len());
                assert_eq!(&head.read_ahead[..], b"\x81\x80frame");
            }
            _ => panic!("an upgrade"),
        }
        assert!(matches!(
            decide(handshake, &mut Vec::new(), MAX),
            Some(Next::Request(head)) if head.upgrade && head.read_ahead.is_empty()
        ));
        let other = b"GET /x HTTP/1.1\r\nUpgrade: other\r\nConnection: Upgrade\r\n\r\nGET /y HTTP/1.1\r\n\r\n";
        assert!(
            matches!(decide(other, &mut Vec::new(), MAX), Some(Next::HandOff(bytes)) if bytes.len() == other.len()),
            "bytes after another upgrade's head are a pipelined request"
        );
    }
}
