//! An IO that lets hyper read one request message and nothing after it.
//!
//! A request with a body goes to hyper, and the connection comes back to the listener's own path once it is
//! answered. A client that sends its next request as soon as it has the answer (an Engine.IO client's GET right
//! after its POST) used to race that hand-back: when the GET arrived before hyper was told to stop, hyper read it
//! and kept the connection, with its buffers, for the connection's whole life. When the message's length is
//! known from its head, reads stop at its last byte, so hyper never sees the next request.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// `inner`, of which at most `left` more bytes are read (no limit when `None`).
pub struct OneMessage<T> {
    inner: T,
    left: Option<u64>,
}

impl<T> OneMessage<T> {
    /// Wraps `inner`; `length` is the whole message (head and body), counted from the next byte read.
    pub fn new(inner: T, length: Option<u64>) -> Self {
        Self {
            inner,
            left: length,
        }
    }

    /// Whether every byte of the message was read (always true without a limit).
    pub fn message_read(&self) -> bool {
        self.left.is_none_or(|left| left == 0)
    }

    /// The wrapped IO.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for OneMessage<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let Some(left) = this.left else {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        };
        if left == 0 {
            // The message is read; what follows belongs to the next request. Nothing to read for hyper, and no
            // waker registered here: the caller stops hyper as soon as the answer is out.
            return Poll::Pending;
        }
        if left >= buf.remaining() as u64 {
            let before = buf.filled().len();
            let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
            this.left = Some(left - (buf.filled().len() - before) as u64);
            return polled;
        }
        // The message ends within this read: read its last bytes through a small buffer of their size at most
        // (a short read is allowed; hyper asks again).
        let mut last = [0u8; 1024];
        let room = usize::try_from(left).map_or(last.len(), |left| left.min(last.len()));
        let mut limited = ReadBuf::new(&mut last[..room]);
        let polled = Pin::new(&mut this.inner).poll_read(cx, &mut limited);
        if let Poll::Ready(Ok(())) = polled {
            buf.put_slice(limited.filled());
            this.left = Some(left - limited.filled().len() as u64);
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for OneMessage<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
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
    async fn reads_stop_at_the_end_of_the_message_and_the_rest_stays_unread() {
        let (mut client, server) = tokio::io::duplex(64);
        client.write_all(b"POST-body|GET next").await.unwrap();
        let mut one = OneMessage::new(server, Some(10));
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
        let mut inner = one.into_inner();
        inner.read_exact(&mut rest).await.unwrap();
        assert_eq!(&rest, b"GET next");
    }

    #[tokio::test]
    async fn without_a_length_everything_is_read() {
        let (mut client, server) = tokio::io::duplex(64);
        client.write_all(b"chunked...").await.unwrap();
        drop(client);
        let mut one = OneMessage::new(server, None);
        let mut all = Vec::new();
        one.read_to_end(&mut all).await.unwrap();
        assert_eq!(all, b"chunked...");
        assert!(one.message_read());
    }

    #[tokio::test]
    async fn a_message_cut_short_is_not_read() {
        let (mut client, server) = tokio::io::duplex(64);
        client.write_all(b"abc").await.unwrap();
        let mut one = OneMessage::new(server, Some(5));
        let mut buf = [0u8; 8];
        assert_eq!(one.read(&mut buf).await.unwrap(), 3);
        assert!(!one.message_read());
    }
}
