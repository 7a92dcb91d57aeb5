//! The WebSocket frame decoder (`iogate_ws::frame::Decoder`).
//!
//! Input: a message-limit selector, a read size, then client bytes. Asserts: the events and the violation that
//! ends them are the same whether the bytes arrive at once or in reads of any size; "need more" always keeps
//! all the input; no message is over the limit, no ping over 125 bytes, every close code valid, every violation
//! maps to 1002, 1007 or 1009; the events encoded again as client frames (messages fragmented, a ping between the
//! fragments) decode to the same events; a frame announced one byte over the limit is refused from its header,
//! alone or as the fragment that takes a message past it.

use super::support::split_params;
use bytes::Bytes;
use iogate_ws::client::{client_frame_header, encode_client_frame};
use iogate_ws::frame::{Decoder, Event, Violation, WsMessage};

/// The message limits tried (the endpoint's `max_payload`).
const LIMITS: [usize; 8] = [0, 1, 2, 3, 125, 126, 65_536, usize::MAX];

/// The ping sent between the two fragments of a message encoded again.
const BETWEEN: &[u8] = b"between";

/// Events decoded, and the violation that stopped decoding, if any.
type Decoded = (Vec<Event>, Option<Violation>);

/// Runs the checks on `data`.
pub fn check(data: &[u8]) {
    let ([limit, read], input) = split_params::<2>(data);
    let max = LIMITS[usize::from(limit) % LIMITS.len()];
    let read = usize::from(read) + 1;

    let whole = decode_in_reads(input, max, usize::MAX);
    assert_eq!(
        whole,
        decode_in_reads(input, max, read),
        "events depend on the reads"
    );
    let (events, violation) = whole;
    for event in &events {
        match event {
            Event::Message(WsMessage::Text(text)) => assert!(text.len() <= max),
            Event::Message(WsMessage::Binary(data)) => assert!(data.len() <= max),
            Event::Ping(data) => assert!(data.len() <= 125),
            Event::Close(None) => {}
            Event::Close(Some(code)) => assert!(
                matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999),
                "close code {code}"
            ),
        }
    }
    if let Some(violation) = violation {
        assert!([1002, 1007, 1009].contains(&violation.close_code()));
    }

    let mask = [limit, read as u8, 0x5A, 0xC3];
    let mut again = Vec::new();
    let mut expected = Vec::new();
    for event in &events {
        encode_event(&mut again, event, mask, read);
        if let Event::Message(_) = event {
            expected.push(Event::Ping(Bytes::from_static(BETWEEN)));
        }
        expected.push(event.clone());
    }
    let (decoded, violation) = decode_in_reads(&again, max, read);
    assert_eq!(violation, None, "events encoded again are refused");
    assert_eq!(decoded, expected, "events encoded again decode differently");

    if let Some(over) = max.checked_add(1).filter(|&n| n < 1 << 63) {
        let mut frame = Vec::new();
        client_frame_header(&mut frame, true, 0x2, over as u64, mask);
        let refused = decode_in_reads(&frame, max, read);
        assert_eq!(
            refused,
            (Vec::new(), Some(Violation::TooBig)),
            "frame over {max}"
        );
    }
    if max <= 65_536 {
        let first = read.min(max);
        let mut frames = Vec::new();
        encode_client_frame(&mut frames, false, 0x2, &vec![7; first], mask);
        client_frame_header(&mut frames, true, 0x0, (max - first + 1) as u64, mask);
        let refused = decode_in_reads(&frames, max, read);
        assert_eq!(
            refused,
            (Vec::new(), Some(Violation::TooBig)),
            "fragments over {max}"
        );
    }
}

/// Decodes `input` arriving in reads of `read` bytes, as the connection does.
fn decode_in_reads(input: &[u8], max: usize, read: usize) -> Decoded {
    let mut decoder = Decoder::new();
    let mut events = Vec::new();
    for chunk in input.chunks(read.max(1)) {
        let mut rest = chunk;
        loop {
            let before = rest.len();
            match decoder.next(&mut rest, max) {
                Ok(Some(event)) => {
                    assert!(rest.len() <= before);
                    events.push(event);
                }
                Ok(None) => {
                    assert!(rest.is_empty(), "need more, but input not kept");
                    break;
                }
                Err(violation) => return (events, Some(violation)),
            }
        }
    }
    (events, None)
}

/// Appends `event` as client frames: a message in two fragments (cut at `cut`) with a ping between them.
fn encode_event(out: &mut Vec<u8>, event: &Event, mask: [u8; 4], cut: usize) {
    match event {
        Event::Message(message) => {
            let (opcode, data) = match message {
                WsMessage::Text(text) => (0x1, &text.as_bytes()[..]),
                WsMessage::Binary(data) => (0x2, &data[..]),
            };
            let (first, second) = data.split_at(cut.min(data.len()));
            encode_client_frame(out, false, opcode, first, mask);
            encode_client_frame(out, true, 0x9, BETWEEN, mask);
            encode_client_frame(out, true, 0x0, second, mask);
        }
        Event::Ping(data) => encode_client_frame(out, true, 0x9, data, mask),
        Event::Close(None) => encode_client_frame(out, true, 0x8, &[], mask),
        Event::Close(Some(code)) => encode_client_frame(out, true, 0x8, &code.to_be_bytes(), mask),
    }
}
