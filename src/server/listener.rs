//! The accept loop: one task per connection (served by the HTTP/1.1 crate, `iogate_h1`), stopped by a shutdown
//! signal.

use super::endpoint::ResponseFuture;
use super::limits::{ConnSettings, Gate};
use crate::engineio::ConnInfo;
use crate::engineio::http::RequestBody;
use crate::log_escape::Escaped;
use http::Request;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Something that answers HTTP requests on a listener.
pub trait HttpHandler: Send + Sync + 'static {
    /// Answers one request from the connection described by `conn`.
    fn serve(&self, req: Request<RequestBody>, conn: ConnInfo) -> ResponseFuture<'_>;
    /// The listener's limits and connection settings.
    fn gate(&self) -> &Arc<Gate>;
    /// Whether `peer` is a trusted proxy, whose connections are not counted on its own address (its requests
    /// are counted on the client addresses it forwards).
    fn is_trusted_proxy(&self, _peer: IpAddr) -> bool {
        false
    }
}

/// Accepts connections on `listener` and serves `app` until `stop` turns true. A connection past the gate's
/// limits is accepted and closed at once (the kernel's backlog is not left to fill).
pub async fn serve<A: HttpHandler>(
    listener: TcpListener,
    app: Arc<A>,
    mut stop: watch::Receiver<bool>,
) {
    let front = Arc::new(H1Service(app));
    let app = &front.0;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|stopped| *stopped) => return,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(error) => {
                // Usually EMFILE: back off briefly instead of spinning.
                tracing::warn!(error = %Escaped(&error), "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        // A trusted proxy's own connections are not counted on its address (its clients' requests are).
        let per_ip = app.gate().counts_per_address() && !app.is_trusted_proxy(peer.ip());
        let Ok(slot) = app.gate().admit(peer.ip(), per_ip) else {
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(iogate_h1::serve_connection(
            stream,
            peer,
            front.clone(),
            slot,
        ));
    }
}

/// A listener's handler as the HTTP/1.1 path calls it.
pub struct H1Service<A>(Arc<A>);

impl<A: HttpHandler> iogate_h1::Service for H1Service<A> {
    fn call(&self, req: Request<RequestBody>, peer: SocketAddr) -> ResponseFuture<'_> {
        self.0.serve(req, conn_info(peer))
    }

    fn limits(&self) -> &ConnSettings {
        self.0.gate().settings()
    }

    fn refused(&self, reason: &'static str, peer: IpAddr) {
        self.0.gate().refused(reason, peer);
    }
}

/// What the application learns about a connection from `peer` on a listener (no TLS here).
fn conn_info(peer: SocketAddr) -> ConnInfo {
    ConnInfo {
        address: peer.ip(),
        secure: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The most the task of a connection may take while its long poll is parked (every idle polling session and
    /// every idle keep-alive connection pays it); the size in a test (debug) build.
    const CONNECTION_TASK_MAX: usize = 288;

    #[test]
    fn an_idle_connection_task_stays_small() {
        fn future_size<A, B, C, D, F: Future>(_: fn(A, B, C, D) -> F) -> usize {
            std::mem::size_of::<F>()
        }
        let size = future_size(
            iogate_h1::serve_connection::<
                H1Service<crate::server::FrontDoor>,
                super::super::limits::Slot,
            >,
        );
        assert!(
            size <= CONNECTION_TASK_MAX,
            "a connection's future is {size} bytes (at most {CONNECTION_TASK_MAX}): every idle connection pays it"
        );
    }

    #[test]
    fn the_configurable_head_limit_is_the_one_the_http_path_can_read() {
        assert_eq!(
            *crate::config::REQUEST_HEAD_RANGE.end(),
            iogate_h1::MAX_HEAD_BYTES
        );
    }
}
