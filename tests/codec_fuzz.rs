//! Randomized robustness checks of the codecs: arbitrary and mutated input never panics, and valid
//! payloads survive a decode/encode round trip. (Coverage-guided fuzz targets live in `fuzz/`.)

use bytes::Bytes;
use iogate::engineio::{Incoming, Message, Packet, Query, Text, decode_text, payload_v4};
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
