//! The scenarios: idle sessions, parked sessions (kept for connection state recovery), relay (emit with ack through
//! the webhook backend), fan-out (one server-side emit to a room), connect storm. Each runs against one freshly
//! started server and reads its CPU time and memory from /proc.

use crate::client::{
    self, Endpoint, HttpConn, PollClient, Ws, poll_connect, poll_get, poll_post, ws_connect,
};
use crate::net::Sources;
use crate::procfs::{self, CpuMark, CpuUse};
use crate::proto::{self, Packet, Sio};
use crate::servers::{Backend, Server};
use crate::stats::{Latencies, instant_at, now_us};
use crate::{Error, Res};
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

mod broadcast_relay;
mod parked;
pub use broadcast_relay::{BROADCAST_EVENT, broadcast_relay};
pub use parked::{ParkedOutcome, RECOVERY_QUERY, parked};

/// The client transport of a scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    /// HTTP long-polling.
    Polling,
    /// WebSocket.
    Websocket,
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Transport::Polling => "polling",
            Transport::Websocket => "WebSocket",
        })
    }
}

/// Which nodes a scenario's clients connect to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientNodes {
    /// All to the entry server (the only one unless a cluster runs).
    Entry,
    /// Spread evenly over the entry server and its peers (client i on node i mod N).
    All,
    /// Spread evenly over the peers only (the entry server has none).
    Peers,
}

/// What every scenario needs.
pub struct Ctx<'a> {
    /// The server under test; in a cluster, node 1: server-side emits go through it, and polling handshakes.
    pub server: &'a Server,
    /// The other nodes of a cluster (none for one server); their CPU counts as the server's.
    pub peers: &'a [Server],
    /// Where clients connect (where the fan-out's clients are; the relay's clients always start on `server`).
    pub clients_on: ClientNodes,
    /// A relay's polling clients send every request after their handshake to the first peer (the hop), not to the
    /// node holding their session.
    pub polling_hop: bool,
    /// The webhook backend.
    pub backend: &'a Backend,
    /// Source addresses for client connections.
    pub sources: Arc<Sources>,
    /// How many clients may be connecting at once while a scenario sets up.
    pub connect_concurrency: usize,
}

impl<'a> Ctx<'a> {
    /// A context for one server (no peers): every client on it.
    pub fn single(
        server: &'a Server,
        backend: &'a Backend,
        sources: Arc<Sources>,
        connect_concurrency: usize,
    ) -> Self {
        Self {
            server,
            peers: &[],
            clients_on: ClientNodes::Entry,
            polling_hop: false,
            backend,
            sources,
            connect_concurrency,
        }
    }

    fn pid(&self) -> u32 {
        self.server.pid
    }

    /// The process ids of the server and its peers.
    fn server_pids(&self) -> Vec<u32> {
        std::iter::once(self.server.pid)
            .chain(self.peers.iter().map(|peer| peer.pid))
            .collect()
    }

    /// Where client number `index` connects.
    fn client_endpoint(&self, index: usize) -> Endpoint {
        let server = match self.clients_on {
            ClientNodes::Entry => self.server,
            ClientNodes::All => {
                let nodes = 1 + self.peers.len();
                match index % nodes {
                    0 => self.server,
                    peer => &self.peers[peer - 1],
                }
            }
            ClientNodes::Peers if self.peers.is_empty() => self.server,
            ClientNodes::Peers => &self.peers[index % self.peers.len()],
        };
        server.endpoint.clone()
    }

    /// Where a relay's polling requests after the handshake go: the first peer when hopping.
    fn polling_requests_to(&self) -> Option<Endpoint> {
        if self.polling_hop {
            self.peers.first().map(|peer| peer.endpoint.clone())
        } else {
            None
        }
    }

    fn marks(&self) -> Marks {
        Marks {
            server: CpuMark::now_summed(&self.server_pids()),
            loadgen: CpuMark::now(std::process::id()),
            backend: CpuMark::now(self.backend.pid),
        }
    }
}

/// CPU readings of the three processes sharing the machine.
struct Marks {
    server: CpuMark,
    loadgen: CpuMark,
    backend: CpuMark,
}

impl Marks {
    fn used(&self) -> Usage {
        Usage {
            server: self.server.used(),
            loadgen: self.loadgen.used(),
            backend: self.backend.used(),
        }
    }
}

/// CPU used during a measured window by the server, the load generator and the webhook backend (they share the
/// machine's cores).
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Usage {
    /// The server under test.
    pub server: CpuUse,
    /// This process.
    pub loadgen: CpuUse,
    /// The webhook backend (zero when it was not started by this process).
    pub backend: CpuUse,
}

impl Usage {
    /// One line: each process's share of a core and the server's kernel share.
    pub fn summary(&self) -> String {
        format!(
            "server {:.0}% CPU ({:.0}% of it kernel), load generator {:.0}%, backend {:.0}%",
            self.server.percent(),
            self.server.system_share(),
            self.loadgen.percent(),
            self.backend.percent()
        )
    }
}

/// Problems worth reporting beside the numbers (failed connects, lost sessions, missing deliveries).
#[derive(Default, Debug)]
pub struct Problems {
    /// Short descriptions.
    pub notes: Vec<String>,
}

/// Counts and first errors of a crowd of client tasks.
#[derive(Default)]
struct Tally {
    connected: AtomicUsize,
    failed: AtomicUsize,
    lost: AtomicUsize,
    first_errors: Mutex<Vec<String>>,
}

impl Tally {
    fn error(&self, what: &str, error: &Error) {
        let mut errors = self.first_errors.lock().unwrap_or_else(|p| p.into_inner());
        if errors.len() < 3 {
            errors.push(format!("{what}: {error}"));
        }
    }

    fn summary(&self) -> String {
        self.first_errors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .join("; ")
    }
}

/// Waits until `n` clients connected or failed (or `limit` passes).
async fn wait_connected(tally: &Tally, n: usize, limit: Duration) -> Res<()> {
    let started = Instant::now();
    loop {
        let done = tally.connected.load(Ordering::Acquire) + tally.failed.load(Ordering::Acquire);
        if done >= n {
            return Ok(());
        }
        if started.elapsed() > limit {
            return Err(format!(
                "only {done} of {n} clients connected in {limit:?} ({})",
                tally.summary()
            )
            .into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn connect_limit(n: usize) -> Duration {
    Duration::from_secs(30) + Duration::from_millis(10 * n as u64)
}

fn failures_note(tally: &Tally, n: usize, what: &str, problems: &mut Problems) {
    let failed = tally.failed.load(Ordering::Acquire);
    let lost = tally.lost.load(Ordering::Acquire);
    if failed > 0 || lost > 0 {
        problems.notes.push(format!(
            "{what}: {failed} of {n} clients failed to connect, {lost} sessions lost ({})",
            tally.summary()
        ));
    }
}

// ---------------------------------------------------------------------------------------------------------------
// 1. Idle sessions

/// Memory and CPU of idle sessions.
#[derive(Debug, Clone, Copy)]
pub struct IdleOutcome {
    /// Sessions held.
    pub sessions: usize,
    /// Resident memory growth per session, KiB.
    pub rss_per_session_kib: f64,
    /// Server CPU while idle, percent of one core.
    pub cpu_percent: f64,
    /// CPU of every process in the window.
    pub cpu: Usage,
}

/// Connects `n` clients that then only answer heartbeats (polling: a GET always pending), waits `settle`, then
/// reads the server's CPU over `window` and its resident memory (after a garbage collection for Node).
///
/// The connects are spread evenly over `ramp` (one ping interval): heartbeats then come spread out, as they do
/// for clients that arrive over time, instead of every session answering its ping in the same instant (a burst
/// whose transient allocations would stay in the resident memory of either server).
pub async fn idle(
    ctx: &Ctx<'_>,
    transport: Transport,
    n: usize,
    ramp: Duration,
    settle: Duration,
    window: Duration,
    problems: &mut Problems,
) -> Res<IdleOutcome> {
    ctx.server.collect_garbage().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_before = procfs::rss_kib(ctx.pid()).ok_or("cannot read the server's memory")?;
    let tally = Arc::new(Tally::default());
    let gate = Arc::new(Semaphore::new(ctx.connect_concurrency));
    let mut clients = JoinSet::new();
    let start = tokio::time::Instant::now();
    for index in 0..n {
        let (tally, gate, sources, endpoint) = (
            tally.clone(),
            gate.clone(),
            ctx.sources.clone(),
            ctx.server.endpoint.clone(),
        );
        let at = start + ramp.mul_f64(index as f64 / n as f64);
        clients.spawn(async move {
            tokio::time::sleep_until(at).await;
            let permit = gate.acquire_owned().await;
            let ended = match transport {
                Transport::Polling => match poll_connect(&sources, &endpoint).await {
                    Ok(client) => {
                        tally.connected.fetch_add(1, Ordering::AcqRel);
                        drop(permit);
                        client::poll_idle(client).await
                    }
                    Err(error) => {
                        tally.error("connect", &error);
                        tally.failed.fetch_add(1, Ordering::AcqRel);
                        return;
                    }
                },
                Transport::Websocket => match ws_connect(&sources, &endpoint).await {
                    Ok(ws) => {
                        tally.connected.fetch_add(1, Ordering::AcqRel);
                        drop(permit);
                        client::ws_idle(ws).await
                    }
                    Err(error) => {
                        tally.error("connect", &error);
                        tally.failed.fetch_add(1, Ordering::AcqRel);
                        return;
                    }
                },
            };
            tally.error("idle session ended", &ended);
            tally.lost.fetch_add(1, Ordering::AcqRel);
        });
    }
    wait_connected(&tally, n, connect_limit(n) + ramp).await?;
    tokio::time::sleep(settle).await;
    let marks = ctx.marks();
    tokio::time::sleep(window).await;
    let cpu = marks.used();
    ctx.server.collect_garbage().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_after = procfs::rss_kib(ctx.pid()).ok_or("cannot read the server's memory")?;
    let held = tally.connected.load(Ordering::Acquire) - tally.lost.load(Ordering::Acquire);
    failures_note(&tally, n, &format!("idle {transport}"), problems);
    clients.abort_all();
    Ok(IdleOutcome {
        sessions: held,
        rss_per_session_kib: rss_after.saturating_sub(rss_before) as f64 / held.max(1) as f64,
        cpu_percent: cpu.server.percent(),
        cpu,
    })
}

// ---------------------------------------------------------------------------------------------------------------
// 2. Relay: emit with ack through the webhook backend

/// Throughput and latency of emits acked by the backend.
#[derive(Debug, Clone)]
pub struct RelayOutcome {
    /// Acks received per second in the measured window.
    pub acks_per_second: f64,
    /// Emit-to-ack latencies of the window.
    pub latencies: Latencies,
    /// Server CPU seconds per ack, in microseconds.
    pub cpu_us_per_ack: f64,
    /// Polling: acks per poll response that carried any (NaN over WebSocket).
    pub acks_per_response: f64,
    /// CPU of every process in the window.
    pub cpu: Usage,
}

/// How the relay clients pace their emits.
#[derive(Clone, Copy, Debug)]
pub enum Pace {
    /// Each client emits again as soon as its ack arrives (fixed concurrency).
    ClosedLoop,
    /// All clients together emit this many times per second, on schedule whatever the acks do; latency counts
    /// from the scheduled time.
    Rate(f64),
    /// Each client emits this many events at once (over polling: in one POST) and again once every ack arrived:
    /// replies that come back close together, which a polling server can gather into one response.
    Burst(u32),
}

/// The shared timeline of a relay run, in [`now_us`] microseconds.
#[derive(Clone, Copy)]
pub(crate) struct Timeline {
    /// When the clients start emitting.
    pub(crate) start: u64,
    /// When the measured window opens (after the warm-up).
    pub(crate) window_start: u64,
    /// When it closes.
    pub(crate) window_end: u64,
}

impl Timeline {
    /// Starts 100 ms from now (so that every client is waiting for it), measures from `warmup` on for `duration`.
    pub(crate) fn from_now(warmup: Duration, duration: Duration) -> Self {
        let start = now_us() + 100_000;
        let window_start = start + warmup.as_micros() as u64;
        Self {
            start,
            window_start,
            window_end: window_start + duration.as_micros() as u64,
        }
    }

    /// Whether an ack arriving at `at` falls in the measured window.
    pub(crate) fn counts(&self, at: u64) -> bool {
        at >= self.window_start && at <= self.window_end
    }
}

/// What one relay client measured.
#[derive(Default)]
struct ClientResult {
    acks: u64,
    latencies: Latencies,
    /// Polling: responses that carried at least one ack counted in the window.
    responses: u64,
    /// Polling: the response the last counted ack came in.
    last_response: u64,
}

/// One client's emit schedule.
#[derive(Clone, Copy)]
pub(crate) struct Schedule {
    /// First emit (open loop).
    pub(crate) first: u64,
    /// Microseconds between emits (open loop); 0 = closed loop.
    pub(crate) period: u64,
    /// Emits sent at once (closed loop).
    pub(crate) burst: u32,
}

impl Schedule {
    /// Client `index` of `count` that together emit `rate` times per second from `start`: each every
    /// `count / rate` seconds, their first emits spread evenly over one such period.
    pub(crate) fn at_rate(rate: f64, start: u64, index: usize, count: usize) -> Self {
        let count = count.max(1) as u64;
        let period = (count as f64 * 1e6 / rate.max(1.0)) as u64;
        Self {
            first: start + period * index as u64 / count,
            period: period.max(1),
            burst: 1,
        }
    }
}

/// Emits with ack from `clients` clients; measures from `warmup` on for `duration`.
pub async fn relay(
    ctx: &Ctx<'_>,
    transport: Transport,
    clients: usize,
    warmup: Duration,
    duration: Duration,
    pace: Pace,
    problems: &mut Problems,
) -> Res<RelayOutcome> {
    let tally = Arc::new(Tally::default());
    // Connect every client first; they start emitting together.
    let mut connecting = JoinSet::new();
    for _ in 0..clients {
        let (sources, endpoint) = (ctx.sources.clone(), ctx.server.endpoint.clone());
        let requests_to = ctx.polling_requests_to();
        connecting.spawn(async move {
            match transport {
                Transport::Polling => {
                    let mut client = poll_connect(&sources, &endpoint).await?;
                    let later = requests_to.as_ref().unwrap_or(&endpoint);
                    if requests_to.is_some() {
                        // Every request after the handshake lands on another node than the session's.
                        client.conn = HttpConn::open(&sources, later.addr).await?;
                    }
                    let post = HttpConn::open(&sources, later.addr).await?;
                    Ok::<_, Error>(RelayClient::Polling(client, post))
                }
                Transport::Websocket => Ok(RelayClient::Ws(ws_connect(&sources, &endpoint).await?)),
            }
        });
    }
    let mut ready = Vec::with_capacity(clients);
    while let Some(joined) = connecting.join_next().await {
        match joined? {
            Ok(client) => ready.push(client),
            Err(error) => {
                tally.error("connect", &error);
                tally.failed.fetch_add(1, Ordering::AcqRel);
            }
        }
    }
    if ready.is_empty() {
        return Err(format!("no relay client connected ({})", tally.summary()).into());
    }
    let timeline = Timeline::from_now(warmup, duration);
    let (start, count) = (timeline.start, ready.len());
    let mut runs = JoinSet::new();
    for (index, client) in ready.into_iter().enumerate() {
        let schedule = match pace {
            Pace::ClosedLoop => Schedule {
                first: start,
                period: 0,
                burst: 1,
            },
            Pace::Burst(burst) => Schedule {
                first: start,
                period: 0,
                burst: burst.max(1),
            },
            Pace::Rate(rate) => Schedule::at_rate(rate, start, index, count),
        };
        let tally = tally.clone();
        runs.spawn(async move {
            let outcome = match client {
                RelayClient::Ws(ws) => relay_ws(ws, timeline, schedule).await,
                RelayClient::Polling(client, post) => {
                    relay_polling(client, post, timeline, schedule).await
                }
            };
            outcome.unwrap_or_else(|(error, partial)| {
                tally.error("relay client", &error);
                tally.lost.fetch_add(1, Ordering::AcqRel);
                partial
            })
        });
    }
    tokio::time::sleep_until(instant_at(timeline.window_start)).await;
    let marks = ctx.marks();
    tokio::time::sleep_until(instant_at(timeline.window_end)).await;
    let cpu = marks.used();
    let mut acks = 0;
    let mut responses = 0;
    let mut latencies = Latencies::default();
    let collect = async {
        while let Some(joined) = runs.join_next().await {
            if let Ok(result) = joined {
                acks += result.acks;
                responses += result.responses;
                latencies.extend(&result.latencies);
            }
        }
    };
    if tokio::time::timeout(Duration::from_secs(10), collect)
        .await
        .is_err()
    {
        problems.notes.push(format!(
            "relay {transport}: some clients did not stop in time"
        ));
    }
    runs.abort_all();
    failures_note(&tally, clients, &format!("relay {transport}"), problems);
    let seconds = duration.as_secs_f64();
    Ok(RelayOutcome {
        acks_per_second: acks as f64 / seconds,
        latencies,
        cpu_us_per_ack: if acks > 0 {
            cpu.server.total() * 1e6 / acks as f64
        } else {
            f64::NAN
        },
        acks_per_response: if responses > 0 {
            acks as f64 / responses as f64
        } else {
            f64::NAN
        },
        cpu,
    })
}

enum RelayClient {
    Ws(Ws),
    Polling(PollClient, HttpConn),
}

/// Records an ack arriving at `at` for an emit timed from `sent`.
fn record(result: &mut ClientResult, timeline: &Timeline, sent: u64, at: u64) {
    if timeline.counts(at) {
        result.acks += 1;
        result.latencies.push(at.saturating_sub(sent));
    }
}

/// [`record`] for an ack that came in poll response number `response`, counting the responses that carried acks.
fn record_polled(
    result: &mut ClientResult,
    timeline: &Timeline,
    sent: u64,
    at: u64,
    response: u64,
) {
    let before = result.acks;
    record(result, timeline, sent, at);
    if result.acks > before && result.last_response != response {
        result.last_response = response;
        result.responses += 1;
    }
}

type ClientError = (Error, ClientResult);

async fn relay_ws(
    mut ws: Ws,
    timeline: Timeline,
    schedule: Schedule,
) -> Result<ClientResult, ClientError> {
    let mut result = ClientResult::default();
    let mut pending: HashMap<u64, u64> = HashMap::new();
    let mut next_id = 1u64;
    let mut next_send = schedule.first;
    let closed_loop = schedule.period == 0;
    let mut emit = String::new();
    tokio::time::sleep_until(instant_at(timeline.start)).await;
    loop {
        let now = now_us();
        if now >= timeline.window_end {
            return Ok(result);
        }
        if closed_loop && pending.is_empty() {
            for _ in 0..schedule.burst {
                pending.insert(next_id, now_us());
                proto::write_emit_with_ack(&mut emit, next_id);
                if let Err(error) = ws.send_text(&emit).await {
                    return Err((error, result));
                }
                next_id += 1;
            }
        }
        tokio::select! {
            read = ws.read_text() => {
                match read {
                    Ok(true) => {}
                    Ok(false) => return Err(("websocket ended".into(), result)),
                    Err(error) => return Err((error, result)),
                }
                let at = now_us();
                match proto::packet(ws.text()) {
                    Packet::Ping => {
                        if let Err(error) = ws.send_text("3").await {
                            return Err((error, result));
                        }
                    }
                    Packet::Sio(Sio::Ack(id, _)) => {
                        if let Some(sent) = pending.remove(&id) {
                            record(&mut result, &timeline, sent, at);
                        }
                    }
                    Packet::Close => return Err(("server closed the session".into(), result)),
                    _ => {}
                }
            }
            _ = tokio::time::sleep_until(instant_at(next_send)), if !closed_loop => {
                // Timed from the wake-up: the timer's millisecond granularity is the load generator's, not the
                // server's.
                pending.insert(next_id, now_us().max(next_send));
                proto::write_emit_with_ack(&mut emit, next_id);
                if let Err(error) = ws.send_text(&emit).await {
                    return Err((error, result));
                }
                next_id += 1;
                next_send += schedule.period;
            }
            _ = tokio::time::sleep_until(instant_at(timeline.window_end)) => return Ok(result),
        }
    }
}

/// A polling client as real clients run one: a GET always pending on one connection, POSTs on another.
async fn relay_polling(
    client: PollClient,
    mut post: HttpConn,
    timeline: Timeline,
    schedule: Schedule,
) -> Result<ClientResult, ClientError> {
    let PollClient { mut conn, url } = client;
    // Each ack with when it came and which response carried it.
    let (ack_tx, mut ack_rx) = mpsc::unbounded_channel::<(u64, u64, u64)>();
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<&'static str>();
    let reader_url = url.clone();
    let reader = tokio::spawn(async move {
        let mut response = 0u64;
        loop {
            let body = poll_get(&mut conn, &reader_url).await?;
            let at = now_us();
            response += 1;
            for packet in proto::payload(&body) {
                match packet {
                    Packet::Ping => {
                        let _ = out_tx.send("3");
                    }
                    Packet::Sio(Sio::Ack(id, _)) => {
                        let _ = ack_tx.send((id, at, response));
                    }
                    Packet::Close => return Err::<(), Error>("server closed the session".into()),
                    _ => {}
                }
            }
        }
    });
    let _reader = AbortOnDrop(reader.abort_handle());
    let mut result = ClientResult::default();
    let mut pending: HashMap<u64, u64> = HashMap::new();
    let mut next_id = 1u64;
    let mut next_send = schedule.first;
    let closed_loop = schedule.period == 0;
    // The payload of the next POST: packets joined by the separator, in one buffer reused from POST to POST.
    let mut outgoing = String::new();
    let push = |outgoing: &mut String, packet: &str| {
        if !outgoing.is_empty() {
            outgoing.push(proto::SEPARATOR);
        }
        outgoing.push_str(packet);
    };
    let mut emit = String::new();
    let mut last_post_end = 0u64;
    tokio::time::sleep_until(instant_at(timeline.start)).await;
    loop {
        while let Ok((id, at, response)) = ack_rx.try_recv() {
            if let Some(sent) = pending.remove(&id) {
                record_polled(&mut result, &timeline, sent, at, response);
            }
        }
        while let Ok(packet) = out_rx.try_recv() {
            push(&mut outgoing, packet);
        }
        let now = now_us();
        if now >= timeline.window_end {
            return Ok(result);
        }
        if closed_loop && pending.is_empty() {
            for _ in 0..schedule.burst {
                proto::write_emit_with_ack(&mut emit, next_id);
                push(&mut outgoing, &emit);
                pending.insert(next_id, now);
                next_id += 1;
            }
        }
        if !closed_loop {
            while next_send <= now {
                proto::write_emit_with_ack(&mut emit, next_id);
                push(&mut outgoing, &emit);
                // An emit that fell due while the previous POST was in flight waited for the server: timed from
                // when it was due. Otherwise from the wake-up (the timer's granularity is not the server's).
                let due = if next_send < last_post_end {
                    next_send
                } else {
                    now
                };
                pending.insert(next_id, due);
                next_id += 1;
                next_send += schedule.period;
            }
        }
        if !outgoing.is_empty() {
            let posted = poll_post(&mut post, &url, &outgoing).await;
            outgoing.clear();
            if let Err(error) = posted {
                return Err((error, result));
            }
            last_post_end = now_us();
            continue;
        }
        if reader.is_finished() {
            return Err(("polling reader ended".into(), result));
        }
        tokio::select! {
            Some((id, at, response)) = ack_rx.recv() => {
                if let Some(sent) = pending.remove(&id) {
                    record_polled(&mut result, &timeline, sent, at, response);
                }
            }
            Some(packet) = out_rx.recv() => push(&mut outgoing, packet),
            _ = tokio::time::sleep_until(instant_at(next_send)), if !closed_loop => {}
            _ = tokio::time::sleep_until(instant_at(timeline.window_end)) => return Ok(result),
        }
    }
}

struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

// ---------------------------------------------------------------------------------------------------------------
// 3. Fan-out: one server-side emit to a room

/// Deliveries of server-side emits to a room.
#[derive(Debug, Clone)]
pub struct FanoutOutcome {
    /// Clients in the room.
    pub clients: usize,
    /// Deliveries per second within rounds (from the emit call to the last delivery of each round).
    pub deliveries_per_second: f64,
    /// Emit-call-to-delivery latencies.
    pub latencies: Latencies,
    /// Server CPU per delivery, in microseconds.
    pub cpu_us_per_delivery: f64,
    /// CPU of every process over the rounds.
    pub cpu: Usage,
}

struct Rounds {
    /// Rounds at the start that are not measured (their deliveries are awaited, not counted).
    warmup: usize,
    sent: Vec<AtomicU64>,
    delivered: Vec<AtomicUsize>,
    last: Vec<AtomicU64>,
    latencies: Vec<Mutex<Latencies>>,
}

impl Rounds {
    /// `warmup` rounds that are not measured, then `rounds` that are.
    fn new(warmup: usize, rounds: usize) -> Self {
        let all = warmup + rounds;
        Self {
            warmup,
            sent: (0..all).map(|_| AtomicU64::new(0)).collect(),
            delivered: (0..all).map(|_| AtomicUsize::new(0)).collect(),
            last: (0..all).map(|_| AtomicU64::new(0)).collect(),
            latencies: (0..16).map(|_| Mutex::new(Latencies::default())).collect(),
        }
    }

    /// Whether `round` is measured (it comes after the warm-up).
    fn measured(&self, round: usize) -> bool {
        round >= self.warmup
    }

    /// Round `round` starts now (its latencies count from here).
    fn mark_sent(&self, round: usize) {
        if let Some(sent) = self.sent.get(round) {
            sent.store(now_us(), Ordering::Release);
        }
    }

    fn tick(&self, client: usize, data: &str, at: u64) {
        let Some(("tick", round)) = proto::event_with_number(data) else {
            return;
        };
        let round = round as usize;
        let Some(sent) = self.sent.get(round) else {
            return;
        };
        let sent = sent.load(Ordering::Acquire);
        if self.measured(round) {
            self.latencies[client % self.latencies.len()]
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(at.saturating_sub(sent));
        }
        self.last[round].fetch_max(at, Ordering::AcqRel);
        self.delivered[round].fetch_add(1, Ordering::AcqRel);
    }
}

/// The pause after each fan-out round's last delivery: polling clients re-issue their GET, and every transport gets
/// back to idle before the next round. A poll parked this long outlives the kernel's delayed-ACK timer (40 ms), so
/// the server acknowledges each GET on its own segment; the fan-out floor keeps the same pause for the same reason.
pub const FANOUT_GAP: Duration = Duration::from_millis(150);

/// Connects `n` clients (each joins the room `bench` through the connect hook), then runs `warmup` emits to the room
/// that are not measured and `rounds` that are, one at a time: each waits until every client has the event (or 15 s
/// pass). The warm-up emits take each server past its first deliveries (a JIT's warm-up, first writes on new
/// connections), which a long-running server no longer pays.
pub async fn fanout(
    ctx: &Ctx<'_>,
    transport: Transport,
    n: usize,
    (warmup, rounds): (usize, usize),
    problems: &mut Problems,
) -> Res<FanoutOutcome> {
    let state = Arc::new(Rounds::new(warmup, rounds));
    let server = ctx.server;
    let emits = state.clone();
    let trigger = async |round: usize| {
        emits.mark_sent(round);
        server
            .emit_to_room("bench", "tick", &round.to_string())
            .await
    };
    let shape = RoundsShape {
        what: format!("fan-out {transport}"),
        transport,
        clients: n,
        gap: FANOUT_GAP,
    };
    deliveries_of_rounds(ctx, &shape, &state, trigger, problems).await
}

/// How a scenario of rounds delivered to a room is laid out.
struct RoundsShape {
    /// The scenario's name in notes.
    what: String,
    /// The receiving clients' transport.
    transport: Transport,
    /// Receiving clients (they connect through [`Ctx::client_endpoint`] and join `bench` in the connect hook).
    clients: usize,
    /// Pause after each round's last delivery.
    gap: Duration,
}

/// Connects the receiving clients of `shape`, then runs one round per slot of `state`, one at a time:
/// `trigger(round)` makes the servers send the round's event `["tick",<round>]` to the room (and marks the round
/// sent, [`Rounds::mark_sent`], just before it acts), then the round waits until every client has it (or 15 s
/// pass). Server CPU, deliveries and latencies are counted over the rounds after the state's warm-up.
async fn deliveries_of_rounds(
    ctx: &Ctx<'_>,
    shape: &RoundsShape,
    state: &Arc<Rounds>,
    mut trigger: impl AsyncFnMut(usize) -> Res<()>,
    problems: &mut Problems,
) -> Res<FanoutOutcome> {
    let (transport, n, what) = (shape.transport, shape.clients, &shape.what);
    let rounds = state.sent.len();
    let tally = Arc::new(Tally::default());
    let gate = Arc::new(Semaphore::new(ctx.connect_concurrency));
    let mut clients = JoinSet::new();
    for index in 0..n {
        let (tally, gate, sources, endpoint, state) = (
            tally.clone(),
            gate.clone(),
            ctx.sources.clone(),
            ctx.client_endpoint(index),
            state.clone(),
        );
        clients.spawn(async move {
            let permit = gate.acquire_owned().await;
            let ended = match transport {
                Transport::Polling => match poll_connect(&sources, &endpoint).await {
                    Ok(client) => {
                        tally.connected.fetch_add(1, Ordering::AcqRel);
                        drop(permit);
                        fanout_polling(client, index, &state).await
                    }
                    Err(error) => {
                        tally.error("connect", &error);
                        tally.failed.fetch_add(1, Ordering::AcqRel);
                        return;
                    }
                },
                Transport::Websocket => match ws_connect(&sources, &endpoint).await {
                    Ok(ws) => {
                        tally.connected.fetch_add(1, Ordering::AcqRel);
                        drop(permit);
                        fanout_ws(ws, index, &state).await
                    }
                    Err(error) => {
                        tally.error("connect", &error);
                        tally.failed.fetch_add(1, Ordering::AcqRel);
                        return;
                    }
                },
            };
            tally.error("session ended", &ended);
            tally.lost.fetch_add(1, Ordering::AcqRel);
        });
    }
    wait_connected(&tally, n, connect_limit(n)).await?;
    // Let the last connects' hooks and polls settle.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let expected = tally.connected.load(Ordering::Acquire) - tally.lost.load(Ordering::Acquire);
    let mut marks = ctx.marks();
    let mut busy_us = 0u64;
    let mut delivered = 0usize;
    for round in 0..rounds {
        if round == state.warmup {
            marks = ctx.marks();
        }
        trigger(round).await?;
        let deadline = Instant::now() + Duration::from_secs(15);
        while state.delivered[round].load(Ordering::Acquire) < expected && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let got = state.delivered[round].load(Ordering::Acquire);
        if got < expected {
            problems.notes.push(format!(
                "{what}: round {round} reached {got} of {expected} clients in 15 s"
            ));
        }
        if state.measured(round) {
            delivered += got;
            busy_us += state.last[round]
                .load(Ordering::Acquire)
                .saturating_sub(state.sent[round].load(Ordering::Acquire));
        }
        tokio::time::sleep(shape.gap).await;
    }
    let cpu = marks.used();
    failures_note(&tally, n, what, problems);
    clients.abort_all();
    let mut latencies = Latencies::default();
    for shard in &state.latencies {
        latencies.extend(&shard.lock().unwrap_or_else(|p| p.into_inner()));
    }
    Ok(FanoutOutcome {
        clients: expected,
        deliveries_per_second: delivered as f64 / (busy_us.max(1) as f64 / 1e6),
        latencies,
        cpu_us_per_delivery: cpu.server.total() * 1e6 / delivered.max(1) as f64,
        cpu,
    })
}

async fn fanout_ws(mut ws: Ws, index: usize, state: &Rounds) -> Error {
    loop {
        match ws.read_text().await {
            Ok(true) => {}
            Ok(false) => return "websocket ended".into(),
            Err(error) => return error,
        }
        let at = now_us();
        match proto::packet(ws.text()) {
            Packet::Ping => {
                if let Err(error) = ws.send_text("3").await {
                    return error;
                }
            }
            Packet::Sio(Sio::Event(data)) => state.tick(index, data, at),
            Packet::Close => return "server closed the session".into(),
            _ => {}
        }
    }
}

async fn fanout_polling(mut client: PollClient, index: usize, state: &Rounds) -> Error {
    loop {
        let body = match poll_get(&mut client.conn, &client.url).await {
            Ok(body) => body,
            Err(error) => return error,
        };
        let at = now_us();
        let mut pong = false;
        for packet in proto::payload(&body) {
            match packet {
                Packet::Ping => pong = true,
                Packet::Sio(Sio::Event(data)) => state.tick(index, data, at),
                Packet::Close => return "server closed the session".into(),
                _ => {}
            }
        }
        if pong {
            if let Err(error) = poll_post(&mut client.conn, &client.url, "3").await {
                return error;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// 4. Connect storm

/// Connects per second and their cost.
#[derive(Debug, Clone)]
pub struct StormOutcome {
    /// Completed connects per second (handshake, connect hook, CONNECT received).
    pub connects_per_second: f64,
    /// Time from the first byte to CONNECT.
    pub latencies: Latencies,
    /// Server CPU per connect (its disconnect included), in microseconds.
    pub cpu_us_per_connect: f64,
    /// CPU of every process over the storm.
    pub cpu: Usage,
}

/// `total` clients, `concurrency` at a time, each on a new TCP connection: handshake, connect the namespace (the
/// server calls the connect hook), then close (the server sends the disconnect hook).
pub async fn storm(
    ctx: &Ctx<'_>,
    transport: Transport,
    total: usize,
    concurrency: usize,
    problems: &mut Problems,
) -> Res<StormOutcome> {
    let before = ctx.backend.counts().await?;
    let tally = Arc::new(Tally::default());
    let next = Arc::new(AtomicUsize::new(0));
    let marks = ctx.marks();
    let started = Instant::now();
    let mut workers = JoinSet::new();
    for _ in 0..concurrency.min(total) {
        let (tally, next, sources, endpoint) = (
            tally.clone(),
            next.clone(),
            ctx.sources.clone(),
            ctx.server.endpoint.clone(),
        );
        workers.spawn(async move {
            let mut latencies = Latencies::default();
            while next.fetch_add(1, Ordering::AcqRel) < total {
                let begun = now_us();
                let outcome: Res<()> = async {
                    match transport {
                        Transport::Websocket => {
                            let mut ws = ws_connect(&sources, &endpoint).await?;
                            latencies.push(now_us() - begun);
                            let _ = ws.close().await;
                        }
                        Transport::Polling => {
                            let mut client = poll_connect(&sources, &endpoint).await?;
                            latencies.push(now_us() - begun);
                            let _ = poll_post(&mut client.conn, &client.url, "1").await;
                        }
                    }
                    Ok(())
                }
                .await;
                match outcome {
                    Ok(()) => {
                        tally.connected.fetch_add(1, Ordering::AcqRel);
                    }
                    Err(error) => {
                        tally.error("connect", &error);
                        tally.failed.fetch_add(1, Ordering::AcqRel);
                    }
                }
            }
            latencies
        });
    }
    let mut latencies = Latencies::default();
    while let Some(joined) = workers.join_next().await {
        if let Ok(worker) = joined {
            latencies.extend(&worker);
        }
    }
    let wall = started.elapsed().as_secs_f64();
    let connected = tally.connected.load(Ordering::Acquire);
    // The disconnect hooks are part of each connect's cost: wait until the backend has them all.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let counts = ctx.backend.counts().await?;
        if counts.disconnect - before.disconnect >= connected as u64 || Instant::now() > deadline {
            if counts.disconnect - before.disconnect < connected as u64 {
                problems.notes.push(format!(
                    "connect storm {transport}: {} of {connected} disconnect hooks arrived in 15 s",
                    counts.disconnect - before.disconnect
                ));
            }
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let cpu = marks.used();
    failures_note(
        &tally,
        total,
        &format!("connect storm {transport}"),
        problems,
    );
    Ok(StormOutcome {
        connects_per_second: connected as f64 / wall,
        latencies,
        cpu_us_per_connect: cpu.server.total() * 1e6 / connected.max(1) as f64,
        cpu,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::servers::Kind;
    use std::net::SocketAddr;

    fn node(port: u16) -> Server {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        Server::attach(Kind::Iogate, 0, addr, addr)
    }

    fn ports(ctx: &Ctx<'_>, clients: usize) -> Vec<u16> {
        (0..clients)
            .map(|index| ctx.client_endpoint(index).addr.port())
            .collect()
    }

    #[test]
    fn clients_are_spread_over_the_chosen_nodes() {
        let first = node(1);
        let peers = [node(2), node(3)];
        let backend = Backend::attach(SocketAddr::from(([127, 0, 0, 1], 9)), 0);
        let mut ctx = Ctx::single(&first, &backend, Arc::new(Sources::loopback(0)), 1);
        assert_eq!(ports(&ctx, 3), [1, 1, 1]);
        ctx.peers = &peers;
        assert_eq!(ports(&ctx, 3), [1, 1, 1]);
        assert_eq!(ctx.polling_requests_to().map(|e| e.addr.port()), None);
        ctx.clients_on = ClientNodes::All;
        assert_eq!(ports(&ctx, 6), [1, 2, 3, 1, 2, 3]);
        ctx.clients_on = ClientNodes::Peers;
        assert_eq!(ports(&ctx, 4), [2, 3, 2, 3]);
        ctx.polling_hop = true;
        assert_eq!(ctx.polling_requests_to().map(|e| e.addr.port()), Some(2));
    }
}
