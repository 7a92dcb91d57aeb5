//! The Engine.IO query string, decoded once (`EIO`, `transport`, `sid`, and for v3 `b64` and `j` picked out as it
//! is read), and what an Engine.IO request is by its method, upgrade headers and query: [`EngineRequest`].

use crate::engineio::session::TransportKind;
use crate::engineio::session::sid::Sid;
use http::Method;

/// The keys Engine.IO and Socket.IO 0.9 requests are routed by; their first values are found without a search.
const PICKED: [&str; 6] = ["EIO", "transport", "sid", "j", "b64", "jsonp"];

/// The pairs a query is given room for at first (Engine.IO clients send four or five).
const PAIRS_RESERVED: usize = 6;

/// The decoded query of an Engine.IO request, in order, with the keys Engine.IO reads picked out. Every key and
/// value is decoded into one text (a request's query costs two allocations, not two per pair).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Every key and value, percent-decoded, one after another.
    text: String,
    /// Where each pair's key and value end in `text`, in order (a key starts where the previous value ended).
    ends: Vec<(usize, usize)>,
    /// Where the first value of each `PICKED` key is in `ends`.
    picked: [Option<usize>; PICKED.len()],
}

impl Query {
    /// Decodes a raw query string in one pass; malformed escapes are kept as written, never an error.
    pub fn parse(raw: Option<&str>) -> Self {
        let Some(raw) = raw.filter(|raw| !raw.is_empty()) else {
            return Self::default();
        };
        let mut query = Self {
            text: String::with_capacity(raw.len()),
            // Room for the pairs a client's query usually has; a query of many separators only grows it as far as
            // it has pairs (empty ones are skipped), never by its separators alone.
            ends: Vec::with_capacity(PAIRS_RESERVED),
            picked: Default::default(),
        };
        for (key, value) in form_urlencoded::parse(raw.as_bytes()) {
            query.push(&key, &value);
        }
        query
    }

    /// A query of `pairs`, already decoded.
    pub fn from_pairs<K: AsRef<str>, V: AsRef<str>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let mut query = Self::default();
        for (key, value) in pairs {
            query.push(key.as_ref(), value.as_ref());
        }
        query
    }

    fn push(&mut self, key: &str, value: &str) {
        if let Some(slot) = PICKED.iter().position(|picked| *picked == key) {
            self.picked[slot].get_or_insert(self.ends.len());
        }
        self.text.push_str(key);
        let key_end = self.text.len();
        self.text.push_str(value);
        self.ends.push((key_end, self.text.len()));
    }

    /// The pair at `index`.
    fn pair(&self, index: usize) -> Option<(&str, &str)> {
        let (key_end, value_end) = *self.ends.get(index)?;
        let key_start = match index {
            0 => 0,
            _ => self.ends[index - 1].1,
        };
        Some((
            &self.text[key_start..key_end],
            &self.text[key_end..value_end],
        ))
    }

    /// Every key and value, decoded, in order.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        (0..self.ends.len()).filter_map(|index| self.pair(index))
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        let index = match PICKED.iter().position(|picked| *picked == key) {
            Some(slot) => self.picked[slot]?,
            None => self.pairs().position(|(k, _)| k == key)?,
        };
        self.pair(index).map(|(_, value)| value)
    }
}

/// What an Engine.IO request is, read once from its method, its upgrade headers and its query when it is routed;
/// the engine dispatches on it. Whether the endpoint serves the transport named is the engine's to check first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineRequest {
    /// `transport` names neither `polling` nor `websocket` (400 `Transport unknown`); `handshake`: no `sid`.
    UnknownTransport {
        /// Whether the request names no session.
        handshake: bool,
    },
    /// `transport=websocket` on a request that is not a WebSocket upgrade GET (400 `Bad request`).
    NotAnUpgrade {
        /// Whether the request names no session.
        handshake: bool,
    },
    /// A long-polling handshake that is not a GET (400 `Bad handshake method`).
    HandshakeNotGet,
    /// A new session: a long-polling GET, or a WebSocket upgrade.
    Handshake(TransportKind),
    /// A request of session `sid` (`None`: not an id iogate could have issued).
    Session(Option<Sid>, SessionRequest),
}

/// What a request of an open session asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionRequest {
    /// A long-poll GET: the packets queued for the client.
    PollGet,
    /// A POST of packets from the client.
    PollPost,
    /// Another method on the polling transport (400 `Bad request` once the session is found).
    PollOther,
    /// A WebSocket upgrade of the session.
    Upgrade,
}

impl EngineRequest {
    /// Reads what a request is; `upgrade`: its headers ask for a WebSocket upgrade.
    pub fn read(method: &Method, upgrade: bool, query: &Query) -> Self {
        let sid = query.get("sid");
        let handshake = sid.is_none();
        let transport = match query.get("transport") {
            Some("polling") => TransportKind::Polling,
            Some("websocket") => TransportKind::Websocket,
            _ => return Self::UnknownTransport { handshake },
        };
        if transport == TransportKind::Websocket && (!upgrade || method != Method::GET) {
            return Self::NotAnUpgrade { handshake };
        }
        let Some(sid) = sid else {
            return if method == Method::GET {
                Self::Handshake(transport)
            } else {
                Self::HandshakeNotGet
            };
        };
        let action = match (transport, method) {
            (TransportKind::Websocket, _) => SessionRequest::Upgrade,
            (TransportKind::Polling, &Method::GET) => SessionRequest::PollGet,
            (TransportKind::Polling, &Method::POST) => SessionRequest::PollPost,
            (TransportKind::Polling, _) => SessionRequest::PollOther,
        };
        Self::Session(Sid::parse(sid), action)
    }

    /// The transport the request names, if it names one iogate knows.
    pub fn transport(self) -> Option<TransportKind> {
        match self {
            Self::UnknownTransport { .. } => None,
            Self::NotAnUpgrade { .. } | Self::Session(_, SessionRequest::Upgrade) => {
                Some(TransportKind::Websocket)
            }
            Self::HandshakeNotGet | Self::Session(..) => Some(TransportKind::Polling),
            Self::Handshake(transport) => Some(transport),
        }
    }

    /// Whether the request names no session (a handshake, or what would have been one).
    pub fn is_handshake(self) -> bool {
        match self {
            Self::UnknownTransport { handshake } | Self::NotAnUpgrade { handshake } => handshake,
            Self::HandshakeNotGet | Self::Handshake(_) => true,
            Self::Session(..) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_keeps_order() {
        let q = Query::parse(Some("EIO=4&transport=polling&t=N8hyd6w&name=a%20b&x"));
        assert_eq!(q.get("EIO"), Some("4"));
        assert_eq!(q.get("name"), Some("a b"));
        assert_eq!(q.get("x"), Some(""));
        assert_eq!(q.pairs().nth(1), Some(("transport", "polling")));
        assert_eq!(q.pairs().count(), 5);
    }

    #[test]
    fn tolerates_garbage() {
        let q = Query::parse(Some("%zz=%&&=&EIO=%FF"));
        assert_eq!(q.get("EIO"), Some("\u{fffd}"));
        assert_eq!(Query::parse(None).pairs().count(), 0);
        assert_eq!(Query::parse(Some("")), Query::parse(None));
        let empty_pairs = Query::parse(Some("&&=&"));
        assert_eq!(empty_pairs.pairs().collect::<Vec<_>>(), [("", "")]);
    }

    #[test]
    fn picked_keys_are_matched_decoded_and_first_wins() {
        let q = Query::parse(Some("%73id=abc&j=0&sid=def&%6A=1&xsid=x&jj=2"));
        assert_eq!(q.get("sid"), Some("abc"));
        assert_eq!(q.get("j"), Some("0"));
        assert_eq!(q.get("jsonp"), None);
        assert_eq!(q.get("jj"), Some("2"));
        assert_eq!(Query::from_pairs(q.pairs()), q);
    }

    fn read(method: Method, upgrade: bool, query: &str) -> EngineRequest {
        EngineRequest::read(&method, upgrade, &Query::parse(Some(query)))
    }

    #[test]
    fn requests_are_read_in_the_order_engineio_checks_them() {
        use EngineRequest::*;
        use SessionRequest::*;
        let sid = Sid::random();
        use TransportKind::{Polling, Websocket};
        let of = |transport: &str| format!("transport={transport}&sid={}", sid.as_str());
        let s = str::to_string;
        let (poll, ws) = (s("transport=polling"), s("transport=websocket"));
        let unknown = |handshake| UnknownTransport { handshake };
        let not_upgrade = |handshake| NotAnUpgrade { handshake };
        let cases = [
            ("GET", false, s("sid=x&transport=flash"), unknown(false)),
            ("GET", false, s("EIO=4"), unknown(true)),
            ("GET", false, ws.clone(), not_upgrade(true)),
            ("POST", true, of("websocket"), not_upgrade(false)),
            ("POST", false, poll.clone(), HandshakeNotGet),
            ("GET", false, poll.clone(), Handshake(Polling)),
            ("GET", true, ws, Handshake(Websocket)),
            ("GET", false, of("polling"), Session(Some(sid), PollGet)),
            ("POST", false, of("polling"), Session(Some(sid), PollPost)),
            ("PUT", false, of("polling"), Session(Some(sid), PollOther)),
            ("GET", true, of("websocket"), Session(Some(sid), Upgrade)),
            ("GET", false, poll + "&sid=", Session(None, PollGet)),
        ];
        for (method, upgrade, query, expected) in cases {
            let method = Method::from_bytes(method.as_bytes()).unwrap_or_default();
            assert_eq!(
                read(method.clone(), upgrade, &query),
                expected,
                "{method} {query}"
            );
        }
    }

    #[test]
    fn transports_and_handshakes_follow_the_request() {
        assert_eq!(
            read(Method::PUT, false, "transport=polling&sid=x").transport(),
            Some(TransportKind::Polling)
        );
        assert_eq!(
            read(Method::GET, false, "transport=websocket").transport(),
            Some(TransportKind::Websocket)
        );
        assert_eq!(read(Method::GET, false, "transport=x").transport(), None);
        assert!(read(Method::GET, false, "transport=x").is_handshake());
        assert!(!read(Method::GET, false, "transport=polling&sid=").is_handshake());
    }
}
