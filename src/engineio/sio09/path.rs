//! The paths of Socket.IO 0.9 requests, after `/{resource}/1`: `/` (handshake) or `/{transport}/{sid}`.

use crate::engineio::session::sid::Sid;

/// A 0.9 transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sio09Transport {
    /// XMLHttpRequest long-polling.
    XhrPolling,
    /// Script-tag long-polling with form posts.
    JsonpPolling,
    /// WebSocket.
    Websocket,
}

impl Sio09Transport {
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
pub enum Sio09Route {
    /// A new session.
    Handshake,
    /// A transport of a session; `sid` is `None` when the id is not one iogate could have issued.
    Transport(Sio09Transport, Option<Sid>),
    /// A transport 0.9 clients may name that iogate does not serve (`flashsocket`, `htmlfile`...).
    UnknownTransport,
    /// A session with no transport named: `/{resource}/1//{sid}/?disconnect=1`, the request 0.9 clients send
    /// when their page unloads.
    NoTransport(Option<Sid>),
}

impl Sio09Route {
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
        Some(match Sio09Transport::from_name(transport) {
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
        assert_eq!(Sio09Route::parse(""), Some(Sio09Route::Handshake));
        assert_eq!(Sio09Route::parse("/"), Some(Sio09Route::Handshake));
        let sid = Sid::random();
        assert_eq!(
            Sio09Route::parse(&format!("/xhr-polling/{sid}")),
            Some(Sio09Route::Transport(Sio09Transport::XhrPolling, Some(sid)))
        );
        assert_eq!(
            Sio09Route::parse(&format!("/websocket/{sid}/")),
            Some(Sio09Route::Transport(Sio09Transport::Websocket, Some(sid)))
        );
        assert_eq!(
            Sio09Route::parse("/jsonp-polling/old-id"),
            Some(Sio09Route::Transport(Sio09Transport::JsonpPolling, None))
        );
        assert_eq!(
            Sio09Route::parse("/flashsocket/x"),
            Some(Sio09Route::UnknownTransport)
        );
        assert_eq!(
            Sio09Route::parse(&format!("//{sid}/")),
            Some(Sio09Route::NoTransport(Some(sid)))
        );
        assert_eq!(Sio09Route::parse("/xhr-polling"), None);
        assert_eq!(Sio09Route::parse("/a/b/c"), None);
        assert_eq!(Sio09Route::parse("x"), None);
    }
}
