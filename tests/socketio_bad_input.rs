//! Invalid Socket.IO input on a socket.io endpoint: every malformed or out-of-sequence packet closes that client's
//! connection (its sockets get a disconnect hook, nothing of the bad packet is relayed) while another client of
//! the same endpoint keeps working.

use crate::common;
use common::eio::{self, get};
use common::sio::{self, SioPolling, SioWs};
use common::{Backend, Gateway, Hook, Reply};
use std::time::Duration;

const CUSTOM: &str = "namespaces = [\"/\", \"/custom\"]";

/// How long a closing connection may take.
const CLOSE_LIMIT: Duration = Duration::from_secs(2);

/// Acks every event with `["ok"]`, accepts everything else.
fn ok_backend(hook: &Hook) -> Reply {
    match hook.event.as_str() {
        "event" => Reply::ok(r#"{"ack":["ok"]}"#),
        _ => Reply::ok(""),
    }
}

/// A gateway with two clients: the victim (connected to `/` and `/custom`) and a bystander (connected to `/`).
struct Pair {
    backend: Backend,
    gateway: Gateway,
    victim: SioWs,
    victim_sids: Vec<String>,
    bystander: SioWs,
    bystander_calls: u64,
}

impl Pair {
    async fn start() -> Self {
        let backend = Backend::start(ok_backend).await;
        let gateway = sio::gateway(&backend.url(), CUSTOM).await;
        let (mut victim, main) = SioWs::connected(&gateway, "/", None).await;
        let custom = victim.connect("/custom", None).await;
        let (bystander, _) = SioWs::connected(&gateway, "/", None).await;
        Self {
            backend,
            gateway,
            victim,
            victim_sids: vec![main, custom],
            bystander,
            bystander_calls: 0,
        }
    }

    /// The victim's connection ends without an answer, each of its sockets gets a disconnect hook with `reason`,
    /// none of its packets was relayed, and the bystander still gets its acks.
    async fn assert_only_the_victim_closed(&mut self, reason: &str, what: &str) {
        let before = self.victim.closed_within(CLOSE_LIMIT).await;
        assert!(
            before.is_empty(),
            "{what}: answered before closing: {before:?}"
        );
        for sid in &self.victim_sids {
            let hook = &self.backend.wait_for("disconnect", Some(sid), 1).await[0];
            assert_eq!(hook.body["reason"], reason, "{what}");
        }
        let relayed: Vec<Hook> = self
            .backend
            .hooks_of("event")
            .into_iter()
            .filter(|h| {
                self.victim_sids
                    .iter()
                    .any(|sid| h.body["sid"] == sid.as_str())
            })
            .collect();
        assert!(relayed.is_empty(), "{what}: relayed {relayed:?}");
        self.assert_bystander_works(what).await;
        assert_eq!(
            self.gateway.sessions(),
            1,
            "{what}: only the bystander is left"
        );
    }

    async fn assert_bystander_works(&mut self, what: &str) {
        self.bystander_calls += 1;
        let id = self.bystander_calls;
        assert_eq!(
            self.bystander
                .call(&format!(r#"42{id}["still-there"]"#))
                .await,
            format!(r#"43{id}["ok"]"#),
            "{what}: the bystander"
        );
    }
}

#[tokio::test]
async fn malformed_packets_close_only_that_client_as_parse_error() {
    let cases = [
        ("4abc", "unknown packet type"),
        ("4", "empty packet"),
        ("47[\"x\"]", "type 7"),
        ("42{}", "event payload not an array"),
        ("42[]", "event without a name"),
        ("42[{}]", "object as event name"),
        ("42[null,1]", "null as event name"),
        ("42[true]", "boolean as event name"),
        (
            r#"42abc["message-with-ack",1,"2",{"3":[false]}]"#,
            "non-numeric ack id",
        ),
        (r#"4299999999999999999999["x"]"#, "ack id too large"),
        (r#"42["x""#, "truncated JSON"),
        (r#"42["x"]]"#, "trailing bytes"),
        (r#"421["x"]garbage"#, "garbage after the payload"),
        (r#"42"x""#, "string payload"),
        (r#"42["connect"]"#, "reserved name connect"),
        (r#"42["connect_error",1]"#, "reserved name connect_error"),
        (r#"42["disconnect"]"#, "reserved name disconnect"),
        (r#"42["disconnecting"]"#, "reserved name disconnecting"),
        (r#"42["newListener"]"#, "reserved name newListener"),
        (r#"42["removeListener"]"#, "reserved name removeListener"),
        ("43[1]", "ack without an id"),
        ("431{}", "ack payload not an array"),
        ("41{}", "disconnect with a payload"),
        ("40[]", "connect payload an array"),
        (r#"40/custom,"x""#, "connect payload a string"),
        (r#"44{"message":"x"}"#, "CONNECT_ERROR from a client"),
        (r#"511-["x"]"#, "eleven attachments"),
        (r#"4511-["x"]"#, "eleven attachments, binary event"),
        (r#"45-["x"]"#, "attachment count missing"),
        (r#"45x-["x"]"#, "attachment count not a number"),
        (r#"451["x"]"#, "attachment dash missing"),
        ("460-[1]", "binary ack without an id"),
    ];
    for (bad, what) in cases {
        let mut pair = Pair::start().await;
        pair.victim.send(bad).await;
        pair.assert_only_the_victim_closed("parse error", what)
            .await;
    }
}

#[tokio::test]
async fn packets_for_a_namespace_not_connected_close_as_forced_close() {
    let cases = [
        (
            r#"42/nope,["x"]"#,
            "event for a namespace the endpoint does not serve",
        ),
        (r#"42/custom,1["x"]"#, "event for a namespace left before"),
        ("41/custom,", "disconnect of a namespace left before"),
        ("43/custom,1[]", "ack for a namespace left before"),
    ];
    for (bad, what) in cases {
        let mut pair = Pair::start().await;
        // The victim leaves /custom first: only `/` remains connected.
        pair.victim.send("41/custom,").await;
        let custom = pair.victim_sids.pop().expect("custom sid");
        let hook = &pair.backend.wait_for("disconnect", Some(&custom), 1).await[0];
        assert_eq!(hook.body["reason"], "client namespace disconnect");
        pair.victim.send(bad).await;
        pair.assert_only_the_victim_closed("forced close", what)
            .await;
    }
}

#[tokio::test]
async fn a_second_connect_to_a_connected_namespace_closes() {
    for bad in ["40", "40/custom,", r#"40/custom,{"again":true}"#] {
        let mut pair = Pair::start().await;
        pair.victim.send(bad).await;
        pair.assert_only_the_victim_closed("forced close", bad)
            .await;
        assert_eq!(
            pair.backend.hooks_of("connect").len(),
            3,
            "{bad}: the second CONNECT is not relayed"
        );
    }
}

#[tokio::test]
async fn a_second_connect_while_the_first_is_decided_closes() {
    let backend = Backend::start(|hook: &Hook| match hook.event.as_str() {
        "connect" if hook.body["auth"]["slow"] == true => {
            Reply::ok("").after(Duration::from_millis(300))
        }
        _ => ok_backend(hook),
    })
    .await;
    let gateway = sio::gateway(&backend.url(), CUSTOM).await;
    let (mut bystander, _) = SioWs::connected(&gateway, "/", None).await;
    let mut victim = SioWs::open(&gateway).await;
    victim.send(r#"40{"slow":true}"#).await;
    victim.send(r#"40{"slow":true}"#).await;
    let before = victim.closed_within(CLOSE_LIMIT).await;
    assert!(before.is_empty(), "answered before closing: {before:?}");
    // The backend accepted the first CONNECT meanwhile: that socket is reported gone.
    let connect = backend
        .wait_for("connect", None, 2)
        .await
        .into_iter()
        .find(|h| h.body["auth"]["slow"] == true)
        .expect("the first CONNECT reached the backend");
    let sid = connect.body["sid"].as_str().expect("sid").to_string();
    let hook = &backend.wait_for("disconnect", Some(&sid), 1).await[0];
    assert_eq!(hook.body["reason"], "forced close");
    assert_eq!(bystander.call(r#"421["x"]"#).await, r#"431["ok"]"#);
}

#[tokio::test]
async fn binary_attachments_out_of_sequence_close_as_parse_error() {
    // A binary frame with no binary packet announced.
    let mut pair = Pair::start().await;
    pair.victim.send_binary(&[1, 2, 3]).await;
    pair.assert_only_the_victim_closed("parse error", "stray binary frame")
        .await;

    // A text packet while attachments are still expected.
    let mut pair = Pair::start().await;
    pair.victim
        .send(r#"452-["up",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#)
        .await;
    pair.victim.send_binary(&[1]).await;
    pair.victim.send(r#"42["x"]"#).await;
    pair.assert_only_the_victim_closed("parse error", "text between attachments")
        .await;

    // A placeholder pointing past the attachments sent.
    let mut pair = Pair::start().await;
    pair.victim
        .send(r#"451-["up",{"_placeholder":true,"num":1}]"#)
        .await;
    pair.victim.send_binary(&[1]).await;
    pair.assert_only_the_victim_closed("parse error", "placeholder out of range")
        .await;

    // A binary frame after the announced attachments were all received.
    let mut pair = Pair::start().await;
    pair.victim
        .send(r#"451-["up",{"_placeholder":true,"num":0}]"#)
        .await;
    pair.victim.send_binary(&[1]).await;
    let sid = pair.victim_sids[0].clone();
    pair.backend.wait_for("event", Some(&sid), 1).await;
    pair.victim.send_binary(&[2]).await;
    let before = pair.victim.closed_within(CLOSE_LIMIT).await;
    assert!(before.is_empty(), "answered before closing: {before:?}");
    let hook = &pair.backend.wait_for("disconnect", Some(&sid), 1).await[0];
    assert_eq!(hook.body["reason"], "parse error");
    pair.assert_bystander_works("one attachment too many").await;
}

#[tokio::test]
async fn garbage_before_any_connect_closes_without_a_hook() {
    let backend = Backend::start(ok_backend).await;
    let gateway = sio::gateway(&backend.url(), "").await;
    let (mut bystander, _) = SioWs::connected(&gateway, "/", None).await;
    for bad in ["4abc", r#"42["x"]"#, "41"] {
        let mut victim = SioWs::open(&gateway).await;
        victim.send(bad).await;
        let before = victim.closed_within(CLOSE_LIMIT).await;
        assert!(before.is_empty(), "{bad}: answered {before:?}");
    }
    assert_eq!(bystander.call(r#"421["x"]"#).await, r#"431["ok"]"#);
    assert_eq!(backend.hooks_of("connect").len(), 1);
    assert!(backend.hooks_of("disconnect").is_empty());
    eio::eventually("only the bystander's session left", || {
        gateway.sessions() == 1
    })
    .await;
}

#[tokio::test]
async fn a_bad_packet_over_polling_ends_the_session() {
    let backend = Backend::start(ok_backend).await;
    let gateway = sio::gateway(&backend.url(), "").await;
    let (mut bystander, _) = SioWs::connected(&gateway, "/", None).await;
    let victim = SioPolling::open(&gateway).await;
    let sid = victim.connect("/", None).await;
    // The payload's good packet before the bad one is relayed; nothing after it is.
    victim
        .send(&[r#"421["good",1]"#, "42{}", r#"422["after",2]"#])
        .await;
    let hook = &backend.wait_for("disconnect", Some(&sid), 1).await[0];
    assert_eq!(hook.body["reason"], "parse error");
    let events: Vec<String> = backend
        .hooks_of("event")
        .iter()
        .filter(|h| h.body["sid"] == sid.as_str())
        .map(|h| h.body["args"].to_string())
        .collect();
    assert_eq!(events, ["[1]"], "only the packet before the bad one");
    let answer = get(&victim.url()).await;
    assert_eq!(answer.status, 400, "the session is gone: {}", answer.text);
    assert_eq!(answer.json()["code"], 1);
    assert_eq!(bystander.call(r#"421["x"]"#).await, r#"431["ok"]"#);
}

#[tokio::test]
async fn tolerated_packets_do_not_close() {
    let backend = Backend::start(ok_backend).await;
    let gateway = sio::gateway(&backend.url(), "").await;
    let (mut client, sid) = SioWs::connected(&gateway, "/", None).await;
    // An ack for a server emit that never asked for one is ignored.
    client.send("437[1]").await;
    client.send("460-9[]").await;
    // A binary event announcing no attachment is an ordinary event; numbers are event names.
    client.send(r#"450-["zero"]"#).await;
    client.send("42[7]").await;
    // Whitespace around JSON is JSON.
    client.send(r#"42 ["spaced"] "#).await;
    assert_eq!(client.call(r#"421["x"]"#).await, r#"431["ok"]"#);
    let hooks = backend.wait_for("event", Some(&sid), 4).await;
    let names: Vec<String> = hooks.iter().map(|h| sio::raw_field(h, "event")).collect();
    assert_eq!(names, [r#""zero""#, "7", r#""spaced""#, r#""x""#]);
    assert!(backend.hooks_of("disconnect").is_empty());
}
