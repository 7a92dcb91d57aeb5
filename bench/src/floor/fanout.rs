//! The fan-out floor: one thread writes the fan-out scenario's frame (`42["tick",1]` as an unmasked WebSocket text
//! frame) to each of N loopback TCP connections, one `write` each, round after round, as a broadcast does; a child
//! process (`bench-loadgen floor-reader`) holds the other ends and drains them (so each process holds N sockets, under
//! the open-files limit). After each round the sender waits until the reader has every frame of it, as the fan-out
//! scenario waits for every delivery before the next emit. Measured: the sending thread's CPU per write.

use super::{FloorReading, thread_cpu};
use crate::Res;
use crate::net::Sources;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;
use tokio::net::TcpSocket;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// The frame every connection gets each round: the fan-out scenario's `42["tick",1]`, FIN + text, unmasked.
pub fn frame() -> Vec<u8> {
    let payload = br#"42["tick",1]"#;
    let mut frame = vec![0x81, payload.len() as u8];
    frame.extend_from_slice(payload);
    frame
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
pub async fn measure(connections: usize, rounds: usize, sources: usize) -> Res<FloorReading> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    let listener = socket.listen(4096)?;
    let addr = listener.local_addr()?;
    let frame = frame();
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
    let name = format!(
        "fan-out floor: one thread writes a {}-byte WebSocket frame to each of {} loopback connections, {rounds} \
         rounds: CPU per write",
        frame.len(),
        count(connections)
    );
    let measured =
        tokio::task::spawn_blocking(move || send_rounds(&streams, stdout, rounds, &frame)).await?;
    drop(reader);
    let (units, (user_seconds, system_seconds), wall) = measured?;
    Ok(FloorReading {
        name,
        unit_name: "write",
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

/// The sending thread: waits for the reader's `ready`, then writes every round and waits for the reader's count
/// of complete rounds. Answers the writes, this thread's CPU over the rounds and the wall time they took.
fn send_rounds(
    streams: &[std::net::TcpStream],
    reader_out: ChildStdout,
    rounds: usize,
    frame: &[u8],
) -> Res<(u64, (f64, f64), Duration)> {
    let mut lines = BufReader::new(reader_out).lines();
    let mut next_line =
        || -> Res<String> { Ok(lines.next().ok_or("the floor reader ended early")??) };
    let first = next_line()?;
    if first != "ready" {
        return Err(format!("the floor reader said {first:?}").into());
    }
    let started = Instant::now();
    let (user, system) = thread_cpu();
    for round in 1..=rounds {
        for mut stream in streams {
            stream.write_all(frame)?;
        }
        loop {
            let done: usize = next_line()?.trim().parse()?;
            if done >= round {
                break;
            }
        }
    }
    let (user_after, system_after) = thread_cpu();
    let writes = (streams.len() * rounds) as u64;
    Ok((
        writes,
        (user_after - user, system_after - system),
        started.elapsed(),
    ))
}

/// The reader process's work: connects `connections` times to `addr`, says `ready`, then reads everything and
/// prints how many whole rounds (`connections` frames of `frame_bytes`) have arrived whenever that count grows;
/// ends when every connection has ended.
pub async fn read_frames(
    addr: SocketAddr,
    connections: usize,
    frame_bytes: usize,
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
            while let Ok(n) = stream.read(&mut buffer).await {
                if n == 0 {
                    break;
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
    fn the_frame_is_an_unmasked_text_frame() {
        let frame = frame();
        assert_eq!(frame[0], 0x81);
        assert_eq!(usize::from(frame[1]), frame.len() - 2);
        assert_eq!(&frame[2..], br#"42["tick",1]"#);
    }
}
