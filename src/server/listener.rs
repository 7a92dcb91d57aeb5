//! The accept loop: one task per connection (see [`super::h1`]), stopped by a shutdown signal.

use super::endpoint::ResponseFuture;
use crate::engineio::ConnInfo;
use crate::engineio::http::RequestBody;
use crate::log_escape::Escaped;
use http::Request;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Something that answers HTTP requests on a listener.
pub trait HttpHandler: Send + Sync + 'static {
    /// Answers one request from the connection described by `conn`.
    fn serve(&self, req: Request<RequestBody>, conn: ConnInfo) -> ResponseFuture<'_>;
}

/// Accepts connections on `listener` and serves `app` until `stop` turns true.
/// `head_timeout` bounds how long a client may take to send a request head.
pub async fn serve<A: HttpHandler>(
    listener: TcpListener,
    app: Arc<A>,
    mut stop: watch::Receiver<bool>,
    head_timeout: std::time::Duration,
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
        let _ = stream.set_nodelay(true);
        tokio::spawn(super::h1::serve_connection(
            stream,
            peer,
            app.clone(),
            head_timeout,
        ));
    }
}
