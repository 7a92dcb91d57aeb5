use super::*;

/// Decodes `raw` (after a 3-byte stand-in head) fed in pieces of `step` bytes.
fn decode_in_steps(
    raw: &[u8],
    step: usize,
    limit: usize,
) -> Result<(Vec<u8>, Vec<u8>), ChunkedError> {
    let mut buf = b"HDR".to_vec();
    let mut chunked = Chunked::new(limit);
    for piece in raw.chunks(step.max(1)) {
        buf.extend_from_slice(piece);
        if let Progress::Done { len } = chunked.decode(&mut buf, 3)? {
            let body = buf[3..3 + len].to_vec();
            let rest = buf[3 + len..].to_vec();
            return Ok((body, rest));
        }
    }
    panic!("body incomplete: {:?}", String::from_utf8_lossy(raw));
}

#[test]
fn chunks_extensions_and_trailers_in_any_split() {
    let raw =
        b"5;name=value\r\nhello\r\n7 ; x\r\n, world\r\n0\r\nX-Trailer: yes\r\nOther: 1\r\n\r\n";
    for step in 1..raw.len() + 1 {
        let (body, rest) = decode_in_steps(raw, step, 1024).expect("valid body");
        assert_eq!(body, b"hello, world", "step {step}");
        assert!(rest.is_empty());
    }
}

#[test]
fn bare_lf_and_upper_hex_and_bytes_after_the_end() {
    let (body, rest) = decode_in_steps(b"A\nabcdefghij\n0\n\nEXTRA", 100, 1024).expect("valid");
    assert_eq!(body, b"abcdefghij");
    assert_eq!(rest, b"EXTRA");
}

#[test]
fn empty_body() {
    let (body, rest) = decode_in_steps(b"0\r\n\r\n", 1, 1024).expect("valid");
    assert!(body.is_empty() && rest.is_empty());
}

#[test]
fn limits_are_checked_before_the_data() {
    let mut buf = b"ffffffff\r\n".to_vec();
    assert_eq!(
        Chunked::new(100).decode(&mut buf, 0),
        Err(ChunkedError::TooLarge(100))
    );
    let mut buf = b"40\r\n".to_vec();
    buf.extend_from_slice(&[b'a'; 64]);
    buf.extend_from_slice(b"\r\n1\r\n");
    assert_eq!(
        Chunked::new(64).decode(&mut buf, 0),
        Err(ChunkedError::TooLarge(64))
    );
    let mut long = vec![b'1'; 1];
    long.extend(std::iter::repeat_n(b' ', MAX_LINE_BYTES + 1));
    assert_eq!(
        Chunked::new(64).decode(&mut long, 0),
        Err(ChunkedError::LineTooLong)
    );
}

#[test]
fn malformed_framing_is_refused() {
    for raw in [
        &b"x\r\n"[..],
        b"5\r\nhelloXX",
        b"12345678901234567\r\n",
        b"5 x\r\nhello\r\n",
    ] {
        let mut buf = raw.to_vec();
        assert!(
            Chunked::new(1 << 20).decode(&mut buf, 0).is_err(),
            "{raw:?}"
        );
    }
}

#[test]
fn framing_does_not_pile_up_in_the_buffer() {
    let mut buf = Vec::new();
    let mut chunked = Chunked::new(1 << 20);
    for _ in 0..1000 {
        buf.extend_from_slice(b"1;some-long-extension=value\r\nx\r\n");
        assert_eq!(chunked.decode(&mut buf, 0), Ok(Progress::NeedMore));
    }
    assert_eq!(buf.len(), 1000);
}
