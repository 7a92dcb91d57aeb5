//! Tests of the head parser, with a fuzz-style pass over random, mutated, truncated and oversized heads.

use super::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const POLL: &[u8] = b"GET /socket.io/?EIO=4&transport=polling&sid=abc HTTP/1.1\r\n\
Host: example.com\r\nOrigin: https://app.example\r\nCookie: a=b\r\nCookie: c=d\r\n\r\n";

fn request(bytes: &[u8]) -> Head {
    match parse(bytes, MAX_HEAD_BYTES) {
        Parsed::Request(head) => *head,
        other => panic!("expected a request, got {other:?}"),
    }
}

#[test]
fn a_poll_is_parsed_into_an_owned_request() {
    let head = request(POLL);
    assert_eq!(head.len, POLL.len());
    assert!(head.keep_alive);
    let req = head.request;
    assert_eq!(req.method(), Method::GET);
    assert_eq!(req.version(), Version::HTTP_11);
    assert_eq!(req.uri().path(), "/socket.io/");
    assert_eq!(req.uri().query(), Some("EIO=4&transport=polling&sid=abc"));
    assert_eq!(req.headers()["host"], "example.com");
    assert_eq!(req.headers()["origin"], "https://app.example");
    let cookies: Vec<_> = req.headers().get_all("cookie").iter().collect();
    assert_eq!(cookies, ["a=b", "c=d"]);
}

#[test]
fn keep_alive_follows_version_and_connection() {
    assert!(!request(b"GET / HTTP/1.0\r\n\r\n").keep_alive);
    assert!(request(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
    assert!(!request(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n").keep_alive);
    assert!(!request(b"GET / HTTP/1.1\r\nConnection: te, Close\r\n\r\n").keep_alive);
    assert!(
        !request(b"GET / HTTP/1.0\r\nConnection: close\r\nConnection: keep-alive\r\n\r\n")
            .keep_alive
    );
    assert_eq!(
        request(b"GET / HTTP/1.0\r\n\r\n").request.version(),
        Version::HTTP_10
    );
}

#[test]
fn bodies_and_expectations_go_to_hyper_and_connect_hands_the_connection_off() {
    for (head, keep) in [
        (&b"POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\n"[..], true),
        (b"GET /x HTTP/1.1\r\nContent-Length: 1\r\n\r\n", true),
        (b"GET /x HTTP/1.1\r\nContent-Length: +0\r\n\r\n", true),
        (
            b"GET /x HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: 2\r\n\r\n",
            true,
        ),
        (
            b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            true,
        ),
        (b"GET /x HTTP/1.1\r\nExpect: 100-continue\r\n\r\n", true),
        (b"POST /x HTTP/1.0\r\nContent-Length: 5\r\n\r\n", false),
        (
            b"POST /x HTTP/1.1\r\nContent-Length: 5\r\nConnection: close\r\n\r\n",
            false,
        ),
        // A request with a body that asks for an upgrade is one more request with a body: hyper serves it, and
        // no connection is handed over for it.
        (
            b"POST /x HTTP/1.1\r\nContent-Length: 5\r\nUpgrade: h2c\r\n\r\n",
            true,
        ),
        (
            b"GET /x HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nContent-Length: 2\r\n\r\n",
            true,
        ),
    ] {
        match parse(head, MAX_HEAD_BYTES) {
            Parsed::Body { keep_alive, .. } => assert_eq!(keep_alive, keep),
            other => panic!("{}: {other:?}", String::from_utf8_lossy(head)),
        }
    }
    assert!(matches!(
        parse(b"CONNECT example.com:443 HTTP/1.1\r\n\r\n", MAX_HEAD_BYTES),
        Parsed::HandOff
    ));
    let websocket =
        request(b"GET /x HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
    assert!(
        websocket.upgrade,
        "a bodyless upgrade is served here, marked"
    );
    assert!(websocket.keep_alive);
    let old = request(b"GET /x HTTP/1.0\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
    assert!(!old.upgrade, "HTTP/1.0 switches no protocol");
    assert!(!request(b"GET /x HTTP/1.1\r\n\r\n").upgrade);
    let empty_post = request(b"POST /x HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(empty_post.request.method(), Method::POST);
    assert!(matches!(
        parse(b"HEAD / HTTP/1.1\r\n\r\n", MAX_HEAD_BYTES),
        Parsed::Request(_)
    ));
    assert!(matches!(
        parse(b"OPTIONS * HTTP/1.1\r\n\r\n", MAX_HEAD_BYTES),
        Parsed::Request(_)
    ));
}

#[test]
fn every_truncation_of_a_head_is_partial() {
    for end in 0..POLL.len() {
        assert!(
            matches!(parse(&POLL[..end], MAX_HEAD_BYTES), Parsed::Partial),
            "{:?}",
            String::from_utf8_lossy(&POLL[..end])
        );
    }
}

#[test]
fn malformed_heads_get_400() {
    for head in [
        &b"GET / HTTP/1.1\r\nHost example.com\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHo st: x\r\n\r\n",
        b"GET / HTTP/3.0\r\n\r\n",
        b"GE(T / HTTP/1.1\r\n\r\n",
        b"\x00\x01\x02\x03 / HTTP/1.1\r\n\r\n",
        b"GET /\x7f HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n",
    ] {
        assert!(
            matches!(
                parse(head, MAX_HEAD_BYTES),
                Parsed::Reject(StatusCode::BAD_REQUEST)
            ),
            "{:?} -> {:?}",
            String::from_utf8_lossy(head),
            parse(head, MAX_HEAD_BYTES)
        );
    }
}

#[test]
fn oversized_heads_get_431_or_414() {
    let mut many = b"GET / HTTP/1.1\r\n".to_vec();
    for i in 0..=MAX_HEADERS {
        many.extend_from_slice(format!("x-{i}: y\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    assert!(matches!(
        parse(&many, MAX_HEAD_BYTES),
        Parsed::Reject(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
    ));
    let mut endless = b"GET / HTTP/1.1\r\nx-big: ".to_vec();
    endless.resize(MAX_HEAD_BYTES, b'a');
    assert!(matches!(
        parse(&endless, MAX_HEAD_BYTES),
        Parsed::Reject(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
    ));
    let mut long_uri = b"GET /".to_vec();
    long_uri.resize(70_000, b'a');
    long_uri.extend_from_slice(b" HTTP/1.1\r\n\r\n");
    assert!(matches!(
        parse(&long_uri, MAX_HEAD_BYTES),
        Parsed::Reject(StatusCode::URI_TOO_LONG)
    ));
}

#[test]
fn an_http2_preface_is_closed_silently() {
    assert!(matches!(
        parse(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", MAX_HEAD_BYTES),
        Parsed::Close
    ));
}

/// Random bytes, mutations of real heads and their truncations: the parser never panics, and whatever it
/// refuses it refuses with 400, 414 or 431.
#[test]
fn fuzz_random_and_mutated_heads() {
    let mut rng = StdRng::seed_from_u64(0x10_6a7e);
    let seeds: [&[u8]; 4] = [
        POLL,
        b"OPTIONS /socket.io/ HTTP/1.1\r\nOrigin: x\r\nAccess-Control-Request-Method: GET\r\n\r\n",
        b"GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        b"POST /socket.io/?sid=1 HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
    ];
    let alphabet = b"GETPOST /?=&:\r\n\t HTTP/1.01\x00\x7f\xff,;\"";
    for round in 0..20_000 {
        let mut bytes = seeds[round % seeds.len()].to_vec();
        match rng.random_range(0..4) {
            0 => {
                let len = rng.random_range(0..300);
                bytes = (0..len).map(|_| rng.random()).collect();
            }
            1 => {
                for _ in 0..rng.random_range(1..6) {
                    let at = rng.random_range(0..bytes.len());
                    bytes[at] = alphabet[rng.random_range(0..alphabet.len())];
                }
            }
            2 => {
                let at = rng.random_range(0..=bytes.len());
                let insert: Vec<u8> = (0..rng.random_range(1..40))
                    .map(|_| alphabet[rng.random_range(0..alphabet.len())])
                    .collect();
                bytes.splice(at..at, insert);
            }
            _ => {
                let end = rng.random_range(0..=bytes.len());
                bytes.truncate(end);
            }
        }
        match parse(&bytes, MAX_HEAD_BYTES) {
            Parsed::Reject(status) => assert!(
                matches!(status.as_u16(), 400 | 414 | 431),
                "{status} for {:?}",
                String::from_utf8_lossy(&bytes)
            ),
            Parsed::Request(head) => assert!(head.len <= bytes.len()),
            Parsed::Partial | Parsed::Body { .. } | Parsed::HandOff | Parsed::Close => {}
        }
    }
}

#[test]
fn a_body_has_a_known_length_only_when_one_content_length_frames_it() {
    let known = b"POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\n";
    match parse(known, MAX_HEAD_BYTES) {
        Parsed::Body { length, .. } => assert_eq!(length, Some(known.len() as u64 + 5)),
        other => panic!("{other:?}"),
    }
    for head in [
        &b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"[..],
        b"POST /x HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
        b"POST /x HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
        b"POST /x HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        b"GET /x HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: 2\r\n\r\n",
    ] {
        match parse(head, MAX_HEAD_BYTES) {
            Parsed::Body { length, .. } => {
                assert_eq!(length, None, "{}", String::from_utf8_lossy(head))
            }
            other => panic!("{}: {other:?}", String::from_utf8_lossy(head)),
        }
    }
}

#[test]
fn content_length_with_transfer_encoding_is_refused() {
    // The smuggling shape: a front server that frames by Content-Length would forward the second request
    // inside this one's body.
    for head in [
        &b"POST /a HTTP/1.1\r\nContent-Length: 44\r\nTransfer-Encoding: chunked\r\n\r\n"[..],
        b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\ncontent-length: 0\r\n\r\n",
        b"POST /a HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 3\r\n\r\n",
    ] {
        assert!(
            matches!(
                parse(head, MAX_HEAD_BYTES),
                Parsed::Reject(StatusCode::BAD_REQUEST)
            ),
            "{:?}",
            String::from_utf8_lossy(head)
        );
    }
}

#[test]
fn the_configured_head_limit_is_the_one_applied() {
    let mut head = b"GET / HTTP/1.1\r\ncookie: ".to_vec();
    head.resize(9000, b'a');
    head.extend_from_slice(b"\r\n\r\n");
    assert!(matches!(parse(&head, 16 * 1024), Parsed::Request(_)));
    assert!(matches!(
        parse(&head, 8192),
        Parsed::Reject(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
    ));
    assert!(matches!(
        parse(&head[..8500], 8192),
        Parsed::Reject(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
    ));
}

#[test]
fn a_body_that_came_whole_with_its_head_is_taken_with_it() {
    let post = b"POST /socket.io/?EIO=4&transport=polling&sid=abc HTTP/1.1\r\nContent-Length: 5\r\n\r\n4ping";
    let head = request(post);
    assert_eq!(head.len, post.len());
    assert!(head.keep_alive && !head.upgrade);
    assert!(matches!(head.request.body(), RequestBody::Whole(body) if &body[..] == b"4ping"));
    let old = request(b"POST /x HTTP/1.0\r\nContent-Length: 2\r\n\r\nok");
    assert!(!old.keep_alive, "HTTP/1.0 closes unless asked");
    for not_whole in [
        // Still arriving, or more after it (a pipelined request): hyper reads it.
        &b"POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\n4pin"[..],
        b"POST /x HTTP/1.1\r\nContent-Length: 2\r\n\r\nokGET / HTTP/1.1\r\n\r\n",
        // Framed otherwise, or asking for an upgrade.
        b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
        b"POST /x HTTP/1.1\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\nok",
        b"POST /x HTTP/1.1\r\nContent-Length: 2\r\nUpgrade: h2c\r\n\r\nok",
    ] {
        assert!(
            matches!(parse(not_whole, MAX_HEAD_BYTES), Parsed::Body { .. }),
            "{}",
            String::from_utf8_lossy(not_whole)
        );
    }
}
