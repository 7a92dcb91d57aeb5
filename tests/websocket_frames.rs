//! WebSocket framing against a running gateway: fragmented messages, control frames between fragments, pings,
//! close codes in both directions, and frames that break the protocol.

use crate::common;
use common::eio::{self, Ws, next_text, send_text, ws_handshake};
use common::{Backend, Gateway};
use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::Frame as RawFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};

/// Sends one raw data frame (the client masks it).
async fn send_raw(ws: &mut Ws, data: &[u8], opcode: Data, fin: bool) {
    let frame = RawFrame::message(data.to_vec(), OpCode::Data(opcode), fin);
    ws.send(Frame::Frame(frame)).await.expect("frame sent");
}

/// The next frame of any kind, pings and pongs included; panics after 5 s.
async fn next_any(ws: &mut Ws) -> Option<Frame> {
    tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .expect("frame within 5 s")
        .and_then(Result::ok)
}

/// Reads until the server's close frame and returns its code.
async fn close_code(ws: &mut Ws) -> Option<CloseCode> {
    loop {
        match next_any(ws).await {
            Some(Frame::Close(frame)) => return frame.map(|f| f.code),
            Some(_) => {}
            None => panic!("connection ended without a close frame"),
        }
    }
}

#[tokio::test]
async fn fragmented_messages_are_joined_with_pings_between_fragments() {
    let backend = Backend::echo().await;
    let gateway = Gateway::engine_io(&backend.url(), "").await;
    let (mut ws, _) = ws_handshake(&gateway.ws_url("/engine.io/")).await;
    send_raw(&mut ws, b"4he", Data::Text, false).await;
    ws.send(Frame::Ping(b"between".to_vec().into()))
        .await
        .expect("ping sent");
    send_raw(&mut ws, &[0xE2, 0x82], Data::Continue, false).await;
    send_raw(&mut ws, &[0xAC, b'!'], Data::Continue, true).await;
    assert_eq!(
        next_any(&mut ws).await,
        Some(Frame::Pong(b"between".to_vec().into()))
    );
    assert_eq!(next_text(&mut ws).await, "4he€!");
    send_raw(&mut ws, &[1, 2], Data::Binary, false).await;
    send_raw(&mut ws, &[3], Data::Continue, true).await;
    assert_eq!(eio::next_binary(&mut ws).await, vec![1, 2, 3]);
    assert_eq!(backend.hooks_of("message").len(), 2);
}

#[tokio::test]
async fn a_ping_is_answered_with_its_data() {
    let backend = Backend::echo().await;
    let gateway = Gateway::engine_io(&backend.url(), "").await;
    let (mut ws, _) = ws_handshake(&gateway.ws_url("/engine.io/")).await;
    ws.send(Frame::Ping(b"are you there".to_vec().into()))
        .await
        .expect("ping sent");
    assert_eq!(
        next_any(&mut ws).await,
        Some(Frame::Pong(b"are you there".to_vec().into()))
    );
    send_text(&mut ws, "4still").await;
    assert_eq!(next_text(&mut ws).await, "4still");
}

#[tokio::test]
async fn a_client_close_code_is_echoed_and_closes_the_session() {
    let backend = Backend::echo().await;
    let gateway = Gateway::engine_io(&backend.url(), "").await;
    let (mut ws, open) = ws_handshake(&gateway.ws_url("/engine.io/")).await;
    let sid = open["sid"].as_str().unwrap();
    ws.send(Frame::Close(Some(CloseFrame {
        code: CloseCode::Library(4000),
        reason: "bye".into(),
    })))
    .await
    .expect("close sent");
    assert_eq!(close_code(&mut ws).await, Some(CloseCode::Library(4000)));
    let close = backend.wait_for("close", Some(sid), 1).await;
    assert_eq!(close[0].body["reason"], "transport close");
    eio::eventually("session forgotten", || gateway.sessions() == 0).await;
}

#[tokio::test]
async fn broken_frames_close_with_the_matching_code() {
    let backend = Backend::echo().await;
    let gateway = Gateway::engine_io(&backend.url(), "max_payload = 1000").await;
    let cases: [(&[u8], Data, bool, CloseCode); 4] = [
        // Invalid UTF-8 in a text message.
        (&[b'4', 0xC3, 0x28], Data::Text, true, CloseCode::Invalid),
        // A continuation with no message to continue.
        (b"x", Data::Continue, true, CloseCode::Protocol),
        // Over max_payload in one frame.
        (&[b'4'; 1001], Data::Text, true, CloseCode::Size),
        // A reserved opcode.
        (b"x", Data::Reserved(3), true, CloseCode::Protocol),
    ];
    for (index, (data, opcode, fin, code)) in cases.into_iter().enumerate() {
        let (mut ws, open) = ws_handshake(&gateway.ws_url("/engine.io/")).await;
        let sid = open["sid"].as_str().unwrap();
        send_raw(&mut ws, data, opcode, fin).await;
        assert_eq!(close_code(&mut ws).await, Some(code), "case {index}");
        let close = backend.wait_for("close", Some(sid), 1).await;
        assert_eq!(close[0].body["reason"], "transport error", "case {index}");
    }
    eio::eventually("sessions forgotten", || gateway.sessions() == 0).await;
}

#[tokio::test]
async fn a_message_over_max_payload_in_fragments_is_refused() {
    let backend = Backend::echo().await;
    let gateway = Gateway::engine_io(&backend.url(), "max_payload = 1000").await;
    let (mut ws, _) = ws_handshake(&gateway.ws_url("/engine.io/")).await;
    send_raw(&mut ws, &[b'4'; 600], Data::Text, false).await;
    send_raw(&mut ws, &[b'a'; 600], Data::Continue, true).await;
    assert_eq!(close_code(&mut ws).await, Some(CloseCode::Size));
    eio::eventually("session forgotten", || gateway.sessions() == 0).await;
    assert!(backend.hooks_of("message").is_empty());
}

#[tokio::test]
async fn frames_sent_with_the_upgrade_request_are_read() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let backend = Backend::echo().await;
    let gateway = Gateway::engine_io(&backend.url(), "").await;
    let mut stream = tokio::net::TcpStream::connect(gateway.address)
        .await
        .expect("connects");
    let mut bytes = b"GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        .to_vec();
    // A masked text frame "4early", in the same write as the request.
    let mask = [1u8, 2, 3, 4];
    bytes.extend([0x81, 0x80 | 6]);
    bytes.extend(mask);
    bytes.extend(
        b"4early"
            .iter()
            .zip(mask.iter().cycle())
            .map(|(b, m)| b ^ m),
    );
    stream.write_all(&bytes).await.expect("sent");
    let mut received = Vec::new();
    let found = tokio::time::timeout(Duration::from_secs(5), async {
        let mut chunk = [0u8; 1024];
        loop {
            let n = stream.read(&mut chunk).await.expect("read");
            assert!(n > 0, "closed: {:?}", String::from_utf8_lossy(&received));
            received.extend_from_slice(&chunk[..n]);
            if received.windows(6).any(|w| w == b"4early") {
                return;
            }
        }
    })
    .await;
    let text = String::from_utf8_lossy(&received);
    assert!(found.is_ok(), "no echo; got {text:?}");
    assert!(text.starts_with("HTTP/1.1 101"), "{text:?}");
}
