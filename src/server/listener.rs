//! The accept loop: HTTP/1.1 with upgrades, one task per connection, stopped by a shutdown signal.

use super::endpoint::ResponseFuture;
use crate::engineio::ConnInfo;
use http::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Something that answers HTTP requests on a listener.
pub trait HttpHandler: Send + Sync + 'static {
    /// Answers one request from the connection described by `conn`.
    fn serve(&self, req: Request<Incoming>, conn: ConnInfo) -> ResponseFuture<'_>;
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
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        tokio::spawn(async move {
            let conn = ConnInfo {
                address: peer.ip(),
                secure: false,
            };
            let service = service_fn(move |req| {
                let app = app.clone();
                let conn = conn.clone();
                async move { Ok::<_, Infallible>(app.serve(req, conn).await) }
            });
            // With a timer, hyper enforces its header-read timeout: a connection that starts a request and
            // never finishes its head (slowloris) is closed instead of holding a descriptor and buffers forever.
            let result = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(head_timeout)
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
            if let Err(error) = result {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
        });
    }
}
