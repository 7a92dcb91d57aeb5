//! Engine.IO / Socket.IO clients: long-polling over HTTP/1.1 keep-alive connections (one request at a time per
//! connection) and WebSocket. Both speak their protocol themselves on a `TcpStream` (see [`crate::http1`] and
//! [`Ws`]) so that the load generator spends as little CPU per request or frame as it can.

use crate::http1::{self, Framing, MAX_HEADERS};
use crate::net::Sources;
use crate::proto::{self, Packet, Sio};
use crate::ws_frame;
use crate::{Error, Res};
use base64::Engine as _;
use bytes::Bytes;
use http::Method;
use sha1::{Digest, Sha1};
use std::io::Write as _;
use std::net::SocketAddr;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::io::AsyncWriteExt;

/// Where the clients connect: the server's address and the Engine.IO resource path (e.g. `/socket.io/`).
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// The server's listener.
    pub addr: SocketAddr,
    /// The resource path, with a trailing slash.
    pub path: String,
}

/// Initial read buffer of a polling connection (it grows for larger responses).
const HTTP_READ_BUFFER: usize = 1024;

/// One HTTP/1.1 keep-alive connection, one request at a time. Dropping it closes the connection.
pub struct HttpConn {
    io: http1::Stream,
    host: String,
    /// The request being written (kept for its capacity).
    out: Vec<u8>,
    /// The server said it closes the connection (or ended the body by closing it).
    closed: bool,
}

impl HttpConn {
    /// Opens a connection to `addr` from the next source address.
    pub async fn open(sources: &Sources, addr: SocketAddr) -> Res<Self> {
        let stream = sources.connect(addr).await?;
        Ok(Self {
            io: http1::Stream::new(stream, HTTP_READ_BUFFER),
            host: addr.to_string(),
            out: Vec::new(),
            closed: false,
        })
    }

    /// Sends one request and reads the whole answer.
    pub async fn request(
        &mut self,
        method: Method,
        uri: &str,
        headers: &[(&'static str, &str)],
        body: impl AsRef<[u8]>,
    ) -> Res<(u16, Bytes)> {
        let (status, range) = self
            .exchange(method.as_str(), uri, headers, body.as_ref())
            .await?;
        Ok((status, Bytes::copy_from_slice(self.io.slice(range))))
    }

    /// Sends one request (written in one piece) and reads the answer; the body stays in the read buffer, at the
    /// returned range, until the next request.
    async fn exchange(
        &mut self,
        method: &str,
        uri: &str,
        headers: &[(&'static str, &str)],
        body: &[u8],
    ) -> Res<(u16, Range<usize>)> {
        if self.closed {
            return Err("the server closed the connection".into());
        }
        let out = &mut self.out;
        out.clear();
        write!(out, "{method} {uri} HTTP/1.1\r\nhost: {}\r\n", self.host)?;
        for (name, value) in headers {
            write!(out, "{name}: {value}\r\n")?;
        }
        if !body.is_empty() || method != "GET" {
            write!(out, "content-length: {}\r\n", body.len())?;
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(body);
        self.io.stream.write_all(out).await?;
        self.io.start_message();
        loop {
            let head = self
                .io
                .read_head(|bytes| {
                    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
                    let mut response = httparse::Response::new(&mut headers);
                    match response.parse(bytes)? {
                        httparse::Status::Complete(len) => {
                            let http10 = response.version == Some(0);
                            let info =
                                http1::body_info(response.headers, Framing::UntilClose, http10)?;
                            Ok(Some((len, (response.code.unwrap_or(0), info))))
                        }
                        httparse::Status::Partial => Ok(None),
                    }
                })
                .await?;
            let Some((status, info)) = head else {
                self.closed = true;
                return Err("the server closed the connection before answering".into());
            };
            if (100..200).contains(&status) {
                // An interim response (100 Continue, 103 Early Hints): the real one follows.
                continue;
            }
            let framing = match status {
                204 | 304 => Framing::Empty,
                _ => info.framing,
            };
            let body = self.io.read_body(framing).await?;
            if info.close || framing == Framing::UntilClose {
                self.closed = true;
            }
            return Ok((status, body));
        }
    }
}

/// The URL of a polling session's requests.
pub fn polling_url(endpoint: &Endpoint, sid: &str) -> String {
    format!("{}?EIO=4&transport=polling&sid={sid}", endpoint.path)
}

/// GET on a polling session: the packets' text.
pub async fn poll_get(conn: &mut HttpConn, url: &str) -> Res<String> {
    let (status, body) = conn.exchange("GET", url, &[], b"").await?;
    if status != 200 {
        return Err(format!("poll answered HTTP {status}").into());
    }
    Ok(std::str::from_utf8(conn.io.slice(body))?.to_owned())
}

/// POST on a polling session: `payload` is the packets already joined into one payload.
pub async fn poll_post(conn: &mut HttpConn, url: &str, payload: &str) -> Res<()> {
    let (status, _) = conn
        .exchange(
            "POST",
            url,
            &[("content-type", "text/plain;charset=UTF-8")],
            payload.as_bytes(),
        )
        .await?;
    if status != 200 {
        return Err(format!("post answered HTTP {status}").into());
    }
    Ok(())
}

/// A connected long-polling Socket.IO client: its session id and the connection it used.
pub struct PollClient {
    /// The connection (the client's only one unless it opens more).
    pub conn: HttpConn,
    /// The session's request URL.
    pub url: String,
}

/// Opens a polling session and connects the default namespace: handshake GET, POST `40`, GET until `40{...}`.
/// Other packets that arrive meanwhile are handled (pings answered).
pub async fn poll_connect(sources: &Sources, endpoint: &Endpoint) -> Res<PollClient> {
    poll_connect_with_query(sources, endpoint, "").await
}

/// [`poll_connect`] with `query` (`k=v&...`, may be empty) added to the handshake request.
pub async fn poll_connect_with_query(
    sources: &Sources,
    endpoint: &Endpoint,
    query: &str,
) -> Res<PollClient> {
    let mut conn = HttpConn::open(sources, endpoint.addr).await?;
    let mut handshake = format!("{}?EIO=4&transport=polling", endpoint.path);
    if !query.is_empty() {
        handshake.push('&');
        handshake.push_str(query);
    }
    let body = poll_get(&mut conn, &handshake).await?;
    let sid = proto::payload(&body)
        .find_map(|p| match p {
            Packet::Open(json) => proto::open_sid(json),
            _ => None,
        })
        .ok_or_else(|| format!("no open packet in {body:?}"))?;
    let url = polling_url(endpoint, &sid);
    poll_post(&mut conn, &url, "40").await?;
    loop {
        let body = poll_get(&mut conn, &url).await?;
        let mut connected = false;
        let mut pong = false;
        for packet in proto::payload(&body) {
            match packet {
                Packet::Sio(Sio::Connect) => connected = true,
                Packet::Sio(Sio::ConnectError(why)) => {
                    return Err(format!("connect refused: {why}").into());
                }
                Packet::Ping => pong = true,
                Packet::Close => return Err("session closed while connecting".into()),
                _ => {}
            }
        }
        if pong {
            poll_post(&mut conn, &url, "3").await?;
        }
        if connected {
            return Ok(PollClient { conn, url });
        }
    }
}

/// Initial read buffer of a WebSocket (it grows for larger frames): the load generator holds thousands of these.
const WS_READ_BUFFER: usize = 512;

/// Largest message accepted from a server.
const WS_MAX_MESSAGE: usize = 16 << 20;

/// The GUID of RFC 6455's `Sec-WebSocket-Accept`.
const WS_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The `Sec-WebSocket-Accept` value that answers the handshake key `key` (RFC 6455).
pub fn websocket_accept(key: &str) -> String {
    let mut digest = Sha1::new();
    digest.update(key.as_bytes());
    digest.update(WS_GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(digest.finalize())
}

/// Where the last text message read is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Current {
    /// None (or it was dropped).
    None,
    /// In the read buffer.
    Buf(usize, usize),
    /// In `Ws::message` (it came in fragments).
    Assembled,
}

/// A WebSocket client connection (RFC 6455, no extensions): text messages in and out, masked frames out,
/// fragmented messages assembled, pings answered, close answered. Reads are cancel-safe (a `read_text` dropped
/// while it waits loses nothing), so it can sit in `select!`.
pub struct Ws {
    io: http1::Stream,
    /// Frames not yet written (a pong or close queued while reading, or a send in progress).
    out: Vec<u8>,
    /// A fragmented message being assembled (empty and unallocated otherwise).
    message: Vec<u8>,
    /// The opcode of the fragmented message being assembled (0: none).
    fragmented: u8,
    current: Current,
    /// Masking keys.
    rng: u64,
    /// A close frame was received or sent.
    closed: bool,
}

/// A seed for masking keys and handshake keys: different per connection and per process.
fn seed() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut x =
        time ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (u64::from(std::process::id()) << 32);
    if x == 0 {
        x = 0x2545_f491_4f6c_dd1d;
    }
    x
}

impl Ws {
    /// The next 32 random bits (xorshift64*).
    fn next_u32(&mut self) -> u32 {
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32
    }

    /// Opens a WebSocket to `url` (a path and query) on `stream`: the HTTP/1.1 upgrade, checking the 101 and its
    /// `Sec-WebSocket-Accept`.
    async fn handshake(stream: tokio::net::TcpStream, host: &str, url: &str) -> Res<Self> {
        let mut ws = Ws {
            io: http1::Stream::new(stream, WS_READ_BUFFER),
            out: Vec::new(),
            message: Vec::new(),
            fragmented: 0,
            current: Current::None,
            rng: seed(),
            closed: false,
        };
        let mut nonce = [0u8; 16];
        for chunk in nonce.chunks_mut(4) {
            chunk.copy_from_slice(&ws.next_u32().to_be_bytes());
        }
        let key = base64::engine::general_purpose::STANDARD.encode(nonce);
        let mut request = Vec::with_capacity(256);
        write!(
            request,
            "GET {url} HTTP/1.1\r\nhost: {host}\r\nconnection: Upgrade\r\nupgrade: websocket\r\n\
             sec-websocket-version: 13\r\nsec-websocket-key: {key}\r\n\r\n"
        )?;
        ws.io.stream.write_all(&request).await?;
        let expected = websocket_accept(&key);
        let checked = ws
            .io
            .read_head(|bytes| {
                let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
                let mut response = httparse::Response::new(&mut headers);
                let len = match response.parse(bytes)? {
                    httparse::Status::Complete(len) => len,
                    httparse::Status::Partial => return Ok(None),
                };
                if response.code != Some(101) {
                    return Err(format!(
                        "websocket upgrade answered HTTP {}",
                        response.code.unwrap_or(0)
                    )
                    .into());
                }
                let (mut upgrade, mut connection, mut accept) = (false, false, false);
                for header in response.headers.iter() {
                    let (name, value) = (header.name, header.value);
                    if name.eq_ignore_ascii_case("upgrade") {
                        upgrade = value.trim_ascii().eq_ignore_ascii_case(b"websocket");
                    } else if name.eq_ignore_ascii_case("connection") {
                        connection |= value
                            .split(|&b| b == b',')
                            .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"upgrade"));
                    } else if name.eq_ignore_ascii_case("sec-websocket-accept") {
                        accept = value.trim_ascii() == expected.as_bytes();
                    } else if name.eq_ignore_ascii_case("sec-websocket-extensions") {
                        return Err("the server chose an extension that was not offered".into());
                    }
                }
                if !(upgrade && connection && accept) {
                    return Err(
                        "bad websocket upgrade (Upgrade, Connection or Sec-WebSocket-Accept)"
                            .into(),
                    );
                }
                Ok(Some((len, ())))
            })
            .await?;
        checked.ok_or("the server closed the connection during the websocket upgrade")?;
        Ok(ws)
    }

    /// Queues one masked frame.
    fn queue_frame(&mut self, opcode: u8, payload: &[u8]) {
        let mask = self.next_u32().to_be_bytes();
        let out = &mut self.out;
        ws_frame::push_header(out, 0x80 | opcode, true, payload.len());
        out.extend_from_slice(&mask);
        out.extend(payload.iter().zip(mask.iter().cycle()).map(|(b, m)| b ^ m));
    }

    /// Writes the queued frames. Progress is kept in `out`, so a flush dropped half-way resumes where it stopped.
    async fn flush(&mut self) -> Res<()> {
        while !self.out.is_empty() {
            let n = self.io.stream.write(&self.out).await?;
            if n == 0 {
                return Err("websocket: the connection does not take writes".into());
            }
            self.out.drain(..n);
        }
        Ok(())
    }

    /// Sends one text message (one masked frame, one write).
    pub async fn send_text(&mut self, text: &str) -> Res<()> {
        if self.closed {
            return Err("websocket closed".into());
        }
        self.queue_frame(0x1, text.as_bytes());
        self.flush().await
    }

    /// Sends a close frame (no status, as a client leaving) without waiting for the server's; the connection
    /// closes when the `Ws` is dropped.
    pub async fn close(&mut self) -> Res<()> {
        if !self.closed {
            self.closed = true;
            self.queue_frame(0x8, &[]);
        }
        self.flush().await
    }

    /// Drops the connection abruptly, as a client whose network went away: no close frame, and the TCP
    /// connection is reset (`SO_LINGER` 0, so the close sends an RST) rather than closed in order.
    pub fn reset(self) {
        // Without the option the close is an orderly FIN, which the server sees as the same kind of drop.
        let _ = self.io.stream.set_zero_linger();
    }

    /// The last text message [`Ws::read_text`] read.
    pub fn text(&self) -> &str {
        let bytes = match self.current {
            Current::None => &[][..],
            Current::Buf(start, end) => self.io.slice(start..end),
            Current::Assembled => &self.message[..],
        };
        // Checked when the message was read.
        std::str::from_utf8(bytes).unwrap_or_default()
    }

    /// Reads until the next text message ([`Ws::text`]); `Ok(false)` when the connection ended (the server closed
    /// it, or sent a close frame, which is answered). Binary messages and pongs are skipped; pings are answered.
    pub async fn read_text(&mut self) -> Res<bool> {
        if self.current == Current::Assembled {
            self.message = Vec::new();
        }
        self.current = Current::None;
        self.flush().await?;
        if self.closed {
            return Ok(false);
        }
        loop {
            if let Some(found) = self.next_frame()? {
                if found {
                    return Ok(true);
                }
                if !self.out.is_empty() {
                    self.flush().await?;
                }
                if self.closed {
                    return Ok(false);
                }
                continue;
            }
            self.io.compact();
            if self.io.fill().await? == 0 {
                if self.io.is_drained() {
                    return Ok(false);
                }
                return Err("websocket: the connection ended inside a frame".into());
            }
        }
    }

    /// Handles one complete buffered frame: `None` if none is complete yet, `Some(true)` if a text message is
    /// now current, `Some(false)` for anything else (control frame, fragment, binary message).
    fn next_frame(&mut self) -> Res<Option<bool>> {
        let bytes = self.io.buffered();
        if bytes.len() < 2 {
            return Ok(None);
        }
        let (b0, b1) = (bytes[0], bytes[1]);
        let fin = b0 & 0x80 != 0;
        let opcode = b0 & 0x0f;
        if b0 & 0x70 != 0 {
            return Err("websocket: reserved bits set (no extension was agreed)".into());
        }
        if b1 & 0x80 != 0 {
            return Err("websocket: the server sent a masked frame".into());
        }
        let Some((header, len)) = ws_frame::lengths(bytes) else {
            return Ok(None);
        };
        if len > WS_MAX_MESSAGE || self.message.len() + len > WS_MAX_MESSAGE {
            return Err("websocket: message too large".into());
        }
        if opcode >= 0x8 && (!fin || len > 125) {
            return Err("websocket: fragmented or oversized control frame".into());
        }
        if bytes.len() < header + len {
            return Ok(None);
        }
        let payload = &bytes[header..header + len];
        let start = self.io.consumed_at() + header;
        let mut text = false;
        match opcode {
            0x1 | 0x2 if self.fragmented != 0 => {
                return Err("websocket: a new message inside a fragmented one".into());
            }
            0x1 if fin => {
                std::str::from_utf8(payload).map_err(|_| "websocket: text is not UTF-8")?;
                self.current = Current::Buf(start, start + len);
                text = true;
            }
            0x1 | 0x2 if !fin => {
                self.fragmented = opcode;
                self.message.extend_from_slice(payload);
            }
            0x2 => {}
            0x0 => {
                if self.fragmented == 0 {
                    return Err("websocket: a continuation frame without a message".into());
                }
                self.message.extend_from_slice(payload);
                if fin {
                    let kind = std::mem::replace(&mut self.fragmented, 0);
                    if kind == 0x1 {
                        std::str::from_utf8(&self.message)
                            .map_err(|_| "websocket: text is not UTF-8")?;
                        self.current = Current::Assembled;
                        text = true;
                    } else {
                        self.message = Vec::new();
                    }
                }
            }
            0x8 => {
                // Answer with the status code the server sent (none if it sent none), then stop.
                let code = payload.get(..2).map(<[u8]>::to_vec).unwrap_or_default();
                if !self.closed {
                    self.closed = true;
                    self.queue_frame(0x8, &code);
                }
            }
            0x9 => {
                let data = payload.to_vec();
                self.queue_frame(0xA, &data);
            }
            0xA => {}
            _ => return Err(format!("websocket: unknown opcode {opcode}").into()),
        }
        self.io.consume(header + len);
        Ok(Some(text))
    }
}

/// Opens a WebSocket session and connects the default namespace: open packet, `40`, then `40{...}`.
pub async fn ws_connect(sources: &Sources, endpoint: &Endpoint) -> Res<Ws> {
    ws_connect_with_query(sources, endpoint, "").await
}

/// [`ws_connect`] with `query` (`name=value` pairs joined by `&`, already encoded) added to the handshake's.
pub async fn ws_connect_with_query(sources: &Sources, endpoint: &Endpoint, query: &str) -> Res<Ws> {
    let stream = sources.connect(endpoint.addr).await?;
    let separator = if query.is_empty() { "" } else { "&" };
    let url = format!(
        "{}?EIO=4&transport=websocket{separator}{query}",
        endpoint.path
    );
    let mut ws = Ws::handshake(stream, &endpoint.addr.to_string(), &url).await?;
    let mut opened = false;
    while ws.read_text().await? {
        match proto::packet(ws.text()) {
            Packet::Open(_) if !opened => {
                opened = true;
                ws.send_text("40").await?;
            }
            Packet::Ping => ws.send_text("3").await?,
            Packet::Sio(Sio::Connect) => return Ok(ws),
            Packet::Sio(Sio::ConnectError(why)) => {
                return Err(format!("connect refused: {why}").into());
            }
            Packet::Close => return Err("session closed while connecting".into()),
            _ => {}
        }
    }
    Err("websocket ended while connecting".into())
}

/// Reads frames forever, answering pings; returns when the connection ends.
pub async fn ws_idle(mut ws: Ws) -> Error {
    loop {
        match ws.read_text().await {
            Ok(true) => match proto::packet(ws.text()) {
                Packet::Ping => {
                    if let Err(error) = ws.send_text("3").await {
                        return error;
                    }
                }
                Packet::Close => return "server closed the session".into(),
                _ => {}
            },
            Ok(false) => return "websocket ended".into(),
            Err(error) => return error,
        }
    }
}

/// Keeps a GET pending forever, answering pings on the same connection; returns when the session ends.
pub async fn poll_idle(mut client: PollClient) -> Error {
    loop {
        let body = match poll_get(&mut client.conn, &client.url).await {
            Ok(body) => body,
            Err(error) => return error,
        };
        let mut pong = false;
        for packet in proto::payload(&body) {
            match packet {
                Packet::Ping => pong = true,
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

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;
    use tokio::net::{TcpListener, TcpStream};

    /// Reads one masked client frame: (fin, opcode, unmasked payload).
    async fn client_frame(stream: &mut TcpStream) -> (bool, u8, Vec<u8>) {
        let mut head = [0u8; 2];
        stream.read_exact(&mut head).await.unwrap();
        assert!(head[1] & 0x80 != 0, "client frames are masked");
        let len = match head[1] & 0x7f {
            126 => {
                let mut n = [0u8; 2];
                stream.read_exact(&mut n).await.unwrap();
                usize::from(u16::from_be_bytes(n))
            }
            127 => {
                let mut n = [0u8; 8];
                stream.read_exact(&mut n).await.unwrap();
                u64::from_be_bytes(n) as usize
            }
            n => usize::from(n),
        };
        let mut mask = [0u8; 4];
        stream.read_exact(&mut mask).await.unwrap();
        let mut payload = vec![0u8; len];
        stream.read_exact(&mut payload).await.unwrap();
        for (i, b) in payload.iter_mut().enumerate() {
            *b ^= mask[i % 4];
        }
        (head[0] & 0x80 != 0, head[0] & 0x0f, payload)
    }

    #[tokio::test]
    async fn websocket_handshake_frames_and_close() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut request = Vec::new();
            while !request.ends_with(b"\r\n\r\n") {
                let mut byte = [0u8; 1];
                stream.read_exact(&mut byte).await.unwrap();
                request.push(byte[0]);
            }
            let request = String::from_utf8(request).unwrap();
            let key = request
                .lines()
                .find_map(|l| l.strip_prefix("sec-websocket-key: "))
                .unwrap();
            let accept = websocket_accept(key);
            let mut out = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Accept: {accept}\r\n\r\n"
            )
            .into_bytes();
            // In the same segment as the 101: a text message in three fragments with a ping between them.
            out.extend_from_slice(b"\x01\x02he\x89\x01p\x00\x03llo\x80\x01!");
            // A binary message (skipped), then a 300-byte text (16-bit length) and a close with status 1000.
            out.extend_from_slice(b"\x82\x01\x00\x81\x7e\x01\x2c");
            out.extend_from_slice(&[b'x'; 300]);
            out.extend_from_slice(b"\x88\x02\x03\xe8");
            stream.write_all(&out).await.unwrap();
            assert_eq!(client_frame(&mut stream).await, (true, 0xA, b"p".to_vec()));
            assert_eq!(client_frame(&mut stream).await, (true, 0x1, b"3".to_vec()));
            assert_eq!(
                client_frame(&mut stream).await,
                (true, 0x8, vec![0x03, 0xe8])
            );
        });
        let stream = TcpStream::connect(addr).await.unwrap();
        let mut ws = Ws::handshake(stream, &addr.to_string(), "/socket.io/?EIO=4")
            .await
            .unwrap();
        assert!(ws.read_text().await.unwrap());
        assert_eq!(ws.text(), "hello!");
        ws.send_text("3").await.unwrap();
        assert!(ws.read_text().await.unwrap());
        assert_eq!(ws.text(), "x".repeat(300));
        assert!(!ws.read_text().await.unwrap());
        server.await.unwrap();
    }

    #[tokio::test]
    async fn websocket_refuses_a_wrong_accept() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = stream.read(&mut buf).await.unwrap();
            let _ = stream
                .write_all(
                    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                      Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n",
                )
                .await;
        });
        let stream = TcpStream::connect(addr).await.unwrap();
        assert!(Ws::handshake(stream, &addr.to_string(), "/").await.is_err());
    }
}
