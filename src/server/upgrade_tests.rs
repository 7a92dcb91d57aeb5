//! The WebSocket upgrade reaches the raw TCP stream: the listener hands upgrades to hyper as a `Rewind<TcpStream>`
//! and the WebSocket takes the stream back (`engineio::ws_link`). Were the type handed to hyper to change, the
//! WebSocket would silently run over boxed IO, costing every idle session more; this test says so instead.

use crate::config::parse_str;
use futures_util::StreamExt;
use std::time::Duration;

#[tokio::test]
async fn a_websocket_upgrade_gets_the_tcp_stream_back() {
    let text = "[[endpoint]]\npath = \"/engine.io\"\nprotocol = \"engine.io\"\nwebhook = \"http://127.0.0.1:9/\"\nhooks = { connect = false, disconnect = false }\n";
    let mut config = parse_str("upgrade.toml", text, &|_| None)
        .unwrap_or_else(|error| panic!("a test config: {error}"));
    config.server.listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let running = crate::gateway::start(&config)
        .await
        .unwrap_or_else(|error| panic!("the gateway starts: {error}"));
    let url = format!(
        "ws://{}/engine.io/?EIO=4&transport=websocket",
        running.address
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .unwrap_or_else(|error| panic!("the WebSocket opens: {error}"));
    let open = tokio::time::timeout(Duration::from_secs(5), ws.next()).await;
    assert!(
        matches!(&open, Ok(Some(Ok(frame))) if frame.to_string().starts_with("0{")),
        "the open packet over the WebSocket: {open:?}"
    );
    assert_eq!(
        crate::engineio::boxed_links(),
        0,
        "a WebSocket ran over boxed IO instead of its TCP stream"
    );
    running.shutdown(Duration::from_secs(1)).await;
}
