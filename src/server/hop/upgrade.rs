//! Passing a WebSocket upgrade to the node holding its session: a TCP connection of its own to the peer, the
//! client's upgrade request written there (with the hop's proof), and once the peer answers `101`, the same answer
//! to the client and the two streams spliced both ways for the life of the WebSocket. When either side closes,
//! both are closed. Any other answer of the peer goes to the client as it is.

use crate::engineio::http::{Body, ConnectionHold, RequestBody};
use bytes::{Bytes, BytesMut};
use http::header::{HeaderName, HeaderValue};
use http::{Request, Response, StatusCode};
use iogate_h1::OnUpgrade;
use std::io;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The largest answer head taken from a peer.
const MAX_HEAD: usize = 64 * 1024;

/// The largest body of a refusal (a non-101 answer) taken from a peer.
const MAX_REFUSAL_BODY: usize = 64 * 1024;

/// The most header lines an answer head may have.
const MAX_HEADERS: usize = 100;

/// Why an upgrade could not be passed on once connected.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UpgradeError(String);

/// Sends `head` (the upgrade request, written whole) on `upstream` and answers as the peer does; a `101` splices
/// the client's connection (from `req`'s [`OnUpgrade`]) to the peer's.
pub async fn pass(
    mut upstream: TcpStream,
    answer_timeout: Duration,
    head: Vec<u8>,
    mut req: Request<RequestBody>,
) -> Result<Response<Body>, UpgradeError> {
    let exchange = async {
        upstream.write_all(&head).await?;
        read_answer(&mut upstream).await
    };
    let (status, headers, rest) = tokio::time::timeout(answer_timeout, exchange)
        .await
        .map_err(|_| UpgradeError("no answer in time".into()))?
        .map_err(|e| UpgradeError(e.to_string()))?;
    let mut response = Response::new(Body::default());
    *response.status_mut() = status;
    for (name, value) in headers {
        response.headers_mut().append(name, value);
    }
    if status != StatusCode::SWITCHING_PROTOCOLS {
        let body = read_refusal_body(&mut upstream, response.headers(), rest, answer_timeout).await;
        *response.body_mut() = Body::new(body);
        return Ok(response);
    }
    let upgrade = req.extensions_mut().remove::<OnUpgrade>();
    let hold = req.extensions_mut().remove::<ConnectionHold>();
    drop(req);
    if let Some(upgrade) = upgrade {
        tokio::spawn(async move {
            if let Some(client) = upgrade.await {
                splice(client, upstream, rest.freeze(), hold).await;
            }
        });
    }
    Ok(response)
}

/// Reads the peer's answer head: its status, headers, and the bytes read past it.
async fn read_answer(
    upstream: &mut TcpStream,
) -> io::Result<(StatusCode, Vec<(HeaderName, HeaderValue)>, BytesMut)> {
    let mut buf = BytesMut::with_capacity(1024);
    loop {
        if upstream.read_buf(&mut buf).await? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the peer closed before answering",
            ));
        }
        let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut answer = httparse::Response::new(&mut slots);
        match answer.parse(&buf).map_err(io::Error::other)? {
            httparse::Status::Partial if buf.len() >= MAX_HEAD => {
                return Err(io::Error::other("answer head too large"));
            }
            httparse::Status::Partial => continue,
            httparse::Status::Complete(len) => {
                let status = answer
                    .code
                    .and_then(|code| StatusCode::from_u16(code).ok())
                    .ok_or_else(|| io::Error::other("no status"))?;
                let headers = answer
                    .headers
                    .iter()
                    .filter_map(|h| {
                        Some((
                            HeaderName::from_bytes(h.name.as_bytes()).ok()?,
                            HeaderValue::from_bytes(h.value).ok()?,
                        ))
                    })
                    .collect();
                let rest = buf.split_off(len);
                return Ok((status, headers, rest));
            }
        }
    }
}

/// The body of a refusal, as far as its `content-length` says (bounded; what does not arrive in time is left).
async fn read_refusal_body(
    upstream: &mut TcpStream,
    headers: &http::HeaderMap,
    mut body: BytesMut,
    limit: Duration,
) -> Bytes {
    let length = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0)
        .min(MAX_REFUSAL_BODY);
    let read = async {
        while body.len() < length {
            if upstream.read_buf(&mut body).await.unwrap_or(0) == 0 {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(limit, read).await;
    body.truncate(length);
    body.freeze()
}

/// Copies both ways until either side closes or fails, then closes both.
async fn splice(
    client: iogate_h1::Upgraded,
    mut upstream: TcpStream,
    peer_ahead: Bytes,
    hold: Option<ConnectionHold>,
) {
    let iogate_h1::Upgraded {
        stream: mut client_stream,
        read_ahead,
        hold: connection,
    } = client;
    let started = async {
        upstream.write_all(&read_ahead).await?;
        client_stream.write_all(&peer_ahead).await
    };
    if started.await.is_ok() {
        let (mut client_read, mut client_write) = client_stream.split();
        let (mut peer_read, mut peer_write) = upstream.split();
        tokio::select! {
            _ = tokio::io::copy(&mut client_read, &mut peer_write) => {}
            _ = tokio::io::copy(&mut peer_read, &mut client_write) => {}
        }
    }
    drop((connection, hold));
}
