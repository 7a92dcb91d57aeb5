//! The relay floor: the least a relay does per ack, with nothing else. A middle thread (its own single-threaded
//! Tokio runtime, one task per client) reads a client's frame, writes a webhook-sized request on a kept-alive
//! connection to a backend thread, reads the backend's reply and writes an ack frame back: two reads and two writes
//! per round, the sizes of the relay scenario's. Clients run on the caller's runtime.
//!
//! - [`measure`]: the clients emit again as soon as their ack arrives, as the relay's clients do. Measured: the
//!   middle thread's CPU per round.
//! - [`measure_at`]: the clients together emit at a fixed rate, paced as the relay scenario's fixed-rate clients
//!   are. Measured: the latency of a round at that rate (p50, p99) and the middle thread's CPU per round.
//! - [`measure_at`] with [`Shape::Polling`]: the same at a fixed rate, shaped as a long-polling client's round
//!   ([`Shape::Polling`]): the emit is a POST, the middle answers it and writes the ack as a poll response, and
//!   reads the client's next GET: three reads and three writes per round.

use super::{FloorReading, thread_cpu};
use crate::report::number;
use crate::scenario::{Schedule, Timeline};
use crate::stats::{Latencies, instant_at, now_us};
use crate::{Error, Res};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

/// A client's emit with ack: a masked WebSocket text frame of `42<id>["echo",{...}]`.
const CLIENT_FRAME: usize = 64;
/// The `event` hook: an HTTP/1.1 POST with iogate's headers and the event's JSON.
const HOOK_REQUEST: usize = 512;
/// The backend's reply: a response head and `{"ack":[...]}`.
const HOOK_REPLY: usize = 128;
/// The ack frame to the client: unmasked `43<id>[{...}]`.
const ACK_FRAME: usize = 56;

/// What one round is on the client's connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// A WebSocket client: a frame in, an ack frame out.
    WebSocket,
    /// A long-polling client: a POST in, its response and a poll response carrying the ack out, then the client's
    /// next GET in.
    Polling,
}

/// The polling client's emit: a POST of the event packet with the load generator's headers.
const POLL_POST: usize = 330;
/// The POST's `ok` response.
const POST_RESPONSE: usize = 100;
/// The poll response carrying the ack packet.
const POLL_RESPONSE: usize = 160;
/// The next long-poll the client sends once it has its ack.
const NEXT_GET: usize = 94;

impl Shape {
    /// What the client sends to emit.
    fn emit(self) -> usize {
        match self {
            Self::WebSocket => CLIENT_FRAME,
            Self::Polling => POLL_POST,
        }
    }

    /// What the middle writes back once the hook's reply is in, one write each.
    fn answers(self) -> &'static [usize] {
        match self {
            Self::WebSocket => &[ACK_FRAME],
            Self::Polling => &[POST_RESPONSE, POLL_RESPONSE],
        }
    }

    /// What the client sends once it has its ack (nothing over WebSocket).
    fn after_ack(self) -> usize {
        match self {
            Self::WebSocket => 0,
            Self::Polling => NEXT_GET,
        }
    }
}

/// A thread running its own single-threaded runtime until stopped.
struct Side {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Side {
    /// Binds a listener and serves every connection on it with `serve` in a thread named `name`; `extra` runs
    /// beside the accept loop on the same thread.
    fn start<S, F, E>(name: &str, serve: S, extra: E) -> Res<Self>
    where
        S: Fn(TcpStream) -> F + Send + 'static,
        F: Future<Output = ()> + Send + 'static,
        E: Future<Output = ()> + Send + 'static,
    {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let thread = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = TcpListener::from_std(listener) else {
                        return;
                    };
                    let accept = async {
                        while let Ok((stream, _)) = listener.accept().await {
                            if stream.set_nodelay(true).is_ok() {
                                tokio::spawn(serve(stream));
                            }
                        }
                    };
                    tokio::select! {
                        _ = accept => {}
                        _ = extra => {}
                        _ = stopped => {}
                    }
                });
            })?;
        Ok(Self {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Side {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads `request` bytes and answers `reply` bytes, until the connection ends.
async fn answer(mut stream: TcpStream, request: usize, reply: usize) {
    let (mut incoming, outgoing) = (vec![0u8; request], vec![b'r'; reply]);
    while stream.read_exact(&mut incoming).await.is_ok() {
        if stream.write_all(&outgoing).await.is_err() {
            return;
        }
    }
}

/// The middle: each client emit becomes a hook request, each hook reply an ack (shaped as `shape` says).
async fn relay_client(mut client: TcpStream, backend: SocketAddr, shape: Shape) {
    let Ok(mut hook) = TcpStream::connect(backend).await else {
        return;
    };
    if hook.set_nodelay(true).is_err() {
        return;
    }
    let (mut emit, mut reply) = (vec![0u8; shape.emit()], [0u8; HOOK_REPLY]);
    let (mut after_ack, request) = (vec![0u8; shape.after_ack()], [b'h'; HOOK_REQUEST]);
    let answers: Vec<Vec<u8>> = shape.answers().iter().map(|&n| vec![b'a'; n]).collect();
    while client.read_exact(&mut emit).await.is_ok() {
        if hook.write_all(&request).await.is_err() || hook.read_exact(&mut reply).await.is_err() {
            return;
        }
        for answer in &answers {
            if client.write_all(answer).await.is_err() {
                return;
            }
        }
        if !after_ack.is_empty() && client.read_exact(&mut after_ack).await.is_err() {
            return;
        }
    }
}

/// Answers each request with the CPU used so far by the thread it runs on.
async fn report_thread_cpu(mut asks: mpsc::UnboundedReceiver<oneshot::Sender<(f64, f64)>>) {
    while let Some(ask) = asks.recv().await {
        let _ = ask.send(thread_cpu());
    }
}

/// The floor's middle and backend threads, running until dropped (the middle first).
struct Path {
    middle: Side,
    _backend: Side,
    asks: mpsc::UnboundedSender<oneshot::Sender<(f64, f64)>>,
}

impl Path {
    fn start(shape: Shape) -> Res<Self> {
        let backend = Side::start(
            "floor-backend",
            |stream| answer(stream, HOOK_REQUEST, HOOK_REPLY),
            std::future::pending(),
        )?;
        let backend_addr = backend.addr;
        let (asks, asked) = mpsc::unbounded_channel();
        let middle = Side::start(
            "floor-middle",
            move |stream| relay_client(stream, backend_addr, shape),
            report_thread_cpu(asked),
        )?;
        Ok(Self {
            middle,
            _backend: backend,
            asks,
        })
    }

    /// Where the clients connect.
    fn addr(&self) -> SocketAddr {
        self.middle.addr
    }

    /// The middle thread's user and kernel CPU seconds so far.
    async fn middle_cpu(&self) -> Res<(f64, f64)> {
        let (answer, answered) = oneshot::channel();
        self.asks
            .send(answer)
            .map_err(|_| "the relay floor's middle thread is gone")?;
        Ok(answered.await?)
    }

    /// Stops both threads (joining them off the async workers).
    async fn stop(self) -> Res<()> {
        tokio::task::spawn_blocking(move || drop(self)).await?;
        Ok(())
    }
}

/// A connected client's socket.
async fn connect(addr: SocketAddr) -> Res<TcpStream> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// A client: emits, waits for the ack, counts it, again.
async fn client(addr: SocketAddr, acks: Arc<AtomicU64>) -> Res<()> {
    let mut stream = connect(addr).await?;
    let (frame, mut ack) = ([b'c'; CLIENT_FRAME], [0u8; ACK_FRAME]);
    loop {
        stream.write_all(&frame).await?;
        stream.read_exact(&mut ack).await?;
        acks.fetch_add(1, Ordering::Relaxed);
    }
}

/// Measures the floor with `clients` clients: `warmup`, then the middle thread's CPU over `window`.
pub async fn measure(clients: usize, warmup: Duration, window: Duration) -> Res<FloorReading> {
    let path = Path::start(Shape::WebSocket)?;
    let acks = Arc::new(AtomicU64::new(0));
    let mut running = JoinSet::new();
    for _ in 0..clients {
        running.spawn(client(path.addr(), acks.clone()));
    }
    let measured = async {
        tokio::time::sleep(warmup).await;
        let (started, acks_before) = (Instant::now(), acks.load(Ordering::Relaxed));
        let before = path.middle_cpu().await?;
        tokio::time::sleep(window).await;
        let after = path.middle_cpu().await?;
        let (wall, acks_after) = (started.elapsed(), acks.load(Ordering::Relaxed));
        Ok::<_, Error>((acks_after - acks_before, before, after, wall))
    }
    .await;
    running.abort_all();
    while running.join_next().await.is_some() {}
    path.stop().await?;
    let (rounds, (user, system), (user_after, system_after), wall) = measured?;
    Ok(FloorReading {
        name: format!(
            "relay floor: one thread per ack reads a {CLIENT_FRAME}-byte frame, writes a {HOOK_REQUEST}-byte \
             request, reads a {HOOK_REPLY}-byte reply, writes a {ACK_FRAME}-byte ack (loopback, {clients} clients): \
             CPU per round"
        ),
        unit_name: "round",
        units: rounds,
        user_seconds: user_after - user,
        system_seconds: system_after - system,
        wall_seconds: wall.as_secs_f64(),
        p50_ms: None,
        p99_ms: None,
    })
}

/// What one paced client measured in the window.
#[derive(Default)]
struct Paced {
    rounds: u64,
    latencies: Latencies,
}

/// A client at a fixed rate: emits when the next emit is due and its previous ack is in, as `schedule` says; counts
/// the rounds whose ack arrives in the window and their latencies, until the window ends.
async fn paced_client(
    mut stream: TcpStream,
    shape: Shape,
    timeline: Timeline,
    schedule: Schedule,
) -> Res<Paced> {
    let frame = vec![b'c'; shape.emit()];
    let mut ack = vec![0u8; shape.answers().iter().sum()];
    let after_ack = vec![b'g'; shape.after_ack()];
    let mut paced = Paced::default();
    let (mut due, mut last_ack) = (schedule.first, 0);
    while due < timeline.window_end {
        tokio::time::sleep_until(instant_at(due)).await;
        // An emit held back by the previous round counts from when it was due, that wait being the path's. Otherwise
        // from the wake-up: the timer's millisecond granularity is the client's, not the path's (as the relay
        // scenario times its emits).
        let sent = if last_ack > due {
            due
        } else {
            now_us().max(due)
        };
        stream.write_all(&frame).await?;
        stream.read_exact(&mut ack).await?;
        last_ack = now_us();
        if !after_ack.is_empty() {
            stream.write_all(&after_ack).await?;
        }
        if timeline.counts(last_ack) {
            paced.rounds += 1;
            paced.latencies.push(last_ack - sent);
        }
        due += schedule.period;
    }
    Ok(paced)
}

/// Measures the floor of `shape` with `clients` clients that together emit `rate` times per second (spread evenly
/// over them): `warmup`, then the latency of every round acked within `window` (from when its emit was due) and the
/// middle thread's CPU over it. `rate_origin`, when given, says in the reading's name where the rate comes from.
pub async fn measure_at(
    shape: Shape,
    clients: usize,
    rate: f64,
    rate_origin: Option<&str>,
    warmup: Duration,
    window: Duration,
) -> Res<FloorReading> {
    let origin = rate_origin.map_or_else(String::new, |origin| format!(" ({origin})"));
    let rate_text = number(rate);
    let name = match shape {
        Shape::WebSocket => format!(
            "relay floor at {rate_text} emits/s{origin}, {clients} clients: the same rounds, each timed from when \
             its emit was due"
        ),
        Shape::Polling => format!(
            "polling relay floor at {rate_text} emits/s{origin}, {clients} clients: per ack one thread reads a \
             {POLL_POST}-byte POST, writes a {HOOK_REQUEST}-byte request, reads a {HOOK_REPLY}-byte reply, writes \
             a {POST_RESPONSE}-byte POST response and a {POLL_RESPONSE}-byte poll response, reads the next \
             {NEXT_GET}-byte GET; each round timed from when its emit was due"
        ),
    };
    paced_floor(shape, name, clients, rate, warmup, window).await
}

/// A paced floor of `shape`, reported as `name`.
async fn paced_floor(
    shape: Shape,
    name: String,
    clients: usize,
    rate: f64,
    warmup: Duration,
    window: Duration,
) -> Res<FloorReading> {
    let path = Path::start(shape)?;
    let measured = paced_rounds(&path, shape, clients, rate, warmup, window).await;
    path.stop().await?;
    let (mut paced, (user, system), (user_after, system_after)) = measured?;
    Ok(FloorReading {
        name,
        unit_name: "round",
        units: paced.rounds,
        user_seconds: user_after - user,
        system_seconds: system_after - system,
        wall_seconds: window.as_secs_f64(),
        p50_ms: paced.latencies.percentile_ms(50.0),
        p99_ms: paced.latencies.percentile_ms(99.0),
    })
}

/// The paced clients' rounds over `path`, and the middle thread's CPU at the window's start and end.
async fn paced_rounds(
    path: &Path,
    shape: Shape,
    clients: usize,
    rate: f64,
    warmup: Duration,
    window: Duration,
) -> Res<(Paced, (f64, f64), (f64, f64))> {
    // Every client connects first; they start emitting together.
    let mut streams = Vec::with_capacity(clients);
    for _ in 0..clients {
        streams.push(connect(path.addr()).await?);
    }
    let timeline = Timeline::from_now(warmup, window);
    let mut running = JoinSet::new();
    for (index, stream) in streams.into_iter().enumerate() {
        let schedule = Schedule::at_rate(rate, timeline.start, index, clients);
        running.spawn(paced_client(stream, shape, timeline, schedule));
    }
    tokio::time::sleep_until(instant_at(timeline.window_start)).await;
    let before = path.middle_cpu().await?;
    tokio::time::sleep_until(instant_at(timeline.window_end)).await;
    let after = path.middle_cpu().await?;
    let mut total = Paced::default();
    let collect = async {
        while let Some(joined) = running.join_next().await {
            let paced = joined??;
            total.rounds += paced.rounds;
            total.latencies.extend(&paced.latencies);
        }
        Ok::<_, Error>(())
    };
    let collected = tokio::time::timeout(Duration::from_secs(10), collect).await;
    running.abort_all();
    collected.map_err(|_| "the relay floor's clients did not stop in time")??;
    Ok((total, before, after))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn relays_and_counts_rounds() {
        let reading = measure(4, Duration::from_millis(50), Duration::from_millis(200))
            .await
            .expect("a measurement");
        assert!(reading.units > 0, "{reading:?}");
        assert!(reading.cpu_us_per_unit() > 0.0, "{reading:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn paced_rounds_of_both_shapes_have_latencies() {
        for (shape, name) in [
            (Shape::WebSocket, "relay floor"),
            (Shape::Polling, "polling relay floor"),
        ] {
            let (warmup, window) = (Duration::from_millis(50), Duration::from_millis(300));
            let reading = measure_at(shape, 4, 400.0, None, warmup, window)
                .await
                .expect("a measurement");
            assert!(reading.units > 0, "{reading:?}");
            assert!(reading.name.starts_with(name), "{reading:?}");
            let (p50, p99) = (
                reading.p50_ms.expect("a p50"),
                reading.p99_ms.expect("a p99"),
            );
            assert!(p50 > 0.0 && p99 >= p50, "{reading:?}");
        }
    }
}
