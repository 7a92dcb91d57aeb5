//! One WebSocket connection's IO: reads into a buffer on the stack (nothing is kept per connection while it is
//! idle, only an incomplete frame), and writes frames straight from the shared packet bytes with vectored writes
//! (nothing is kept once they are written).

use super::http::ConnectionHold;
use super::rewind::Rewind;
use super::ws_frame::{Decoder, Event, FrameHead, Opcode, Violation, WsMessage, close_payload};
use bytes::Bytes;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Bytes read from the socket at a time, into a buffer on the stack of the polling thread.
const READ_CHUNK: usize = 16 * 1024;
/// Frames handed to one vectored write at most (two slices each).
const WRITE_BATCH: usize = 32;

/// WebSockets that did not get their TCP stream back from hyper (a type the listener hands hyper changed, say):
/// they work, boxed, but every idle one costs more. Tests assert it stays at zero.
static BOXED_LINKS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// How many WebSockets ran over boxed IO instead of their TCP stream since the process started.
#[cfg(test)]
pub(crate) fn boxed_links() -> usize {
    BOXED_LINKS.load(std::sync::atomic::Ordering::Relaxed)
}

/// The upgraded connection: the TCP stream itself when hyper gives it back, any other IO boxed by hyper.
enum Conn {
    Tcp(TcpStream),
    /// Boxed: rare (the listener serves TCP), and it would make every connection's state larger.
    Other(Box<TokioIo<Upgraded>>),
}

impl Conn {
    /// The connection, and the bytes already read from it that the WebSocket must decode first.
    fn from_upgraded(upgraded: Upgraded) -> (Self, Bytes) {
        // The listener hands upgrades to hyper as a `Rewind<TcpStream>` (the request head replayed first).
        let upgraded = match upgraded.downcast::<TokioIo<Rewind<TcpStream>>>() {
            Ok(parts) => {
                // Hyper read past the handshake first (`read_buf`); what the Rewind still holds comes after.
                let (rest, stream) = parts.io.into_inner().into_parts();
                let read_ahead = if rest.is_empty() {
                    parts.read_buf
                } else {
                    Bytes::from([&parts.read_buf[..], &rest[..]].concat())
                };
                return (Self::Tcp(stream), read_ahead);
            }
            Err(upgraded) => upgraded,
        };
        match upgraded.downcast::<TokioIo<TcpStream>>() {
            Ok(parts) => (Self::Tcp(parts.io.into_inner()), parts.read_buf),
            Err(upgraded) => {
                tracing::debug!("websocket over a connection that is not a TCP stream");
                BOXED_LINKS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                (Self::Other(Box::new(TokioIo::new(upgraded))), Bytes::new())
            }
        }
    }

    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self {
            Self::Tcp(io) => Pin::new(io).poll_read(cx, buf),
            Self::Other(io) => Pin::new(io.as_mut()).poll_read(cx, buf),
        }
    }

    fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self {
            Self::Tcp(io) => Pin::new(io).poll_write_vectored(cx, bufs),
            Self::Other(io) => Pin::new(io.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Self::Tcp(io) => Pin::new(io).poll_flush(cx),
            Self::Other(io) => Pin::new(io.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Self::Tcp(io) => Pin::new(io).poll_shutdown(cx),
            Self::Other(io) => Pin::new(io.as_mut()).poll_shutdown(cx),
        }
    }
}

/// A server frame waiting to be written: its header and its payload (shared, not copied).
struct OutFrame {
    head: FrameHead,
    payload: Bytes,
}

/// Why reading from the connection stopped.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The client broke the protocol: close with the violation's code.
    Violation(Violation),
    /// The connection ended without a close frame, or failed.
    Io(io::Error),
}

/// A WebSocket connection after the handshake.
pub(crate) struct Link {
    conn: Conn,
    decoder: Decoder,
    /// Frames not written yet, and how much of the first one is written. Empty (no allocation) when idle.
    outbox: VecDeque<OutFrame>,
    written: usize,
    /// Kept as long as the connection (the listener's count of the client's connections, when it has one).
    _hold: Option<ConnectionHold>,
}

impl Link {
    /// Takes over an upgraded connection, keeping `hold` while it lasts; bytes hyper read past the handshake are
    /// decoded first.
    pub(crate) fn new(upgraded: Upgraded, hold: Option<ConnectionHold>) -> Self {
        let (conn, read_ahead) = Conn::from_upgraded(upgraded);
        let mut decoder = Decoder::new();
        decoder.stash(&read_ahead);
        Self {
            conn,
            decoder,
            outbox: VecDeque::new(),
            written: 0,
            _hold: hold,
        }
    }

    /// Queues a message to send (see [`Link::poll_write`]).
    pub(crate) fn push(&mut self, message: WsMessage) {
        match message {
            WsMessage::Text(text) => self.push_frame(Opcode::Text, text.into()),
            WsMessage::Binary(data) => self.push_frame(Opcode::Binary, data),
        }
    }

    /// Queues a pong answering a ping that carried `data`.
    pub(crate) fn push_pong(&mut self, data: Bytes) {
        self.push_frame(Opcode::Pong, data);
    }

    /// Queues a close frame: with `code`, or empty.
    pub(crate) fn push_close(&mut self, code: Option<u16>) {
        let payload = code.map(close_payload).unwrap_or_default();
        self.push_frame(Opcode::Close, payload);
    }

    fn push_frame(&mut self, opcode: Opcode, payload: Bytes) {
        self.outbox.push_back(OutFrame {
            head: FrameHead::new(opcode, payload.len()),
            payload,
        });
    }

    /// Whether frames wait to be written.
    pub(crate) fn is_writing(&self) -> bool {
        !self.outbox.is_empty()
    }

    /// Writes queued frames until all are written (`Ready(Ok)`), the socket is full (`Pending`), or it fails.
    pub(crate) fn poll_write(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.outbox.is_empty() {
            let mut slices = [IoSlice::new(&[]); WRITE_BATCH * 2];
            let mut count = 0;
            let mut skip = self.written;
            for frame in self.outbox.iter().take(WRITE_BATCH) {
                for part in [frame.head.as_bytes(), &frame.payload[..]] {
                    if skip >= part.len() {
                        skip -= part.len();
                        continue;
                    }
                    slices[count] = IoSlice::new(&part[skip..]);
                    skip = 0;
                    count += 1;
                }
            }
            let n = ready!(self.conn.poll_write_vectored(cx, &slices[..count]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.advance(n);
        }
        // Release the queue's memory: an idle connection keeps none.
        self.outbox = VecDeque::new();
        self.conn.poll_flush(cx)
    }

    fn advance(&mut self, mut n: usize) {
        while let Some(frame) = self.outbox.front() {
            let left = frame.head.as_bytes().len() + frame.payload.len() - self.written;
            if n < left {
                self.written += n;
                return;
            }
            n -= left;
            self.written = 0;
            self.outbox.pop_front();
        }
    }

    /// Writes every queued frame.
    pub(crate) async fn flush(&mut self) -> io::Result<()> {
        poll_fn(|cx| self.poll_write(cx)).await
    }

    /// Reads until the next event: `Pending` when the client has sent nothing more. `max_message` bounds a
    /// message's size.
    pub(crate) fn poll_event(
        &mut self,
        cx: &mut Context<'_>,
        max_message: usize,
    ) -> Poll<Result<Event, ReadError>> {
        if self.decoder.has_pending() {
            let decoded = self.decoder.next(&mut &[][..], max_message);
            if let Some(event) = decoded.map_err(ReadError::Violation)? {
                return Poll::Ready(Ok(event));
            }
        }
        loop {
            let mut chunk = [MaybeUninit::<u8>::uninit(); READ_CHUNK];
            let mut buf = ReadBuf::uninit(&mut chunk);
            ready!(self.conn.poll_read(cx, &mut buf)).map_err(ReadError::Io)?;
            let mut input = buf.filled();
            if input.is_empty() {
                return Poll::Ready(Err(ReadError::Io(io::ErrorKind::UnexpectedEof.into())));
            }
            let decoded = self.decoder.next(&mut input, max_message);
            self.decoder.stash(input);
            if let Some(event) = decoded.map_err(ReadError::Violation)? {
                return Poll::Ready(Ok(event));
            }
        }
    }

    /// Sends a close frame (after anything queued), then ends the connection, waiting at most `grace` for a
    /// client that does not read.
    pub(crate) async fn close(mut self, code: Option<u16>, grace: std::time::Duration) {
        self.push_close(code);
        let _ = tokio::time::timeout(grace, async {
            self.flush().await?;
            poll_fn(|cx| self.conn.poll_shutdown(cx)).await
        })
        .await;
    }
}
