//! Engine.IO / Socket.IO clients: long-polling over HTTP/1.1 keep-alive connections (one request at a time per
//! connection) and WebSocket.

use crate::net::Sources;
use crate::proto::{self, Packet, Sio};
use crate::{Error, Res};
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::header::HOST;
use http::{HeaderValue, Method, Request};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use tokio::net::TcpStream;
use tokio::task::AbortHandle;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// Where the clients connect: the server's address and the Engine.IO resource path (e.g. `/socket.io/`).
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// The server's listener.
    pub addr: SocketAddr,
    /// The resource path, with a trailing slash.
    pub path: String,
}

/// One HTTP/1.1 keep-alive connection. Dropping it closes the connection.
pub struct HttpConn {
    sender: SendRequest<Full<Bytes>>,
    host: HeaderValue,
    driver: AbortHandle,
}

impl Drop for HttpConn {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

impl HttpConn {
    /// Opens a connection to `addr` from the next source address.
    pub async fn open(sources: &Sources, addr: SocketAddr) -> Res<Self> {
        let stream = sources.connect(addr).await?;
        let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
        let driver = tokio::spawn(async move {
            let _ = conn.await;
        })
        .abort_handle();
        Ok(Self {
            sender,
            host: HeaderValue::from_str(&addr.to_string())?,
            driver,
        })
    }

    /// Sends one request and reads the whole answer.
    pub async fn request(
        &mut self,
        method: Method,
        uri: &str,
        headers: &[(&'static str, &str)],
        body: Bytes,
    ) -> Res<(u16, Bytes)> {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header(HOST, self.host.clone());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Full::new(body))?;
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }
}

/// The URL of a polling session's requests.
pub fn polling_url(endpoint: &Endpoint, sid: &str) -> String {
    format!("{}?EIO=4&transport=polling&sid={sid}", endpoint.path)
}

/// GET on a polling session: the packets' text.
pub async fn poll_get(conn: &mut HttpConn, url: &str) -> Res<String> {
    let (status, body) = conn.request(Method::GET, url, &[], Bytes::new()).await?;
    if status != 200 {
        return Err(format!("poll answered HTTP {status}").into());
    }
    Ok(String::from_utf8(body.to_vec())?)
}

/// POST on a polling session: `packets` joined into one payload.
pub async fn poll_post(conn: &mut HttpConn, url: &str, payload: String) -> Res<()> {
    let (status, _) = conn
        .request(
            Method::POST,
            url,
            &[("content-type", "text/plain;charset=UTF-8")],
            Bytes::from(payload),
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
    let mut conn = HttpConn::open(sources, endpoint.addr).await?;
    let handshake = format!("{}?EIO=4&transport=polling", endpoint.path);
    let body = poll_get(&mut conn, &handshake).await?;
    let sid = proto::payload(&body)
        .find_map(|p| match p {
            Packet::Open(json) => proto::open_sid(json),
            _ => None,
        })
        .ok_or_else(|| format!("no open packet in {body:?}"))?;
    let url = polling_url(endpoint, &sid);
    poll_post(&mut conn, &url, "40".to_string()).await?;
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
            poll_post(&mut conn, &url, "3".to_string()).await?;
        }
        if connected {
            return Ok(PollClient { conn, url });
        }
    }
}

/// A WebSocket client connection.
pub type Ws = WebSocketStream<TcpStream>;

/// Small buffers: the load generator holds thousands of these.
fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
}

/// Opens a WebSocket session and connects the default namespace: open packet, `40`, then `40{...}`.
pub async fn ws_connect(sources: &Sources, endpoint: &Endpoint) -> Res<Ws> {
    let stream = sources.connect(endpoint.addr).await?;
    let url = format!(
        "ws://{}{}?EIO=4&transport=websocket",
        endpoint.addr, endpoint.path
    );
    let (mut ws, _) =
        tokio_tungstenite::client_async_with_config(url, stream, Some(ws_config())).await?;
    let mut opened = false;
    while let Some(frame) = ws.next().await {
        let Message::Text(text) = frame? else {
            continue;
        };
        match proto::packet(text.as_str()) {
            Packet::Open(_) if !opened => {
                opened = true;
                ws.send(Message::text("40")).await?;
            }
            Packet::Ping => ws.send(Message::text("3")).await?,
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
    while let Some(frame) = ws.next().await {
        match frame {
            Ok(Message::Text(text)) => match proto::packet(text.as_str()) {
                Packet::Ping => {
                    if let Err(error) = ws.send(Message::text("3")).await {
                        return error.into();
                    }
                }
                Packet::Close => return "server closed the session".into(),
                _ => {}
            },
            Ok(_) => {}
            Err(error) => return error.into(),
        }
    }
    "websocket ended".into()
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
            if let Err(error) = poll_post(&mut client.conn, &client.url, "3".to_string()).await {
                return error;
            }
        }
    }
}
