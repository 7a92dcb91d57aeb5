//! The bits of Engine.IO v4 and Socket.IO v5 the load generator speaks: text packets only (the benchmarks send no
//! binary), default namespace.

/// The Engine.IO v4 long-polling separator between packets of one payload.
pub const SEPARATOR: char = '\u{1e}';

/// One Engine.IO packet as the client sees it.
#[derive(Debug, PartialEq, Eq)]
pub enum Packet<'a> {
    /// `0{...}`: the handshake.
    Open(&'a str),
    /// `1`: the server closed the session.
    Close,
    /// `2`: a heartbeat ping, to answer with `3`.
    Ping,
    /// `6`: nothing (a released poll).
    Noop,
    /// `4...`: a Socket.IO packet.
    Sio(Sio<'a>),
    /// Anything else.
    Other,
}

/// One Socket.IO packet of the default namespace.
#[derive(Debug, PartialEq, Eq)]
pub enum Sio<'a> {
    /// `0{"sid":...}`: the namespace is connected.
    Connect,
    /// `1`: the server disconnected the socket.
    Disconnect,
    /// `2[...]`: an event, its JSON array.
    Event(&'a str),
    /// `3<id>[...]`: an ack.
    Ack(u64, &'a str),
    /// `4{...}`: the connection was refused.
    ConnectError(&'a str),
    /// Anything else.
    Other,
}

/// Parses one Engine.IO text packet.
pub fn packet(text: &str) -> Packet<'_> {
    let Some(kind) = text.as_bytes().first() else {
        return Packet::Other;
    };
    let rest = &text[1..];
    match kind {
        b'0' => Packet::Open(rest),
        b'1' => Packet::Close,
        b'2' => Packet::Ping,
        b'6' => Packet::Noop,
        b'4' => Packet::Sio(sio(rest)),
        _ => Packet::Other,
    }
}

fn sio(text: &str) -> Sio<'_> {
    let Some(kind) = text.as_bytes().first() else {
        return Sio::Other;
    };
    let rest = &text[1..];
    // Packets of other namespaces ("/name,") are not used by the benchmarks.
    if rest.starts_with('/') {
        return Sio::Other;
    }
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let id = rest[..digits].parse::<u64>().ok();
    let data = &rest[digits..];
    match (kind, id) {
        (b'0', _) => Sio::Connect,
        (b'1', _) => Sio::Disconnect,
        (b'2', _) => Sio::Event(data),
        (b'3', Some(id)) => Sio::Ack(id, data),
        (b'4', _) => Sio::ConnectError(data),
        _ => Sio::Other,
    }
}

/// The packets of a long-polling payload.
pub fn payload(body: &str) -> impl Iterator<Item = Packet<'_>> {
    body.split(SEPARATOR).filter(|p| !p.is_empty()).map(packet)
}

/// The `sid` of an open packet's JSON.
pub fn open_sid(json: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Open {
        sid: String,
    }
    serde_json::from_str::<Open>(json).ok().map(|open| open.sid)
}

/// The event name and the first argument as an integer, of an event's JSON array like `["tick",42]`.
pub fn event_with_number(data: &str) -> Option<(&str, u64)> {
    let inner = data.strip_prefix("[\"")?;
    let end = inner.find('"')?;
    let name = &inner[..end];
    let after = inner[end + 1..].strip_prefix(',')?;
    let digits = after.bytes().take_while(u8::is_ascii_digit).count();
    Some((name, after[..digits].parse().ok()?))
}

/// The text of an event emit asking for ack `id`: `42<id>["echo",{"seq":<id>,"text":"..."}]`.
pub fn emit_with_ack(id: u64) -> String {
    let mut text = String::new();
    write_emit_with_ack(&mut text, id);
    text
}

/// [`emit_with_ack`] written into `out` (cleared first), to reuse its buffer.
pub fn write_emit_with_ack(out: &mut String, id: u64) {
    use std::fmt::Write as _;
    out.clear();
    let _ = write!(
        out,
        r#"42{id}["echo",{{"seq":{id},"text":"hello from the benchmark"}}]"#
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_packets() {
        assert_eq!(packet("2"), Packet::Ping);
        assert_eq!(packet("40{\"sid\":\"x\"}"), Packet::Sio(Sio::Connect));
        assert_eq!(packet("4317[1,2]"), Packet::Sio(Sio::Ack(17, "[1,2]")));
        assert_eq!(
            packet("42[\"tick\",3]"),
            Packet::Sio(Sio::Event("[\"tick\",3]"))
        );
        assert_eq!(
            payload("2\u{1e}6\u{1e}41").collect::<Vec<_>>(),
            vec![Packet::Ping, Packet::Noop, Packet::Sio(Sio::Disconnect)]
        );
        assert_eq!(event_with_number("[\"tick\",42]"), Some(("tick", 42)));
        assert_eq!(
            open_sid(r#"{"sid":"abc","upgrades":[],"pingInterval":1}"#).as_deref(),
            Some("abc")
        );
    }
}
