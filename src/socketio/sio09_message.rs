//! Socket.IO 0.9 messages: `type:id[+]:endpoint[:data]`, e.g. `5:1+:/chat:{"name":"hi","args":[1]}`.

/// The 0.9 message types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sio09Kind {
    /// `0`: leave an endpoint, or (with none) the whole connection.
    Disconnect,
    /// `1`: join an endpoint (from the client) or confirm it (from the server).
    Connect,
    /// `2`: heartbeat.
    Heartbeat,
    /// `3`: a plain text message.
    Message,
    /// `4`: a JSON message.
    Json,
    /// `5`: an event `{"name":...,"args":[...]}`.
    Event,
    /// `6`: an acknowledgement `id[+args]`.
    Ack,
    /// `7`: an error `reason[+advice]`.
    Error,
    /// `8`: nothing.
    Noop,
}

impl Sio09Kind {
    fn from_digit(digit: &str) -> Option<Self> {
        Some(match digit {
            "0" => Self::Disconnect,
            "1" => Self::Connect,
            "2" => Self::Heartbeat,
            "3" => Self::Message,
            "4" => Self::Json,
            "5" => Self::Event,
            "6" => Self::Ack,
            "7" => Self::Error,
            "8" => Self::Noop,
            _ => return None,
        })
    }

    fn digit(self) -> char {
        (b'0' + self as u8) as char
    }
}

/// A decoded 0.9 message, borrowing from its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sio09Message<'a> {
    /// The message type.
    pub kind: Sio09Kind,
    /// The message id, when the sender wants an acknowledgement.
    pub id: Option<u64>,
    /// Whether the acknowledgement should carry data (`id+`) rather than be sent automatically.
    pub data_ack: bool,
    /// The endpoint (namespace) with any query; empty for the main one.
    pub endpoint: &'a str,
    /// The data after the third colon; empty when absent.
    pub data: &'a str,
}

/// Why a 0.9 message could not be read.
pub const MALFORMED: &str = "expected type:id:endpoint[:data]";

/// Parses one 0.9 message.
pub fn parse(text: &str) -> Result<Sio09Message<'_>, &'static str> {
    let (digit, rest) = text.split_once(':').ok_or(MALFORMED)?;
    let kind = Sio09Kind::from_digit(digit).ok_or("unknown message type")?;
    let (id_part, rest) = rest.split_once(':').ok_or(MALFORMED)?;
    let (digits, data_ack) = match id_part.strip_suffix('+') {
        Some(digits) => (digits, true),
        None => (id_part, false),
    };
    let id = if digits.is_empty() {
        None
    } else {
        if digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err("message id is not a number");
        }
        Some(digits.parse().map_err(|_| "message id is not a number")?)
    };
    let (endpoint, data) = rest.split_once(':').unwrap_or((rest, ""));
    Ok(Sio09Message {
        kind,
        id,
        data_ack: data_ack && id.is_some(),
        endpoint,
        data,
    })
}

/// Encodes a 0.9 message; `data` is omitted (with its colon) when `None`.
pub fn encode(
    kind: Sio09Kind,
    id: Option<u64>,
    data_ack: bool,
    endpoint: &str,
    data: Option<&str>,
) -> String {
    let mut out = String::with_capacity(8 + endpoint.len() + data.map_or(0, str::len));
    out.push(kind.digit());
    out.push(':');
    if let Some(id) = id {
        out.push_str(&id.to_string());
        if data_ack {
            out.push('+');
        }
    }
    out.push(':');
    out.push_str(endpoint);
    if let Some(data) = data {
        out.push(':');
        out.push_str(data);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_spec_examples() {
        let m = parse("5:1+::{\"name\":\"hi\",\"args\":[1]}").unwrap();
        assert_eq!(
            (m.kind, m.id, m.data_ack, m.endpoint),
            (Sio09Kind::Event, Some(1), true, "")
        );
        assert_eq!(m.data, "{\"name\":\"hi\",\"args\":[1]}");
        let m = parse("3:7::/chat:a:b").unwrap();
        assert_eq!(
            (m.kind, m.id, m.data_ack, m.endpoint, m.data),
            (Sio09Kind::Message, Some(7), false, "", "/chat:a:b")
        );
        let m = parse("3:7:/chat:a:b").unwrap();
        assert_eq!((m.endpoint, m.data), ("/chat", "a:b"));
        let m = parse("1::/news?x=1").unwrap();
        assert_eq!(
            (m.kind, m.endpoint, m.data),
            (Sio09Kind::Connect, "/news?x=1", "")
        );
        assert_eq!(parse("2::").unwrap().kind, Sio09Kind::Heartbeat);
        assert_eq!(parse("0::/chat").unwrap().endpoint, "/chat");
        let m = parse("6:::4+[\"A\"]").unwrap();
        assert_eq!((m.kind, m.data), (Sio09Kind::Ack, "4+[\"A\"]"));
    }

    #[test]
    fn refuses_what_is_not_a_message() {
        for bad in [
            "",
            "2",
            "2:",
            "9::",
            "x::",
            "22::",
            "5:a::{}",
            "5:1x::",
            "5:9999999999999999::",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn encodes_with_optional_parts() {
        assert_eq!(encode(Sio09Kind::Heartbeat, None, false, "", None), "2::");
        assert_eq!(
            encode(Sio09Kind::Connect, None, false, "/chat", None),
            "1::/chat"
        );
        assert_eq!(
            encode(Sio09Kind::Event, Some(3), true, "", Some("{}")),
            "5:3+::{}"
        );
        assert_eq!(
            encode(Sio09Kind::Ack, None, false, "/a", Some("3")),
            "6::/a:3"
        );
    }
}
