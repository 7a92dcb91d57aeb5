//! An IO that first replays bytes already read from it, so a connection can be handed to hyper mid-stream.
//!
//! It can also end its reads at the end of one request message. A request with a body goes to hyper, and the
//! connection comes back to the listener's own path once it is answered; a client that sends its next request as
//! soon as it has the answer (an Engine.IO client's GET right after its POST) used to race that hand-back: when
//! the GET arrived before hyper was told to stop, hyper read it and kept the connection, with its buffers, for the
//! connection's whole life. When the message's length is known from its head, reads stop at its last byte, so
//! hyper does not see a next request that arrives after it. (One that came in the same read as the message is in the
//! replayed bytes; the listener then leaves the rest of the connection to hyper, as before.) The cost: once the
//! message is read, hyper no longer notices a client that hangs up while the request is being served; the
//! request runs to its end (its waits are bounded) and the write of its answer fails.
//!
//! Its writes can be given a limit: a write that makes no progress for that long fails with `TimedOut`, so a client
//! that stops taking its answers (after pipelining requests, say) does not keep a connection hyper serves forever,
//! as the listener's own path does not either.

use bytes::{Buf, Bytes};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// `inner`, with `prefix` read before anything else, and at most `left` more bytes read in all when limited.
pub struct Rewind<T> {
    prefix: Bytes,
    inner: T,
    left: Option<u64>,
    /// How long a write may wait without progress (no limit when `None`).
    write_limit: Option<Duration>,
    /// Runs while a write waits; boxed, and only then.
    write_timer: Option<Pin<Box<Sleep>>>,
}

impl<T> Rewind<T> {
    /// Wraps `inner` so that reads return `prefix` first.
    pub fn new(inner: T, prefix: Bytes) -> Self {
        Self {
            prefix,
            inner,
            left: None,
            write_limit: None,
            write_timer: None,
        }
    }

    /// The same IO, whose writes fail with `TimedOut` once one has made no progress for `limit`.
    pub fn with_write_limit(mut self, limit: Duration) -> Self {
        self.write_limit = Some(limit);
        self
    }

    /// Like [`Rewind::new`], for one message of `length` bytes counted from the start of `prefix` (no limit when
    /// `None`): once they are read, reads report nothing more (they stay pending, with no waker registered: the
    /// caller stops the reader once the message is answered).
    pub fn one_message(inner: T, prefix: Bytes, length: Option<u64>) -> Self {
        Self {
            prefix,
            inner,
            left: length,
            write_limit: None,
            write_timer: None,
        }
    }

    /// Whether every byte of the message was read (always true without a limit).
    pub fn message_read(&self) -> bool {
        self.left.is_none_or(|left| left == 0)
    }

    /// The bytes not replayed yet, and the IO.
    pub fn into_parts(self) -> (Bytes, T) {
        (self.prefix, self.inner)
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Rewind<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let room = match this.left {
            Some(0) => return Poll::Pending,
            Some(left) => {
                usize::try_from(left).map_or(buf.remaining(), |left| left.min(buf.remaining()))
            }
            None => buf.remaining(),
        };
        if !this.prefix.is_empty() {
            let n = this.prefix.len().min(room);
            buf.put_slice(&this.prefix[..n]);
            this.prefix.advance(n);
            if this.prefix.is_empty() {
                // Let go of the allocation as soon as it is replayed.
                this.prefix = Bytes::new();
            }
            this.count(n);
            return Poll::Ready(Ok(()));
        }
        if room == buf.remaining() {
            let before = buf.filled().len();
            let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
            this.count(buf.filled().len() - before);
            return polled;
        }
        // The message ends within this read: read its last bytes through a small buffer of their size at most
        // (a short read is allowed; the reader asks again).
        let mut last = [0u8; 1024];
        let mut limited = ReadBuf::new(&mut last[..room.min(1024)]);
        let polled = Pin::new(&mut this.inner).poll_read(cx, &mut limited);
        if let Poll::Ready(Ok(())) = polled {
            buf.put_slice(limited.filled());
            this.count(limited.filled().len());
        }
        polled
    }
}

impl<T> Rewind<T> {
    fn count(&mut self, read: usize) {
        if let Some(left) = self.left.as_mut() {
            *left = left.saturating_sub(read as u64);
        }
    }

    /// A write's outcome `polled`, under the write limit: a write that waits starts the timer (if it is not
    /// running yet), one that is done stops it, and a write still waiting when it runs out fails.
    fn limit_write<R>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<R>>,
    ) -> Poll<io::Result<R>> {
        let Some(limit) = self.write_limit else {
            return polled;
        };
        if polled.is_ready() {
            self.write_timer = None;
            return polled;
        }
        let timer = self
            .write_timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client took nothing of the response in time",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Rewind<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.limit_write(cx, polled)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.limit_write(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_flush(cx);
        this.limit_write(cx, polled)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn replays_the_prefix_then_reads_on() {
        let inner: &[u8] = b" world";
        let mut io = Rewind::new(inner, Bytes::from_static(b"hello"));
        let mut out = String::new();
        io.read_to_string(&mut out).await.expect("read");
        assert_eq!(out, "hello world");
    }

    #[tokio::test]
    async fn small_reads_take_the_prefix_in_pieces() {
        let inner: &[u8] = b"";
        let mut io = Rewind::new(inner, Bytes::from_static(b"abc"));
        let mut one = [0u8; 2];
        assert_eq!(io.read(&mut one).await.expect("read"), 2);
        assert_eq!(&one, b"ab");
        assert_eq!(io.read(&mut one).await.expect("read"), 1);
        assert_eq!(io.read(&mut one).await.expect("read"), 0);
    }

    #[tokio::test]
    async fn reads_stop_at_the_end_of_the_message_and_the_rest_stays_unread() {
        let (mut client, server) = tokio::io::duplex(64);
        client.write_all(b"ST-body|GET next").await.unwrap();
        let mut one = Rewind::one_message(server, Bytes::from_static(b"PO"), Some(10));
        let mut got = Vec::new();
        while got.len() < 10 {
            let mut buf = [0u8; 4];
            let n = one.read(&mut buf).await.unwrap();
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, b"POST-body|");
        assert!(one.message_read());
        let mut more = [0u8; 8];
        assert!(
            one.read(&mut more).now_or_never().is_none(),
            "nothing past the message is offered"
        );
        let mut rest = [0u8; 8];
        let (_, mut inner) = one.into_parts();
        inner.read_exact(&mut rest).await.unwrap();
        assert_eq!(&rest, b"GET next");
    }

    #[tokio::test]
    async fn without_a_length_everything_is_read() {
        let (mut client, server) = tokio::io::duplex(64);
        client.write_all(b"chunked...").await.unwrap();
        drop(client);
        let mut one = Rewind::one_message(server, Bytes::new(), None);
        let mut all = Vec::new();
        one.read_to_end(&mut all).await.unwrap();
        assert_eq!(all, b"chunked...");
        assert!(one.message_read());
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_that_makes_no_progress_fails_at_the_limit() {
        // Room for 8 bytes, and the reader never takes them.
        let (_reader, writer) = tokio::io::duplex(8);
        let mut io = Rewind::new(writer, Bytes::new()).with_write_limit(Duration::from_secs(2));
        io.write_all(b"12345678").await.unwrap();
        let started = tokio::time::Instant::now();
        let error = io.write_all(b"more").await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed(), Duration::from_secs(2));
        // Without a limit, the same write waits on.
        let (_reader, writer) = tokio::io::duplex(8);
        let mut io = Rewind::new(writer, Bytes::new());
        io.write_all(b"12345678").await.unwrap();
        let waited = tokio::time::timeout(Duration::from_secs(60), io.write_all(b"more")).await;
        assert!(waited.is_err(), "still waiting");
    }

    #[tokio::test]
    async fn a_message_cut_short_is_not_read() {
        let (mut client, server) = tokio::io::duplex(64);
        client.write_all(b"abc").await.unwrap();
        let mut one = Rewind::one_message(server, Bytes::new(), Some(5));
        let mut buf = [0u8; 8];
        assert_eq!(one.read(&mut buf).await.unwrap(), 3);
        assert!(!one.message_read());
    }
}
