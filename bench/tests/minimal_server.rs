//! The minimal relay server relays the load generator's events through the real webhook backend (`bench-backend`,
//! started as a process) over both transports, and the acks carry the event's args back.

use iogate_bench::client::{Endpoint, HttpConn, poll_connect, poll_get, poll_post, ws_connect};
use iogate_bench::floor::minimal_server;
use iogate_bench::net::Sources;
use iogate_bench::proto::{self, Packet, Sio};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The backend process, killed when dropped.
struct Backend(Child);

impl Drop for Backend {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `bench-backend` on a free loopback port and returns it with its address.
fn start_backend() -> (Backend, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bench-backend"))
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("bench-backend starts");
    let stdout = child.stdout.take().expect("the backend's stdout");
    let backend = Backend(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("the backend's first line");
    let addr = line
        .trim()
        .strip_prefix("listening ")
        .and_then(|addr| addr.parse().ok())
        .unwrap_or_else(|| panic!("no address in the backend's line {line:?}"));
    (backend, addr)
}

/// The args of the ack to the event `emit_with_ack(id)` sends, as the backend answers them.
fn expected_ack(id: u64) -> String {
    format!(r#"[{{"seq":{id},"text":"hello from the benchmark"}}]"#)
}

/// `step`'s output, failing the test when it takes more than 10 s.
async fn within<T>(what: &str, step: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), step)
        .await
        .unwrap_or_else(|_| panic!("{what} took more than 10 s"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_come_back_through_the_backend_over_websocket_and_polling() {
    let (_backend, backend_addr) = start_backend();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a listener");
    let endpoint = Endpoint {
        addr: listener.local_addr().expect("its address"),
        path: "/socket.io/".to_string(),
    };
    let server = tokio::spawn(minimal_server::serve(listener, backend_addr));
    let sources = Sources::loopback(1);

    let mut ws = within("the WebSocket connect", ws_connect(&sources, &endpoint))
        .await
        .expect("a WebSocket client connects");
    for id in 1..=3 {
        ws.send_text(&proto::emit_with_ack(id))
            .await
            .expect("the emit is sent");
        let read = within("an ack", ws.read_text()).await;
        assert!(read.expect("a frame"), "the connection ended");
        let expected = expected_ack(id);
        assert_eq!(
            proto::packet(ws.text()),
            Packet::Sio(Sio::Ack(id, &expected))
        );
    }

    let client = within("the polling connect", poll_connect(&sources, &endpoint))
        .await
        .expect("a polling client connects");
    let mut conn = client.conn;
    let mut post = HttpConn::open(&sources, endpoint.addr)
        .await
        .expect("a second connection for POSTs");
    let two = format!(
        "{}{}{}",
        proto::emit_with_ack(7),
        proto::SEPARATOR,
        proto::emit_with_ack(8)
    );
    poll_post(&mut post, &client.url, &two)
        .await
        .expect("the POST is answered");
    let mut acks = Vec::new();
    while acks.len() < 2 {
        let body = within("a poll", poll_get(&mut conn, &client.url))
            .await
            .expect("a poll is answered");
        for packet in proto::payload(&body) {
            if let Packet::Sio(Sio::Ack(id, args)) = packet {
                acks.push((id, args.to_string()));
            }
        }
    }
    acks.sort();
    assert_eq!(acks, vec![(7, expected_ack(7)), (8, expected_ack(8))]);
    server.abort();
}
