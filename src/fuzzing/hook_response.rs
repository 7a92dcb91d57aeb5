//! The webhook client's response-head parser (`iogate_hook_client::codec::response::parse`).
//!
//! Asserts: a head is within the bytes given and the head limit, is decided by its own bytes alone (the same
//! head without what follows parses the same; one byte less is incomplete), is never `101`, has no body exactly
//! when its status says so, and a body read until the backend closes never lets the connection be reused;
//! "incomplete" is never said past the head limit.

use iogate_hook_client::codec::response::{Framing, MAX_HEAD_BYTES, parse};

/// Runs the checks on `data`, a response head and whatever follows it.
pub fn check(data: &[u8]) {
    let head = match parse(data) {
        Ok(Some(head)) => head,
        Ok(None) => {
            assert!(
                data.len() < MAX_HEAD_BYTES,
                "incomplete past the head limit"
            );
            return;
        }
        Err(_) => return,
    };
    assert!(head.len <= data.len(), "head longer than the input");
    assert!(head.len <= MAX_HEAD_BYTES, "head over the limit taken");
    assert!(
        head.status <= 999 && head.status != 101,
        "status {}",
        head.status
    );
    let bodyless = head.is_interim() || head.status == 204 || head.status == 304;
    assert_eq!(head.framing == Framing::Empty, bodyless, "{head:?}");
    if head.framing == Framing::UntilClose {
        assert!(!head.keep_alive, "keep-alive after a body read to the end");
    }
    assert_eq!(parse(&data[..head.len]), Ok(Some(head)), "the head alone");
    assert_eq!(
        parse(&data[..head.len - 1]),
        Ok(None),
        "the head less its last byte"
    );
}
