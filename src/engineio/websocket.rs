//! WebSocket: new sessions over WebSocket, upgrades from polling (probe, noop, upgrade), and the frame pump.

use super::engine::Engine;
use super::error::EngineError;
use super::handler::{Handler, Wait};
use super::http::Body;
use super::http::RequestBody;
use super::legacy::{LEGACY_PROTOCOL, decode_payload};
use super::packet::{Incoming, Packet, PacketType, decode_text};
use super::session::{CloseReason, Session, TransportKind, Upgrade};
use super::text::Text;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::header::{
    CONNECTION, HeaderValue, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION,
    UPGRADE,
};
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use std::collections::VecDeque;
use std::sync::Arc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{
    Error as WsError, Message as Frame, Utf8Bytes, handshake::derive_accept_key,
};

type Socket = WebSocketStream<TokioIo<Upgraded>>;

/// Whether a request asks for a WebSocket upgrade.
pub(crate) fn is_upgrade_request<B>(req: &Request<B>) -> bool {
    let has_token = |name, token: &str| {
        req.headers().get_all(name).iter().any(|value| {
            value
                .to_str()
                .map(|v| {
                    v.split(',')
                        .any(|part| part.trim().eq_ignore_ascii_case(token))
                })
                .unwrap_or(false)
        })
    };
    has_token(UPGRADE, "websocket") && has_token(CONNECTION, "upgrade")
}

/// Answers 101 and returns the pending upgrade, or refuses a malformed WebSocket request.
fn switch_protocols(
    req: &mut Request<RequestBody>,
) -> Result<(Response<Body>, hyper::upgrade::OnUpgrade), EngineError> {
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
    Ok((response, hyper::upgrade::on(req)))
}

/// The WebSocket read buffer of each session. tungstenite's default (128 KiB) is allocated per connection and
/// zero-filled before every read, so all of it is resident: 128 KiB per idle session, and a 128 KiB memset per
/// read. 2 KiB holds a typical Socket.IO packet whole; a larger frame is still read whole, as the buffer grows to
/// the frame's length, but in reads of this size (the cost of a 1 MB frame: ~500 reads instead of ~8).
const WS_READ_BUFFER: usize = 2048;

async fn open_socket(upgrade: hyper::upgrade::OnUpgrade, max_payload: u64) -> Option<Socket> {
    let upgraded = upgrade.await.ok()?;
    let limit = usize::try_from(max_payload).unwrap_or(usize::MAX);
    let config = WebSocketConfig::default()
        .read_buffer_size(WS_READ_BUFFER)
        .max_message_size(Some(limit))
        .max_frame_size(Some(limit));
    Some(WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config)).await)
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
    let max_payload = engine.config().max_payload;
    tokio::spawn(async move {
        match open_socket(upgrade, max_payload).await {
            Some(socket) => pump(&engine, &session, socket).await,
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
            if let Some(mut socket) = open_socket(upgrade, 0).await {
                let _ = socket.close(None).await;
            }
        });
        return Ok(response);
    }
    let engine = engine.clone();
    tokio::spawn(async move {
        let max_payload = engine.config().max_payload;
        let Some(mut socket) = open_socket(upgrade, max_payload).await else {
            abandon_upgrade(&session);
            return;
        };
        let timeout = engine.config().upgrade_timeout;
        match tokio::time::timeout(timeout, probe(&session, &mut socket)).await {
            Ok(true) => {
                // Gauge moves commute with the close-time decrement, so a close racing this stays balanced.
                let metrics = &engine.config().metrics;
                metrics.sessions_polling.dec();
                metrics.sessions_websocket.inc();
                pump(&engine, &session, socket).await
            }
            _ => {
                abandon_upgrade(&session);
                tracing::debug!(sid = %session.id(), "upgrade abandoned");
                let _ = socket.close(None).await;
            }
        }
    });
    Ok(response)
}

/// A Socket.IO 0.9 client opens its WebSocket transport: the session, made by the 0.9 handshake and not yet
/// polled, moves to this WebSocket at once (0.9 has no probe).
pub(crate) fn accept_legacy<H: Handler>(
    engine: &Arc<Engine<H>>,
    session: Arc<Session<H::State>>,
    mut req: Request<RequestBody>,
) -> Result<Response<Body>, EngineError> {
    {
        let mut inner = session.lock();
        if inner.closed.is_some()
            || inner.transport != TransportKind::Polling
            || inner.upgrade != Upgrade::None
            || inner.polling
            || inner.posting
        {
            return Err(EngineError::BadRequest);
        }
        inner.upgrade = Upgrade::Attached;
    }
    let (response, upgrade) = match switch_protocols(&mut req) {
        Ok(pair) => pair,
        Err(error) => {
            abandon_upgrade(&session);
            return Err(error);
        }
    };
    let engine = engine.clone();
    tokio::spawn(async move {
        let Some(socket) = open_socket(upgrade, engine.config().max_payload).await else {
            session.close(CloseReason::TransportClose);
            return;
        };
        {
            let mut inner = session.lock();
            inner.upgrade = Upgrade::None;
            inner.transport = TransportKind::Websocket;
        }
        let metrics = &engine.config().metrics;
        metrics.sessions_polling.dec();
        metrics.sessions_websocket.inc();
        pump(&engine, &session, socket).await
    });
    Ok(response)
}

/// Makes the caller the session's only upgrade in progress, from the moment its WebSocket is accepted
/// until it completes or is abandoned; refuses when the session cannot upgrade or another attempt owns it.
fn claim_upgrade<S: Send + Sync + 'static>(session: &Session<S>) -> Result<(), EngineError> {
    let mut inner = session.lock();
    if inner.closed.is_some()
        || inner.transport != TransportKind::Polling
        || inner.upgrade != Upgrade::None
    {
        return Err(EngineError::BadRequest);
    }
    inner.upgrade = Upgrade::Attached;
    Ok(())
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
async fn probe<S: Send + Sync + 'static>(session: &Arc<Session<S>>, socket: &mut Socket) -> bool {
    loop {
        let notified = session.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if session.is_closed() {
            return false;
        }
        tokio::select! {
            frame = socket.next() => {
                let Some(Ok(frame)) = frame else {
                    return false;
                };
                if let Some(upgraded) = probe_step(session, socket, frame).await {
                    return upgraded;
                }
            }
            _ = &mut notified => {}
        }
    }
}

/// Acts on one frame of the probe: `Some(outcome)` when the probe is over, `None` to read on.
async fn probe_step<S: Send + Sync + 'static>(
    session: &Arc<Session<S>>,
    socket: &mut Socket,
    frame: Frame,
) -> Option<bool> {
    let text = match frame {
        Frame::Text(text) => text,
        Frame::Ping(_) | Frame::Pong(_) => return None,
        _ => return Some(false),
    };
    match decode_text(Text::from(text.as_str())) {
        Ok(Incoming::Control(PacketType::Ping, data)) if data.as_str() == "probe" => {
            {
                let mut inner = session.lock();
                if inner.closed.is_some() || inner.upgrade != Upgrade::Attached {
                    return Some(false);
                }
                inner.upgrade = Upgrade::Probing;
            }
            session.notify.notify_waiters();
            let pong = text_frame(&Packet::text(PacketType::Pong, "probe"));
            socket.send(pong).await.is_err().then_some(false)
        }
        Ok(Incoming::Control(PacketType::Upgrade, _)) => {
            {
                let mut inner = session.lock();
                if inner.closed.is_some() || inner.upgrade != Upgrade::Probing {
                    return Some(false);
                }
                inner.upgrade = Upgrade::None;
                inner.transport = TransportKind::Websocket;
            }
            session.notify.notify_waiters();
            Some(true)
        }
        _ => Some(false),
    }
}

fn text_frame(packet: &Packet) -> Frame {
    frame_for(packet, 4)
}

/// The WebSocket frame of a packet: v3 prefixes binary data with the packet type byte.
fn frame_for(packet: &Packet, protocol: u8) -> Frame {
    match packet {
        // SAFETY: `Text` holds valid UTF-8 by construction.
        Packet::Text(text) => {
            Frame::Text(unsafe { Utf8Bytes::from_bytes_unchecked(text.as_bytes().clone()) })
        }
        Packet::Binary(data) if protocol == 3 => {
            let mut framed = Vec::with_capacity(data.len() + 1);
            framed.push(PacketType::Message as u8);
            framed.extend_from_slice(data);
            Frame::Binary(Bytes::from(framed))
        }
        Packet::Binary(data) => Frame::Binary(data.clone()),
    }
}

/// Why a session ends when reading its WebSocket fails. A peer that goes away without a close frame (its
/// process ended, its connection was reset) is a `transport close`, as the reference server reports it; any
/// other failure (a protocol violation, a message over `max_payload`) is a `transport error`.
fn read_error_reason(error: &WsError) -> CloseReason {
    use std::io::ErrorKind;
    let gone = match error {
        WsError::ConnectionClosed | WsError::AlreadyClosed => true,
        WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => true,
        WsError::Io(io) => matches!(
            io.kind(),
            ErrorKind::ConnectionReset
                | ErrorKind::ConnectionAborted
                | ErrorKind::BrokenPipe
                | ErrorKind::UnexpectedEof
        ),
        _ => false,
    };
    if gone {
        CloseReason::TransportClose
    } else {
        CloseReason::TransportError
    }
}

fn decode_frame(frame: Frame, protocol: u8) -> Result<Option<Incoming>, CloseReason> {
    if let (Frame::Binary(data), 3) = (&frame, protocol) {
        return match data.first() {
            Some(&kind) if kind == PacketType::Message as u8 => Ok(Some(Incoming::Message(
                super::packet::Message::Binary(data.slice(1..)),
            ))),
            _ => Err(CloseReason::ParseError),
        };
    }
    match frame {
        Frame::Text(text) => {
            let text = Text::from_utf8(Bytes::from(text)).map_err(|_| CloseReason::ParseError)?;
            decode_text(text)
                .map(Some)
                .map_err(|_| CloseReason::ParseError)
        }
        Frame::Binary(data) => Ok(Some(Incoming::Message(super::packet::Message::Binary(
            data,
        )))),
        Frame::Close(_) => Err(CloseReason::TransportClose),
        Frame::Ping(_) | Frame::Pong(_) | Frame::Frame(_) => Ok(None),
    }
}

/// The frames for a batch of queued packets, in the session's protocol.
fn frames_for<H: Handler>(
    engine: &Engine<H>,
    session: &Session<H::State>,
    packets: &[Packet],
) -> Vec<Frame> {
    let protocol = session.protocol();
    match engine.handler().legacy() {
        Some(codec) if protocol == LEGACY_PROTOCOL => codec
            .encode(packets)
            .into_iter()
            .map(|message| Frame::Text(Utf8Bytes::from(message)))
            .collect(),
        _ => packets.iter().map(|p| frame_for(p, protocol)).collect(),
    }
}

/// The packets of one frame from the client, in the session's protocol. A Socket.IO 0.9 frame may hold several
/// messages and ask for automatic acknowledgements, which are queued here.
fn packets_of<H: Handler>(
    engine: &Engine<H>,
    session: &Arc<Session<H::State>>,
    frame: Frame,
) -> Result<Vec<Incoming>, CloseReason> {
    let protocol = session.protocol();
    let codec = match engine.handler().legacy() {
        Some(codec) if protocol == LEGACY_PROTOCOL => codec,
        _ => return Ok(decode_frame(frame, protocol)?.into_iter().collect()),
    };
    let text = match frame {
        Frame::Text(text) => text,
        Frame::Ping(_) | Frame::Pong(_) | Frame::Frame(_) => return Ok(Vec::new()),
        Frame::Close(_) => return Err(CloseReason::TransportClose),
        Frame::Binary(_) => return Err(CloseReason::ParseError),
    };
    let mut packets = Vec::new();
    for message in decode_payload(text.as_str()).map_err(|_| CloseReason::ParseError)? {
        let decoded = codec.decode(message).map_err(|_| CloseReason::ParseError)?;
        if let Some(reply) = decoded.reply {
            session.send(reply);
        }
        packets.extend(decoded.packets);
    }
    Ok(packets)
}

/// Moves packets both ways until the session or the socket ends.
async fn pump<H: Handler>(
    engine: &Arc<Engine<H>>,
    session: &Arc<Session<H::State>>,
    mut socket: Socket,
) {
    let mut waiting: Option<Wait> = None;
    // Packets read but not yet handed over, while the application applies backpressure.
    let mut backlog: VecDeque<Incoming> = VecDeque::new();
    loop {
        while waiting.is_none() {
            let Some(packet) = backlog.pop_front() else {
                break;
            };
            match engine.on_packet(session, packet) {
                Ok(wait) => waiting = wait,
                Err(reason) => {
                    session.close(reason);
                    let _ = socket.close(None).await;
                    return;
                }
            }
        }
        let notified = session.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let (packets, closed) = {
            let mut inner = session.lock();
            (
                inner.queue.drain(..).collect::<Vec<_>>(),
                inner.closed.is_some(),
            )
        };
        if !packets.is_empty() {
            let mut failed = false;
            for frame in frames_for(engine, session, &packets) {
                if socket.feed(frame).await.is_err() {
                    failed = true;
                    break;
                }
            }
            if failed || socket.flush().await.is_err() {
                session.close(CloseReason::TransportClose);
                return;
            }
        }
        if closed {
            let _ = socket.close(None).await;
            return;
        }
        let reading = waiting.is_none() && backlog.is_empty();
        tokio::select! {
            frame = socket.next(), if reading => {
                let outcome = match frame {
                    Some(Ok(frame)) => packets_of(engine, session, frame),
                    Some(Err(error)) => {
                        tracing::debug!(sid = %session.id(), %error, "websocket read failed");
                        Err(read_error_reason(&error))
                    }
                    None => Err(CloseReason::TransportClose),
                };
                match outcome {
                    Ok(packets) => backlog.extend(packets),
                    Err(reason) => {
                        session.close(reason);
                        let _ = socket.close(None).await;
                        return;
                    }
                }
            }
            _ = async { if let Some(wait) = waiting.as_mut() { wait.await } }, if waiting.is_some() => {
                waiting = None;
            }
            _ = &mut notified => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Error as IoError, ErrorKind};
    use tokio_tungstenite::tungstenite::error::CapacityError;

    #[test]
    fn a_peer_gone_without_a_close_frame_is_a_transport_close() {
        let gone = [
            WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake),
            WsError::Io(IoError::from(ErrorKind::ConnectionReset)),
            WsError::Io(IoError::from(ErrorKind::UnexpectedEof)),
            WsError::ConnectionClosed,
        ];
        for error in &gone {
            assert_eq!(
                read_error_reason(error),
                CloseReason::TransportClose,
                "{error}"
            );
        }
        let broken = [
            WsError::Capacity(CapacityError::MessageTooLong {
                size: 2,
                max_size: 1,
            }),
            WsError::Protocol(ProtocolError::NonZeroReservedBits),
            WsError::Io(IoError::from(ErrorKind::InvalidData)),
        ];
        for error in &broken {
            assert_eq!(
                read_error_reason(error),
                CloseReason::TransportError,
                "{error}"
            );
        }
    }
}
