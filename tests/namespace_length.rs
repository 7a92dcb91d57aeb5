//! `max_namespace_length`: a CONNECT to a namespace name longer than the bound (v5 `40/nsp,`, v4 `40/nsp?query,`,
//! Socket.IO 0.9 `1::/ep`) is refused with "Invalid namespace" before any matching or webhook, counted as
//! `namespace_too_long`, and the refusal is addressed to the name cut to the bound: never echoed back whole (the
//! reference server would echo any length). The client's session stays open and other clients keep working.

use crate::common;
use common::api::{self, Api};
use common::eio;
use common::sio::{self, SioWs};
use common::sio09::Sio09Client;
use common::{Backend, Gateway};

const SIO: &str = "/socket.io";

/// Namespaces a glob would match whatever their length: the bound applies before matching.
const GLOB: &str = "namespaces = [\"/\", \"/*\"]";

async fn start() -> (Backend, Gateway, Api) {
    let backend = Backend::start(sio::reference_app).await;
    let gateway = api::gateway_with(&format!(
        "[[endpoint]]\npath = \"{SIO}\"\nwebhook = \"{}\"\n{GLOB}\n",
        backend.url()
    ))
    .await;
    let api = Api::of(&gateway);
    (backend, gateway, api)
}

async fn refused(api: &Api) -> f64 {
    api.metrics()
        .await
        .value("iogate_refused_total", &[("reason", "namespace_too_long")])
}

/// `/` followed by `fill` up to `length` bytes.
fn name(fill: char, length: usize) -> String {
    format!("/{}", fill.to_string().repeat(length - 1))
}

/// Opens a session connected to `/`, past the `auth` event the reference app sends on connect.
async fn connected(gateway: &Gateway) -> (SioWs, String) {
    let (mut client, sid) = SioWs::connected(gateway, "/", None).await;
    assert_eq!(client.recv_text().await, r#"42["auth",{}]"#);
    (client, sid)
}

async fn assert_bystander_works(bystander: &mut SioWs) {
    bystander.send(r#"42["message","still here"]"#).await;
    assert_eq!(
        bystander.recv_text().await,
        r#"42["message-back","still here"]"#
    );
}

#[tokio::test]
async fn a_v5_connect_to_a_huge_namespace_is_refused_without_echo() {
    let (backend, gateway, api) = start().await;
    let (mut bystander, _) = connected(&gateway).await;
    let mut client = SioWs::open(&gateway).await;
    client.send(&format!("40{},{{}}", name('b', 900_000))).await;
    assert_eq!(
        client.recv_text().await,
        format!(r#"44{},{{"message":"Invalid namespace"}}"#, name('b', 256))
    );
    // One byte over the bound is refused too; at the bound the backend decides.
    client.send(&format!("40{},", name('c', 257))).await;
    assert_eq!(
        client.recv_text().await,
        format!(r#"44{},{{"message":"Invalid namespace"}}"#, name('c', 256))
    );
    let at_bound = name('d', 256);
    client.connect(&at_bound, None).await;
    assert_eq!(refused(&api).await, 2.0);
    let connects: Vec<String> = backend
        .hooks_of("connect")
        .iter()
        .map(|hook| hook.body["namespace"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(
        connects,
        ["/", at_bound.as_str()],
        "no hook for the long names"
    );
    assert_bystander_works(&mut bystander).await;
}

/// The name is cut at a character boundary: a multi-byte character straddling the bound is left out.
#[tokio::test]
async fn the_refusal_names_the_cut_at_a_character_boundary() {
    let (_backend, gateway, _api) = start().await;
    let mut client = SioWs::open(&gateway).await;
    // `/` then 127 two-byte characters end at byte 255; the 128th would straddle the bound.
    let long = format!("/{}", "é".repeat(300));
    client.send(&format!("40{long},")).await;
    assert_eq!(
        client.recv_text().await,
        format!(
            r#"44/{},{{"message":"Invalid namespace"}}"#,
            "é".repeat(127)
        )
    );
}

/// The v3 payload `<length>:<packet>` (ASCII packets: the length counts characters).
fn v3_payload(packet: &str) -> String {
    format!("{}:{packet}", packet.len())
}

/// The packets of a v3 text payload (ASCII packets).
fn v3_packets(mut payload: &str) -> Vec<String> {
    let mut packets = Vec::new();
    while let Some((length, rest)) = payload.split_once(':') {
        let length: usize = length.parse().expect("v3 length prefix");
        packets.push(rest[..length].to_string());
        payload = &rest[length..];
    }
    packets
}

/// A v4 client (Engine.IO v3) sending 20 CONNECTs to a 900 KB name: every refusal is short, none is relayed.
#[tokio::test]
async fn a_v4_connect_to_a_huge_namespace_is_refused_without_echo() {
    let (backend, gateway, api) = start().await;
    let (mut bystander, _) = connected(&gateway).await;
    let base = gateway.url(&format!("{SIO}/?EIO=3&transport=polling&b64=1"));
    let open = eio::get(&base).await;
    let sid = v3_packets(&open.text)[0]
        .strip_prefix('0')
        .and_then(|json| serde_json::from_str::<serde_json::Value>(json).ok())
        .and_then(|open| open["sid"].as_str().map(str::to_string))
        .expect("open packet");
    let url = format!("{base}&sid={sid}");
    let huge = format!("40{}?token=x,", name('a', 900_000));
    let expected = format!(r#"44{},"Invalid namespace""#, name('a', 256));
    for round in 0..20 {
        assert_eq!(eio::post(&url, v3_payload(&huge)).await.text, "ok");
        let refusal = loop {
            let answer = eio::get(&url).await;
            assert_eq!(answer.status, 200, "round {round}: {}", answer.text);
            assert!(answer.text.len() < 1000, "round {round}: a long answer");
            if let Some(refusal) = v3_packets(&answer.text)
                .into_iter()
                .find(|p| p.starts_with("44"))
            {
                break refusal;
            }
        };
        assert_eq!(refusal, expected, "round {round}");
    }
    assert_eq!(refused(&api).await, 20.0);
    assert_eq!(backend.hooks_of("connect").len(), 2, "`/` of each client");
    let metrics = api.metrics().await;
    assert!(
        metrics.value("iogate_buffered_bytes", &[("endpoint", SIO)]) < 1000.0,
        "nothing big is queued"
    );
    assert_bystander_works(&mut bystander).await;
}

#[tokio::test]
async fn a_socketio09_connect_to_a_huge_endpoint_is_refused_without_echo() {
    let (backend, gateway, api) = start().await;
    let client = Sio09Client::connect(&gateway, "socket.io", "").await;
    assert_eq!(client.next().await, "1::");
    client.send(&[&format!("1::{}", name('e', 100_000))]).await;
    // The backend's `auth` event for `/` may come first.
    let refusal = loop {
        let message = client.next().await;
        if !message.starts_with("5:") {
            break message;
        }
    };
    assert_eq!(refusal, format!("7::{}:2", name('e', 256)));
    assert_eq!(refused(&api).await, 1.0);
    assert_eq!(backend.hooks_of("connect").len(), 1, "only `/`");
}
