//! The multi-node harness itself, checked on what works without `[cluster]`: a real Redis that stops and restarts
//! on its port (and takes the Node ecosystem's Redis emitter), and three independent iogate processes behind
//! round-robin nginx with WebSocket-only socket.io-client 4.x members (which need no sticky sessions): each lands
//! on another node, each node's push API reaches its own, and a node killed with SIGKILL sends its clients through
//! nginx to the others while the rest stay connected. Needs redis-server, nginx and `npm ci --prefix
//! tests/clients`; without them these tests fail, they never skip.

use crate::common;
use common::cluster::Cluster;
use common::member::{Client, Member};
use common::redis::Redis;
use serde_json::json;
use std::collections::BTreeSet;
use std::time::Duration;

/// How long a member may take to connect (a Node process starting on a busy machine).
const CONNECT_LIMIT: Duration = Duration::from_secs(10);

/// How long a push may take to reach a client.
const DELIVERY_LIMIT: Duration = Duration::from_secs(3);

#[tokio::test]
async fn redis_answers_stops_and_restarts_on_the_same_port() {
    let mut redis = Redis::start();
    assert!(redis.answers_ping(), "PONG after start");
    let url = redis.url();

    let command =
        json!({"redis": url, "op": "emit", "to": ["lobby"], "event": "news", "args": [1]});
    assert_eq!(
        common::cluster::redis_emitter(&command).await,
        json!({"op": "emit", "published": [{"channel": "socket.io#/#lobby#", "receivers": 0}]}),
        "the emitter published to the room's channel"
    );

    redis.stop();
    assert!(!redis.answers_ping(), "no answer while stopped");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", redis.port())).is_err(),
        "the port refuses connections while stopped"
    );
    redis.restart();
    assert_eq!(redis.url(), url, "the same port after a restart");
    assert!(redis.answers_ping(), "PONG after restart");
}

#[tokio::test]
async fn independent_nodes_behind_round_robin_nginx() {
    let mut cluster = Cluster::independent(3).await;
    let url = cluster.client_url();
    let mut members: Vec<Member> = ["ada", "bob", "cy"]
        .into_iter()
        .map(|name| Member::start(Client::Socketio4, &url, "websocket", name, "lobby"))
        .collect();
    for member in &mut members {
        member.ready(1, CONNECT_LIMIT).await;
    }

    // Round-robin: each WebSocket (a new session each) went to another node, which sent its connect hook.
    let mut homes = Vec::new();
    for member in &members {
        homes.push(cluster.home_of(&member.sid()).await);
    }
    let distinct: BTreeSet<usize> = homes.iter().copied().collect();
    assert_eq!(distinct.len(), 3, "one member per node: {homes:?}");

    // Each node's push API reaches the member it holds.
    for (member, &home) in members.iter_mut().zip(&homes) {
        let room = format!("user:{}", member.name);
        let body = json!({"to": {"rooms": [room]}, "event": "news", "args": [member.name]});
        let count = cluster.nodes.api(home).emit(&body.to_string()).await;
        assert_eq!(count, 1, "node {home} holds {}", member.name);
        let news = member.wait_events("news", 1, DELIVERY_LIMIT).await;
        assert_eq!(news, [json!([member.name])]);
    }

    // SIGKILL one node: its member reconnects through nginx to another; the others stay connected.
    let victim = homes[0];
    cluster.nodes.kill9(victim);
    members[0].ready(2, Duration::from_secs(5)).await;
    assert_eq!(members[0].disconnects().len(), 1, "one drop");
    let reconnect = cluster
        .backend
        .wait_for("connect", Some(&members[0].sid()), 1)
        .await;
    let new_home = cluster.nodes.sender_of(&reconnect[0]);
    assert!(
        new_home.is_some() && new_home != Some(victim),
        "reconnected through another node: {new_home:?}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    for member in &mut members[1..] {
        member.drain().await;
        assert!(
            member.disconnects().is_empty(),
            "{} was disturbed: {:?}",
            member.name,
            member.disconnects()
        );
    }

    for member in members {
        let name = member.name.clone();
        let result = member.finish().await;
        let expected = if name == "ada" { 1 } else { 0 };
        assert_eq!(result["disconnects"], expected, "{name}: {result}");
    }
}
