//! The minimal relay server: the least a server can do for the relay scenario's real clients and the real webhook
//! backend, so that the relay's latency at a fixed rate can be read against a middle that does almost nothing,
//! with the same load generator and backend around it (the relay floor has its own trivial client and backend).
//!
//! It speaks just enough Engine.IO v4 and Socket.IO v5 for `bench-loadgen scenario relay-*` (text packets, the
//! default namespace, no heartbeats, no checks of any kind: it trusts its clients and is for loopback benchmarks
//! only): a long-polling handshake, POSTs and long-poll GETs on a session, or a WebSocket upgrade; `40` is
//! answered with a namespace CONNECT; every event with an ack, `42<id>[...]`, is POSTed to the backend as an
//! `event` hook with iogate's headers and the event's name and args, and the backend's `{"ack":[...]}` goes back
//! as `43<id>[...]`. Over polling the hook is written before the POST's `ok`, as iogate does. One task per connection, on
//! the runtime it is started on (`bench-loadgen minimal-server --threads N`: by default as many worker threads as
//! cores, as iogate); each session or WebSocket connection has its own kept-alive connection to the backend.

use crate::client::{HttpConn, websocket_accept};
use crate::http1::{self, Framing};
use crate::net::Sources;
use crate::proto::SEPARATOR;
use crate::ws_frame;
use crate::{Error, Res};
use http::Method;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// The Engine.IO handshake's body after the sid.
const OPEN_TAIL: &str =
    r#"","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
/// A fixed signature header of iogate's length, so that the hook request is the size of iogate's.
const SIGNATURE: &str = "sha256=0000000000000000000000000000000000000000000000000000000000000000";

/// Serves `listener` until the process ends, relaying events to the backend at `backend`.
pub async fn serve(listener: TcpListener, backend: SocketAddr) -> Res<()> {
    let server = Arc::new(Server {
        backend,
        sources: Sources::loopback(1),
        sessions: Mutex::new(HashMap::new()),
        next_sid: AtomicU64::new(1),
    });
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        let server = server.clone();
        tokio::spawn(async move {
            let _ = server.connection(stream).await;
        });
    }
}

struct Server {
    backend: SocketAddr,
    sources: Sources,
    sessions: Mutex<HashMap<String, Arc<Session>>>,
    next_sid: AtomicU64,
}

/// A long-polling session: packets waiting for the next GET, and the session's connection to the backend.
#[derive(Default)]
struct Session {
    sid: String,
    waiting: Mutex<Vec<String>>,
    arrived: Notify,
    hook: tokio::sync::Mutex<Option<HttpConn>>,
}

impl Session {
    fn push(&self, packet: String) {
        if let Ok(mut waiting) = self.waiting.lock() {
            waiting.push(packet);
        }
        self.arrived.notify_one();
    }

    /// The waiting packets as one payload, or None when there are none.
    fn take(&self) -> Option<String> {
        let mut waiting = self.waiting.lock().ok()?;
        if waiting.is_empty() {
            return None;
        }
        let payload = waiting.join(&SEPARATOR.to_string());
        waiting.clear();
        Some(payload)
    }
}

/// What the server needs of a request head.
struct Head {
    post: bool,
    sid: Option<String>,
    websocket_key: Option<String>,
    framing: Framing,
}

fn parse_head(bytes: &[u8]) -> Res<Option<(usize, Head)>> {
    http1::parse_request(bytes, read_head)
}

fn read_head(request: &httparse::Request<'_, '_>) -> Res<Head> {
    let info = http1::body_info(request.headers, Framing::Empty, false)?;
    let websocket_key = request
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("sec-websocket-key"))
        .map(|h| String::from_utf8_lossy(h.value).into_owned());
    let sid = request
        .path
        .and_then(|path| path.split_once('?'))
        .and_then(|(_, query)| query.split('&').find_map(|pair| pair.strip_prefix("sid=")))
        .map(str::to_owned);
    Ok(Head {
        post: request.method == Some("POST"),
        sid,
        websocket_key,
        framing: info.framing,
    })
}

/// The event's name and args (`["echo",{...}]` -> `echo`, `[{...}]`) and its ack id, of a `42<id>[...]` packet.
fn event_with_ack(packet: &str) -> Option<(u64, &str, String)> {
    let rest = packet.strip_prefix("42")?;
    let digits = rest.find('[')?;
    let id = rest[..digits].parse().ok()?;
    let array = &rest[digits..];
    let name_end = array.get(2..)?.find('"')? + 2;
    let name = &array[2..name_end];
    let args = match array.get(name_end + 1..)?.strip_prefix(',') {
        Some(rest) => format!("[{rest}"),
        None => "[]".to_string(),
    };
    Some((id, name, args))
}

impl Server {
    async fn connection(self: Arc<Self>, stream: TcpStream) -> Res<()> {
        let mut io = http1::Stream::new(stream, 2048);
        loop {
            io.start_message();
            let Some(head) = io.read_head(parse_head).await? else {
                return Ok(());
            };
            if let Some(key) = head.websocket_key {
                return self.websocket(io, &key).await;
            }
            let body = io.read_body(head.framing).await?;
            let body = String::from_utf8_lossy(io.slice(body)).into_owned();
            let answer = match (head.sid, head.post) {
                (None, _) => self.open(),
                (Some(sid), false) => match self.session(&sid) {
                    Some(session) => Self::poll(&session).await,
                    None => return Err(format!("unknown sid {sid}").into()),
                },
                (Some(sid), true) => match self.session(&sid) {
                    Some(session) => self.post(&session, &body).await,
                    None => return Err(format!("unknown sid {sid}").into()),
                },
            };
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=UTF-8\r\ncontent-length: {}\r\n\r\n{answer}",
                answer.len()
            );
            io.stream.write_all(response.as_bytes()).await?;
        }
    }

    /// A fresh session id.
    fn new_sid(&self) -> String {
        format!(
            "minimal{:013}",
            self.next_sid.fetch_add(1, Ordering::Relaxed)
        )
    }

    fn session(&self, sid: &str) -> Option<Arc<Session>> {
        self.sessions.lock().ok()?.get(sid).cloned()
    }

    /// A new session's handshake.
    fn open(&self) -> String {
        let sid = self.new_sid();
        let session = Arc::new(Session {
            sid: sid.clone(),
            ..Session::default()
        });
        if let Ok(mut sessions) = self.sessions.lock() {
            sessions.insert(sid.clone(), session);
        }
        open_packet(&sid)
    }

    /// A long-poll: the waiting packets, once there are any.
    async fn poll(session: &Session) -> String {
        loop {
            if let Some(payload) = session.take() {
                return payload;
            }
            session.arrived.notified().await;
        }
    }

    /// A POST's packets; the hooks of its events start before it is answered.
    async fn post(self: &Arc<Self>, session: &Arc<Session>, body: &str) -> String {
        let mut relayed = false;
        for packet in body.split(SEPARATOR) {
            if packet == "40" {
                session.push(connect_packet(&session.sid));
            } else if let Some((id, name, args)) = event_with_ack(packet) {
                let (server, session, name) = (self.clone(), session.clone(), name.to_owned());
                tokio::spawn(async move {
                    let mut hook = session.hook.lock().await;
                    if let Ok(ack) = server.relay(&mut hook, &session.sid, &name, &args).await {
                        session.push(format!("43{id}{ack}"));
                    }
                });
                relayed = true;
            }
        }
        if relayed {
            // The hook's task writes its request before this POST is answered.
            tokio::task::yield_now().await;
        }
        "ok".to_string()
    }

    /// POSTs an `event` hook on `hook` (opened on first use) and returns the ack's args of the backend's reply.
    async fn relay(
        &self,
        hook: &mut Option<HttpConn>,
        sid: &str,
        name: &str,
        args: &str,
    ) -> Res<String> {
        if hook.is_none() {
            *hook = Some(HttpConn::open(&self.sources, self.backend).await?);
        }
        let Some(conn) = hook.as_mut() else {
            return Err("no backend connection".into());
        };
        let body = format!(
            r#"{{"event":"{name}","args":{args},"nsp":"/","sid":"{sid}","socket":"{sid}","data":null}}"#
        );
        let headers = [
            ("content-type", "application/json"),
            ("user-agent", "iogate-bench-minimal"),
            ("x-iogate-event", "event"),
            ("x-iogate-delivery", "00000000000000000000000000000000"),
            ("x-iogate-signature", SIGNATURE),
        ];
        let (status, reply) = conn.request(Method::POST, "/hook", &headers, body).await?;
        if status != 200 {
            return Err(format!("the backend answered HTTP {status}").into());
        }
        let reply = std::str::from_utf8(&reply)?;
        let ack = reply
            .strip_prefix(r#"{"ack":"#)
            .and_then(|rest| rest.strip_suffix('}'))
            .ok_or_else(|| format!("no ack in {reply}"))?;
        Ok(ack.to_owned())
    }

    /// A WebSocket connection after its upgrade request: the Engine.IO open, then frames until it ends.
    async fn websocket(&self, mut io: http1::Stream, key: &str) -> Res<()> {
        let accept = websocket_accept(key.trim());
        let upgrade = format!(
            "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\
             sec-websocket-accept: {accept}\r\n\r\n"
        );
        io.stream.write_all(upgrade.as_bytes()).await?;
        let sid = self.new_sid();
        let mut out = Vec::new();
        write_text_frame(&mut out, &open_packet(&sid));
        io.stream.write_all(&out).await?;
        let mut hook = None;
        while let Some(text) = read_text_frame(&mut io).await? {
            let answer = if text == "40" {
                connect_packet(&sid)
            } else if let Some((id, name, args)) = event_with_ack(&text) {
                format!("43{id}{}", self.relay(&mut hook, &sid, name, &args).await?)
            } else {
                continue;
            };
            out.clear();
            write_text_frame(&mut out, &answer);
            io.stream.write_all(&out).await?;
        }
        Ok(())
    }
}

/// The Engine.IO open packet of session `sid`.
fn open_packet(sid: &str) -> String {
    format!(r#"0{{"sid":"{sid}{OPEN_TAIL}"#)
}

/// The Socket.IO CONNECT of the default namespace for session `sid`.
fn connect_packet(sid: &str) -> String {
    format!(r#"40{{"sid":"{sid}"}}"#)
}

/// Appends an unmasked, unfragmented text frame carrying `text`.
fn write_text_frame(out: &mut Vec<u8>, text: &str) {
    ws_frame::push_header(out, 0x81, false, text.len());
    out.extend_from_slice(text.as_bytes());
}

/// The next text frame's text (masked, as clients send them; other frames are skipped), or None at a close frame
/// or the end of the stream.
async fn read_text_frame(io: &mut http1::Stream) -> Res<Option<String>> {
    loop {
        io.compact();
        let frame = loop {
            if let Some(frame) = parse_frame(io.buffered())? {
                break frame;
            }
            if io.fill().await? == 0 {
                return Ok(None);
            }
        };
        let (opcode, header, len) = frame;
        let bytes = io.buffered();
        let mask = [
            bytes[header - 4],
            bytes[header - 3],
            bytes[header - 2],
            bytes[header - 1],
        ];
        let payload: Vec<u8> = bytes[header..header + len]
            .iter()
            .enumerate()
            .map(|(i, byte)| byte ^ mask[i % 4])
            .collect();
        io.consume(header + len);
        match opcode {
            0x1 => return Ok(Some(String::from_utf8(payload)?)),
            0x8 => return Ok(None),
            _ => {}
        }
    }
}

/// A complete masked frame at the start of `bytes`: its opcode, header length (mask key included) and payload
/// length; None when more bytes are needed.
fn parse_frame(bytes: &[u8]) -> Res<Option<(u8, usize, usize)>> {
    if bytes.len() < 2 {
        return Ok(None);
    }
    if bytes[1] & 0x80 == 0 {
        return Err(Error::from("a client frame without a mask"));
    }
    let Some((lengths, len)) = ws_frame::lengths(bytes) else {
        return Ok(None);
    };
    let header = lengths + 4;
    if bytes.len() < header.saturating_add(len) {
        return Ok(None);
    }
    Ok(Some((bytes[0] & 0x0f, header, len)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_with_ack_gives_its_id_name_and_args() {
        let packet = crate::proto::emit_with_ack(7);
        let (id, name, args) = event_with_ack(&packet).expect("an event with an ack");
        assert_eq!((id, name), (7, "echo"));
        assert_eq!(args, r#"[{"seq":7,"text":"hello from the benchmark"}]"#);
        assert_eq!(
            event_with_ack(r#"4212["bare"]"#),
            Some((12, "bare", "[]".into()))
        );
        assert_eq!(event_with_ack("40"), None);
    }

    #[test]
    fn frames_round_trip_through_a_mask() {
        let mut out = Vec::new();
        write_text_frame(&mut out, "hello");
        assert_eq!(out, b"\x81\x05hello");
        // The same text as a client sends it: masked with key 1, 2, 3, 4.
        let mask = [1u8, 2, 3, 4];
        let mut frame = vec![0x81, 0x80 | 5];
        frame.extend_from_slice(&mask);
        frame.extend(b"hello".iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        assert_eq!(parse_frame(&frame).ok().flatten(), Some((1, 6, 5)));
        assert_eq!(parse_frame(&frame[..8]).ok().flatten(), None);
        assert!(parse_frame(b"\x81\x05hello").is_err());
    }
}
