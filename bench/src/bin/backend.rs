//! The benchmarks' webhook backend: answers iogate's (and the Node reference's) hooks as fast as it can.
//!
//! - `connect` -> 200 `{"join":["<room>"]}` (every socket joins the fan-out room)
//! - `event` -> 200 `{"ack":<the event's args>}`; the event `broadcast` -> 200
//!   `{"broadcast":[{"rooms":["<room>"],"event":"tick","args":<the event's args>}]}` (the sender excluded; every
//!   socket of the namespace when there is no room)
//! - anything else (`disconnect`) -> 200 with an empty body
//! - `GET /stats` -> hook counts, for the runner to know when hooks have all arrived
//! - `POST /forward` -> 200 with an answer of a polling answer's size carrying the request's stamp (the owner's end
//!   of `bench-loadgen forward-cost`, `iogate_bench::forward_cost`)
//!
//! Usage: `bench-backend [--listen 127.0.0.1:0] [--room bench | --no-join] [--threads N]`; prints `listening <addr>` once bound.
//!
//! HTTP/1.1 with keep-alive, written on the `TcpStream` with `httparse` (one request at a time per connection;
//! `Content-Length` or chunked request bodies; every answer has a `Content-Length`), so that the backend costs the
//! machine it shares with the server under test as little as it can.

use iogate_bench::Res;
use iogate_bench::forward_cost;
use iogate_bench::http1::{self, Framing};
use iogate_bench::scenario::BROADCAST_EVENT;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

#[derive(Default)]
struct Counters {
    connect: AtomicU64,
    event: AtomicU64,
    disconnect: AtomicU64,
    other: AtomicU64,
}

struct Backend {
    connect_reply: Vec<u8>,
    /// The start of a broadcast reply, up to its args: `{"broadcast":[{"rooms":[...],"event":"tick","args":`.
    broadcast_reply_head: Vec<u8>,
    counters: Counters,
}

#[derive(Deserialize)]
struct EventBody<'a> {
    #[serde(borrow)]
    event: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    args: Option<&'a RawValue>,
}

/// What a request asks for.
#[derive(Clone, Copy)]
enum Route {
    /// `GET /stats`.
    Stats,
    /// `POST /forward`.
    Forward,
    /// A hook, by its `X-Iogate-Event` header.
    Connect,
    Event,
    Disconnect,
    Other,
}

/// What the backend needs of a request head.
struct Head {
    route: Route,
    framing: Framing,
    close: bool,
    /// `Expect: 100-continue`.
    expect_continue: bool,
}

fn parse_head(bytes: &[u8]) -> Res<Option<(usize, Head)>> {
    http1::parse_request(bytes, read_head)
}

fn read_head(request: &httparse::Request<'_, '_>) -> Res<Head> {
    let info = http1::body_info(request.headers, Framing::Empty, request.version == Some(0))?;
    let mut route = Route::Other;
    let mut expect_continue = false;
    for header in request.headers.iter() {
        if header.name.eq_ignore_ascii_case("x-iogate-event") {
            route = match header.value {
                b"connect" => Route::Connect,
                b"event" => Route::Event,
                b"disconnect" => Route::Disconnect,
                _ => Route::Other,
            };
        } else if header.name.eq_ignore_ascii_case("expect") {
            expect_continue = header.value.eq_ignore_ascii_case(b"100-continue");
        }
    }
    let path = request.path.and_then(|p| p.split('?').next());
    match (request.method, path) {
        (Some("GET"), Some("/stats")) => route = Route::Stats,
        (Some("POST"), Some("/forward")) => route = Route::Forward,
        _ => {}
    }
    Ok(Head {
        route,
        framing: info.framing,
        close: info.close,
        expect_continue,
    })
}

/// Appends a response whose body is `parts` concatenated.
fn respond(out: &mut Vec<u8>, status: &str, parts: &[&[u8]], close: bool) {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let _ = write!(
        out,
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {len}\r\n{}\r\n",
        if close { "connection: close\r\n" } else { "" }
    );
    for part in parts {
        out.extend_from_slice(part);
    }
}

impl Backend {
    /// A backend whose sockets join `room` (none when empty) and whose broadcasts go to it (to the whole namespace
    /// when empty).
    fn new(room: &str) -> Self {
        let rooms: Vec<&str> = if room.is_empty() { vec![] } else { vec![room] };
        let connect_reply = if room.is_empty() {
            Vec::new()
        } else {
            serde_json::json!({ "join": rooms })
                .to_string()
                .into_bytes()
        };
        let broadcast_reply_head = format!(
            r#"{{"broadcast":[{{"rooms":{},"event":"tick","args":"#,
            serde_json::json!(rooms)
        )
        .into_bytes();
        Self {
            connect_reply,
            broadcast_reply_head,
            counters: Counters::default(),
        }
    }

    /// Appends the answer to one request.
    fn answer(&self, out: &mut Vec<u8>, route: Route, body: &[u8], close: bool) {
        const OK: &str = "200 OK";
        let c = &self.counters;
        match route {
            Route::Stats => {
                let stats = format!(
                    r#"{{"connect":{},"event":{},"disconnect":{},"other":{}}}"#,
                    c.connect.load(Ordering::Relaxed),
                    c.event.load(Ordering::Relaxed),
                    c.disconnect.load(Ordering::Relaxed),
                    c.other.load(Ordering::Relaxed)
                );
                respond(out, OK, &[stats.as_bytes()], close);
            }
            Route::Forward => respond(out, OK, &[&forward_cost::answer_to(body)], close),
            Route::Connect => {
                c.connect.fetch_add(1, Ordering::Relaxed);
                respond(out, OK, &[&self.connect_reply], close);
            }
            Route::Event => {
                c.event.fetch_add(1, Ordering::Relaxed);
                match serde_json::from_slice::<EventBody>(body) {
                    Ok(EventBody {
                        event: Some(event),
                        args: Some(args),
                    }) if event == BROADCAST_EVENT => respond(
                        out,
                        OK,
                        &[&self.broadcast_reply_head, args.get().as_bytes(), b"}]}"],
                        close,
                    ),
                    Ok(EventBody {
                        args: Some(args), ..
                    }) => respond(out, OK, &[b"{\"ack\":", args.get().as_bytes(), b"}"], close),
                    _ => respond(out, OK, &[b"{}"], close),
                }
            }
            Route::Disconnect => {
                c.disconnect.fetch_add(1, Ordering::Relaxed);
                respond(out, OK, &[], close);
            }
            Route::Other => {
                c.other.fetch_add(1, Ordering::Relaxed);
                respond(out, OK, &[], close);
            }
        }
    }

    /// Serves one keep-alive connection until the client closes it (or sends something it cannot read).
    async fn serve(&self, stream: TcpStream) {
        let mut io = http1::Stream::new(stream, 4096);
        let mut out = Vec::with_capacity(1024);
        loop {
            io.start_message();
            out.clear();
            let head = match io.read_head(parse_head).await {
                Ok(Some(head)) => head,
                Ok(None) => return,
                Err(_) => {
                    respond(&mut out, "400 Bad Request", &[], true);
                    let _ = io.stream.write_all(&out).await;
                    return;
                }
            };
            if head.expect_continue
                && head.framing != Framing::Empty
                && io
                    .stream
                    .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                    .await
                    .is_err()
            {
                return;
            }
            let body = match io.read_body(head.framing).await {
                Ok(body) => body,
                Err(_) => {
                    respond(&mut out, "400 Bad Request", &[], true);
                    let _ = io.stream.write_all(&out).await;
                    return;
                }
            };
            self.answer(&mut out, head.route, io.slice(body), head.close);
            if io.stream.write_all(&out).await.is_err() || head.close {
                return;
            }
        }
    }
}

fn main() {
    let mut listen: SocketAddr = "127.0.0.1:0".parse().expect("a valid address");
    let mut room = "bench".to_string();
    let mut threads = 0usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{arg} needs a value")))
        };
        match arg.as_str() {
            "--listen" => {
                listen = value()
                    .parse()
                    .unwrap_or_else(|_| usage("bad --listen address"))
            }
            "--room" => room = value(),
            "--no-join" => room.clear(),
            "--threads" => {
                threads = value()
                    .parse()
                    .unwrap_or_else(|_| usage("bad --threads value"))
            }
            _ => usage(&format!("unknown argument {arg}")),
        }
    }
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if threads > 0 {
        builder.worker_threads(threads);
    }
    let runtime = builder.build().expect("a tokio runtime");
    let backend = Arc::new(Backend::new(&room));
    runtime.block_on(async move {
        let listener = TcpListener::bind(listen).await.expect("bind the backend");
        println!(
            "listening {}",
            listener.local_addr().expect("a local address")
        );
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                continue;
            };
            let _ = stream.set_nodelay(true);
            let backend = backend.clone();
            tokio::spawn(async move { backend.serve(stream).await });
        }
    });
}

fn usage(problem: &str) -> ! {
    eprintln!(
        "bench-backend: {problem}\nusage: bench-backend [--listen ADDR] [--room NAME | --no-join] [--threads N]"
    );
    std::process::exit(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_of(answer: &[u8]) -> serde_json::Value {
        let text = std::str::from_utf8(answer).expect("text");
        let (_, body) = text.split_once("\r\n\r\n").expect("a head and a body");
        serde_json::from_str(body).expect("JSON")
    }

    #[test]
    fn events_are_acked_and_the_broadcast_event_is_answered_with_a_broadcast_to_the_room() {
        let backend = Backend::new("bench");
        let mut out = Vec::new();
        backend.answer(&mut out, Route::Connect, b"{}", false);
        assert_eq!(body_of(&out), serde_json::json!({"join": ["bench"]}));
        out.clear();
        backend.answer(
            &mut out,
            Route::Event,
            br#"{"event":"echo","args":[1,{"a":2}]}"#,
            false,
        );
        assert_eq!(body_of(&out), serde_json::json!({"ack": [1, {"a": 2}]}));
        out.clear();
        let event = format!(r#"{{"event":"{BROADCAST_EVENT}","args":[7]}}"#);
        backend.answer(&mut out, Route::Event, event.as_bytes(), false);
        assert_eq!(
            body_of(&out),
            serde_json::json!({"broadcast": [{"rooms": ["bench"], "event": "tick", "args": [7]}]})
        );
        out.clear();
        Backend::new("").answer(&mut out, Route::Event, event.as_bytes(), false);
        assert_eq!(
            body_of(&out),
            serde_json::json!({"broadcast": [{"rooms": [], "event": "tick", "args": [7]}]})
        );
    }

    #[test]
    fn forward_answers_carry_the_request_stamp() {
        let backend = Backend::new("bench");
        let request = [3u8; 40];
        let mut out = Vec::new();
        backend.answer(&mut out, Route::Forward, &request, false);
        let text = String::from_utf8_lossy(&out);
        let (_, body) = text.split_once("\r\n\r\n").expect("a head and a body");
        assert_eq!(body.len(), forward_cost::ANSWER_BYTES);
        assert_eq!(&out[out.len() - body.len()..][..16], &request[..16]);
    }
}
