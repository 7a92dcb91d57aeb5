//! The frame pump of a WebSocket session: moves packets both ways until the session or the connection ends.
//!
//! One task per WebSocket session runs it. While the session is idle the task waits on two things at once (the
//! socket becoming readable, or the application's backpressure wait; and the session, which keeps the task's
//! waker to wake it for output or a close), and holds no read or write buffer: see [`super::link`].

use super::link::{Link, ReadError};
use super::packets::{messages_for, packets_from};
use crate::engineio::codec::packet::Incoming;
use crate::engineio::engine::Engine;
use crate::engineio::handler::{Handler, Wait};
use crate::engineio::session::{CloseReason, Session};
use crate::engineio::ws_frame::Event;
use crate::log_escape::Escaped;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

/// How long a closing connection may take to accept its last frames before it is dropped.
pub(crate) const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// What woke the pump.
enum Step {
    Wrote(io::Result<()>),
    Read(Result<Event, ReadError>),
    Resumed,
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
/// A future written by hand rather than an `async` block: the block kept its arguments twice, a `Notified` of the
/// session (64 bytes; the session keeps the pump's waker instead, see [`Session::take_output`]) and the borrows of
/// its `poll_fn`. The future is most of an idle session's task, and Tokio sizes task cells in steps of 128 bytes.
pub(crate) fn pump<H: Handler>(
    engine: Arc<Engine<H>>,
    session: Arc<Session<H::State>>,
    link: Link,
) -> impl Future<Output = ()> + Send {
    Pump {
        engine,
        session,
        stage: Stage::Pumping(link),
        stalled: None,
    }
}

/// The pump of one session (see [`pump`]).
struct Pump<H: Handler> {
    engine: Arc<Engine<H>>,
    session: Arc<Session<H::State>>,
    stage: Stage,
    /// What the application's backpressure holds back; only while it does.
    stalled: Option<Box<Stalled>>,
}

/// Where the pump stands.
enum Stage {
    /// Moving packets.
    Pumping(Link),
    /// Sending the close frame and shutting the connection down (boxed: an idle session's task holds no room for
    /// the close sequence and its timer).
    Closing(Pin<Box<dyn Future<Output = ()> + Send>>),
    /// Over.
    Done,
}

/// A message's packets not acted on yet because the application asked to wait.
struct Stalled {
    /// The application's wait: packets are acted on again once it completes.
    waiting: Option<Wait>,
    /// The packets left, last one first.
    backlog: Vec<Incoming>,
}

impl<H: Handler> Future for Pump<H> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        loop {
            match &mut this.stage {
                Stage::Pumping(link) => {
                    let ending = ready!(poll_pumping(
                        &this.engine,
                        &this.session,
                        &mut this.stalled,
                        link,
                        cx
                    ));
                    this.stalled = None;
                    match (std::mem::replace(&mut this.stage, Stage::Done), ending) {
                        (Stage::Pumping(link), Some(code)) => {
                            this.stage = Stage::Closing(Box::pin(link.close(code, CLOSE_GRACE)));
                        }
                        // The connection (in the stage just replaced) is dropped at once.
                        _ => {
                            this.session.transport_ended();
                            return Poll::Ready(());
                        }
                    }
                }
                Stage::Closing(closing) => {
                    ready!(closing.as_mut().poll(cx));
                    this.stage = Stage::Done;
                    this.session.transport_ended();
                    return Poll::Ready(());
                }
                Stage::Done => return Poll::Ready(()),
            }
        }
    }
}

/// Moves packets until the pump must end, and how.
fn poll_pumping<H: Handler>(
    engine: &Arc<Engine<H>>,
    session: &Arc<Session<H::State>>,
    stalled: &mut Option<Box<Stalled>>,
    link: &mut Link,
    cx: &mut Context<'_>,
) -> Poll<Ending> {
    loop {
        // Every turn leaves the task's waker with the session first, so output queued or a close from now on
        // wakes it. While frames are still being written, new packets stay in the session's bounded queue,
        // and the batch being written still counts against its `max_buffer` (released by the next
        // `take_output`).
        let closed = if link.is_writing() {
            session.watch_closed(cx.waker())
        } else {
            let (batch, closed) = session.take_output(cx.waker());
            if !batch.is_empty() {
                for message in messages_for(engine, session, batch) {
                    link.push(message);
                }
            }
            closed
        };
        if closed {
            return Poll::Ready(Some(None));
        }
        if stalled.as_ref().is_some_and(|held| held.waiting.is_none()) {
            if let Err(reason) = act_on(engine, session, stalled) {
                session.close(reason);
                return Poll::Ready(Some(None));
            }
            continue;
        }
        let waiting = stalled
            .as_mut()
            .and_then(|stalled| stalled.waiting.as_mut());
        let step = if link.is_writing() {
            link.poll_write(cx).map(Step::Wrote)
        } else if let Some(wait) = waiting {
            wait.as_mut().poll(cx).map(|()| Step::Resumed)
        } else {
            link.poll_event(cx, max_message(engine)).map(Step::Read)
        };
        let Poll::Ready(step) = step else {
            return Poll::Pending;
        };
        match step {
            Step::Wrote(Ok(())) => {}
            Step::Wrote(Err(error)) => {
                tracing::debug!(sid = %session.id(), error = %Escaped(&error), "websocket write failed");
                session.close(CloseReason::TransportClose);
                return Poll::Ready(None);
            }
            Step::Resumed => {
                if let Some(held) = stalled.as_mut() {
                    held.waiting = None;
                }
            }
            Step::Read(Ok(Event::Message(message))) => {
                match packets_from(engine, session, message) {
                    Ok(mut packets) => {
                        packets.reverse();
                        *stalled = Some(Box::new(Stalled {
                            waiting: None,
                            backlog: packets,
                        }));
                        if let Err(reason) = act_on(engine, session, stalled) {
                            session.close(reason);
                            return Poll::Ready(Some(None));
                        }
                    }
                    Err(reason) => {
                        session.close(reason);
                        return Poll::Ready(Some(None));
                    }
                }
            }
            Step::Read(Ok(Event::Ping(data))) => link.push_pong(data),
            Step::Read(Ok(Event::Close(code))) => {
                session.close(CloseReason::TransportClose);
                return Poll::Ready(Some(code));
            }
            Step::Read(Err(ReadError::Violation(violation))) => {
                tracing::debug!(sid = %session.id(), %violation, "websocket protocol violation");
                session.close(CloseReason::TransportError);
                return Poll::Ready(Some(Some(violation.close_code())));
            }
            Step::Read(Err(ReadError::Io(error))) => {
                tracing::debug!(sid = %session.id(), error = %Escaped(&error), "websocket read failed");
                session.close(read_error_reason(&error));
                return Poll::Ready(None);
            }
        }
    }
}

/// Acts on the stalled packets (stored last one first) until none is left or the application asks to wait. Once
/// nothing is held back any more, the box goes.
fn act_on<H: Handler>(
    engine: &Engine<H>,
    session: &Arc<Session<H::State>>,
    stalled: &mut Option<Box<Stalled>>,
) -> Result<(), CloseReason> {
    let Some(held) = stalled.as_mut() else {
        return Ok(());
    };
    while held.waiting.is_none() {
        let Some(packet) = held.backlog.pop() else {
            break;
        };
        held.waiting = engine.on_packet(session, packet)?;
    }
    if held.waiting.is_none() && held.backlog.is_empty() {
        *stalled = None;
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
