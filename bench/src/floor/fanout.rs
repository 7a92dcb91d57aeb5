//! The fan-out floor: one thread writes the fan-out scenario's frame (`42["tick",1]` as an unmasked WebSocket text
//! frame) to each of N loopback TCP connections, one `write` each, round after round, as a broadcast does; a child
//! process (`bench-loadgen floor-reader`) holds the other ends and drains them (so each process holds N sockets, under
//! the open-files limit). After each round the sender waits until the reader has every frame of it, as the fan-out
//! scenario waits for every delivery before the next emit, and then pauses as long as the scenario does between
//! rounds ([`FANOUT_GAP`]). Measured: the sending thread's CPU per write, after as many unmeasured warm-up rounds as
//! the scenario has ([`Rounds`]).
//!
//! Its polling shape ([`Shape::Polling`]) is what a delivery to a long-polling client costs at the least: the sender
//! writes a poll response carrying the same packet to each connection, the reader answers each response with the
//! load generator's next GET, and the sender reads every GET of the round. Measured: CPU per delivery (one write,
//! one read). The pause matters here: a GET that waits longer than the kernel's delayed-ACK timer for its response
//! gets an ACK segment of its own, sent when the sender reads it, as a server's parked poll does.
//!
//! The warm-up matters too. Linux acknowledges the first 16 data segments a connection receives at once ("quick
//! ACK" mode), from the softirq that receives them, which on loopback runs in the peer's send. After them a GET's ACK
//! waits, and the side that reads the GET (the sender here, a server in the scenario) sends it from that `recvfrom`,
//! on its own CPU time. At 1k polling connections rounds 1–16 cost the sender about 9–10 µs per delivery and rounds
//! from 17 on about 13–15 µs: a floor that measured its first rounds was too low for a scenario that measures after
//! its warm-up.

use super::{FloorReading, thread_cpu};
use crate::Res;
use crate::net::Sources;
use crate::scenario::FANOUT_GAP;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// How many rounds a floor sends: `warmup` unmeasured, then `measured`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rounds {
    /// Rounds sent before the measured ones, not measured (as the fan-out scenario's warm-up emits).
    pub warmup: usize,
    /// Rounds measured.
    pub measured: usize,
}

/// What a delivery is: a WebSocket frame, or a poll response and the client's next GET.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// One unmasked WebSocket frame per delivery.
    WebSocket,
    /// One HTTP poll response per delivery, answered by the client's next GET, which the sender reads.
    Polling,
}

impl Shape {
    /// What the sender writes to every connection each round.
    pub fn delivery(self) -> Vec<u8> {
        match self {
            Self::WebSocket => frame(),
            Self::Polling => poll_response(),
        }
    }

    /// What the reader sends back for each delivery (nothing over WebSocket).
    pub fn answer(self) -> Vec<u8> {
        match self {
            Self::WebSocket => Vec::new(),
            Self::Polling => next_poll().to_vec(),
        }
    }
}

/// The packet every delivery carries: the fan-out scenario's event.
const PACKET: &[u8] = br#"42["tick",1]"#;

/// The frame every connection gets each round: the fan-out scenario's `42["tick",1]`, FIN + text, unmasked.
pub fn frame() -> Vec<u8> {
    let mut frame = Vec::with_capacity(2 + PACKET.len());
    crate::ws_frame::push_header(&mut frame, 0x81, false, PACKET.len());
    frame.extend_from_slice(PACKET);
    frame
}

/// A poll response carrying the same packet, with the headers a gateway's poll response has.
pub fn poll_response() -> Vec<u8> {
    let mut response = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=UTF-8\r\ncontent-length: {}\r\n\
         date: Sat, 05 Dec 2026 12:00:00 GMT\r\n\r\n",
        PACKET.len()
    )
    .into_bytes();
    response.extend_from_slice(PACKET);
    response
}

/// The next long-poll a client sends once it has its response (the load generator's request line and headers).
pub fn next_poll() -> &'static [u8] {
    b"GET /socket.io/?EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n"
}

/// Kills and reaps the reader process however the measurement ends.
struct Reader(Child);

impl Drop for Reader {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Measures the floor over `connections` connections and `rounds` rounds; the reader connects from `sources`
/// loopback source addresses (as the load generator's clients do).
pub async fn measure(connections: usize, rounds: Rounds, sources: usize) -> Res<FloorReading> {
    measure_shape(Shape::WebSocket, connections, rounds, sources).await
}

/// Measures the floor of `shape` over `connections` connections and `rounds` rounds (see [`measure`]).
pub async fn measure_shape(
    shape: Shape,
    connections: usize,
    rounds: Rounds,
    sources: usize,
) -> Res<FloorReading> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    let listener = socket.listen(4096)?;
    let addr = listener.local_addr()?;
    let frame = shape.delivery();
    let answer = shape.answer();
    let mut reader = Reader(
        Command::new(std::env::current_exe()?)
            .args([
                "floor-reader",
                "--addr",
                &addr.to_string(),
                "--connections",
                &connections.to_string(),
                "--frame-bytes",
                &frame.len().to_string(),
                "--sources",
                &sources.to_string(),
                "--answer-polls",
                if shape == Shape::Polling { "yes" } else { "no" },
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?,
    );
    let stdout = reader
        .0
        .stdout
        .take()
        .ok_or("no stdout of the floor reader")?;
    let accept_all = async {
        let mut streams = Vec::with_capacity(connections);
        while streams.len() < connections {
            let (stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            let stream = stream.into_std()?;
            stream.set_nonblocking(false)?;
            streams.push(stream);
        }
        Ok::<_, std::io::Error>(streams)
    };
    let streams = tokio::time::timeout(Duration::from_secs(120), accept_all)
        .await
        .map_err(|_| "the floor reader did not connect in 120 s")??;
    drop(listener);
    let schedule = format!(
        "{} rounds {} ms apart after {} unmeasured",
        rounds.measured,
        FANOUT_GAP.as_millis(),
        rounds.warmup
    );
    let name = match shape {
        Shape::WebSocket => format!(
            "fan-out floor: one thread writes a {}-byte WebSocket frame to each of {} loopback connections, \
             {schedule}: CPU per write",
            frame.len(),
            count(connections),
        ),
        Shape::Polling => format!(
            "polling fan-out floor: one thread writes a {}-byte poll response to each of {} loopback connections \
             and reads each one's next {}-byte GET, {schedule}: CPU per delivery",
            frame.len(),
            count(connections),
            answer.len(),
        ),
    };
    let measured = tokio::task::spawn_blocking(move || {
        send_rounds(&streams, stdout, rounds, &frame, answer.len())
    })
    .await?;
    drop(reader);
    let (units, (user_seconds, system_seconds), wall) = measured?;
    Ok(FloorReading {
        name,
        unit_name: match shape {
            Shape::WebSocket => "write",
            Shape::Polling => "poll",
        },
        units,
        user_seconds,
        system_seconds,
        wall_seconds: wall.as_secs_f64(),
        p50_ms: None,
        p99_ms: None,
    })
}

fn count(n: usize) -> String {
    if n >= 1000 && n % 1000 == 0 {
        format!("{}k", n / 1000)
    } else {
        n.to_string()
    }
}

/// The sending thread: waits for the reader's `ready`, then writes every round (and reads the `answer_bytes` each
/// connection sends back for it), waits for the reader's count of complete rounds, and pauses [`FANOUT_GAP`]
/// before the next. Answers the measured writes, this thread's CPU over the measured rounds and the wall time they
/// took (the pauses left out).
fn send_rounds(
    streams: &[std::net::TcpStream],
    reader_out: ChildStdout,
    rounds: Rounds,
    frame: &[u8],
    answer_bytes: usize,
) -> Res<(u64, (f64, f64), Duration)> {
    let mut lines = BufReader::new(reader_out).lines();
    let mut next_line =
        || -> Res<String> { Ok(lines.next().ok_or("the floor reader ended early")??) };
    let first = next_line()?;
    if first != "ready" {
        return Err(format!("the floor reader said {first:?}").into());
    }
    let mut paused = Duration::ZERO;
    let mut started = Instant::now();
    let (mut user, mut system) = thread_cpu();
    for round in 1..=rounds.warmup + rounds.measured {
        if round == rounds.warmup + 1 {
            (user, system) = thread_cpu();
            started = Instant::now();
            paused = Duration::ZERO;
        }
        if round > 1 {
            let pause = Instant::now();
            std::thread::sleep(FANOUT_GAP);
            paused += pause.elapsed();
        }
        for mut stream in streams {
            stream.write_all(frame)?;
        }
        if answer_bytes > 0 {
            let mut answer = vec![0u8; answer_bytes];
            for mut stream in streams {
                stream.read_exact(&mut answer)?;
            }
        }
        loop {
            let done: usize = next_line()?.trim().parse()?;
            if done >= round {
                break;
            }
        }
    }
    let (user_after, system_after) = thread_cpu();
    let writes = (streams.len() * rounds.measured) as u64;
    Ok((
        writes,
        (user_after - user, system_after - system),
        started.elapsed().saturating_sub(paused),
    ))
}

/// The reader process's work: connects `connections` times to `addr`, says `ready`, then reads everything and
/// prints how many whole rounds (`connections` frames of `frame_bytes`) have arrived whenever that count grows;
/// with `answer_polls`, answers each whole frame on its connection with the next GET ([`next_poll`]). Ends when
/// every connection has ended.
pub async fn read_frames(
    addr: SocketAddr,
    connections: usize,
    frame_bytes: usize,
    answer_polls: bool,
    sources: usize,
) -> Res<()> {
    let sources = Arc::new(Sources::loopback(sources));
    let gate = Arc::new(Semaphore::new(256));
    let mut connecting = JoinSet::new();
    for _ in 0..connections {
        let (sources, gate) = (sources.clone(), gate.clone());
        connecting.spawn(async move {
            let _permit = gate.acquire_owned().await;
            sources.connect(addr).await
        });
    }
    let mut streams = Vec::with_capacity(connections);
    while let Some(joined) = connecting.join_next().await {
        streams.push(joined??);
    }
    say("ready");
    let round_bytes = (connections * frame_bytes).max(1) as u64;
    let received = Arc::new(AtomicU64::new(0));
    let mut readers = JoinSet::new();
    for mut stream in streams {
        let received = received.clone();
        readers.spawn(async move {
            let mut buffer = [0u8; 512];
            // Bytes of the frame being received on this connection.
            let mut partial = 0usize;
            while let Ok(n) = stream.read(&mut buffer).await {
                if n == 0 {
                    break;
                }
                if answer_polls {
                    partial += n;
                    while partial >= frame_bytes.max(1) {
                        partial -= frame_bytes.max(1);
                        if stream.write_all(next_poll()).await.is_err() {
                            return;
                        }
                    }
                }
                let before = received.fetch_add(n as u64, Ordering::AcqRel);
                let after = before + n as u64;
                if after / round_bytes > before / round_bytes {
                    say(&(after / round_bytes).to_string());
                }
            }
        });
    }
    while readers.join_next().await.is_some() {}
    Ok(())
}

/// A line to the sending process (which may be gone: then nobody listens).
fn say(line: &str) {
    let _ = writeln!(std::io::stdout(), "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poll_response_carries_the_packet_with_its_length() {
        let response = String::from_utf8(poll_response()).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap();
        assert_eq!(body.as_bytes(), PACKET);
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(head.contains(&format!("content-length: {}", PACKET.len())));
        assert!(next_poll().ends_with(b"\r\n\r\n"));
        assert!(Shape::WebSocket.answer().is_empty());
    }

    #[test]
    fn the_frame_is_an_unmasked_text_frame() {
        let frame = frame();
        assert_eq!(frame[0], 0x81);
        assert_eq!(usize::from(frame[1]), frame.len() - 2);
        assert_eq!(&frame[2..], br#"42["tick",1]"#);
    }
}
