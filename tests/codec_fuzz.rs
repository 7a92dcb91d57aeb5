//! Randomized robustness checks of the codecs: arbitrary and mutated input never panics, and valid
//! payloads survive a decode/encode round trip, for every codec a client or backend feeds.

use bytes::Bytes;
use iogate::engineio::codec::payload_v4;
use iogate::engineio::{Incoming, Message, Packet, Query, Text, decode_text, ws_frame};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const ROUNDS: usize = 20_000;

fn random_bytes(rng: &mut StdRng, alphabet: &[u8]) -> Vec<u8> {
    let len = rng.random_range(0..64);
    (0..len)
        .map(|_| {
            if rng.random_bool(0.8) {
                alphabet[rng.random_range(0..alphabet.len())]
            } else {
                rng.random()
            }
        })
        .collect()
}

#[test]
fn arbitrary_payloads_never_panic() {
    let mut rng = StdRng::seed_from_u64(0x10_6a7e);
    let alphabet = b"0123456b4\x1e=+/AQIDBA\xc3\xa9\xff\xc3";
    for _ in 0..ROUNDS {
        let input = random_bytes(&mut rng, alphabet);
        let _ = payload_v4::decode(Bytes::from(input.clone()));
        if let Ok(text) = std::str::from_utf8(&input) {
            let _ = decode_text(Text::from(text));
            let _ = Query::parse(Some(text));
        }
    }
}

fn random_packet(rng: &mut StdRng) -> Packet {
    match rng.random_range(0..3) {
        0 => {
            let data: Vec<u8> = (0..rng.random_range(0..20)).map(|_| rng.random()).collect();
            Packet::Binary(Bytes::from(data))
        }
        1 => {
            let text: String = (0..rng.random_range(0..20))
                .map(|_| char::from_u32(rng.random_range(0x20..0x3000)).unwrap_or('x'))
                .filter(|c| *c != '\u{1e}')
                .collect();
            Packet::message(&Message::Text(Text::from(text)))
        }
        _ => Packet::text(iogate::engineio::PacketType::Pong, "probe"),
    }
}

#[test]
fn valid_payloads_round_trip() {
    let mut rng = StdRng::seed_from_u64(7);
    for _ in 0..ROUNDS / 4 {
        let packets: Vec<Packet> = (0..rng.random_range(1..6))
            .map(|_| random_packet(&mut rng))
            .collect();
        let encoded = payload_v4::encode(&packets);
        let decoded = payload_v4::decode(encoded.clone()).expect("valid payload decodes");
        assert_eq!(decoded.len(), packets.len());
        for (packet, incoming) in packets.iter().zip(&decoded) {
            match (packet, incoming) {
                (Packet::Binary(data), Incoming::Message(Message::Binary(back))) => {
                    assert_eq!(data, back)
                }
                (Packet::Text(text), Incoming::Message(Message::Text(back))) => {
                    assert_eq!(&text.as_str()[1..], back.as_str())
                }
                (Packet::Text(text), Incoming::Control(kind, data)) => {
                    assert_eq!(text.as_str().as_bytes()[0], kind.digit());
                    assert_eq!(&text.as_str()[1..], data.as_str());
                }
                other => panic!("mismatch {other:?}"),
            }
        }
    }
}

#[test]
fn mutated_valid_payloads_never_panic() {
    let mut rng = StdRng::seed_from_u64(99);
    for _ in 0..ROUNDS / 4 {
        let packets: Vec<Packet> = (0..rng.random_range(1..4))
            .map(|_| random_packet(&mut rng))
            .collect();
        let mut bytes = payload_v4::encode(&packets).to_vec();
        for _ in 0..rng.random_range(1..4) {
            if bytes.is_empty() {
                break;
            }
            let at = rng.random_range(0..bytes.len());
            match rng.random_range(0..3) {
                0 => bytes[at] = rng.random(),
                1 => {
                    bytes.remove(at);
                }
                _ => bytes.insert(at, 0x1e),
            }
        }
        let _ = payload_v4::decode(Bytes::from(bytes));
    }
}

#[test]
fn arbitrary_config_text_never_panics() {
    let mut rng = StdRng::seed_from_u64(3);
    let base = "[server]\nlisten = \"127.0.0.1:8080\"\n[[endpoint]]\npath = \"/e\"\nprotocol = \"engine.io\"\nwebhook = \"http://h/${X}\"\nping_interval = \"25s\"\n";
    for _ in 0..2_000 {
        let mut text = base.as_bytes().to_vec();
        for _ in 0..rng.random_range(1..5) {
            let at = rng.random_range(0..text.len());
            let alphabet = b"[]\"=${}.\n 9a";
            text[at] = alphabet[rng.random_range(0..alphabet.len())];
        }
        let text = String::from_utf8_lossy(&text);
        let _ = iogate::config::parse_str("fuzz.toml", &text, &|_| Some("x".into()));
    }
}

/// Random text made mostly of the characters Socket.IO 0.9 payloads and messages are built from.
fn random_sio09_text(rng: &mut StdRng) -> String {
    const PIECES: [&str; 18] = [
        "\u{fffd}", "0", "1", "2", "3", "5", "6", "9", ":", "+", "/", "?", "{", "}", "\"name\"",
        "[", "]", "😀",
    ];
    (0..rng.random_range(0..24))
        .map(|_| {
            if rng.random_bool(0.9) {
                PIECES[rng.random_range(0..PIECES.len())].to_string()
            } else {
                char::from_u32(rng.random_range(0x20..0x3000))
                    .unwrap_or('x')
                    .to_string()
            }
        })
        .collect()
}

#[test]
fn socketio09_payloads_and_messages_never_panic() {
    use iogate::engineio::sio09::{Sio09Codec, decode_payload, encode_payload};
    use iogate::socketio::sio09::Sio09Translator;
    let mut rng = StdRng::seed_from_u64(0x09);
    for _ in 0..ROUNDS {
        let text = random_sio09_text(&mut rng);
        if let Ok(messages) = decode_payload(&text) {
            for message in messages {
                let _ = Sio09Translator.decode(message);
            }
        }
        let _ = Sio09Translator.decode(&text);
        // Whatever the messages, framing them and reading them back gives them again.
        let messages = vec![random_sio09_text(&mut rng), text];
        let framed = encode_payload(&messages);
        if messages.iter().all(|m| !m.is_empty()) {
            let decoded = decode_payload(&framed).expect("a payload iogate framed");
            assert_eq!(decoded, messages);
        }
    }
}

#[test]
fn packets_for_socketio09_clients_never_panic() {
    use iogate::engineio::sio09::Sio09Codec;
    use iogate::socketio::sio09::Sio09Translator;
    let mut rng = StdRng::seed_from_u64(0x0909);
    for _ in 0..ROUNDS / 4 {
        let packets: Vec<Packet> = (0..rng.random_range(1..6))
            .map(|_| match rng.random_range(0..3) {
                0 => random_packet(&mut rng),
                _ => {
                    let text = format!("4{}", random_sio09_text(&mut rng));
                    Packet::Text(Text::from(text))
                }
            })
            .collect();
        let _ = Sio09Translator.encode(&packets);
    }
}

/// A masked client frame, as a browser sends it.
fn ws_client_frame(rng: &mut StdRng, fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    iogate_ws::client::encode_client_frame(&mut out, fin, opcode, payload, rng.random());
    out
}

/// Feeds `bytes` to a WebSocket decoder in random chunks; returns the events until the first violation.
fn ws_decode_in_chunks(
    rng: &mut StdRng,
    bytes: &[u8],
    max: usize,
) -> (Vec<ws_frame::Event>, Option<ws_frame::Violation>) {
    let mut decoder = ws_frame::Decoder::new();
    let mut events = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let take = rng.random_range(1..=rest.len().min(40));
        let (chunk, after) = rest.split_at(take);
        rest = after;
        let mut input = chunk;
        loop {
            match decoder.next(&mut input, max) {
                Ok(Some(event)) => events.push(event),
                Ok(None) => break,
                Err(violation) => return (events, Some(violation)),
            }
        }
        assert!(
            input.is_empty(),
            "the decoder keeps what it does not decode"
        );
    }
    (events, None)
}

#[test]
fn arbitrary_websocket_bytes_never_panic_and_end_in_a_close_code() {
    let mut rng = StdRng::seed_from_u64(0x3b5);
    let alphabet = b"\x81\x82\x80\x01\x00\x88\x89\x8a\xfe\xff\x7e\x7f\xc3";
    for _ in 0..ROUNDS {
        let input = random_bytes(&mut rng, alphabet);
        let max = rng.random_range(0..100);
        let (_, violation) = ws_decode_in_chunks(&mut rng, &input, max);
        if let Some(violation) = violation {
            assert!([1002, 1007, 1009].contains(&violation.close_code()));
        }
    }
}

#[test]
fn valid_websocket_messages_survive_any_split_and_mutations_never_panic() {
    let mut rng = StdRng::seed_from_u64(0x3b6);
    for _ in 0..ROUNDS / 4 {
        let mut bytes = Vec::new();
        let mut expected = Vec::new();
        for _ in 0..rng.random_range(1..4) {
            let text: String = (0..rng.random_range(0..300))
                .map(|_| char::from_u32(rng.random_range(0x20..0x3000)).unwrap_or('x'))
                .collect();
            let data = text.as_bytes();
            // Cut into fragments anywhere (even inside a character), with pings between them.
            let cuts = rng.random_range(0..3);
            let mut points: Vec<usize> = (0..cuts)
                .map(|_| rng.random_range(0..=data.len()))
                .collect();
            points.sort_unstable();
            points.push(data.len());
            let mut from = 0;
            for (i, &to) in points.iter().enumerate() {
                let opcode = if i == 0 { 1 } else { 0 };
                bytes.extend(ws_client_frame(
                    &mut rng,
                    i + 1 == points.len(),
                    opcode,
                    &data[from..to],
                ));
                if rng.random_bool(0.3) {
                    bytes.extend(ws_client_frame(&mut rng, true, 9, b"p"));
                }
                from = to;
            }
            expected.push(text);
        }
        let (events, violation) = ws_decode_in_chunks(&mut rng, &bytes, 10_000);
        assert_eq!(violation, None);
        let texts: Vec<String> = events
            .into_iter()
            .filter_map(|event| match event {
                ws_frame::Event::Message(ws_frame::WsMessage::Text(text)) => {
                    Some(text.as_str().to_owned())
                }
                _ => None,
            })
            .collect();
        assert_eq!(texts, expected);
        // Mutated or truncated, the same bytes never panic.
        let mut mutated = bytes.clone();
        for _ in 0..rng.random_range(1..4) {
            let at = rng.random_range(0..mutated.len());
            mutated[at] = rng.random();
        }
        mutated.truncate(rng.random_range(0..=mutated.len()));
        let _ = ws_decode_in_chunks(&mut rng, &mutated, 10_000);
    }
}

#[test]
fn an_oversized_websocket_frame_is_refused_before_its_payload_arrives() {
    let mut rng = StdRng::seed_from_u64(0x3b7);
    for len in [1_001usize, 70_000, 1 << 40] {
        let mut header = vec![0x82u8];
        if len <= 0xFFFF {
            header.push(0x80 | 126);
            header.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            header.push(0x80 | 127);
            header.extend_from_slice(&(len as u64).to_be_bytes());
        }
        header.extend_from_slice(&[1, 2, 3, 4]);
        let (events, violation) = ws_decode_in_chunks(&mut rng, &header, 1_000);
        assert!(events.is_empty());
        assert_eq!(violation, Some(ws_frame::Violation::TooBig), "length {len}");
    }
}

/// A webhook response as a backend could frame `body`: Content-Length, chunked (random chunk sizes, extensions,
/// trailers) or until close, sometimes after a `100 Continue`.
fn random_webhook_response(rng: &mut StdRng, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    if rng.random_bool(0.2) {
        out.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
    }
    out.extend_from_slice(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n");
    match rng.random_range(0..3) {
        0 => {
            out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
            out.extend_from_slice(body);
        }
        1 => {
            out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
            let mut rest = body;
            while !rest.is_empty() {
                let take = rng.random_range(1..=rest.len());
                let ext = if rng.random_bool(0.3) { ";a=b" } else { "" };
                out.extend_from_slice(format!("{take:x}{ext}\r\n").as_bytes());
                out.extend_from_slice(&rest[..take]);
                out.extend_from_slice(b"\r\n");
                rest = &rest[take..];
            }
            out.extend_from_slice(b"0\r\n");
            if rng.random_bool(0.3) {
                out.extend_from_slice(b"X-Trailer: 1\r\n");
            }
            out.extend_from_slice(b"\r\n");
        }
        _ => {
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(body);
        }
    }
    out
}

/// Feeds `bytes` to the response parser and chunked decoder in random pieces, as the client reads them; returns the
/// body when one was framed completely (until-close bodies end with the input).
fn decode_webhook_response(rng: &mut StdRng, bytes: &[u8]) -> Option<Vec<u8>> {
    use iogate_hook_client::codec::chunked::{Chunked, Progress};
    use iogate_hook_client::codec::response::{Framing, parse};
    let mut buf = Vec::new();
    let mut input = bytes;
    let mut feed = |buf: &mut Vec<u8>, rng: &mut StdRng| {
        if input.is_empty() {
            return false;
        }
        let take = rng.random_range(1..=input.len().min(40));
        buf.extend_from_slice(&input[..take]);
        input = &input[take..];
        true
    };
    let head = loop {
        match parse(&buf) {
            Ok(Some(head)) if head.is_interim() => {
                buf.drain(..head.len);
            }
            Ok(Some(head)) => break head,
            Ok(None) if feed(&mut buf, rng) => {}
            _ => return None,
        }
    };
    let start = head.len;
    match head.framing {
        Framing::Empty => Some(Vec::new()),
        Framing::Length(length) => {
            let end = start.checked_add(usize::try_from(length).ok()?)?;
            while buf.len() < end {
                if !feed(&mut buf, rng) {
                    return None;
                }
            }
            Some(buf[start..end].to_vec())
        }
        Framing::Chunked => {
            let mut chunked = Chunked::new(1 << 16);
            loop {
                match chunked.decode(&mut buf, start) {
                    Ok(Progress::Done { len }) => return Some(buf[start..start + len].to_vec()),
                    Ok(Progress::NeedMore) if feed(&mut buf, rng) => {}
                    _ => return None,
                }
            }
        }
        Framing::UntilClose => {
            while feed(&mut buf, rng) {}
            Some(buf[start..].to_vec())
        }
    }
}

#[test]
fn webhook_responses_decode_in_any_split_and_mutations_never_panic() {
    let mut rng = StdRng::seed_from_u64(0x4007);
    let alphabet = b"{}[]\":,0123456789abc\r\n;";
    for round in 0..ROUNDS / 4 {
        let body = random_bytes(&mut rng, alphabet);
        let mut response = random_webhook_response(&mut rng, &body);
        assert_eq!(
            decode_webhook_response(&mut rng, &response).as_deref(),
            Some(&body[..]),
            "round {round}: {:?}",
            String::from_utf8_lossy(&response)
        );
        for _ in 0..rng.random_range(1..5) {
            let at = rng.random_range(0..response.len());
            match rng.random_range(0..4) {
                0 => response[at] = rng.random(),
                1 => {
                    response.remove(at);
                }
                2 => response.insert(at, alphabet[rng.random_range(0..alphabet.len())]),
                _ => response.truncate(at),
            }
            if response.is_empty() {
                break;
            }
        }
        let _ = decode_webhook_response(&mut rng, &response);
        let arbitrary = random_bytes(&mut rng, b"HTTP/1.1 200 OK\r\n:;0123456789abcdef");
        let _ = decode_webhook_response(&mut rng, &arbitrary);
    }
}
