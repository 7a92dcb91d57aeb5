//! Serving Socket.IO 0.9 requests: the handshake (`sid:heartbeat:close:transports`), long-polling over XHR and
//! JSONP, and the forced-disconnect request browsers send on unload.

use super::frame::{self, jsonp, jsonp_post_body};
use super::{Sio09Codec, Sio09Route, Sio09Transport};
use crate::engineio::codec::payload_v3::is_jsonp_index;
use crate::engineio::codec::poll_format::PostError;
use crate::engineio::engine::Engine;
use crate::engineio::error::EngineError;
use crate::engineio::handler::Handler;
use crate::engineio::http::RequestBody;
use crate::engineio::http::{self as responses, Body, complete};
use crate::engineio::query::Query;
use crate::engineio::session::handshake::{ConnInfo, Handshake};
use crate::engineio::session::sid::Sid;
use crate::engineio::session::{CloseReason, Session, TransportKind};
use crate::engineio::version::EngineVersion;
use crate::engineio::{polling, websocket};
use bytes::Bytes;
use http::{Method, Request, Response};
use std::sync::Arc;
use std::time::Duration;

/// The error a 0.9 client gets for a session id the server does not know: `client not handshaken`, advice
/// `reconnect` (it handshakes again).
const NOT_HANDSHAKEN: &str = "7:::1+0";

/// Query keys of 0.9 requests that belong to the transport, not to the application.
const TRANSPORT_QUERY_KEYS: [&str; 3] = ["t", "jsonp", "i"];

/// How a polling answer is wrapped.
enum Wrap {
    /// XHR: the payload as text.
    Plain,
    /// JSONP: `io.j[index]("payload");`.
    Jsonp(String),
}

impl Wrap {
    fn of(transport: Sio09Transport, query: &Query) -> Result<Self, EngineError> {
        if transport != Sio09Transport::JsonpPolling {
            return Ok(Self::Plain);
        }
        match query.get("i") {
            None => Ok(Self::Jsonp("0".to_string())),
            Some(index) if is_jsonp_index(index) => Ok(Self::Jsonp(index.to_string())),
            Some(_) => Err(EngineError::BadRequest),
        }
    }

    fn response(&self, payload: &str) -> Response<Body> {
        match self {
            Self::Plain => complete(200, "text/plain; charset=UTF-8", payload.to_string()),
            Self::Jsonp(index) => {
                complete(200, "text/javascript; charset=UTF-8", jsonp(index, payload))
            }
        }
    }
}

/// Why a 0.9 handshake was not accepted.
enum Refused {
    /// The application said no: `handshake unauthorized`.
    Unauthorized,
    /// The application could not be asked, or the session ended before it decided: `handshake error`.
    Failed,
}

impl Refused {
    /// The answer 0.9 servers gave; a JSONP handshake gets a script that passes an Error to its callback.
    fn response(&self, wrap: &Wrap) -> Response<Body> {
        let (status, why) = match self {
            Self::Unauthorized => (403, "handshake unauthorized"),
            Self::Failed => (500, "handshake error"),
        };
        match wrap {
            Wrap::Plain => text(status, why),
            Wrap::Jsonp(index) => complete(
                200,
                "text/javascript; charset=UTF-8",
                format!("io.j[{index}](new Error(\"{why}\"));"),
            ),
        }
    }
}

/// The application's first word on a new session.
enum Decision {
    Accepted,
    Refused,
    Closed,
}

/// Waits for the first packet the application queues for `session` (its accepting or refusing the client), or for
/// the session to close first (the connect timeout bounds the wait).
async fn first_decision<S: Send + Sync + 'static>(
    session: &Arc<Session<S>>,
    codec: &dyn Sio09Codec,
) -> Decision {
    loop {
        let notified = session.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        {
            let inner = session.lock();
            if inner.closed.is_some() {
                return Decision::Closed;
            }
            if let Some(first) = inner.queue.first() {
                return if codec.refuses(first) {
                    Decision::Refused
                } else {
                    Decision::Accepted
                };
            }
        }
        notified.await;
    }
}

fn text(status: u16, body: &'static str) -> Response<Body> {
    complete(status, "text/plain; charset=UTF-8", body)
}

/// Whole seconds covering `duration`, as the 0.9 handshake states its timeouts.
fn ceil_seconds(duration: Duration) -> u64 {
    duration.as_millis().div_ceil(1000) as u64
}

impl<H: Handler> Engine<H> {
    /// Serves a Socket.IO 0.9 request, routed as `route` (`None`: a path under `/{resource}/1` that is not a 0.9
    /// request), with its decoded `query`.
    pub async fn handle_sio09(
        self: &Arc<Self>,
        req: Request<RequestBody>,
        conn: &ConnInfo,
        query: Query,
        route: Option<Sio09Route>,
    ) -> Response<Body> {
        let Some(codec) = self.handler().sio09() else {
            return text(404, "Not Found");
        };
        if query.get("disconnect").is_some() {
            // A page being unloaded (on any transport path, or none): the client is gone, as if it had sent `0::`.
            if let Some(Sio09Route::Transport(_, sid) | Sio09Route::NoTransport(sid)) = route {
                drop(req);
                self.sio09_disconnect(codec, sid).await;
                return text(200, "");
            }
        }
        let result = match route {
            None => return text(404, "Not Found"),
            Some(Sio09Route::UnknownTransport | Sio09Route::NoTransport(_)) => {
                return text(400, "transport not supported");
            }
            Some(Sio09Route::Handshake) => self.sio09_handshake(codec, req, &query, conn).await,
            Some(Sio09Route::Transport(transport, sid)) => {
                self.sio09_transport(codec, req, &query, transport, sid)
                    .await
            }
        };
        result.unwrap_or_else(|error| responses::error(&error))
    }

    fn sio09_transports(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        if self.config().websocket {
            names.push(Sio09Transport::Websocket.as_str());
        }
        if self.config().polling {
            names.push(Sio09Transport::XhrPolling.as_str());
            names.push(Sio09Transport::JsonpPolling.as_str());
        }
        names
    }

    /// A 0.9 handshake. 0.9 servers authorized clients here: the answer waits for the application's decision on
    /// the session (the socket.io layer's `connect` of `/`), and a refusal is a 403 the page sees as its error.
    async fn sio09_handshake(
        self: &Arc<Self>,
        codec: &dyn Sio09Codec,
        req: Request<RequestBody>,
        query: &Query,
        conn: &ConnInfo,
    ) -> Result<Response<Body>, EngineError> {
        let wrap = match query.get("jsonp") {
            Some(index) if is_jsonp_index(index) => Wrap::Jsonp(index.to_string()),
            Some(_) => return Err(EngineError::BadRequest),
            None => Wrap::Plain,
        };
        if req.method() != Method::GET {
            return Err(EngineError::BadHandshakeMethod);
        }
        let application_query = Query::from_pairs(
            query
                .pairs()
                .filter(|(key, _)| !TRANSPORT_QUERY_KEYS.contains(key)),
        );
        let handshake = Handshake::new(
            req.headers(),
            &application_query,
            TransportKind::Polling,
            EngineVersion::Sio09,
            conn,
        );
        drop(req);
        let sid = self.new_sid();
        let opened = self
            .open_session(
                sid,
                handshake,
                (EngineVersion::Sio09, true),
                TransportKind::Polling,
                None,
            )
            .await;
        let refusal = match opened {
            Err(EngineError::Forbidden { status: 403, .. }) => Some(Refused::Unauthorized),
            Err(_) => Some(Refused::Failed),
            Ok(session) => match first_decision(&session, codec).await {
                Decision::Accepted => None,
                Decision::Refused => {
                    session.close_at_once(CloseReason::ForcedClose);
                    Some(Refused::Unauthorized)
                }
                Decision::Closed => Some(Refused::Failed),
            },
        };
        if let Some(refused) = refusal {
            return Ok(refused.response(&wrap));
        }
        let settings = &self.config().session;
        let timeout = ceil_seconds(settings.ping_interval + settings.ping_timeout);
        let answer = format!(
            "{sid}:{timeout}:{timeout}:{}",
            self.sio09_transports().join(",")
        );
        Ok(wrap.response(&answer))
    }

    /// Ends the 0.9 session `sid`, if there is one, as the client's `0::` would.
    async fn sio09_disconnect(self: &Arc<Self>, codec: &dyn Sio09Codec, sid: Option<Sid>) {
        let session = sid.and_then(|sid| self.session_for(sid, true));
        if let Some(session) = session {
            let packets = codec
                .decode("0::")
                .map(|decoded| decoded.packets)
                .unwrap_or_default();
            polling::deliver(self, &session, packets).await;
        }
    }

    async fn sio09_transport(
        self: &Arc<Self>,
        codec: &dyn Sio09Codec,
        req: Request<RequestBody>,
        query: &Query,
        transport: Sio09Transport,
        sid: Option<Sid>,
    ) -> Result<Response<Body>, EngineError> {
        let enabled = match transport {
            Sio09Transport::Websocket => self.config().websocket,
            _ => self.config().polling,
        };
        if !enabled {
            return Ok(text(400, "transport not supported"));
        }
        let session = sid.and_then(|sid| self.session_for(sid, true));
        if transport == Sio09Transport::Websocket {
            if !websocket::is_upgrade_request(&req) || req.method() != Method::GET {
                return Err(EngineError::BadRequest);
            }
            // An unknown session cannot be told `client not handshaken` before the socket opens: refuse it, and
            // the client's next transport (polling) learns it.
            let session = session.ok_or(EngineError::SessionUnknown)?;
            return websocket::accept_sio09(self, session, req);
        }
        let wrap = Wrap::of(transport, query)?;
        let Some(session) = session else {
            return Ok(wrap.response(NOT_HANDSHAKEN));
        };
        match *req.method() {
            Method::GET => {
                drop(req);
                let packets = polling::wait_for_packets(self, session).await?;
                Ok(wrap.response(&frame::encode_payload(&codec.encode(&packets))))
            }
            Method::POST => {
                let jsonp = matches!(wrap, Wrap::Jsonp(_));
                let target = session.clone();
                polling::receive(self, session, req, |body| {
                    decode_post(codec, &target, &body, jsonp)
                })
                .await?;
                Ok(text(200, "1"))
            }
            _ => Err(EngineError::BadRequest),
        }
    }
}

/// Decodes a 0.9 POST body into packets, queuing the automatic acknowledgements it calls for.
fn decode_post<S: Send + Sync + 'static>(
    codec: &dyn Sio09Codec,
    session: &Arc<Session<S>>,
    body: &Bytes,
    jsonp: bool,
) -> Result<Vec<crate::engineio::codec::packet::Incoming>, PostError> {
    let text = if jsonp {
        jsonp_post_body(body).ok_or(PostError::BadRequest)?
    } else {
        std::str::from_utf8(body)
            .map_err(|_| PostError::Decode(crate::engineio::codec::packet::DecodeError::Utf8))?
            .to_string()
    };
    let mut packets = Vec::new();
    for message in frame::decode_payload(&text).map_err(PostError::Decode)? {
        let decoded = codec.decode(message).map_err(PostError::Decode)?;
        if let Some(reply) = decoded.reply {
            session.send(reply);
        }
        packets.extend(decoded.packets);
    }
    Ok(packets)
}
