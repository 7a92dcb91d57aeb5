//! The accept loop: one task per connection (see [`super::h1`]), stopped by a shutdown signal.

use super::endpoint::ResponseFuture;
use super::limits::Gate;
use crate::engineio::ConnInfo;
use crate::engineio::http::RequestBody;
use crate::log_escape::Escaped;
use http::Request;
use std::net::IpAddr;
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
        tokio::spawn(super::h1::serve_connection(stream, peer, app.clone(), slot));
    }
}
