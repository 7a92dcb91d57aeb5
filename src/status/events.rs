//! `GET /status/events`: a `history` event first (the plots' last five minutes), then the status JSON once per
//! second as server-sent events. At most [`MAX_STREAMS`] streams
//! at once (503 past it); a stream ends when its client goes away, takes nothing for the listener's body timeout,
//! or the gateway shuts down (an `end` event is its last).

use super::history::History;
use super::sampler::Sampler;
use crate::engineio::http::{Body, complete};
use crate::server::FrontDoor;
use bytes::Bytes;
use http::Response;
use http::header::{HeaderValue, RETRY_AFTER};
use iogate_h1::Streamed;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Status streams open at once, at most.
pub const MAX_STREAMS: usize = 16;

/// How often a stream sends a snapshot.
pub const INTERVAL: Duration = Duration::from_secs(1);

/// How long a client may leave a chunk untaken before its stream ends (the connection's own write limit applies
/// too).
const SEND_LIMIT: Duration = Duration::from_secs(30);

/// The open streams, counted against [`MAX_STREAMS`].
#[derive(Default)]
pub struct Streams {
    open: Arc<AtomicUsize>,
}

/// A stream's place under the cap, given back when dropped.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Streams {
    /// Streams open now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    fn claim(&self) -> Option<Slot> {
        let claimed = self
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < MAX_STREAMS).then_some(open + 1)
            });
        claimed.ok().map(|_| Slot(self.open.clone()))
    }

    /// Starts a stream of `app`'s status, or answers 503 when [`MAX_STREAMS`] are open.
    pub fn start(
        &self,
        app: Arc<FrontDoor>,
        sampler: Arc<Sampler>,
        history: &History,
    ) -> Response<Body> {
        let Some(slot) = self.claim() else {
            let mut busy = complete(
                503,
                "text/plain; charset=UTF-8",
                "too many status streams are open; try again later",
            );
            busy.headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from_static("5"));
            return busy;
        };
        let (sender, streamed) = Streamed::channel(2);
        let past = serde_json::to_string(&history.points()).unwrap_or_else(|_| "[]".into());
        tokio::spawn(async move {
            let _slot = slot;
            let past = Bytes::from(format!("retry: 3000\nevent: history\ndata: {past}\n\n"));
            if sender.send(past).await.is_err() {
                return;
            }
            loop {
                let chunk = if app.is_draining() {
                    Bytes::from_static(b"event: end\ndata: {}\n\n")
                } else {
                    Bytes::from(format!("data: {}\n\n", sampler.json(&app)))
                };
                let ending = app.is_draining();
                match tokio::time::timeout(SEND_LIMIT, sender.send(chunk)).await {
                    Ok(Ok(())) if !ending => {}
                    _ => return,
                }
                tokio::select! {
                    _ = tokio::time::sleep(INTERVAL) => {}
                    _ = sender.closed() => return,
                }
            }
        });
        let mut response = complete(200, "text/event-stream; charset=utf-8", Bytes::new());
        response.extensions_mut().insert(streamed);
        response
    }
}
