use super::*;

fn head(text: &str) -> ResponseHead {
    match parse(text.as_bytes()) {
        Ok(Some(head)) => head,
        other => panic!("{text:?} should parse, got {other:?}"),
    }
}

#[test]
fn content_length_and_keep_alive() {
    let text = "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n{\"ack\":[1]}x";
    let parsed = head(text);
    assert_eq!(parsed.status, 200);
    assert_eq!(parsed.len, text.len() - 12);
    assert_eq!(parsed.framing, Framing::Length(12));
    assert!(parsed.keep_alive);
}

#[test]
fn incomplete_heads_ask_for_more() {
    for cut in [
        "",
        "HTTP/1.1 2",
        "HTTP/1.1 200 OK\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n",
    ] {
        assert_eq!(parse(cut.as_bytes()), Ok(None), "{cut:?}");
    }
}

#[test]
fn chunked_wins_over_length_and_closes() {
    let parsed = head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    assert_eq!(
        (parsed.framing, parsed.keep_alive),
        (Framing::Chunked, true)
    );
    let parsed =
        head("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n");
    assert_eq!(
        (parsed.framing, parsed.keep_alive),
        (Framing::Chunked, false)
    );
    let parsed = head("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n");
    assert_eq!(
        (parsed.framing, parsed.keep_alive),
        (Framing::UntilClose, false)
    );
}

#[test]
fn no_length_reads_until_close() {
    let parsed = head("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n");
    assert_eq!(
        (parsed.framing, parsed.keep_alive),
        (Framing::UntilClose, false)
    );
}

#[test]
fn connection_tokens_and_http10() {
    assert!(!head("HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 0\r\n\r\n").keep_alive);
    assert!(
        !head("HTTP/1.1 200 OK\r\nConnection: x, close\r\nContent-Length: 0\r\n\r\n").keep_alive
    );
    assert!(!head("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").keep_alive);
    assert!(
        head("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n").keep_alive
    );
}

#[test]
fn bodyless_statuses_and_interim_answers() {
    assert_eq!(
        head("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n").framing,
        Framing::Empty
    );
    assert_eq!(
        head("HTTP/1.1 304 Not Modified\r\n\r\n").framing,
        Framing::Empty
    );
    let interim = head("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n");
    assert!(interim.is_interim());
    assert_eq!((interim.len, interim.framing), (25, Framing::Empty));
    assert!(!head("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").is_interim());
}

#[test]
fn bad_lengths_are_refused() {
    for value in ["", "x", "-1", "1 2", "3, 4", "99999999999999999999", "+5"] {
        let text = format!("HTTP/1.1 200 OK\r\nContent-Length: {value}\r\n\r\n");
        assert_eq!(
            parse(text.as_bytes()),
            Err(HeadError::BadLength),
            "{value:?}"
        );
    }
    let text = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\n";
    assert_eq!(parse(text.as_bytes()), Err(HeadError::BadLength));
    let same = "HTTP/1.1 200 OK\r\nContent-Length: 4, 4\r\nContent-Length: 4\r\n\r\n";
    assert_eq!(head(same).framing, Framing::Length(4));
}

#[test]
fn limits_and_garbage() {
    let huge = format!("HTTP/1.1 200 OK\r\nX: {}\r\n", "a".repeat(MAX_HEAD_BYTES));
    assert_eq!(parse(huge.as_bytes()), Err(HeadError::TooLarge));
    let many: String = (0..=MAX_HEADERS).map(|i| format!("X-{i}: 1\r\n")).collect();
    let many = format!("HTTP/1.1 200 OK\r\n{many}\r\n");
    assert_eq!(parse(many.as_bytes()), Err(HeadError::TooManyHeaders));
    assert!(matches!(
        parse(b"hello world\r\n\r\n"),
        Err(HeadError::Malformed(_))
    ));
    assert!(matches!(
        parse(b"HTTP/2 200\r\n\r\n"),
        Err(HeadError::Malformed(_))
    ));
    assert_eq!(
        parse(b"HTTP/1.1 101 Switching Protocols\r\n\r\n"),
        Err(HeadError::Upgrade)
    );
}
