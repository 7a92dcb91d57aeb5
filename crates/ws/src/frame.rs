//! WebSocket framing (RFC 6455), server side, as pure functions over bytes: the decoder of client frames
//! (masked, possibly fragmented, control frames between fragments) and the header of server frames.
//!
//! The decoder keeps nothing while a connection is idle: bytes are decoded straight from the caller's read
//! buffer, and only an incomplete frame (or the fragments of an unfinished message) is copied into memory the
//! connection owns, released as soon as the message is complete.

use crate::text::Text;
use bytes::Bytes;

/// The longest payload of a control frame.
const MAX_CONTROL_PAYLOAD: usize = 125;

/// Close status codes the server sends (RFC 6455, section 7.4.1).
pub mod close_code {
    /// The peer broke the protocol.
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// A text message was not valid UTF-8.
    pub const INVALID_DATA: u16 = 1007;
    /// A message was larger than the endpoint accepts.
    pub const MESSAGE_TOO_BIG: u16 = 1009;
}

/// A frame's opcode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opcode {
    /// Continues a fragmented message.
    Continuation,
    /// The first (or only) frame of a text message.
    Text,
    /// The first (or only) frame of a binary message.
    Binary,
    /// Closes the connection.
    Close,
    /// Asks for a pong.
    Ping,
    /// Answers a ping.
    Pong,
}

impl Opcode {
    fn from_bits(bits: u8) -> Option<Self> {
        Some(match bits {
            0x0 => Self::Continuation,
            0x1 => Self::Text,
            0x2 => Self::Binary,
            0x8 => Self::Close,
            0x9 => Self::Ping,
            0xA => Self::Pong,
            _ => return None,
        })
    }

    fn bits(self) -> u8 {
        match self {
            Self::Continuation => 0x0,
            Self::Text => 0x1,
            Self::Binary => 0x2,
            Self::Close => 0x8,
            Self::Ping => 0x9,
            Self::Pong => 0xA,
        }
    }

    fn is_control(self) -> bool {
        matches!(self, Self::Close | Self::Ping | Self::Pong)
    }
}

/// A whole WebSocket message, as received or to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WsMessage {
    /// A text message (valid UTF-8).
    Text(Text),
    /// A binary message.
    Binary(Bytes),
}

/// What the decoder found next in the client's bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A complete data message (fragments already joined).
    Message(WsMessage),
    /// A ping: answer with a pong carrying the same data.
    Ping(Bytes),
    /// The client closes; its status code, if it gave one (already checked to be a valid one).
    Close(Option<u16>),
}

/// Why the connection must be closed: the client broke the protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    /// A malformed or out-of-sequence frame.
    #[error("websocket protocol error: {0}")]
    Protocol(&'static str),
    /// A message larger than the endpoint's limit.
    #[error("websocket message too big")]
    TooBig,
    /// A text message (or close reason) that is not valid UTF-8.
    #[error("websocket text is not valid UTF-8")]
    InvalidUtf8,
}

impl Violation {
    /// The close code to send for this violation.
    pub fn close_code(self) -> u16 {
        match self {
            Self::Protocol(_) => close_code::PROTOCOL_ERROR,
            Self::TooBig => close_code::MESSAGE_TOO_BIG,
            Self::InvalidUtf8 => close_code::INVALID_DATA,
        }
    }
}

/// A frame header, parsed.
#[derive(Clone, Copy, Debug)]
struct Header {
    fin: bool,
    opcode: Opcode,
    mask: [u8; 4],
    header_len: usize,
    payload_len: usize,
}

impl Header {
    fn frame_len(&self) -> usize {
        self.header_len + self.payload_len
    }
}

/// Parses the header at the start of `buf`; `None` when more bytes are needed. `room` is how many payload bytes
/// a data frame may still carry (the limit minus the fragments already received).
fn parse_header(buf: &[u8], room: usize) -> Result<Option<Header>, Violation> {
    let [b0, b1, ..] = *buf else {
        return Ok(None);
    };
    if b0 & 0x70 != 0 {
        return Err(Violation::Protocol("reserved bits set"));
    }
    let opcode = Opcode::from_bits(b0 & 0x0F).ok_or(Violation::Protocol("unknown opcode"))?;
    let fin = b0 & 0x80 != 0;
    if b1 & 0x80 == 0 {
        return Err(Violation::Protocol("client frame not masked"));
    }
    let (payload_len, at) = match b1 & 0x7F {
        126 => match buf.get(2..4) {
            Some(&[hi, lo]) => (u64::from(u16::from_be_bytes([hi, lo])), 4),
            _ => return Ok(None),
        },
        127 => match buf.get(2..10).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
            Some(bytes) => (u64::from_be_bytes(bytes), 10),
            None => return Ok(None),
        },
        short => (u64::from(short), 2),
    };
    if opcode.is_control() {
        if !fin {
            return Err(Violation::Protocol("fragmented control frame"));
        }
        if payload_len > MAX_CONTROL_PAYLOAD as u64 {
            return Err(Violation::Protocol("control frame too long"));
        }
    } else if payload_len >> 63 != 0 {
        return Err(Violation::Protocol("frame length out of range"));
    } else if payload_len > room as u64 {
        return Err(Violation::TooBig);
    }
    let Some(mask) = buf
        .get(at..at + 4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
    else {
        return Ok(None);
    };
    Ok(Some(Header {
        fin,
        opcode,
        mask,
        header_len: at + 4,
        // At most `room` (a `usize`) or 125 by the checks above.
        payload_len: usize::try_from(payload_len).map_err(|_| Violation::TooBig)?,
    }))
}

/// Appends `masked` to `out`, unmasked with `mask` (the first byte of `masked` at mask position 0).
fn unmask_into(out: &mut Vec<u8>, masked: &[u8], mask: [u8; 4]) {
    let start = out.len();
    out.extend_from_slice(masked);
    for (i, byte) in out[start..].iter_mut().enumerate() {
        *byte ^= mask[i & 3];
    }
}

/// State kept between reads: present only while a frame or a fragmented message is incomplete.
#[derive(Debug, Default)]
struct Partial {
    /// Received bytes not decoded yet (from `start` on).
    pending: Vec<u8>,
    start: usize,
    /// Unmasked data of a fragmented message so far, and whether it is text.
    fragments: Vec<u8>,
    fragmented: Option<bool>,
}

/// Decodes client frames into messages and control events. Holds no memory while no frame is incomplete.
#[derive(Debug, Default)]
pub struct Decoder {
    partial: Option<Box<Partial>>,
}

impl Decoder {
    /// A decoder with nothing pending.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether no bytes are buffered (neither an incomplete frame nor an unfinished fragmented message).
    pub fn is_idle(&self) -> bool {
        self.partial.is_none()
    }

    /// Whether a call to [`Decoder::next`] with no new input could find something: buffered bytes wait.
    pub fn has_pending(&self) -> bool {
        self.partial
            .as_ref()
            .is_some_and(|p| p.start < p.pending.len())
    }

    /// Keeps `input` (bytes read but not decoded) for the next call.
    pub fn stash(&mut self, input: &[u8]) {
        if input.is_empty() {
            return;
        }
        let partial = self.partial.get_or_insert_with(Box::default);
        if partial.start > 0 {
            partial.pending.drain(..partial.start);
            partial.start = 0;
        }
        partial.pending.extend_from_slice(input);
    }

    /// Decodes the next event from the buffered bytes followed by `input`; `max_message` bounds a message's size.
    /// Returns `Ok(None)` when more bytes are needed (then all of `input` has been kept). Otherwise `input` is
    /// advanced past what was decoded; what remains in it is the caller's to pass again (or to [`Decoder::stash`]).
    pub fn next(
        &mut self,
        input: &mut &[u8],
        max_message: usize,
    ) -> Result<Option<Event>, Violation> {
        loop {
            let room = max_message.saturating_sub(self.fragment_len());
            let frame = if self.has_pending() {
                self.stash(input);
                *input = &[];
                let Some(partial) = self.partial.as_mut() else {
                    return Ok(None);
                };
                let buffered = &partial.pending[partial.start..];
                match parse_header(buffered, room)? {
                    Some(header) if buffered.len() >= header.frame_len() => {
                        let frame = Self::take_frame(buffered, &header);
                        partial.start += header.frame_len();
                        frame
                    }
                    _ => return Ok(None),
                }
            } else {
                match parse_header(input, room)? {
                    Some(header) if input.len() >= header.frame_len() => {
                        let frame = Self::take_frame(input, &header);
                        *input = &input[header.frame_len()..];
                        frame
                    }
                    _ => {
                        self.stash(input);
                        *input = &[];
                        return Ok(None);
                    }
                }
            };
            let event = self.on_frame(frame, max_message);
            self.tidy();
            if let Some(event) = event? {
                return Ok(Some(event));
            }
        }
    }

    fn take_frame(buf: &[u8], header: &Header) -> (Header, Vec<u8>) {
        let mut payload = Vec::new();
        unmask_into(
            &mut payload,
            &buf[header.header_len..header.frame_len()],
            header.mask,
        );
        (*header, payload)
    }

    fn fragment_len(&self) -> usize {
        self.partial.as_ref().map_or(0, |p| p.fragments.len())
    }

    /// Releases what a finished frame or message no longer needs.
    fn tidy(&mut self) {
        let Some(partial) = self.partial.as_mut() else {
            return;
        };
        if partial.start >= partial.pending.len() {
            partial.pending = Vec::new();
            partial.start = 0;
        }
        if partial.pending.is_empty() && partial.fragmented.is_none() {
            self.partial = None;
        }
    }

    fn on_frame(
        &mut self,
        (header, payload): (Header, Vec<u8>),
        max_message: usize,
    ) -> Result<Option<Event>, Violation> {
        let fragmented = self.partial.as_ref().and_then(|p| p.fragmented);
        match header.opcode {
            Opcode::Ping => Ok(Some(Event::Ping(Bytes::from(payload)))),
            Opcode::Pong => Ok(None),
            Opcode::Close => close_event(&payload).map(Some),
            Opcode::Text | Opcode::Binary if fragmented.is_some() => Err(Violation::Protocol(
                "new message before the fragmented one ended",
            )),
            Opcode::Text | Opcode::Binary => {
                let text = header.opcode == Opcode::Text;
                if header.fin {
                    return message(text, payload).map(Some);
                }
                let partial = self.partial.get_or_insert_with(Box::default);
                partial.fragmented = Some(text);
                partial.fragments = payload;
                Ok(None)
            }
            Opcode::Continuation => {
                let (Some(text), Some(partial)) = (fragmented, self.partial.as_mut()) else {
                    return Err(Violation::Protocol("continuation frame without a message"));
                };
                if partial.fragments.len() + payload.len() > max_message {
                    return Err(Violation::TooBig);
                }
                partial.fragments.extend_from_slice(&payload);
                if !header.fin {
                    return Ok(None);
                }
                partial.fragmented = None;
                let whole = std::mem::take(&mut partial.fragments);
                message(text, whole).map(Some)
            }
        }
    }
}

fn message(text: bool, payload: Vec<u8>) -> Result<Event, Violation> {
    let bytes = Bytes::from(payload);
    Ok(Event::Message(if text {
        WsMessage::Text(Text::from_utf8(bytes).map_err(|_| Violation::InvalidUtf8)?)
    } else {
        WsMessage::Binary(bytes)
    }))
}

/// Checks a close frame's payload: empty, or a valid status code followed by a UTF-8 reason.
fn close_event(payload: &[u8]) -> Result<Event, Violation> {
    match payload {
        [] => Ok(Event::Close(None)),
        [_] => Err(Violation::Protocol("close frame with a one-byte payload")),
        [hi, lo, reason @ ..] => {
            let code = u16::from_be_bytes([*hi, *lo]);
            let valid = matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999);
            if !valid {
                return Err(Violation::Protocol("invalid close code"));
            }
            std::str::from_utf8(reason).map_err(|_| Violation::InvalidUtf8)?;
            Ok(Event::Close(Some(code)))
        }
    }
}

/// The header of an unmasked, final server frame of `opcode` carrying `payload_len` bytes.
#[derive(Clone, Copy, Debug)]
pub struct FrameHead {
    bytes: [u8; 10],
    len: u8,
}

impl FrameHead {
    /// Encodes the header.
    pub fn new(opcode: Opcode, payload_len: usize) -> Self {
        let mut bytes = [0u8; 10];
        bytes[0] = 0x80 | opcode.bits();
        let len = if payload_len < 126 {
            bytes[1] = payload_len as u8;
            2
        } else if let Ok(short) = u16::try_from(payload_len) {
            bytes[1] = 126;
            bytes[2..4].copy_from_slice(&short.to_be_bytes());
            4
        } else {
            bytes[1] = 127;
            bytes[2..10].copy_from_slice(&(payload_len as u64).to_be_bytes());
            10
        };
        Self { bytes, len }
    }

    /// The encoded header.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// The payload of a close frame with `code` (no reason text).
pub fn close_payload(code: u16) -> Bytes {
    Bytes::copy_from_slice(&code.to_be_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client frame: masked with a fixed key.
    pub(crate) fn client_frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        crate::client::encode_client_frame(
            &mut out,
            fin,
            opcode,
            payload,
            [0x37, 0xfa, 0x21, 0x3d],
        );
        out
    }

    fn decode_all(bytes: &[u8], max: usize) -> Result<Vec<Event>, Violation> {
        let mut decoder = Decoder::new();
        let mut input = bytes;
        let mut events = Vec::new();
        while let Some(event) = decoder.next(&mut input, max)? {
            events.push(event);
        }
        assert!(input.is_empty());
        Ok(events)
    }

    fn text(s: &str) -> Event {
        Event::Message(WsMessage::Text(Text::from(s)))
    }

    #[test]
    fn decodes_masked_text_and_binary_messages() {
        let mut bytes = client_frame(true, 1, b"4hello");
        bytes.extend(client_frame(true, 2, &[1, 2, 3]));
        assert_eq!(
            decode_all(&bytes, 100).unwrap(),
            vec![
                text("4hello"),
                Event::Message(WsMessage::Binary(Bytes::from_static(&[1, 2, 3])))
            ]
        );
    }

    #[test]
    fn decodes_16_and_64_bit_lengths() {
        for len in [125, 126, 127, 65_535, 65_536, 70_000] {
            let payload = vec![b'a'; len];
            let events = decode_all(&client_frame(true, 1, &payload), 100_000).unwrap();
            assert_eq!(events, vec![text(&"a".repeat(len))], "length {len}");
        }
    }

    #[test]
    fn joins_fragments_with_control_frames_between_them() {
        let mut bytes = client_frame(false, 1, b"4he");
        bytes.extend(client_frame(true, 9, b"hi"));
        bytes.extend(client_frame(false, 0, b"l"));
        bytes.extend(client_frame(true, 10, b""));
        bytes.extend(client_frame(true, 0, "lo€".as_bytes()));
        assert_eq!(
            decode_all(&bytes, 100).unwrap(),
            vec![Event::Ping(Bytes::from_static(b"hi")), text("4hello€")]
        );
    }

    #[test]
    fn a_text_split_inside_a_character_across_fragments_is_valid() {
        let euro = "€".as_bytes();
        let mut bytes = client_frame(false, 1, &euro[..1]);
        bytes.extend(client_frame(true, 0, &euro[1..]));
        assert_eq!(decode_all(&bytes, 100).unwrap(), vec![text("€")]);
    }

    #[test]
    fn decodes_across_every_split_point_and_holds_nothing_after() {
        let mut bytes = client_frame(false, 2, &[9; 300]);
        bytes.extend(client_frame(true, 0, &[8; 20]));
        bytes.extend(client_frame(true, 1, b"4x"));
        for split in 0..=bytes.len() {
            let mut decoder = Decoder::new();
            let mut events = Vec::new();
            for chunk in [&bytes[..split], &bytes[split..]] {
                let mut input = chunk;
                while let Some(event) = decoder.next(&mut input, 1000).unwrap() {
                    events.push(event);
                }
            }
            let mut whole = vec![9u8; 300];
            whole.extend([8u8; 20]);
            assert_eq!(
                events,
                vec![
                    Event::Message(WsMessage::Binary(Bytes::from(whole))),
                    text("4x")
                ],
                "split at {split}"
            );
            assert!(decoder.is_idle(), "split at {split}");
        }
    }

    #[test]
    fn stashed_input_is_decoded_later() {
        let mut bytes = client_frame(true, 1, b"4a");
        bytes.extend(client_frame(true, 1, b"4b"));
        let mut decoder = Decoder::new();
        let mut input = &bytes[..];
        assert_eq!(decoder.next(&mut input, 100).unwrap(), Some(text("4a")));
        decoder.stash(input);
        assert!(decoder.has_pending());
        assert_eq!(decoder.next(&mut &[][..], 100).unwrap(), Some(text("4b")));
        assert!(decoder.is_idle());
    }

    #[test]
    fn close_frames_give_their_code() {
        let mut payload = 4000u16.to_be_bytes().to_vec();
        payload.extend_from_slice(b"bye");
        assert_eq!(
            decode_all(&client_frame(true, 8, &payload), 10).unwrap(),
            vec![Event::Close(Some(4000))]
        );
        assert_eq!(
            decode_all(&client_frame(true, 8, b""), 10).unwrap(),
            vec![Event::Close(None)]
        );
        for bad in [
            &[3u8][..],
            &[0x03, 0xEC],
            &[0x03, 0xED],
            &[0x03, 0xE8, 0xFF],
        ] {
            assert!(
                decode_all(&client_frame(true, 8, bad), 10).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn protocol_violations_are_refused_with_their_code() {
        let unmasked = [0x81, 0x01, b'x'];
        let cases: Vec<(Vec<u8>, u16)> = vec![
            (unmasked.to_vec(), 1002),
            (client_frame(true, 0x41, b"x"), 1002),
            (client_frame(true, 3, b"x"), 1002),
            (client_frame(false, 9, b"x"), 1002),
            (client_frame(true, 9, &[0; 126]), 1002),
            (client_frame(true, 0, b"x"), 1002),
            (
                [client_frame(false, 1, b"x"), client_frame(true, 1, b"y")].concat(),
                1002,
            ),
            (client_frame(true, 1, &[0xC3, 0x28]), 1007),
            (client_frame(true, 2, &[0; 11]), 1009),
            (
                [
                    client_frame(false, 2, &[0; 6]),
                    client_frame(true, 0, &[0; 5]),
                ]
                .concat(),
                1009,
            ),
            (vec![0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0], 1002),
        ];
        for (bytes, code) in cases {
            let error = decode_all(&bytes, 10).expect_err("refused");
            assert_eq!(error.close_code(), code, "{bytes:?}: {error}");
        }
    }

    #[test]
    fn an_oversized_frame_is_refused_from_its_header_alone() {
        let header = [0x82, 0x80 | 127, 0, 0, 0, 1, 0, 0, 0, 0];
        let mut decoder = Decoder::new();
        assert_eq!(
            decoder.next(&mut &header[..], 1_000_000),
            Err(Violation::TooBig)
        );
    }

    #[test]
    fn encodes_server_frame_headers() {
        assert_eq!(FrameHead::new(Opcode::Text, 5).as_bytes(), &[0x81, 5]);
        assert_eq!(
            FrameHead::new(Opcode::Binary, 300).as_bytes(),
            &[0x82, 126, 1, 44]
        );
        assert_eq!(
            FrameHead::new(Opcode::Close, 70_000).as_bytes(),
            &[0x88, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70]
        );
        assert_eq!(&close_payload(1009)[..], &[0x03, 0xF1]);
    }
}
