//! Rooms and broadcasts on a socket.io endpoint, with raw WebSocket clients against a running gateway and a real
//! webhook backend: `broadcast` replies with rooms, except and self, broadcasts to the whole namespace, binary
//! broadcasts, rooms joined and left through replies, and isolation between namespaces.
//!
//! How "got nothing" is checked without sleeping: after a broadcast, each client makes a `sync` call that the
//! backend acks. A socket's hooks are handled one after another, so once the sender has its own sync ack, every
//! packet of its broadcast is queued; a packet that a client receives before its own later sync ack is therefore
//! everything the broadcast sent it.

use crate::common;
use common::sio::{self, Received, SioWs};
use common::{Backend, Gateway, Hook, Reply};
use serde_json::{Value, json};

/// Joins the rooms named in the auth payload; `bcast [spec]` broadcasts `spec`; `join [room]` / `leave [room]`;
/// `sync` is acked with no arguments.
fn rooms_backend(hook: &Hook) -> Reply {
    let body = &hook.body;
    match hook.event.as_str() {
        "connect" => Reply::json(json!({ "join": body["auth"]["rooms"].clone() })),
        "event" => {
            let arg = body["args"][0].clone();
            match body["event"].as_str().unwrap_or("") {
                "bcast" => Reply::json(json!({ "broadcast": [arg] })),
                "join" => Reply::json(json!({ "join": [arg] })),
                "leave" => Reply::json(json!({ "leave": [arg] })),
                "sync" => Reply::ok(r#"{"ack":[]}"#),
                _ => Reply::ok(""),
            }
        }
        _ => Reply::ok(""),
    }
}

/// Three clients on `/` (A in r1, B in r1 and r2, C in r2), D on `/other` in r1 and r2, and B's session also
/// connected to `/other` in r1.
struct Rooms {
    _backend: Backend,
    gateway: Gateway,
    a: SioWs,
    b: SioWs,
    c: SioWs,
    d: SioWs,
    sid_a: String,
    sid_b: String,
    sid_c: String,
    next_id: u64,
}

impl Rooms {
    async fn start() -> Self {
        let backend = Backend::start(rooms_backend).await;
        let gateway = sio::gateway(&backend.url(), "namespaces = [\"/\", \"/other\"]").await;
        let (a, sid_a) = SioWs::connected(&gateway, "/", Some(r#"{"rooms":["r1"]}"#)).await;
        let (mut b, sid_b) =
            SioWs::connected(&gateway, "/", Some(r#"{"rooms":["r1","r2"]}"#)).await;
        b.connect("/other", Some(r#"{"rooms":["r1"]}"#)).await;
        let (c, sid_c) = SioWs::connected(&gateway, "/", Some(r#"{"rooms":["r2"]}"#)).await;
        let (d, _) = SioWs::connected(&gateway, "/other", Some(r#"{"rooms":["r1","r2"]}"#)).await;
        Self {
            _backend: backend,
            gateway,
            a,
            b,
            c,
            d,
            sid_a,
            sid_b,
            sid_c,
            next_id: 1,
        }
    }

    /// `client` asks the backend to broadcast `spec` in `namespace`.
    async fn broadcast(client: &mut SioWs, namespace: &str, spec: Value) {
        client
            .send(&format!(r#"42{}["bcast",{spec}]"#, prefix(namespace)))
            .await;
    }

    /// What each of A, B, C (on `/`), D and B (on `/other`) received before a sync call, in that order.
    /// The first client to sync must be the broadcast's sender.
    async fn received(&mut self, sender: char) -> [Vec<Received>; 5] {
        let mut id = self.next_id;
        let mut next = || {
            id += 1;
            id
        };
        let order: Vec<char> = std::iter::once(sender)
            .chain("abc".chars().filter(|c| *c != sender))
            .collect();
        let mut seen: [Vec<Received>; 5] = Default::default();
        for who in order {
            let (client, slot) = match who {
                'a' => (&mut self.a, 0),
                'b' => (&mut self.b, 1),
                _ => (&mut self.c, 2),
            };
            seen[slot] = before_sync(client, "/", next()).await;
        }
        seen[3] = before_sync(&mut self.d, "/other", next()).await;
        seen[4] = before_sync(&mut self.b, "/other", next()).await;
        self.next_id = next();
        seen
    }
}

/// `/nsp,` for a custom namespace, nothing for `/`.
fn prefix(namespace: &str) -> String {
    if namespace == "/" {
        String::new()
    } else {
        format!("{namespace},")
    }
}

/// Makes a `sync` call in `namespace` and returns what arrived before its ack.
async fn before_sync(client: &mut SioWs, namespace: &str, id: u64) -> Vec<Received> {
    let prefix = prefix(namespace);
    client.send(&format!(r#"42{prefix}{id}["sync"]"#)).await;
    let ack = format!("43{prefix}{id}[]");
    let mut before = Vec::new();
    loop {
        match client.recv().await {
            Received::Text(text) if text == ack => return before,
            other => before.push(other),
        }
    }
}

fn text(packet: &str) -> Vec<Received> {
    vec![Received::Text(packet.to_string())]
}

const NOTHING: Vec<Received> = Vec::new();

#[tokio::test]
async fn broadcast_to_a_room_reaches_its_members_but_not_the_sender() {
    let mut rooms = Rooms::start().await;
    Rooms::broadcast(
        &mut rooms.a,
        "/",
        json!({"rooms": ["r1"], "event": "news", "args": [1, {"b": 1, "a": 2}]}),
    )
    .await;
    assert_eq!(
        rooms.received('a').await,
        [
            NOTHING,
            text(r#"42["news",1,{"b":1,"a":2}]"#),
            NOTHING,
            NOTHING,
            NOTHING
        ]
    );
}

#[tokio::test]
async fn broadcast_with_no_rooms_reaches_the_whole_namespace_except_the_sender() {
    let mut rooms = Rooms::start().await;
    Rooms::broadcast(&mut rooms.a, "/", json!({"event": "all"})).await;
    assert_eq!(
        rooms.received('a').await,
        [
            NOTHING,
            text(r#"42["all"]"#),
            text(r#"42["all"]"#),
            NOTHING,
            NOTHING
        ]
    );
    // With `self`, the sender too.
    Rooms::broadcast(
        &mut rooms.c,
        "/",
        json!({"event": "all", "self": true, "args": ["x"]}),
    )
    .await;
    let all = text(r#"42["all","x"]"#);
    assert_eq!(
        rooms.received('c').await,
        [all.clone(), all.clone(), all, NOTHING, NOTHING]
    );
}

#[tokio::test]
async fn except_removes_members_of_the_given_rooms() {
    let mut rooms = Rooms::start().await;
    Rooms::broadcast(
        &mut rooms.c,
        "/",
        json!({"rooms": ["r1"], "except": ["r2"], "event": "e"}),
    )
    .await;
    assert_eq!(
        rooms.received('c').await,
        [text(r#"42["e"]"#), NOTHING, NOTHING, NOTHING, NOTHING]
    );
    Rooms::broadcast(
        &mut rooms.c,
        "/",
        json!({"except": ["r1"], "event": "e", "self": true}),
    )
    .await;
    assert_eq!(
        rooms.received('c').await,
        [NOTHING, NOTHING, text(r#"42["e"]"#), NOTHING, NOTHING]
    );
    // Excluding a socket's own room excludes that socket.
    let sid_b = rooms.sid_b.clone();
    Rooms::broadcast(&mut rooms.a, "/", json!({"except": [sid_b], "event": "e"})).await;
    assert_eq!(
        rooms.received('a').await,
        [NOTHING, NOTHING, text(r#"42["e"]"#), NOTHING, NOTHING]
    );
}

#[tokio::test]
async fn self_includes_the_sender_only_when_it_is_targeted() {
    let mut rooms = Rooms::start().await;
    Rooms::broadcast(
        &mut rooms.a,
        "/",
        json!({"rooms": ["r1"], "self": true, "event": "e"}),
    )
    .await;
    let e = text(r#"42["e"]"#);
    assert_eq!(
        rooms.received('a').await,
        [e.clone(), e.clone(), NOTHING, NOTHING, NOTHING]
    );
    // C is not in r1: `self` does not add it.
    Rooms::broadcast(
        &mut rooms.c,
        "/",
        json!({"rooms": ["r1"], "self": true, "event": "e"}),
    )
    .await;
    assert_eq!(
        rooms.received('c').await,
        [e.clone(), e, NOTHING, NOTHING, NOTHING]
    );
}

#[tokio::test]
async fn a_socket_in_several_target_rooms_gets_one_copy_and_socket_ids_are_rooms() {
    let mut rooms = Rooms::start().await;
    Rooms::broadcast(
        &mut rooms.a,
        "/",
        json!({"rooms": ["r1", "r2", "r1", "nobody"], "event": "once"}),
    )
    .await;
    let once = text(r#"42["once"]"#);
    assert_eq!(
        rooms.received('a').await,
        [NOTHING, once.clone(), once, NOTHING, NOTHING]
    );
    let sid_c = rooms.sid_c.clone();
    Rooms::broadcast(&mut rooms.a, "/", json!({"rooms": [sid_c], "event": "dm"})).await;
    assert_eq!(
        rooms.received('a').await,
        [NOTHING, NOTHING, text(r#"42["dm"]"#), NOTHING, NOTHING]
    );
    let sid_a = rooms.sid_a.clone();
    Rooms::broadcast(
        &mut rooms.b,
        "/",
        json!({"rooms": [sid_a, "r2"], "event": "mix"}),
    )
    .await;
    assert_eq!(
        rooms.received('b').await,
        [
            text(r#"42["mix"]"#),
            NOTHING,
            text(r#"42["mix"]"#),
            NOTHING,
            NOTHING
        ]
    );
}

#[tokio::test]
async fn binary_broadcasts_carry_their_attachments() {
    let mut rooms = Rooms::start().await;
    Rooms::broadcast(
        &mut rooms.a,
        "/",
        json!({"rooms": ["r2"], "event": "bin", "args": [{"$binary": "AQID"}, "t"]}),
    )
    .await;
    let expected = vec![
        Received::Text(r#"451-["bin",{"_placeholder":true,"num":0},"t"]"#.to_string()),
        Received::Binary(vec![1, 2, 3]),
    ];
    assert_eq!(
        rooms.received('a').await,
        [NOTHING, expected.clone(), expected, NOTHING, NOTHING]
    );
}

#[tokio::test]
async fn rooms_joined_and_left_through_replies_are_broadcast_targets() {
    let mut rooms = Rooms::start().await;
    rooms.b.send(r#"42["join","r3"]"#).await;
    rooms.b.send(r#"42["leave","r1"]"#).await;
    rooms.received('b').await;
    Rooms::broadcast(&mut rooms.a, "/", json!({"rooms": ["r3"], "event": "e"})).await;
    assert_eq!(
        rooms.received('a').await,
        [NOTHING, text(r#"42["e"]"#), NOTHING, NOTHING, NOTHING]
    );
    Rooms::broadcast(
        &mut rooms.a,
        "/",
        json!({"rooms": ["r1"], "event": "e", "self": true}),
    )
    .await;
    assert_eq!(
        rooms.received('a').await,
        [text(r#"42["e"]"#), NOTHING, NOTHING, NOTHING, NOTHING]
    );
}

#[tokio::test]
async fn disconnected_sockets_leave_their_rooms() {
    let mut rooms = Rooms::start().await;
    // B leaves `/` and comes back as a new socket without the rooms it had.
    rooms.b.send("41").await;
    let again = rooms.b.connect("/", Some(r#"{"rooms":[]}"#)).await;
    assert_ne!(again, rooms.sid_b);
    Rooms::broadcast(&mut rooms.a, "/", json!({"rooms": ["r2"], "event": "e"})).await;
    assert_eq!(
        rooms.received('a').await,
        [NOTHING, NOTHING, text(r#"42["e"]"#), NOTHING, NOTHING]
    );
    // C's session ends: nobody is left in r2 but the broadcast still works for the others.
    let c = std::mem::replace(&mut rooms.c, SioWs::open(&rooms.gateway).await);
    c.close().await;
    rooms.c.connect("/", Some(r#"{"rooms":[]}"#)).await;
    Rooms::broadcast(
        &mut rooms.a,
        "/",
        json!({"rooms": ["r2", "r1"], "event": "e"}),
    )
    .await;
    assert_eq!(
        rooms.received('a').await,
        [NOTHING, NOTHING, NOTHING, NOTHING, NOTHING]
    );
    Rooms::broadcast(&mut rooms.a, "/", json!({"event": "e"})).await;
    let e = text(r#"42["e"]"#);
    assert_eq!(
        rooms.received('a').await,
        [NOTHING, e.clone(), e, NOTHING, NOTHING]
    );
}

#[tokio::test]
async fn namespaces_with_the_same_room_names_stay_apart() {
    let mut rooms = Rooms::start().await;
    Rooms::broadcast(
        &mut rooms.d,
        "/other",
        json!({"rooms": ["r1"], "event": "o"}),
    )
    .await;
    let seen = {
        // D sent it: D syncs first, then the others.
        let d = before_sync(&mut rooms.d, "/other", 900).await;
        let b_other = before_sync(&mut rooms.b, "/other", 901).await;
        let a = before_sync(&mut rooms.a, "/", 902).await;
        let b = before_sync(&mut rooms.b, "/", 903).await;
        let c = before_sync(&mut rooms.c, "/", 904).await;
        [a, b, c, d, b_other]
    };
    assert_eq!(
        seen,
        [
            NOTHING,
            NOTHING,
            NOTHING,
            NOTHING,
            text(r#"42/other,["o"]"#)
        ]
    );
    Rooms::broadcast(&mut rooms.d, "/other", json!({"event": "all"})).await;
    let d = before_sync(&mut rooms.d, "/other", 905).await;
    let b_other = before_sync(&mut rooms.b, "/other", 906).await;
    let a = before_sync(&mut rooms.a, "/", 907).await;
    assert_eq!(
        [d, b_other, a],
        [NOTHING, text(r#"42/other,["all"]"#), NOTHING]
    );
}
