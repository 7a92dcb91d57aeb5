//! One WebSocket connection's IO: reads into a buffer on the stack (nothing is kept per connection while it is
//! idle, only an incomplete frame), and writes frames straight from the shared packet bytes with vectored writes
//! (nothing is kept once they are written).

use crate::frame::{Decoder, Event, FrameHead, Opcode, Violation, WsMessage, close_payload};
use bytes::Bytes;
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

/// A server frame waiting to be written: its header and its payload (shared, not copied).
struct OutFrame {
    head: FrameHead,
    payload: Bytes,
}

/// Why reading from the connection stopped.
#[derive(Debug)]
pub enum ReadError {
    /// The client broke the protocol: close with the violation's code.
    Violation(Violation),
    /// The connection ended without a close frame, or failed.
    Io(io::Error),
}

/// A WebSocket connection after the handshake. `Hold` is whatever must live exactly as long as the connection
/// (the listener's count of it, for instance); the link only keeps it.
pub struct Link<Hold> {
    /// The client's TCP stream, taken over after the 101.
    conn: TcpStream,
    decoder: Decoder,
    /// Frames not written yet, and how much of the first one is written. Empty (no allocation) when idle.
    outbox: VecDeque<OutFrame>,
    written: usize,
    /// Kept as long as the connection.
    _hold: Hold,
}

impl<Hold> Link<Hold> {
    /// Takes over an upgraded connection, keeping `hold` while it lasts; `read_ahead` (bytes read past the
    /// handshake) is decoded first.
    pub fn new(stream: TcpStream, read_ahead: &[u8], hold: Hold) -> Self {
        let mut decoder = Decoder::new();
        decoder.stash(read_ahead);
        Self {
            conn: stream,
            decoder,
            outbox: VecDeque::new(),
            written: 0,
            _hold: hold,
        }
    }

    /// Queues a message to send (see [`Link::poll_write`]).
    pub fn push(&mut self, message: WsMessage) {
        match message {
            WsMessage::Text(text) => self.push_frame(Opcode::Text, text.into()),
            WsMessage::Binary(data) => self.push_frame(Opcode::Binary, data),
        }
    }

    /// Queues a pong answering a ping that carried `data`.
    pub fn push_pong(&mut self, data: Bytes) {
        self.push_frame(Opcode::Pong, data);
    }

    /// Queues a close frame: with `code`, or empty.
    pub fn push_close(&mut self, code: Option<u16>) {
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
    pub fn is_writing(&self) -> bool {
        !self.outbox.is_empty()
    }

    /// Writes queued frames until all are written (`Ready(Ok)`), the socket is full (`Pending`), or it fails.
    pub fn poll_write(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
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
            let n = ready!(Pin::new(&mut self.conn).poll_write_vectored(cx, &slices[..count]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.advance(n);
        }
        // Release the queue's memory: an idle connection keeps none.
        self.outbox = VecDeque::new();
        Pin::new(&mut self.conn).poll_flush(cx)
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
    pub async fn flush(&mut self) -> io::Result<()> {
        poll_fn(|cx| self.poll_write(cx)).await
    }

    /// Reads until the next event: `Pending` when the client has sent nothing more. `max_message` bounds a
    /// message's size.
    pub fn poll_event(
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
            ready!(Pin::new(&mut self.conn).poll_read(cx, &mut buf)).map_err(ReadError::Io)?;
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
    pub async fn close(mut self, code: Option<u16>, grace: std::time::Duration) {
        self.push_close(code);
        let _ = tokio::time::timeout(grace, async {
            self.flush().await?;
            poll_fn(|cx| Pin::new(&mut self.conn).poll_shutdown(cx)).await
        })
        .await;
    }
}
