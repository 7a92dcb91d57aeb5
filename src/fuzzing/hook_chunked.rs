//! The webhook client's chunked body decoder (`iogate_hook_client::codec::chunked::Chunked`).
//!
//! Input: a limit selector, a read size (at most 64 reads), a head length, then the bytes after the head. Asserts: the outcome (the
//! body, the bytes left after it, or the error) is the same whether the bytes arrive at once or in reads of any
//! size; the bytes before the body (the head) are never touched; a body is never over the limit; the input
//! taken as a body and framed in chunks decodes back to itself when within the limit and is refused as too large
//! otherwise; a chunk announced over the limit is refused from its size line, before its data.

use super::support::split_params;
use iogate_hook_client::MAX_BODY_BYTES;
use iogate_hook_client::codec::chunked::{Chunked, ChunkedError, Progress};

/// What decoding came to: the outcome and the buffer after it.
type Outcome = (Result<Progress, ChunkedError>, Vec<u8>);

/// Runs the checks on `data`.
pub fn check(data: &[u8]) {
    let ([limit, read, head], stream) = split_params::<3>(data);
    let limit = if limit & 0x80 != 0 {
        MAX_BODY_BYTES
    } else {
        usize::from(limit) * 8
    };
    // At most 64 reads: a line arriving a byte at a time is scanned again at every read (up to 4 KiB each), which
    // would make long inputs in one-byte reads quadratic and slow the fuzzer down for no new paths.
    let read = (usize::from(read) + 1).max(stream.len() / 64);
    let head = vec![0xAA; usize::from(head % 8)];

    let (outcome, buf) = decode_whole(&head, stream, limit);
    let (outcome_in_reads, buf_in_reads) = decode_in_reads(&head, stream, limit, read);
    assert_eq!(outcome, outcome_in_reads, "outcome depends on the reads");
    if outcome.is_ok() {
        assert_eq!(buf, buf_in_reads, "bytes kept depend on the reads");
    }
    if let Ok(Progress::Done { len }) = outcome {
        assert!(len <= limit, "a body of {len} bytes over the limit {limit}");
        assert!(head.len() + len <= buf.len());
    }

    // The input as a body, framed in chunks of `read` bytes (with an extension when `read` is even).
    let mut framed = Vec::with_capacity(stream.len() * 2 + 16);
    for chunk in stream.chunks(read) {
        let extension = if read % 2 == 0 { ";x=\"y\"" } else { "" };
        framed.extend_from_slice(format!("{:x}{extension}\r\n", chunk.len()).as_bytes());
        framed.extend_from_slice(chunk);
        framed.extend_from_slice(b"\r\n");
    }
    framed.extend_from_slice(b"0\r\nTrailer: 1\r\n\r\n");
    let (outcome, buf) = decode_whole(&head, &framed, limit);
    if stream.len() <= limit {
        assert_eq!(outcome, Ok(Progress::Done { len: stream.len() }));
        assert_eq!(
            &buf[head.len()..],
            stream,
            "framed body decoded differently"
        );
    } else {
        assert_eq!(outcome, Err(ChunkedError::TooLarge(limit)));
    }

    // A chunk one byte over the limit, announced with no data after it.
    let over = format!("{:x}\r\n", limit + 1);
    let (outcome, _) = decode_whole(&head, over.as_bytes(), limit);
    assert_eq!(outcome, Err(ChunkedError::TooLarge(limit)));
}

fn decode_whole(head: &[u8], stream: &[u8], limit: usize) -> Outcome {
    let mut buf = [head, stream].concat();
    let outcome = Chunked::new(limit).decode(&mut buf, head.len());
    assert_eq!(&buf[..head.len()], head, "the head was overwritten");
    (outcome, buf)
}

/// Decodes as the client reads: `read` bytes at a time, until done or refused; the bytes not read yet are
/// appended to the buffer at the end, so the result compares with [`decode_whole`].
fn decode_in_reads(head: &[u8], stream: &[u8], limit: usize, read: usize) -> Outcome {
    let mut chunked = Chunked::new(limit);
    let mut buf = head.to_vec();
    let mut rest = stream;
    let mut outcome = chunked.decode(&mut buf, head.len());
    while outcome == Ok(Progress::NeedMore) && !rest.is_empty() {
        let (next, after) = rest.split_at(read.min(rest.len()));
        buf.extend_from_slice(next);
        rest = after;
        let before = buf.len();
        outcome = chunked.decode(&mut buf, head.len());
        assert!(buf.len() <= before, "the decoder grew the buffer");
    }
    assert_eq!(&buf[..head.len()], head, "the head was overwritten");
    if outcome.is_ok() {
        buf.extend_from_slice(rest);
    }
    (outcome, buf)
}
