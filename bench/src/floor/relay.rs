//! The relay floor: the least a relay does per ack, with nothing else. A middle thread (its own single-threaded
//! Tokio runtime, one task per client) reads a client's frame, writes a webhook-sized request on a kept-alive
//! connection to a backend thread, reads the backend's reply and writes an ack frame back: two reads and two writes
//! per round, the sizes of the relay scenario's. Clients (on the caller's runtime) emit again as soon as their ack
//! arrives, as the relay's clients do. Measured: the middle thread's CPU per round.

use super::{FloorReading, thread_cpu};
use crate::Res;
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

/// The middle: each client frame becomes a hook request, each hook reply an ack.
async fn relay_client(mut client: TcpStream, backend: SocketAddr) {
    let Ok(mut hook) = TcpStream::connect(backend).await else {
        return;
    };
    if hook.set_nodelay(true).is_err() {
        return;
    }
    let (mut frame, mut reply) = ([0u8; CLIENT_FRAME], [0u8; HOOK_REPLY]);
    let (request, ack) = ([b'h'; HOOK_REQUEST], [b'a'; ACK_FRAME]);
    while client.read_exact(&mut frame).await.is_ok() {
        if hook.write_all(&request).await.is_err()
            || hook.read_exact(&mut reply).await.is_err()
            || client.write_all(&ack).await.is_err()
        {
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

async fn ask_cpu(asks: &mpsc::UnboundedSender<oneshot::Sender<(f64, f64)>>) -> Res<(f64, f64)> {
    let (answer, answered) = oneshot::channel();
    asks.send(answer)
        .map_err(|_| "the relay floor's middle thread is gone")?;
    Ok(answered.await?)
}

/// A client: emits, waits for the ack, counts it, again.
async fn client(addr: SocketAddr, acks: Arc<AtomicU64>) -> Res<()> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (frame, mut ack) = ([b'c'; CLIENT_FRAME], [0u8; ACK_FRAME]);
    loop {
        stream.write_all(&frame).await?;
        stream.read_exact(&mut ack).await?;
        acks.fetch_add(1, Ordering::Relaxed);
    }
}

/// Measures the floor with `clients` clients: `warmup`, then the middle thread's CPU over `window`.
pub async fn measure(clients: usize, warmup: Duration, window: Duration) -> Res<FloorReading> {
    let backend = Side::start(
        "floor-backend",
        |stream| answer(stream, HOOK_REQUEST, HOOK_REPLY),
        std::future::pending(),
    )?;
    let backend_addr = backend.addr;
    let (asks, asked) = mpsc::unbounded_channel();
    let middle = Side::start(
        "floor-middle",
        move |stream| relay_client(stream, backend_addr),
        report_thread_cpu(asked),
    )?;
    let acks = Arc::new(AtomicU64::new(0));
    let mut running = JoinSet::new();
    for _ in 0..clients {
        running.spawn(client(middle.addr, acks.clone()));
    }
    tokio::time::sleep(warmup).await;
    let (started, acks_before) = (Instant::now(), acks.load(Ordering::Relaxed));
    let (user, system) = ask_cpu(&asks).await?;
    tokio::time::sleep(window).await;
    let (user_after, system_after) = ask_cpu(&asks).await?;
    let (wall, acks_after) = (started.elapsed(), acks.load(Ordering::Relaxed));
    running.abort_all();
    while running.join_next().await.is_some() {}
    tokio::task::spawn_blocking(move || {
        drop(middle);
        drop(backend);
    })
    .await?;
    Ok(FloorReading {
        name: format!(
            "relay floor: one thread per ack reads a {CLIENT_FRAME}-byte frame, writes a {HOOK_REQUEST}-byte \
             request, reads a {HOOK_REPLY}-byte reply, writes a {ACK_FRAME}-byte ack (loopback, {clients} clients): \
             CPU per round"
        ),
        unit_name: "round",
        units: acks_after - acks_before,
        user_seconds: user_after - user,
        system_seconds: system_after - system,
        wall_seconds: wall.as_secs_f64(),
    })
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
}
