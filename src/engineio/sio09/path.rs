//! The paths of Socket.IO 0.9 requests, after `/{resource}/1`: `/` (handshake) or `/{transport}/{sid}`.

use crate::engineio::session::sid::Sid;

/// A 0.9 transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegacyTransport {
    /// XMLHttpRequest long-polling.
    XhrPolling,
    /// Script-tag long-polling with form posts.
    JsonpPolling,
    /// WebSocket.
    Websocket,
}

impl LegacyTransport {
    /// The transport's name in paths and handshakes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::XhrPolling => "xhr-polling",
            Self::JsonpPolling => "jsonp-polling",
            Self::Websocket => "websocket",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        [Self::XhrPolling, Self::JsonpPolling, Self::Websocket]
            .into_iter()
            .find(|t| t.as_str() == name)
    }
}

/// What a 0.9 request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LegacyRoute {
    /// A new session.
    Handshake,
    /// A transport of a session; `sid` is `None` when the id is not one iogate could have issued.
    Transport(LegacyTransport, Option<Sid>),
    /// A transport 0.9 clients may name that iogate does not serve (`flashsocket`, `htmlfile`...).
    UnknownTransport,
    /// A session with no transport named: `/{resource}/1//{sid}/?disconnect=1`, the request 0.9 clients send
    /// when their page unloads.
    NoTransport(Option<Sid>),
}

impl LegacyRoute {
    /// Parses the path after `/{resource}/1`; `None` when it is not a 0.9 request.
    pub fn parse(rest: &str) -> Option<Self> {
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.is_empty() {
            return Some(Self::Handshake);
        }
        let rest = rest.strip_prefix('/')?;
        let (transport, sid) = rest.split_once('/')?;
        if sid.contains('/') || sid.is_empty() {
            return None;
        }
        if transport.is_empty() {
            return Some(Self::NoTransport(Sid::parse(sid)));
        }
        Some(match LegacyTransport::from_name(transport) {
            Some(transport) => Self::Transport(transport, Sid::parse(sid)),
            None => Self::UnknownTransport,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handshakes_transports_and_strangers() {
        assert_eq!(LegacyRoute::parse(""), Some(LegacyRoute::Handshake));
        assert_eq!(LegacyRoute::parse("/"), Some(LegacyRoute::Handshake));
        let sid = Sid::random();
        assert_eq!(
            LegacyRoute::parse(&format!("/xhr-polling/{sid}")),
            Some(LegacyRoute::Transport(
                LegacyTransport::XhrPolling,
                Some(sid)
            ))
        );
        assert_eq!(
            LegacyRoute::parse(&format!("/websocket/{sid}/")),
            Some(LegacyRoute::Transport(
                LegacyTransport::Websocket,
                Some(sid)
            ))
        );
        assert_eq!(
            LegacyRoute::parse("/jsonp-polling/old-id"),
            Some(LegacyRoute::Transport(LegacyTransport::JsonpPolling, None))
        );
        assert_eq!(
            LegacyRoute::parse("/flashsocket/x"),
            Some(LegacyRoute::UnknownTransport)
        );
        assert_eq!(
            LegacyRoute::parse(&format!("//{sid}/")),
            Some(LegacyRoute::NoTransport(Some(sid)))
        );
        assert_eq!(LegacyRoute::parse("/xhr-polling"), None);
        assert_eq!(LegacyRoute::parse("/a/b/c"), None);
        assert_eq!(LegacyRoute::parse("x"), None);
    }
}
