//! WebSocket: new sessions over WebSocket and upgrades from polling (probe, noop, upgrade); the frame pump is in
//! [`pump`], the framing in `ws_frame` (bytes) and [`packets`] (Engine.IO packets in messages).

mod link;
mod packets;
pub(crate) mod pump;

use crate::engineio::codec::packet::{Incoming, Packet, PacketType, decode_text};
use crate::engineio::codec::text::Text;
use crate::engineio::engine::Engine;
use crate::engineio::error::EngineError;
use crate::engineio::handler::Handler;
use crate::engineio::http::Body;
use crate::engineio::http::{ConnectionHold, RequestBody, has_token};
use crate::engineio::session::{CloseReason, Inner, Session, TransportKind, Upgrade};
use crate::engineio::ws_frame::{Event, WsMessage};
use bytes::Bytes;
use http::header::{
    CONNECTION, HeaderValue, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION,
    UPGRADE,
};
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use iogate_h1::OnUpgrade;
use link::Link;
use pump::{CLOSE_GRACE, max_message, pump};
use std::future::{Future, poll_fn};
use std::sync::Arc;
use std::task::Poll;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

/// Whether a request asks for a WebSocket upgrade.
pub fn is_upgrade_request<B>(req: &Request<B>) -> bool {
    let has = |name, token: &str| {
        req.headers()
            .get_all(name)
            .iter()
            .any(|value| value.to_str().is_ok() && has_token(value.as_bytes(), token))
    };
    has(UPGRADE, "websocket") && has(CONNECTION, "upgrade")
}

/// Answers 101 and returns the pending upgrade, or refuses a malformed WebSocket request. A request that came
/// with no [`OnUpgrade`] (one with a body, served by hyper, or an HTTP/1.0 one) gets no connection to switch: it
/// is refused.
fn switch_protocols(
    req: &mut Request<RequestBody>,
) -> Result<(Response<Body>, Upgrading), EngineError> {
    let key = req
        .headers()
        .get(SEC_WEBSOCKET_KEY)
        .ok_or(EngineError::BadRequest)?;
    if req
        .headers()
        .get(SEC_WEBSOCKET_VERSION)
        .map(|v| v.as_bytes())
        != Some(b"13")
    {
        return Err(EngineError::BadRequest);
    }
    let accept = derive_accept_key(key.as_bytes());
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(
        SEC_WEBSOCKET_ACCEPT,
        HeaderValue::from_str(&accept).map_err(|_| EngineError::BadRequest)?,
    );
    let upgrade = req
        .extensions_mut()
        .remove::<OnUpgrade>()
        .ok_or(EngineError::BadRequest)?;
    let hold = req.extensions_mut().remove::<ConnectionHold>();
    Ok((response, Upgrading { upgrade, hold }))
}

/// An upgrade the HTTP/1.1 path has yet to hand over (once the 101 is written), and what the request brought that
/// the connection must keep while it lasts.
struct Upgrading {
    upgrade: OnUpgrade,
    hold: Option<ConnectionHold>,
}

/// Waits for the HTTP/1.1 path to hand over the raw connection.
async fn open_link(upgrading: Upgrading) -> Option<Link> {
    let Upgrading { upgrade, hold } = upgrading;
    upgrade.await.map(|upgraded| link::open(upgraded, hold))
}

/// Runs the session's pump in a task of its own. The task that opened the link (and maybe probed it) ends here:
/// awaiting the pump inside it would make the idle session's task as large as the pump plus everything the
/// opening kept (a 512- or 640-byte task instead of a 384-byte one).
fn run_pump<H: Handler>(engine: Arc<Engine<H>>, session: Arc<Session<H::State>>, link: Link) {
    tokio::spawn(pump(engine, session, link));
}

/// A session that started over WebSocket: its open packet is already queued.
pub(crate) fn accept_new<H: Handler>(
    engine: &Arc<Engine<H>>,
    session: Arc<Session<H::State>>,
    mut req: Request<RequestBody>,
) -> Result<Response<Body>, EngineError> {
    let (response, upgrade) = match switch_protocols(&mut req) {
        Ok(pair) => pair,
        Err(error) => {
            session.close(CloseReason::TransportError);
            return Err(error);
        }
    };
    let engine = engine.clone();
    tokio::spawn(async move {
        match open_link(upgrade).await {
            Some(link) => run_pump(engine, session, link),
            None => session.close(CloseReason::TransportClose),
        }
    });
    Ok(response)
}

/// A polling session asks to move to WebSocket.
pub(crate) fn accept_upgrade<H: Handler>(
    engine: &Arc<Engine<H>>,
    session: Arc<Session<H::State>>,
    mut req: Request<RequestBody>,
) -> Result<Response<Body>, EngineError> {
    let (response, upgrade) = switch_protocols(&mut req)?;
    if claim_upgrade(&session).is_err() {
        // As the reference server does: accept the WebSocket, then close it at once, leaving the session as it is.
        tokio::spawn(async move {
            if let Some(link) = open_link(upgrade).await {
                link.close(None, CLOSE_GRACE).await;
            }
        });
        return Ok(response);
    }
    let engine = engine.clone();
    tokio::spawn(async move {
        let Some(mut link) = open_link(upgrade).await else {
            abandon_upgrade(&session);
            return;
        };
        let timeout = engine.config().upgrade_timeout;
        let max = max_message(&engine);
        match tokio::time::timeout(timeout, probe(&session, &mut link, max)).await {
            Ok(true) => {
                count_as_websocket(&engine);
                run_pump(engine, session, link)
            }
            _ => {
                abandon_upgrade(&session);
                tracing::debug!(sid = %session.id(), "upgrade abandoned");
                link.close(None, CLOSE_GRACE).await;
            }
        }
    });
    Ok(response)
}

/// A Socket.IO 0.9 client opens its WebSocket transport: the session, made by the 0.9 handshake and not yet
/// polled, moves to this WebSocket at once (0.9 has no probe).
pub(crate) fn accept_sio09<H: Handler>(
    engine: &Arc<Engine<H>>,
    session: Arc<Session<H::State>>,
    mut req: Request<RequestBody>,
) -> Result<Response<Body>, EngineError> {
    // Only a session no polling request is using: the 0.9 client opens one transport at a time.
    claim_upgrade_if(&session, |inner| !inner.polling && !inner.posting)?;
    let (response, upgrade) = match switch_protocols(&mut req) {
        Ok(pair) => pair,
        Err(error) => {
            abandon_upgrade(&session);
            return Err(error);
        }
    };
    let engine = engine.clone();
    tokio::spawn(async move {
        let Some(link) = open_link(upgrade).await else {
            session.close(CloseReason::TransportClose);
            return;
        };
        {
            let mut inner = session.lock();
            inner.upgrade = Upgrade::None;
            inner.transport = TransportKind::Websocket;
        }
        count_as_websocket(&engine);
        run_pump(engine, session, link)
    });
    Ok(response)
}

/// Makes the caller the session's only upgrade in progress, from the moment its WebSocket is accepted
/// until it completes or is abandoned; refuses when the session cannot upgrade or another attempt owns it.
fn claim_upgrade<S: Send + Sync + 'static>(session: &Session<S>) -> Result<(), EngineError> {
    claim_upgrade_if(session, |_| true)
}

/// [`claim_upgrade`], when `also` holds of the session's state too (checked under the same lock).
fn claim_upgrade_if<S: Send + Sync + 'static>(
    session: &Session<S>,
    also: impl FnOnce(&Inner) -> bool,
) -> Result<(), EngineError> {
    let mut inner = session.lock();
    if inner.closed.is_some()
        || inner.transport != TransportKind::Polling
        || inner.upgrade != Upgrade::None
        || !also(&inner)
    {
        return Err(EngineError::BadRequest);
    }
    inner.upgrade = Upgrade::Attached;
    Ok(())
}

/// Moves the session gauges: one polling session fewer, one WebSocket session more. The moves commute with the
/// close-time decrement, so a close racing an upgrade stays balanced.
fn count_as_websocket<H: Handler>(engine: &Engine<H>) {
    let metrics = &engine.config().metrics;
    metrics.sessions_polling.dec();
    metrics.sessions_websocket.inc();
}

/// Releases the upgrade claim of a failed attempt: the session stays on polling and may upgrade again.
fn abandon_upgrade<S: Send + Sync + 'static>(session: &Session<S>) {
    let mut inner = session.lock();
    if inner.transport == TransportKind::Polling {
        inner.upgrade = Upgrade::None;
    }
}

/// Runs the probe (`2probe` -> `3probe`, then `5`). True when the session now uses this WebSocket; false as
/// soon as the client strays from that sequence, the socket ends, or the session closes meanwhile.
async fn probe<S: Send + Sync + 'static>(
    session: &Arc<Session<S>>,
    link: &mut Link,
    max_message: usize,
) -> bool {
    loop {
        let notified = session.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if session.is_closed() {
            return false;
        }
        let read = poll_fn(|cx| match link.poll_event(cx, max_message) {
            Poll::Ready(read) => Poll::Ready(Some(read)),
            Poll::Pending => notified.as_mut().poll(cx).map(|()| None),
        })
        .await;
        let answer = match read {
            None => continue,
            Some(Ok(Event::Ping(data))) => {
                link.push_pong(data);
                None
            }
            Some(Ok(Event::Message(WsMessage::Text(text)))) => match probe_step(session, text) {
                ProbeStep::Answer(packet) => Some(packet),
                ProbeStep::Done(upgraded) => return upgraded,
            },
            Some(_) => return false,
        };
        if let Some(Packet::Text(text)) = answer {
            link.push(WsMessage::Text(text));
        }
        if link.flush().await.is_err() {
            return false;
        }
    }
}

/// Where the probe stands after a text message.
enum ProbeStep {
    /// Send this packet and read on.
    Answer(Packet),
    /// The probe is over: whether the session now uses this WebSocket.
    Done(bool),
}

/// Acts on one text message of the probe.
fn probe_step<S: Send + Sync + 'static>(session: &Arc<Session<S>>, text: Text) -> ProbeStep {
    match decode_text(text) {
        Ok(Incoming::Control(PacketType::Ping, data)) if data.as_str() == "probe" => {
            {
                let mut inner = session.lock();
                if inner.closed.is_some() || inner.upgrade != Upgrade::Attached {
                    return ProbeStep::Done(false);
                }
                inner.upgrade = Upgrade::Probing;
            }
            session.notify.notify_waiters();
            ProbeStep::Answer(Packet::text(PacketType::Pong, "probe"))
        }
        Ok(Incoming::Control(PacketType::Upgrade, _)) => {
            {
                let mut inner = session.lock();
                if inner.closed.is_some() || inner.upgrade != Upgrade::Probing {
                    return ProbeStep::Done(false);
                }
                inner.upgrade = Upgrade::None;
                inner.transport = TransportKind::Websocket;
            }
            session.notify.notify_waiters();
            ProbeStep::Done(true)
        }
        _ => ProbeStep::Done(false),
    }
}
