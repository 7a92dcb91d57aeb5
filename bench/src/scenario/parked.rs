//! Parked sessions: what a server holds per socket it keeps for connection state recovery while the client is away.
//! Clients connect over WebSocket or long-polling asking for offsets (`recovery=1` in the handshake query; a Node
//! server gives every client offsets), each receives one server-side emit to the room `bench` (so it holds an
//! offset it could come back with), then every client's TCP connection is dropped at once (a WebSocket reset, a
//! pending poll's connection closed unanswered) and the server parks the sockets.

use super::{Ctx, Problems, Tally, Transport, connect_limit, failures_note, wait_connected};
use crate::Res;
use crate::client::{
    PollClient, Ws, poll_connect_with_query, poll_get, poll_post, ws_connect_with_query,
};
use crate::procfs;
use crate::proto::{self, Packet, Sio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

/// The handshake query that asks iogate for offsets (`recovery` with `offsets = "marked"`); Node ignores it.
pub const RECOVERY_QUERY: &str = "recovery=1";

/// How long the delivery of the emit and the parking of every session may take.
const WAIT_LIMIT: Duration = Duration::from_secs(60);

/// Memory of sessions connected, then parked.
#[derive(Debug, Clone, Copy)]
pub struct ParkedOutcome {
    /// Clients that connected, held their session and received the emit.
    pub sessions: usize,
    /// Sessions the server counted as parked when memory was read.
    pub parked: usize,
    /// Resident memory growth per session with every client connected and idle, KiB.
    pub connected_kib: f64,
    /// Resident memory growth per session with every session parked (clients gone), KiB.
    pub parked_kib: f64,
    /// How long the server took to count every session parked after the resets.
    pub parking: Duration,
}

/// Connects `n` clients over `transport`, waits `settle`, sends one emit to the room they are in and waits until each
/// has it, reads the resident memory (connected), resets every client's connection, waits until the server counts
/// `n` parked sessions ([`crate::servers::Server::parked`]), and reads the resident memory again (parked). Both
/// readings are against the memory before the first connect, divided by the sessions; Node collects its garbage
/// before each reading.
pub async fn parked(
    ctx: &Ctx<'_>,
    n: usize,
    settle: Duration,
    transport: Transport,
    problems: &mut Problems,
) -> Res<ParkedOutcome> {
    ctx.server.collect_garbage().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_before = rss(ctx)?;
    let tally = Arc::new(Tally::default());
    let received = Arc::new(AtomicUsize::new(0));
    let (drop_all, dropped) = watch::channel(false);
    let gate = Arc::new(Semaphore::new(ctx.connect_concurrency));
    let mut clients = JoinSet::new();
    for _ in 0..n {
        let (tally, received, dropped, gate, sources, endpoint) = (
            tally.clone(),
            received.clone(),
            dropped.clone(),
            gate.clone(),
            ctx.sources.clone(),
            ctx.server.endpoint.clone(),
        );
        clients.spawn(async move {
            let permit = gate.acquire_owned().await;
            let connected = match transport {
                Transport::Websocket => ws_connect_with_query(&sources, &endpoint, RECOVERY_QUERY)
                    .await
                    .map(Client::Ws),
                Transport::Polling => poll_connect_with_query(&sources, &endpoint, RECOVERY_QUERY)
                    .await
                    .map(Client::Polling),
            };
            match connected {
                Ok(client) => {
                    tally.connected.fetch_add(1, Ordering::AcqRel);
                    drop(permit);
                    let held = match client {
                        Client::Ws(ws) => hold_until_dropped(ws, &received, dropped).await,
                        Client::Polling(poll) => poll_until_dropped(poll, &received, dropped).await,
                    };
                    if let Err(error) = held {
                        tally.error("session ended before the drop", &error);
                        tally.lost.fetch_add(1, Ordering::AcqRel);
                    }
                }
                Err(error) => {
                    tally.error("connect", &error);
                    tally.failed.fetch_add(1, Ordering::AcqRel);
                }
            }
        });
    }
    wait_connected(&tally, n, connect_limit(n)).await?;
    tokio::time::sleep(settle).await;
    let held = tally.connected.load(Ordering::Acquire) - tally.lost.load(Ordering::Acquire);
    ctx.server.emit_to_room("bench", "tick", "0").await?;
    let got = wait_for(|| async { Ok(received.load(Ordering::Acquire)) }, held).await?;
    if got < held {
        problems.notes.push(format!(
            "parked sessions: the emit reached {got} of {held} clients in {WAIT_LIMIT:?}"
        ));
    }
    ctx.server.collect_garbage().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_connected = rss(ctx)?;

    let resets = Instant::now();
    let _ = drop_all.send(true);
    while clients.join_next().await.is_some() {}
    let held = tally.connected.load(Ordering::Acquire) - tally.lost.load(Ordering::Acquire);
    let parked = wait_for(|| ctx.server.parked(), held).await?;
    let parking = resets.elapsed();
    if parked < held {
        problems.notes.push(format!(
            "parked sessions: the server counted {parked} of {held} sessions parked after {WAIT_LIMIT:?}"
        ));
    }
    ctx.server.collect_garbage().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_parked = rss(ctx)?;
    failures_note(&tally, n, "parked sessions", problems);
    let per_session = |rss: u64| rss.saturating_sub(rss_before) as f64 / held.max(1) as f64;
    Ok(ParkedOutcome {
        sessions: held,
        parked,
        connected_kib: per_session(rss_connected),
        parked_kib: per_session(rss_parked),
        parking,
    })
}

/// A connected client of either transport.
enum Client {
    Ws(Ws),
    Polling(PollClient),
}

fn rss(ctx: &Ctx<'_>) -> Res<u64> {
    Ok(procfs::rss_kib(ctx.server.pid).ok_or("cannot read the server's memory")?)
}

/// Polls `count` every 20 ms until it reaches `target` or [`WAIT_LIMIT`] passes; answers the last count.
async fn wait_for<F, Fut>(mut count: F, target: usize) -> Res<usize>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Res<usize>>,
{
    let deadline = Instant::now() + WAIT_LIMIT;
    loop {
        let now = count().await?;
        if now >= target || Instant::now() >= deadline {
            return Ok(now);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Answers pings and counts the client in `received` at its first event, until `dropped` turns true: then resets
/// the connection. An error when the session ended first.
async fn hold_until_dropped(
    mut ws: Ws,
    received: &AtomicUsize,
    mut dropped: watch::Receiver<bool>,
) -> Res<()> {
    let mut got_event = false;
    loop {
        tokio::select! {
            changed = dropped.changed() => {
                changed.map_err(|_| "the scenario ended")?;
                if *dropped.borrow_and_update() {
                    ws.reset();
                    return Ok(());
                }
            }
            read = ws.read_text() => {
                if !read? {
                    return Err("websocket ended".into());
                }
                match proto::packet(ws.text()) {
                    Packet::Ping => ws.send_text("3").await?,
                    Packet::Sio(Sio::Event(_)) if !got_event => {
                        got_event = true;
                        received.fetch_add(1, Ordering::AcqRel);
                    }
                    Packet::Close => return Err("server closed the session".into()),
                    _ => {}
                }
            }
        }
    }
}

/// Keeps a GET pending, answering pings, and counts the client in `received` at its first event, until `dropped`
/// turns true: then closes the connection with the GET unanswered. An error when the session ended first.
async fn poll_until_dropped(
    mut client: PollClient,
    received: &AtomicUsize,
    mut dropped: watch::Receiver<bool>,
) -> Res<()> {
    let mut got_event = false;
    loop {
        let body = tokio::select! {
            changed = dropped.changed() => {
                changed.map_err(|_| "the scenario ended")?;
                if *dropped.borrow_and_update() {
                    // Dropping the connection closes it with the poll pending.
                    return Ok(());
                }
                continue;
            }
            body = poll_get(&mut client.conn, &client.url) => body?,
        };
        let mut pong = false;
        for packet in proto::payload(&body) {
            match packet {
                Packet::Ping => pong = true,
                Packet::Sio(Sio::Event(_)) if !got_event => {
                    got_event = true;
                    received.fetch_add(1, Ordering::AcqRel);
                }
                Packet::Close => return Err("server closed the session".into()),
                _ => {}
            }
        }
        if pong {
            poll_post(&mut client.conn, &client.url, "3").await?;
        }
    }
}
