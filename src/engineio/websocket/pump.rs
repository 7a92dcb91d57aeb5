//! The frame pump of a WebSocket session: moves packets both ways until the session or the connection ends.
//!
//! One task per WebSocket session runs it. While the session is idle the task waits on three things at once
//! (the socket becoming readable, the session's notify, the application's backpressure wait) in one `poll_fn`,
//! and holds no read or write buffer: see [`super::link`].

use super::link::{Link, ReadError};
use super::packets::{messages_for, packets_from};
use crate::engineio::codec::packet::Incoming;
use crate::engineio::engine::Engine;
use crate::engineio::handler::{Handler, Wait};
use crate::engineio::session::{CloseReason, Session};
use crate::engineio::ws_frame::Event;
use crate::log_escape::Escaped;
use std::future::{Future, poll_fn};
use std::io;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

/// How long a closing connection may take to accept its last frames before it is dropped.
pub(crate) const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// What woke the pump.
enum Step {
    Wrote(io::Result<()>),
    Read(Result<Event, ReadError>),
    Resumed,
    Notified,
}

/// How the pump ends: `Some(code)` sends a close frame (empty when the code is `None`); `None` drops the
/// connection at once.
type Ending = Option<Option<u16>>;

/// The largest message a session accepts.
pub(crate) fn max_message<H: Handler>(engine: &Engine<H>) -> usize {
    usize::try_from(engine.config().max_payload).unwrap_or(usize::MAX)
}

/// Moves packets both ways until the session or the socket ends.
///
/// Not an `async fn`: its arguments would be stored twice in the future (once as arguments, once as locals);
/// the `async move` block uses them in place. The future's size is most of an idle session's task.
#[expect(
    clippy::manual_async_fn,
    reason = "an async fn stores its arguments twice"
)]
pub(crate) fn pump<H: Handler>(
    engine: Arc<Engine<H>>,
    session: Arc<Session<H::State>>,
    mut link: Link,
) -> impl Future<Output = ()> + Send {
    async move {
        let max = max_message(&engine);
        let mut waiting: Option<Wait> = None;
        // Packets of a message not acted on yet because the application asked to wait, last one first.
        let mut backlog: Vec<Incoming> = Vec::new();
        let ending: Ending = loop {
            let notified = session.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            // While frames are still being written, new packets stay in the session's bounded queue, and the
            // batch being written still counts against its `max_buffer` (released by the next `take_output`).
            let closed = if link.is_writing() {
                session.is_closed()
            } else {
                let (batch, closed) = session.take_output();
                if !batch.is_empty() {
                    for message in messages_for(&engine, &session, batch) {
                        link.push(message);
                    }
                }
                closed
            };
            if closed {
                break Some(None);
            }
            if waiting.is_none() && !backlog.is_empty() {
                if let Err(reason) = act_on(&engine, &session, &mut backlog, &mut waiting) {
                    session.close(reason);
                    break Some(None);
                }
                continue;
            }
            let step = poll_fn(|cx| {
                if link.is_writing() {
                    if let Poll::Ready(result) = link.poll_write(cx) {
                        return Poll::Ready(Step::Wrote(result));
                    }
                } else if let Some(wait) = waiting.as_mut() {
                    if wait.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(Step::Resumed);
                    }
                } else if let Poll::Ready(read) = link.poll_event(cx, max) {
                    return Poll::Ready(Step::Read(read));
                }
                notified.as_mut().poll(cx).map(|()| Step::Notified)
            })
            .await;
            match step {
                Step::Wrote(Ok(())) | Step::Notified => {}
                Step::Wrote(Err(error)) => {
                    tracing::debug!(sid = %session.id(), error = %Escaped(&error), "websocket write failed");
                    session.close(CloseReason::TransportClose);
                    break None;
                }
                Step::Resumed => waiting = None,
                Step::Read(Ok(Event::Message(message))) => {
                    match packets_from(&engine, &session, message) {
                        Ok(mut packets) => {
                            packets.reverse();
                            backlog = packets;
                            if let Err(reason) =
                                act_on(&engine, &session, &mut backlog, &mut waiting)
                            {
                                session.close(reason);
                                break Some(None);
                            }
                        }
                        Err(reason) => {
                            session.close(reason);
                            break Some(None);
                        }
                    }
                }
                Step::Read(Ok(Event::Ping(data))) => link.push_pong(data),
                Step::Read(Ok(Event::Close(code))) => {
                    session.close(CloseReason::TransportClose);
                    break Some(code);
                }
                Step::Read(Err(ReadError::Violation(violation))) => {
                    tracing::debug!(sid = %session.id(), %violation, "websocket protocol violation");
                    session.close(CloseReason::TransportError);
                    break Some(Some(violation.close_code()));
                }
                Step::Read(Err(ReadError::Io(error))) => {
                    tracing::debug!(sid = %session.id(), error = %Escaped(&error), "websocket read failed");
                    session.close(read_error_reason(&error));
                    break None;
                }
            }
        };
        drop(backlog);
        drop(waiting);
        if let Some(code) = ending {
            // Boxed: the close sequence's timer would otherwise take room in every idle session's task.
            Box::pin(link.close(code, CLOSE_GRACE)).await;
        } else {
            drop(link);
        }
        session.transport_ended();
    }
}

/// Acts on the backlog's packets (stored last one first) until it is empty or the application asks to wait.
/// The emptied backlog lets go of its buffer.
fn act_on<H: Handler>(
    engine: &Engine<H>,
    session: &Arc<Session<H::State>>,
    backlog: &mut Vec<Incoming>,
    waiting: &mut Option<Wait>,
) -> Result<(), CloseReason> {
    while waiting.is_none() {
        let Some(packet) = backlog.pop() else {
            break;
        };
        *waiting = engine.on_packet(session, packet)?;
    }
    if backlog.is_empty() {
        *backlog = Vec::new();
    }
    Ok(())
}

/// Why a session ends when reading its WebSocket fails. A peer that goes away without a close frame (its
/// process ended, its connection was reset) is a `transport close`, as the reference server reports it; any
/// other failure is a `transport error`.
fn read_error_reason(error: &io::Error) -> CloseReason {
    use std::io::ErrorKind;
    match error.kind() {
        ErrorKind::ConnectionReset
        | ErrorKind::ConnectionAborted
        | ErrorKind::BrokenPipe
        | ErrorKind::UnexpectedEof => CloseReason::TransportClose,
        _ => CloseReason::TransportError,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Error as IoError, ErrorKind};

    #[test]
    fn a_peer_gone_without_a_close_frame_is_a_transport_close() {
        for kind in [
            ErrorKind::ConnectionReset,
            ErrorKind::UnexpectedEof,
            ErrorKind::BrokenPipe,
        ] {
            assert_eq!(
                read_error_reason(&IoError::from(kind)),
                CloseReason::TransportClose,
                "{kind:?}"
            );
        }
        assert_eq!(
            read_error_reason(&IoError::from(ErrorKind::InvalidData)),
            CloseReason::TransportError
        );
    }
}
