//! HTTP long-polling: GET waits for packets, POST delivers them.

use crate::engineio::codec::packet::{Incoming, Packet};
use crate::engineio::codec::poll_format::{PollFormat, PostError};
use crate::engineio::engine::Engine;
use crate::engineio::error::EngineError;
use crate::engineio::handler::Handler;
use crate::engineio::http::{self as responses, Body};
use crate::engineio::http::{BodyError, RequestBody};
use crate::engineio::session::{CloseReason, PollReady, Session, TransportKind, Upgrade};
use crate::engineio::version::EngineVersion;
use crate::log_escape::Escaped;
use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{Request, Response};
use http_body_util::{BodyExt, Limited};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// How long a GET that starts during an upgrade probe waits before its noop.
const PROBE_POLL_HOLD: Duration = Duration::from_millis(100);

/// Closes the session if a pending GET is abandoned (the client went away).
struct PollGuard<S: Send + Sync + 'static> {
    session: Arc<Session<S>>,
    answered: bool,
}

impl<S: Send + Sync + 'static> Drop for PollGuard<S> {
    fn drop(&mut self) {
        if !self.answered {
            self.session.lock().polling = false;
            if self.session.version() == EngineVersion::Sio09 {
                close_unless_polled_again(&self.session);
            } else {
                self.session.close(CloseReason::TransportClose);
            }
        }
    }
}

/// A Socket.IO 0.9 client aborts its poll when it disconnects, before it posts its last messages (`0::`), so its
/// session is closed only when no new GET comes within `ping_timeout` (0.9 servers waited a close timeout).
fn close_unless_polled_again<S: Send + Sync + 'static>(session: &Arc<Session<S>>) {
    let (polls, grace) = (session.lock().polls, session.ping_timeout());
    let session = session.clone();
    tokio::spawn(async move {
        tokio::time::sleep(grace).await;
        if session.lock().polls == polls {
            session.close(CloseReason::TransportClose);
        }
    });
}

/// Serves a long-poll GET: answers at once if packets wait, else when one arrives.
pub(crate) async fn get<H: Handler>(
    engine: &Arc<Engine<H>>,
    session: Arc<Session<H::State>>,
    format: PollFormat,
) -> Result<Response<Body>, EngineError> {
    let packets = wait_for_packets(engine, session).await?;
    Ok(format.response(&packets))
}

/// The packets a long-poll GET answers with: at once if packets wait, else when one arrives.
///
/// Not an `async fn`: its arguments would be stored twice in the future a parked poll holds.
#[expect(
    clippy::manual_async_fn,
    reason = "an async fn stores its arguments twice"
)]
pub(crate) fn wait_for_packets<H: Handler>(
    engine: &Arc<Engine<H>>,
    session: Arc<Session<H::State>>,
) -> impl Future<Output = Result<Vec<Packet>, EngineError>> + Send + '_ {
    async move {
        let started_during_probe = {
            let mut inner = session.lock();
            if inner.closed.is_none() && inner.transport != TransportKind::Polling {
                return Err(EngineError::BadRequest);
            }
            if inner.polling {
                drop(inner);
                tracing::debug!(sid = %session.id(), "overlapping GET; closing session");
                session.close(CloseReason::TransportError);
                return Err(EngineError::BadRequest);
            }
            inner.polling = true;
            inner.polls = inner.polls.wrapping_add(1);
            inner.upgrade == Upgrade::Probing
        };
        let mut guard = PollGuard {
            session,
            answered: false,
        };
        // The rare waits are boxed so that the future a parked poll holds stays small.
        if started_during_probe && Box::pin(upgraded_meanwhile(&guard.session)).await {
            guard.answered = true;
            guard.session.lock().polling = false;
            return Err(EngineError::BadRequest);
        }
        let mut coalesce_until = None;
        loop {
            let notified = guard.session.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            // More output is on its way (the backend is answering this client): gather it into one response, for
            // at most `poll_coalesce` after the first packet could have gone. The window is read from the config
            // inside a block so that the future a parked poll holds does not keep it.
            let gather_until = {
                let window = engine.config().poll_coalesce;
                (!window.is_zero()
                    && guard.session.has_queued_output()
                    && engine.handler().busy(&guard.session))
                .then(|| *coalesce_until.get_or_insert_with(|| Instant::now() + window))
            };
            if let Some(until) = gather_until
                && Instant::now() < until
            {
                let _ = Box::pin(tokio::time::timeout_at(until, notified)).await;
                continue;
            }
            if let PollReady::Send(packets) = guard.session.poll_ready() {
                guard.answered = true;
                return Ok(packets);
            }
            notified.await;
        }
    }
}

/// A GET that starts while a WebSocket probes the session is held like the reference server holds it (its noop
/// comes on a 100 ms tick). True when the upgrade completed meanwhile: that GET belongs to a retired transport.
async fn upgraded_meanwhile<S: Send + Sync + 'static>(session: &Arc<Session<S>>) -> bool {
    let deadline = Instant::now() + PROBE_POLL_HOLD;
    loop {
        let notified = session.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        {
            let inner = session.lock();
            if inner.transport == TransportKind::Websocket {
                return true;
            }
            if inner.upgrade != Upgrade::Probing || inner.closed.is_some() {
                return false;
            }
        }
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            return false;
        }
    }
}

/// Clears the session's POST flag however the POST ends.
struct PostGuard<S: Send + Sync + 'static>(Arc<Session<S>>);

impl<S: Send + Sync + 'static> Drop for PostGuard<S> {
    fn drop(&mut self) {
        self.0.lock().posting = false;
    }
}

/// Serves a POST: decodes the payload and hands each packet to the application in order.
pub(crate) async fn post<H: Handler>(
    engine: &Arc<Engine<H>>,
    session: Arc<Session<H::State>>,
    req: Request<RequestBody>,
    format: PollFormat,
) -> Result<Response<Body>, EngineError> {
    let octet_stream = is_octet_stream(&req);
    receive(engine, session, req, |body| {
        format.decode(body, octet_stream)
    })
    .await?;
    Ok(responses::complete(
        200,
        "text/html",
        Bytes::from_static(b"ok"),
    ))
}

/// Reads a POST body, decodes it with `decode` and hands each packet to the application in order, waiting
/// while the application applies backpressure.
pub(crate) async fn receive<H: Handler>(
    engine: &Arc<Engine<H>>,
    session: Arc<Session<H::State>>,
    req: Request<RequestBody>,
    decode: impl FnOnce(Bytes) -> Result<Vec<Incoming>, PostError>,
) -> Result<(), EngineError> {
    {
        let mut inner = session.lock();
        if inner.closed.is_some() {
            return Err(EngineError::SessionUnknown);
        }
        if inner.transport != TransportKind::Polling {
            return Err(EngineError::BadRequest);
        }
        if inner.posting {
            drop(inner);
            tracing::debug!(sid = %session.id(), "overlapping POST; closing session");
            session.close(CloseReason::TransportError);
            return Err(EngineError::BadRequest);
        }
        inner.posting = true;
    }
    let _guard = PostGuard(session.clone());
    let body = read_body(req, engine.config().max_payload).await?;
    let packets = match decode(body) {
        Ok(packets) => packets,
        Err(PostError::BadRequest) => return Err(EngineError::BadRequest),
        Err(PostError::Decode(error)) => {
            tracing::debug!(sid = %session.id(), error = %Escaped(&error), "undecodable payload; closing session");
            session.close(CloseReason::ParseError);
            return Err(EngineError::BadRequest);
        }
    };
    deliver(engine, &session, packets).await;
    Ok(())
}

/// Hands packets to the application in order, waiting while it applies backpressure; stops when the session
/// closes.
pub(crate) async fn deliver<H: Handler>(
    engine: &Arc<Engine<H>>,
    session: &Arc<Session<H::State>>,
    packets: Vec<Incoming>,
) {
    for packet in packets {
        match engine.on_packet(session, packet) {
            Ok(Some(wait)) => wait.await,
            Ok(None) => {}
            Err(reason) => {
                session.close(reason);
                break;
            }
        }
        if session.is_closed() {
            break;
        }
    }
}

/// Whether the POST says `Content-Type: application/octet-stream` (any case, parameters allowed), checked in
/// place: this runs for every POST.
fn is_octet_stream(req: &Request<RequestBody>) -> bool {
    const OCTET_STREAM: &[u8] = b"application/octet-stream";
    req.headers().get(CONTENT_TYPE).is_some_and(|value| {
        value
            .as_bytes()
            .trim_ascii()
            .get(..OCTET_STREAM.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(OCTET_STREAM))
    })
}

/// Reads a request body of at most `limit` bytes.
pub(crate) async fn read_body(req: Request<RequestBody>, limit: u64) -> Result<Bytes, EngineError> {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(EngineError::PayloadTooLarge);
    }
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    match Limited::new(req.into_body(), limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            Err(EngineError::PayloadTooLarge)
        }
        Err(error) if BodyError::is_timeout(&*error) => Err(EngineError::RequestTimeout),
        Err(_) => Err(EngineError::BadRequest),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post_with(content_type: Option<&str>) -> Request<RequestBody> {
        let mut builder = Request::builder().method("POST").uri("/socket.io/");
        if let Some(value) = content_type {
            builder = builder.header(CONTENT_TYPE, value);
        }
        builder.body(RequestBody::Empty).expect("a valid request")
    }

    #[test]
    fn octet_stream_is_recognised_in_any_case_with_parameters_and_spaces() {
        for value in [
            "application/octet-stream",
            "Application/Octet-Stream",
            "  application/octet-stream; charset=binary",
        ] {
            assert!(is_octet_stream(&post_with(Some(value))), "{value:?}");
        }
    }

    #[test]
    fn other_or_missing_content_types_are_not_octet_stream() {
        for value in [
            Some("text/plain;charset=UTF-8"),
            Some("application/octet"),
            Some(""),
            Some("application/json"),
            None,
        ] {
            assert!(!is_octet_stream(&post_with(value)), "{value:?}");
        }
    }
}
