//! What passing a polling request to the node holding its session costs at the least, by two transports, without
//! iogate: the way iogate does it (one HTTP/1.1 round trip over a kept-alive connection to the owner's address) and
//! the way through Redis (the receiving node PUBLISHes the request to the owner's channel; the owner, subscribed,
//! PUBLISHes the answer to the asker's channel). Both at a fixed offered rate, with a request and an answer of a
//! polling POST's size; CPU of both ends and, for Redis, of `redis-server`.
//!
//! The asker is this process; the owner another one: `bench-backend` for HTTP (its `/forward` route), `bench-loadgen
//! forward-owner` for Redis.

use crate::Res;
use crate::client::HttpConn;
use crate::net::Sources;
use crate::procfs::{CpuMark, CpuUse};
use crate::stats::{Latencies, instant_at, now_us};
use futures_util::StreamExt as _;
use http::Method;
use redis::AsyncCommands as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::task::JoinSet;

mod compare;
pub use compare::{Comparison, compare};

/// The channel the owner node listens on.
pub const OWNER_CHANNEL: &str = "bench:forward:node:owner";
/// The channel the asking node listens on (the owner's answers).
pub const ASKER_CHANNEL: &str = "bench:forward:node:asker";
/// Size of a forwarded request: a polling POST carrying one emit, with its request line and headers.
pub const REQUEST_BYTES: usize = 360;
/// Size of the answer passed back: a response head and a short body.
pub const ANSWER_BYTES: usize = 160;
/// How many kept-alive connections the HTTP asker spreads its requests over (one request at a time on each).
const HTTP_CONNECTIONS: usize = 8;

/// The first bytes of every message: the request number and when it was due (µs on the asker's clock), which the
/// owner copies into its answer.
const STAMP_BYTES: usize = 16;

/// What one way of forwarding measured.
#[derive(Debug, Clone, Default)]
pub struct WayOutcome {
    /// Answers received in the measured window.
    pub round_trips: u64,
    /// Requests whose PUBLISH failed (Redis only).
    pub failed: u64,
    /// From when each request was due (or sent, if later) to its answer.
    pub latencies: Latencies,
    /// CPU of the asking process in the window.
    pub asker: CpuUse,
    /// CPU of the owning process in the window.
    pub owner: CpuUse,
    /// CPU of `redis-server` in the window (zero for HTTP).
    pub redis: CpuUse,
}

impl WayOutcome {
    /// CPU microseconds per round trip of `cpu`.
    pub fn us_per_round_trip(&self, cpu: &CpuUse) -> f64 {
        cpu.total() * 1e6 / self.round_trips.max(1) as f64
    }
}

/// The processes and timing of one measurement.
pub struct Window {
    /// Offered round trips per second.
    pub rate: f64,
    /// Not measured, first.
    pub warmup: Duration,
    /// Measured.
    pub window: Duration,
}

/// A message of `size` bytes starting with the stamp of request `id` due at `due`, then `tail` (a channel name or
/// nothing), then filler that reads like an HTTP message.
fn message(id: u64, due: u64, tail: &[u8], size: usize) -> Vec<u8> {
    const FILLER: &[u8] =
        b"POST /socket.io/?EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA HTTP/1.1\r\n\
        host: 127.0.0.1:8080\r\ncontent-type: text/plain;charset=UTF-8\r\ncontent-length: 64\r\n\
        user-agent: Mozilla/5.0\r\naccept: */*\r\norigin: http://127.0.0.1:8080\r\n\r\n\
        42[\"echo\",{\"seq\":1,\"text\":\"hello from the benchmark\"}]";
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(&id.to_le_bytes());
    out.extend_from_slice(&due.to_le_bytes());
    out.push(tail.len() as u8);
    out.extend_from_slice(tail);
    while out.len() < size {
        let take = (size - out.len()).min(FILLER.len());
        out.extend_from_slice(&FILLER[..take]);
    }
    out
}

/// The stamp of a message: its request number and due time.
fn stamp(bytes: &[u8]) -> Option<(u64, u64)> {
    let id = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?);
    let due = u64::from_le_bytes(bytes.get(8..16)?.try_into().ok()?);
    Some((id, due))
}

/// The reply channel named in a request (after the stamp).
fn reply_channel(bytes: &[u8]) -> Option<&[u8]> {
    let len = usize::from(*bytes.get(STAMP_BYTES)?);
    bytes.get(STAMP_BYTES + 1..STAMP_BYTES + 1 + len)
}

/// The answer to `request`: its stamp, then filler up to [`ANSWER_BYTES`].
pub fn answer_to(request: &[u8]) -> Vec<u8> {
    let (id, due) = stamp(request).unwrap_or((0, 0));
    message(id, due, b"", ANSWER_BYTES)
}

/// The owner's end of the Redis way: subscribes to [`OWNER_CHANNEL`], then answers every request on its reply
/// channel, each from a task of its own (as a node serves each request in its own task, so one slow PUBLISH does
/// not hold the others; the answers share one multiplexed connection); calls `ready` once subscribed. Runs until
/// Redis goes away.
pub async fn serve_redis_owner(url: &str, ready: impl FnOnce()) -> Res<()> {
    let client = redis::Client::open(url)?;
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(OWNER_CHANNEL).await?;
    let publisher = client.get_multiplexed_async_connection().await?;
    ready();
    let mut requests = pubsub.into_on_message();
    while let Some(request) = requests.next().await {
        let payload = request.get_payload_bytes();
        let Some(channel) = reply_channel(payload) else {
            continue;
        };
        let (channel, answer) = (channel.to_vec(), answer_to(payload));
        let mut publisher = publisher.clone();
        tokio::spawn(async move {
            let _: Result<usize, _> = publisher.publish(channel, answer).await;
        });
    }
    Err("Redis closed the subscription".into())
}

/// The asker's end of the Redis way against an owner already subscribed: one request per period, each PUBLISHed to
/// [`OWNER_CHANNEL`] from a task of its own (as each request's task would; they share one multiplexed connection),
/// answers read from [`ASKER_CHANNEL`]. CPU windows of `owner_pid` and `redis_pid` too.
pub async fn via_redis(
    url: &str,
    owner_pid: u32,
    redis_pid: u32,
    timing: &Window,
) -> Res<WayOutcome> {
    let client = redis::Client::open(url)?;
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(ASKER_CHANNEL).await?;
    let publisher = client.get_multiplexed_async_connection().await?;
    let start = now_us() + 50_000;
    let window_start = start + timing.warmup.as_micros() as u64;
    let window_end = window_start + timing.window.as_micros() as u64;
    let mut answers = pubsub.into_on_message();
    let collector = tokio::spawn(async move {
        let mut latencies = Latencies::default();
        let until = instant_at(window_end + 200_000);
        loop {
            let answer = tokio::select! {
                answer = answers.next() => answer,
                _ = tokio::time::sleep_until(until) => None,
            };
            let Some(answer) = answer else {
                return latencies;
            };
            let at = now_us();
            if let Some((_, due)) = stamp(answer.get_payload_bytes()) {
                if due >= window_start && due < window_end {
                    latencies.push(at.saturating_sub(due));
                }
            }
        }
    });
    let period = (1e6 / timing.rate.max(1.0)) as u64;
    let failed = Arc::new(AtomicU64::new(0));
    let mut marks = None;
    let mut next = start;
    let mut id = 0u64;
    while next < window_end {
        tokio::time::sleep_until(instant_at(next)).await;
        if marks.is_none() && next >= window_start {
            marks = Some(Marks::now(owner_pid, redis_pid));
        }
        // Timed from the wake-up when the timer woke late: its granularity is this process's, not the path's.
        let due = now_us().max(next);
        let request = message(id, due, ASKER_CHANNEL.as_bytes(), REQUEST_BYTES);
        let (mut publisher, failed) = (publisher.clone(), failed.clone());
        tokio::spawn(async move {
            let published: Result<usize, _> = publisher.publish(OWNER_CHANNEL, request).await;
            if published.is_err() {
                failed.fetch_add(1, Ordering::Relaxed);
            }
        });
        id += 1;
        next += period;
    }
    let used = marks.map(|m| m.used()).unwrap_or_default();
    let latencies = collector.await?;
    Ok(WayOutcome {
        round_trips: latencies.len() as u64,
        failed: failed.load(Ordering::Relaxed),
        latencies,
        asker: used.0,
        owner: used.1,
        redis: used.2,
    })
}

/// The asker's end of the direct way: [`HTTP_CONNECTIONS`] kept-alive connections to the owner's `/forward`, each
/// with its share of the rate, one request at a time.
pub async fn via_http(owner: SocketAddr, owner_pid: u32, timing: &Window) -> Res<WayOutcome> {
    let sources = Sources::loopback(0);
    let mut conns = Vec::with_capacity(HTTP_CONNECTIONS);
    for _ in 0..HTTP_CONNECTIONS {
        conns.push(HttpConn::open(&sources, owner).await?);
    }
    let start = now_us() + 50_000;
    let window_start = start + timing.warmup.as_micros() as u64;
    let window_end = window_start + timing.window.as_micros() as u64;
    let period = (HTTP_CONNECTIONS as f64 * 1e6 / timing.rate.max(1.0)) as u64;
    let mut askers = JoinSet::new();
    for (index, mut conn) in conns.into_iter().enumerate() {
        let first = start + period * index as u64 / HTTP_CONNECTIONS as u64;
        askers.spawn(async move {
            let mut latencies = Latencies::default();
            let mut next = first;
            let mut id = index as u64;
            while next < window_end {
                tokio::time::sleep_until(instant_at(next)).await;
                let due = now_us().max(next);
                let request = message(id, due, b"", REQUEST_BYTES);
                let (status, _) = conn
                    .request(
                        Method::POST,
                        "/forward",
                        &[("content-type", "application/octet-stream")],
                        request,
                    )
                    .await?;
                if status != 200 {
                    return Err(format!("the owner answered HTTP {status}").into());
                }
                let at = now_us();
                if due >= window_start && due < window_end {
                    latencies.push(at - due);
                }
                id += HTTP_CONNECTIONS as u64;
                next += period;
            }
            Ok::<_, crate::Error>(latencies)
        });
    }
    tokio::time::sleep_until(instant_at(window_start)).await;
    let marks = Marks::now(owner_pid, 0);
    tokio::time::sleep_until(instant_at(window_end)).await;
    let used = marks.used();
    let mut latencies = Latencies::default();
    while let Some(joined) = askers.join_next().await {
        latencies.extend(&joined??);
    }
    Ok(WayOutcome {
        round_trips: latencies.len() as u64,
        failed: 0,
        latencies,
        asker: used.0,
        owner: used.1,
        redis: used.2,
    })
}

/// CPU readings of the asker (this process), the owner and Redis.
struct Marks(CpuMark, CpuMark, CpuMark);

impl Marks {
    fn now(owner: u32, redis: u32) -> Self {
        Self(
            CpuMark::now(std::process::id()),
            CpuMark::now(owner),
            CpuMark::now(redis),
        )
    }

    fn used(&self) -> (CpuUse, CpuUse, CpuUse) {
        (self.0.used(), self.1.used(), self.2.used())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_names_its_reply_channel_and_the_answer_keeps_its_stamp() {
        let request = message(7, 1234, ASKER_CHANNEL.as_bytes(), REQUEST_BYTES);
        assert_eq!(request.len(), REQUEST_BYTES);
        assert_eq!(reply_channel(&request), Some(ASKER_CHANNEL.as_bytes()));
        let answer = answer_to(&request);
        assert_eq!(answer.len(), ANSWER_BYTES);
        assert_eq!(stamp(&answer), Some((7, 1234)));
        assert_eq!(stamp(b"short"), None);
        assert_eq!(reply_channel(b"short"), None);
    }
}
