//! Serving a request while watching its connection: if the client goes away before the answer, the answer is
//! dropped (a parked long poll learns its client left), without holding any read buffer meanwhile.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::ReadBuf;
use tokio::net::TcpStream;

/// The answer `inner` gives, or `None` when the client closed or reset the connection first.
pub struct WhileConnected<'a, F> {
    stream: &'a TcpStream,
    inner: F,
    watching: bool,
}

impl<'a, F> WhileConnected<'a, F> {
    /// Watches `stream` while `inner` runs.
    pub fn new(stream: &'a TcpStream, inner: F) -> Self {
        Self {
            stream,
            inner,
            watching: true,
        }
    }
}

impl<F: Future + Unpin> Future for WhileConnected<'_, F> {
    type Output = Option<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Poll::Ready(output) = Pin::new(&mut this.inner).poll(cx) {
            return Poll::Ready(Some(output));
        }
        if this.watching {
            // One byte on the stack: enough to tell end-of-stream from a pipelined request.
            let mut byte = [0u8; 1];
            let mut buf = ReadBuf::new(&mut byte);
            match this.stream.poll_peek(cx, &mut buf) {
                Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => return Poll::Ready(None),
                // The client sent its next request early: it waits in the kernel until this one is answered.
                Poll::Ready(Ok(_)) => this.watching = false,
                Poll::Pending => {}
            }
        }
        Poll::Pending
    }
}
