//! Handing a connection over after `101 Switching Protocols`: the driver places an [`OnUpgrade`] in the
//! extensions of a request that asks for an upgrade (and of no other request: nothing is allocated for them);
//! when the service's answer is a 101, the driver writes its head and sends the raw `TcpStream`, the bytes read
//! past the request head and the connection's hold to it. A receiver that was dropped, or a 101 that could not be
//! written, closes the connection.

use bytes::Bytes;
use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

/// Something that must live as long as the connection it came with: the listener's count of the connection
/// (handed over with an upgraded connection), or of a client a trusted proxy forwarded (carried in a request's
/// extensions by the service).
#[derive(Clone)]
pub struct ConnectionHold(pub Arc<dyn Any + Send + Sync>);

impl std::fmt::Debug for ConnectionHold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConnectionHold")
    }
}

/// A connection after `101 Switching Protocols`.
#[derive(Debug)]
pub struct Upgraded {
    /// The client's TCP stream, with nothing buffered in front of it.
    pub stream: TcpStream,
    /// Bytes the client sent after the request head, read before the switch: they come first.
    pub read_ahead: Bytes,
    /// The connection's place in the listener's count: keep it as long as the connection.
    pub hold: ConnectionHold,
}

/// Where a request that asks for an upgrade gets its connection, once answered with 101 (found in the
/// request's extensions). Resolves to `None` when the answer was not a 101, or its head could not be written.
/// Clones share the one connection: the first to take it has it.
#[derive(Clone)]
pub struct OnUpgrade(Arc<Mutex<Option<oneshot::Receiver<Upgraded>>>>);

impl std::fmt::Debug for OnUpgrade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OnUpgrade")
    }
}

impl Future for OnUpgrade {
    type Output = Option<Upgraded>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Ok(mut slot) = self.0.lock() else {
            return Poll::Ready(None);
        };
        let Some(receiver) = slot.as_mut() else {
            return Poll::Ready(None);
        };
        let received = std::task::ready!(Pin::new(receiver).poll(cx));
        // Taken once: a receiver is not polled again after it answered.
        *slot = None;
        Poll::Ready(received.ok())
    }
}

/// The driver's end of an [`OnUpgrade`].
pub(crate) struct Handover(oneshot::Sender<Upgraded>);

impl Handover {
    /// Hands `upgraded` over; a receiver that is gone drops it, which closes the connection.
    pub(crate) fn send(self, upgraded: Upgraded) {
        let _ = self.0.send(upgraded);
    }
}

/// A connected pair: the driver keeps the [`Handover`], the request carries the [`OnUpgrade`].
pub(crate) fn pair() -> (Handover, OnUpgrade) {
    let (sender, receiver) = oneshot::channel();
    (
        Handover(sender),
        OnUpgrade(Arc::new(Mutex::new(Some(receiver)))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_handover_reaches_its_receiver_and_a_dropped_one_resolves_to_none() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (handover, on_upgrade) = pair();
        handover.send(Upgraded {
            stream: client,
            read_ahead: Bytes::from_static(b"frame"),
            hold: ConnectionHold(Arc::new(())),
        });
        let upgraded = on_upgrade.clone().await.expect("the connection");
        assert_eq!(&upgraded.read_ahead[..], b"frame");
        assert!(on_upgrade.await.is_none(), "taken once");
        let (handover, on_upgrade) = pair();
        drop(handover);
        assert!(on_upgrade.await.is_none());
    }
}
