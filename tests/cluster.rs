//! Many iogate nodes as one (CONTRACT.md section 6, `[cluster]`): three node processes sharing one real Redis,
//! behind a real nginx doing plain round-robin (no `ip_hash`, no sticky sessions), with real clients
//! (socket.io-client 4.x over polling, polling upgraded to WebSocket and WebSocket, socket.io-client 2.x,
//! python-socketio 5.x) that stay connected while each test drives the deployment: every request of a polling
//! session lands on another node; broadcasts from webhook replies, push API calls made on one node and the Node
//! ecosystem's `@socket.io/redis-emitter` reach matching sockets on every node exactly once; listings cover every
//! node; a node killed with SIGKILL loses only its own sessions, whose clients reconnect through the others and
//! whose `disconnect` hooks a survivor sends once (and, as documented, a live node's polling session whose request
//! was passing through the dying node); a Redis outage degrades to same-node service and recovers.
//!
//! Node `nK` posts its webhooks to `/hook/nK` ([`common::nodes`]), so a hook tells which node sent it; the node
//! that owns a session sends its `connect` hook. Needs redis-server, nginx, `npm ci --prefix tests/clients` and
//! python-socketio 5 (`.ci/run` installs them); without them these tests fail, they never skip.

use crate::common;
use common::api::Api;
use common::backend::Hook;
use common::cluster::Cluster;
use common::member::{Client, Member};
use common::node_config::{KEY_PREFIX, PEER_TIMEOUT};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// How many nodes every test runs.
const NODES: usize = 3;

/// How long a member may take to connect (a client process starting on a busy machine).
const CONNECT_LIMIT: Duration = Duration::from_secs(10);

/// How long a broadcast or push may take to reach a client on any node.
const DELIVERY_LIMIT: Duration = Duration::from_secs(3);

/// How long a test keeps reading after a delivery before it counts: a duplicate would arrive within this.
const QUIET: Duration = Duration::from_millis(400);

/// How long an emitter's room change may take to show in the listings.
const ROOMS_LIMIT: Duration = Duration::from_secs(3);

/// How long a client of a killed node may take to be connected again through another node.
const RECONNECT_LIMIT: Duration = Duration::from_secs(5);

/// How long the survivors may take to send the `disconnect` hooks of a killed node's sessions (a dead node leaves
/// membership within 10 s, CONTRACT.md section 6).
const DEAD_NODE_HOOKS_LIMIT: Duration = Duration::from_secs(15);

/// The longest a push API call may take while a peer is dead: `[cluster] peer_timeout` and a second.
fn api_call_limit() -> Duration {
    let peer_timeout: u64 = PEER_TIMEOUT
        .strip_suffix('s')
        .and_then(|seconds| seconds.parse().ok())
        .expect("PEER_TIMEOUT is whole seconds");
    Duration::from_secs(peer_timeout + 1)
}

/// One member to start: its client, URL, mode and name.
type Spec = (Client, String, &'static str, String);

/// Starts `spec`'s members, all joining `room`, and waits until each is ready.
async fn members(spec: &[Spec], room: &str) -> Vec<Member> {
    let mut started: Vec<Member> = spec
        .iter()
        .map(|(client, url, mode, name)| Member::start(*client, url, mode, name, room))
        .collect();
    for member in &mut started {
        member.ready(1, CONNECT_LIMIT).await;
    }
    started
}

/// A socket.io-client 4.x member on node `i` itself (not through nginx), so that it surely lives there.
fn on_node(cluster: &Cluster, i: usize, name: &str) -> Spec {
    (
        Client::Socketio4,
        cluster.node_client_url(i),
        "websocket",
        name.to_string(),
    )
}

/// Waits until every member has received `event` with `args`, reads on for [`QUIET`], then asserts that each got
/// it exactly once (`expected` members) and the others (`absent`) not at all.
async fn delivered_once(members: &mut [Member], expected: &[&str], event: &str, args: &Value) {
    for member in members.iter_mut() {
        if expected.contains(&member.name.as_str()) {
            let what = format!("receiving {event} {args}");
            member
                .wait_for(&what, "EVENT", 1, DELIVERY_LIMIT, |line| {
                    line["event"] == event && line["args"] == *args
                })
                .await;
        }
    }
    tokio::time::sleep(QUIET).await;
    for member in members.iter_mut() {
        member.drain().await;
        let got = member
            .events(event)
            .into_iter()
            .filter(|got| got == args)
            .count();
        let want = usize::from(expected.contains(&member.name.as_str()));
        if got != want {
            let message = format!(
                "{} received {event} {args} {got} time(s), expected {want}",
                member.name
            );
            member.fail(&message).await;
        }
    }
}

/// `POST /v1/emit` with `body` on `api`; returns the answer's JSON (checked to be a 200).
async fn api_emit(api: &Api, body: &Value) -> Value {
    let answer = api.post("/v1/emit", &body.to_string()).await;
    assert_eq!(
        answer.status, 200,
        "POST /v1/emit {body} -> {}",
        answer.text
    );
    answer.json()
}

/// Has `broadcaster` (a member) emit `broadcast` so that the backend's webhook reply broadcasts `shout` with `text`
/// to `rooms`; returns the `shout` args every receiver gets.
async fn broadcast_from_webhook(broadcaster: &mut Member, rooms: &[&str], text: &str) -> Value {
    let ack = broadcaster
        .call(
            "broadcast",
            json!([{"rooms": rooms, "text": text}]),
            DELIVERY_LIMIT,
        )
        .await;
    assert_eq!(ack, json!(["sent"]), "the backend's broadcast ack");
    json!([{"from": broadcaster.name, "text": text}])
}

/// Disconnects every member on purpose; returns each one's `RESULT` by name.
async fn finish_all(members: Vec<Member>) -> BTreeMap<String, Value> {
    let mut results = BTreeMap::new();
    for member in members {
        let name = member.name.clone();
        results.insert(name, member.finish().await);
    }
    results
}

/// The `disconnect` hooks of `sid` so far.
fn disconnect_hooks(cluster: &Cluster, sid: &str) -> Vec<Hook> {
    cluster
        .backend
        .hooks_of("disconnect")
        .into_iter()
        .filter(|hook| hook.body["sid"] == sid)
        .collect()
}

/// Asserts one `connect` and one `disconnect` hook (with `reason`) for each of `sids`, after waiting for the
/// disconnects and a [`QUIET`] moment for duplicates.
async fn one_connect_and_one_disconnect_each(cluster: &Cluster, sids: &[String], reason: &str) {
    for sid in sids {
        cluster.backend.wait_for("disconnect", Some(sid), 1).await;
    }
    tokio::time::sleep(QUIET).await;
    for sid in sids {
        let connects = cluster
            .backend
            .hooks_of("connect")
            .into_iter()
            .filter(|hook| hook.body["sid"] == *sid)
            .count();
        assert_eq!(connects, 1, "connect hooks of {sid}");
        let disconnects = disconnect_hooks(cluster, sid);
        assert_eq!(disconnects.len(), 1, "disconnect hooks of {sid}");
        assert_eq!(disconnects[0].body["reason"], reason, "{sid}");
    }
}

/// The sids `GET /v1/sockets` lists on `api`.
async fn listed_sids(api: &Api, query: &str) -> BTreeSet<String> {
    api.sockets(query)
        .await
        .iter()
        .map(|socket| socket["sid"].as_str().expect("a sid").to_string())
        .collect()
}

/// Runs the Node `@socket.io/redis-emitter` with `command` (its Redis URL and key prefix added); returns its RESULT.
async fn redis_emitter(cluster: &mut Cluster, mut command: Value) -> Value {
    command["redis"] = json!(cluster.redis().url());
    command["prefix"] = json!(KEY_PREFIX);
    let result = common::cluster::redis_emitter(&command).await;
    let receivers = result["published"][0]["receivers"].as_u64().unwrap_or(0);
    assert!(
        receivers >= 1,
        "no node subscribes to the emitter's channel: {result}"
    );
    result
}

/// Waits until `GET /v1/rooms` on `api` shows `room` with `count` sockets (0: absent).
async fn wait_room_size(api: &Api, room: &str, count: u64) {
    let deadline = tokio::time::Instant::now() + ROOMS_LIMIT;
    loop {
        let rooms = api.rooms("").await;
        let size = rooms.get(room).copied().unwrap_or(0);
        if size == count {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "room {room} has {size} sockets, not {count}, after {ROOMS_LIMIT:?}: {rooms:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn socketio4_over_polling_and_upgraded_across_round_robin_nodes() {
    let cluster = Cluster::start(NODES).await;
    let url = cluster.client_url();
    let mut clients = members(
        &[
            (Client::Socketio4, url.clone(), "polling", "polly".into()),
            (Client::Socketio4, url.clone(), "upgrade", "upton".into()),
        ],
        "lobby",
    )
    .await;
    // READY came after a join and a round trip with acks over the final transport.
    assert_eq!(
        clients[0].matching("READY", |_| true)[0]["transport"],
        "polling"
    );
    assert_eq!(
        clients[1].matching("READY", |_| true)[0]["transport"],
        "websocket"
    );

    // Round-robin sent the polling session's requests to several nodes.
    let nodes: BTreeSet<String> = cluster
        .nginx
        .upstreams_of("member=polly")
        .into_iter()
        .collect();
    assert!(
        nodes.len() >= 2,
        "the polling session's requests all went to {nodes:?}:\n{}",
        cluster.nginx.access_log()
    );

    let mut broadcaster = members(&[on_node(&cluster, 0, "bea")], "stage").await;
    let shout = broadcast_from_webhook(&mut broadcaster[0], &["lobby"], "hello lobby").await;
    delivered_once(&mut clients, &["polly", "upton"], "shout", &shout).await;

    let sids: Vec<String> = clients.iter().map(Member::sid).collect();
    let results = finish_all(clients).await;
    for (name, result) in &results {
        assert_eq!(
            result["disconnects"], 0,
            "{name} was never dropped: {result}"
        );
        assert_eq!(result["connects"], 1, "{name} connected once: {result}");
    }
    one_connect_and_one_disconnect_each(&cluster, &sids, "client namespace disconnect").await;
    finish_all(broadcaster).await;
}

#[tokio::test]
async fn webhook_broadcasts_and_api_emits_reach_every_node_once() {
    let cluster = Cluster::start(NODES).await;
    let url = cluster.client_url();
    let mut spec: Vec<_> = (0..NODES)
        .map(|i| on_node(&cluster, i, &format!("m{i}")))
        .collect();
    spec.push((Client::Socketio4, url.clone(), "polling", "mp".into()));
    spec.push((Client::Socketio4, url.clone(), "upgrade", "mu".into()));
    let mut clients = members(&spec, "lobby").await;
    for (i, client) in clients.iter().take(NODES).enumerate() {
        assert_eq!(
            cluster.home_of(&client.sid()).await,
            i,
            "{} lives on its node",
            client.name
        );
    }
    let everyone = ["m0", "m1", "m2", "mp", "mu"];

    // A broadcast in a webhook reply, from a socket on node 1.
    let mut broadcaster = members(&[on_node(&cluster, 1, "bo")], "stage").await;
    let shout = broadcast_from_webhook(&mut broadcaster[0], &["lobby"], "to all nodes").await;
    delivered_once(&mut clients, &everyone, "shout", &shout).await;

    // The push API, called on one node only, counts every node's sockets.
    let args = json!(["pushed on n2"]);
    let answer = api_emit(
        &cluster.nodes.api(1),
        &json!({"to": {"rooms": ["lobby"]}, "event": "news", "args": args}),
    )
    .await;
    assert_eq!(
        answer,
        json!({"sockets": clients.len(), "nodes": NODES}),
        "the count covers every node"
    );
    delivered_once(&mut clients, &everyone, "news", &args).await;

    // `except` across nodes.
    let args = json!(["all but m0"]);
    let answer = api_emit(
        &cluster.nodes.api(2),
        &json!({"to": {"rooms": ["lobby"]}, "except": {"rooms": ["user:m0"]}, "event": "news", "args": args}),
    )
    .await;
    assert_eq!(
        answer,
        json!({"sockets": clients.len() - 1, "nodes": NODES})
    );
    delivered_once(&mut clients, &["m1", "m2", "mp", "mu"], "news", &args).await;

    // To one socket id that lives on another node than the API called.
    let last = &clients[NODES - 1];
    let (target, target_name) = (last.sid(), last.name.clone());
    let args = json!(["just one"]);
    let answer = api_emit(
        &cluster.nodes.api(0),
        &json!({"to": {"sockets": [target]}, "event": "news", "args": args}),
    )
    .await;
    assert_eq!(answer, json!({"sockets": 1, "nodes": NODES}));
    delivered_once(&mut clients, &[&target_name], "news", &args).await;

    finish_all(clients).await;
    finish_all(broadcaster).await;
}

#[tokio::test]
async fn listings_on_any_node_cover_every_node() {
    let cluster = Cluster::start(NODES).await;
    let spec: Vec<_> = (0..NODES)
        .map(|i| on_node(&cluster, i, &format!("l{i}")))
        .collect();
    let clients = members(&spec, "lobby").await;
    let sids: BTreeSet<String> = clients.iter().map(Member::sid).collect();

    for i in 0..NODES {
        let api = cluster.nodes.api(i);
        let listing = api.sockets("namespace=/").await;
        let listed: BTreeSet<String> = listing
            .iter()
            .map(|socket| socket["sid"].as_str().expect("a sid").to_string())
            .collect();
        assert_eq!(listed, sids, "GET /v1/sockets on node {i}: {listing:?}");
        for socket in &listing {
            let name = socket["data"]["name"].as_str().expect("data.name");
            let rooms: BTreeSet<&str> = socket["rooms"]
                .as_array()
                .expect("rooms")
                .iter()
                .filter_map(Value::as_str)
                .collect();
            assert!(
                rooms.contains("lobby") && rooms.contains(format!("user:{name}").as_str()),
                "node {i} lists {socket}"
            );
            assert_eq!(socket["namespace"], "/");
        }
        assert_eq!(
            listed_sids(&api, "room=lobby").await,
            sids,
            "GET /v1/sockets?room=lobby on node {i}"
        );
        let rooms = api.rooms("").await;
        assert_eq!(
            rooms.get("lobby"),
            Some(&(NODES as u64)),
            "GET /v1/rooms on node {i}: {rooms:?}"
        );
        for n in 0..NODES {
            assert_eq!(
                rooms.get(&format!("user:l{n}")),
                Some(&1),
                "node {i}: {rooms:?}"
            );
        }
    }
    finish_all(clients).await;
}

#[tokio::test]
async fn python_socketio_and_socketio2_clients_receive_broadcasts_across_nodes() {
    let cluster = Cluster::start(NODES).await;
    let url = cluster.client_url();
    let mut spec = vec![
        (Client::Python, url.clone(), "polling", "py".to_string()),
        (Client::Socketio2, url.clone(), "polling", "old".to_string()),
        (Client::Python, url.clone(), "websocket", "pyws".to_string()),
        (
            Client::Socketio2,
            url.clone(),
            "upgrade",
            "oldup".to_string(),
        ),
    ];
    spec.push(on_node(&cluster, 2, "v4"));
    let mut clients = members(&spec, "mixed").await;
    let everyone = ["py", "old", "pyws", "oldup", "v4"];

    let args = json!(["for every generation", {"n": 1}]);
    let answer = api_emit(
        &cluster.nodes.api(0),
        &json!({"to": {"rooms": ["mixed"]}, "event": "news", "args": args}),
    )
    .await;
    assert_eq!(answer, json!({"sockets": 5, "nodes": NODES}));
    delivered_once(&mut clients, &everyone, "news", &args).await;

    let mut broadcaster = members(&[on_node(&cluster, 1, "bill")], "stage").await;
    let shout = broadcast_from_webhook(&mut broadcaster[0], &["mixed"], "hello, old friends").await;
    delivered_once(&mut clients, &everyone, "shout", &shout).await;

    let results = finish_all(clients).await;
    for (name, result) in &results {
        assert_eq!(
            result["disconnects"], 0,
            "{name} was never dropped: {result}"
        );
    }
    finish_all(broadcaster).await;
}

#[tokio::test]
async fn the_node_redis_emitter_drives_rooms_on_every_node() {
    let mut cluster = Cluster::start(NODES).await;
    let url = cluster.client_url();
    let mut spec: Vec<_> = (0..NODES)
        .map(|i| on_node(&cluster, i, &format!("e{i}")))
        .collect();
    spec.push((Client::Socketio4, url, "polling", "ep".into()));
    let mut clients = members(&spec, "lobby").await;
    let api = cluster.nodes.api(0);

    // emitter.to("lobby").emit(...)
    let args = json!(["from the emitter", 1]);
    let result = redis_emitter(
        &mut cluster,
        json!({"op": "emit", "to": ["lobby"], "event": "news", "args": args}),
    )
    .await;
    assert_eq!(result["published"][0]["channel"], "socket.io#/#lobby#");
    delivered_once(&mut clients, &["e0", "e1", "e2", "ep"], "news", &args).await;

    // emitter.emit(...) to the whole namespace.
    let args = json!(["to everyone"]);
    redis_emitter(
        &mut cluster,
        json!({"op": "emit", "event": "news", "args": args}),
    )
    .await;
    delivered_once(&mut clients, &["e0", "e1", "e2", "ep"], "news", &args).await;

    // emitter.in("lobby").except("user:e1").socketsJoin("vip")
    redis_emitter(
        &mut cluster,
        json!({"op": "socketsJoin", "to": ["lobby"], "except": ["user:e1"], "rooms": ["vip"]}),
    )
    .await;
    wait_room_size(&api, "vip", 3).await;
    let args = json!(["vip only"]);
    redis_emitter(
        &mut cluster,
        json!({"op": "emit", "to": ["vip"], "event": "news", "args": args}),
    )
    .await;
    delivered_once(&mut clients, &["e0", "e2", "ep"], "news", &args).await;

    // emitter.in("user:e2").socketsLeave("vip"), then emitter.to("lobby").except("vip").emit(...)
    redis_emitter(
        &mut cluster,
        json!({"op": "socketsLeave", "to": ["user:e2"], "rooms": ["vip"]}),
    )
    .await;
    wait_room_size(&api, "vip", 2).await;
    let args = json!(["not vip"]);
    redis_emitter(
        &mut cluster,
        json!({"op": "emit", "to": ["lobby"], "except": ["vip"], "event": "news", "args": args}),
    )
    .await;
    delivered_once(&mut clients, &["e1", "e2"], "news", &args).await;

    // emitter.in("user:e0").disconnectSockets(): the client is told so and stays away.
    let e0 = clients[0].sid();
    redis_emitter(
        &mut cluster,
        json!({"op": "disconnectSockets", "to": ["user:e0"]}),
    )
    .await;
    let dropped = clients[0]
        .wait_for(
            "disconnected by the emitter",
            "DISCONNECT",
            1,
            DELIVERY_LIMIT,
            |_| true,
        )
        .await;
    assert_eq!(dropped[0]["reason"], "io server disconnect");
    let hooks = cluster.backend.wait_for("disconnect", Some(&e0), 1).await;
    assert_eq!(hooks[0].body["reason"], "server namespace disconnect");
    for client in &mut clients[1..] {
        assert!(
            client.disconnects().is_empty(),
            "{} was dropped too",
            client.name
        );
    }
    wait_room_size(&api, "lobby", 3).await;
    finish_all(clients).await;
}

/// Checks that `member`, whose session (socket `sid`, made on the surviving node `home`) the kill of node `victim`
/// at `killed_at` left alive, lost it anyway in the one way docs/deploy-cluster.md ("When a node dies") describes:
/// nginx had sent a request of that session through the dying node, which was passing it on to `home`, and the
/// request failed with it. Exactly:
/// - `member` polls (`mode` `polling`, or `upgrade`, whose polls and WebSocket nginx may send to any node, which
///   passes them to the owner). A `websocket` member's one connection is to the node that made its session, a
///   survivor here: nothing may drop it.
/// - It was dropped once, for `transport error` (a request failed) or `transport close` (its WebSocket was cut),
///   and came back with another socket id (the reconnect step waits for that within [`RECONNECT_LIMIT`]).
/// - In nginx's access log, the first request of its old Engine.IO session that did not end in a 200 (an upgraded
///   WebSocket is logged, 101, only when it ends) had been sent to the dead node: a POST, which nginx does not
///   retry (502); a long-poll GET, which nginx retried on another node and got 400 for (the owner ends a session
///   whose poll connection, here the dead node's, closed unanswered, and refuses a retry that comes before it has
///   seen that close as a second poll); or the upgraded WebSocket itself.
/// - Its old session ended on `home` alone: one `disconnect` hook for it, sent by `home` (no survivor reports it
///   as a dead node's).
async fn dropped_by_a_request_through_the_dead_node(
    cluster: &Cluster,
    member: &Member,
    mode: &str,
    sid: &str,
    home: usize,
    victim: usize,
    killed_at: Instant,
) {
    let name = &member.name;
    let disconnects = member.disconnects();
    assert!(
        mode == "polling" || mode == "upgrade",
        "{name} ({mode}) on surviving node {home} was dropped: {disconnects:?}"
    );
    let reasons: Vec<&Value> = disconnects.iter().map(|line| &line["reason"]).collect();
    assert!(
        reasons == [&json!("transport error")] || reasons == [&json!("transport close")],
        "{name} on surviving node {home} was dropped other than by one cut request: {reasons:?}"
    );
    assert_ne!(member.sid(), sid, "{name} came back with a new socket");

    let requests = cluster.nginx.requests_of(&format!("member={name}&"));
    let engine_sid = requests
        .iter()
        .find_map(|request| request.request.split_once("&sid=").map(|(_, rest)| rest))
        .and_then(|rest| rest.split(['&', ' ']).next())
        .unwrap_or_else(|| panic!("no request of {name}'s session in nginx's log"));
    let first_failed = requests
        .iter()
        .filter(|request| request.request.contains(&format!("&sid={engine_sid}")))
        .find(|request| request.status != 200)
        .unwrap_or_else(|| panic!("no request of {name}'s session {engine_sid} failed"));
    let dead_address = cluster.nodes.address(victim).to_string();
    assert!(
        first_failed.upstreams.contains(&dead_address),
        "{name} was dropped, but its first failed request did not go through the dead node {dead_address}: \
         {first_failed:?}\n{}",
        cluster.nginx.access_log()
    );

    let left = DEAD_NODE_HOOKS_LIMIT.saturating_sub(killed_at.elapsed());
    cluster
        .backend
        .wait_for_within("disconnect", Some(sid), 1, left)
        .await;
    let hooks = disconnect_hooks(cluster, sid);
    assert_eq!(hooks.len(), 1, "disconnect hooks of {name}'s old {sid}");
    assert_eq!(
        cluster.nodes.sender_of(&hooks[0]),
        Some(home),
        "{name}'s old {sid} was ended by its owner: {:?}",
        hooks[0].body
    );
    eprintln!("{name} was dropped by its request through the dead node: {first_failed:?}");
}

#[tokio::test]
async fn a_killed_node_loses_only_its_own_sessions() {
    let mut cluster = Cluster::start(NODES).await;
    let url = cluster.client_url();
    let mut spec: Vec<Spec> = (0..6)
        .map(|k| (Client::Socketio4, url.clone(), "websocket", format!("k{k}")))
        .collect();
    spec.push((Client::Socketio4, url.clone(), "polling", "kp".into()));
    spec.push((Client::Socketio4, url.clone(), "upgrade", "ku".into()));
    let mut clients = members(&spec, "lobby").await;
    let mut homes = Vec::new();
    for client in &clients {
        homes.push(cluster.home_of(&client.sid()).await);
    }
    // The node holding most sessions dies; round-robin left some on the others.
    let victim = (0..NODES)
        .max_by_key(|&i| homes.iter().filter(|&&home| home == i).count())
        .expect("nodes");
    let lost: Vec<usize> = (0..clients.len()).filter(|&c| homes[c] == victim).collect();
    let kept: Vec<usize> = (0..clients.len()).filter(|&c| homes[c] != victim).collect();
    assert!(
        !kept.is_empty(),
        "round-robin put every session on one node: {homes:?}"
    );
    let lost_sids: Vec<String> = lost.iter().map(|&c| clients[c].sid()).collect();
    let sids_before: Vec<String> = clients.iter().map(Member::sid).collect();
    let survivors: Vec<usize> = (0..NODES).filter(|&i| i != victim).collect();

    let killed_at = Instant::now();
    cluster.nodes.kill9(victim);

    // Meanwhile no API call on a survivor waits for the dead node longer than the peer timeout (and a second),
    // and the dead node's clients come back through the others, by themselves, within a few seconds.
    let api_calls = async {
        for &i in &survivors {
            let api = cluster.nodes.api(i);
            let started = Instant::now();
            let body = json!({"to": {"rooms": ["nobody"]}, "event": "news", "args": []});
            let answer = api.post("/v1/emit", &body.to_string()).await;
            let took = started.elapsed();
            assert_eq!(
                answer.status, 200,
                "emit on node {i} after the kill: {}",
                answer.text
            );
            assert!(took <= api_call_limit(), "emit on node {i} took {took:?}");
            let started = Instant::now();
            let answer = api.get("/v1/sockets").await;
            let took = started.elapsed();
            assert_eq!(
                answer.status, 200,
                "sockets on node {i} after the kill: {}",
                answer.text
            );
            assert!(
                took <= api_call_limit(),
                "listing on node {i} took {took:?}"
            );
        }
    };
    let reconnects = async {
        for &c in &lost {
            let left = RECONNECT_LIMIT.saturating_sub(killed_at.elapsed());
            clients[c].ready(2, left).await;
        }
        // A kept client the kill dropped all the same (only as `dropped_by_a_request_through_the_dead_node`
        // allows, checked below) is back within the same limit.
        for &c in &kept {
            clients[c].drain().await;
            if !clients[c].disconnects().is_empty() {
                let left = RECONNECT_LIMIT.saturating_sub(killed_at.elapsed());
                clients[c].ready(2, left).await;
            }
        }
    };
    tokio::join!(api_calls, reconnects);
    for &c in &lost {
        let home = cluster.home_of(&clients[c].sid()).await;
        assert_ne!(
            home, victim,
            "{} reconnected to a survivor",
            clients[c].name
        );
    }

    // Exactly one `disconnect` hook ("transport close") for each session the dead node held, sent by a survivor.
    for sid in &lost_sids {
        let left = DEAD_NODE_HOOKS_LIMIT.saturating_sub(killed_at.elapsed());
        let hooks = cluster
            .backend
            .wait_for_within("disconnect", Some(sid), 1, left)
            .await;
        assert_eq!(hooks[0].body["reason"], "transport close", "{sid}");
        let sender = cluster.nodes.sender_of(&hooks[0]);
        assert!(
            sender.is_some_and(|node| node != victim),
            "a survivor sent it, not {sender:?}"
        );
    }
    tokio::time::sleep(QUIET).await;
    for sid in &lost_sids {
        assert_eq!(
            disconnect_hooks(&cluster, sid).len(),
            1,
            "disconnect hooks of {sid}"
        );
    }

    // The others were never disturbed, and no hook ended their sessions; save a polling client that one request
    // through the dead node cost its session, exactly as `dropped_by_a_request_through_the_dead_node` says.
    let mut dropped = Vec::new();
    for &c in &kept {
        clients[c].drain().await;
        let sid = &sids_before[c];
        if clients[c].disconnects().is_empty() {
            assert_eq!(
                clients[c].sid(),
                *sid,
                "{} kept its session",
                clients[c].name
            );
            assert!(
                disconnect_hooks(&cluster, sid).is_empty(),
                "{sid} was reported gone"
            );
        } else {
            let left = RECONNECT_LIMIT.saturating_sub(killed_at.elapsed());
            clients[c].ready(2, left).await;
            let (mode, home) = (spec[c].2, homes[c]);
            dropped_by_a_request_through_the_dead_node(
                &cluster,
                &clients[c],
                mode,
                sid,
                home,
                victim,
                killed_at,
            )
            .await;
            dropped.push(c);
        }
    }

    // Listings and counts now hold exactly the live sockets: the dead node's are gone, their new ones are there.
    let live: BTreeSet<String> = clients.iter().map(Member::sid).collect();
    for &i in &survivors {
        assert_eq!(
            listed_sids(&cluster.nodes.api(i), "").await,
            live,
            "listing on node {i}"
        );
    }
    let args = json!(["after the kill"]);
    let answer = api_emit(
        &cluster.nodes.api(survivors[0]),
        &json!({"to": {"rooms": ["lobby"]}, "event": "news", "args": args}),
    )
    .await;
    assert_eq!(
        answer,
        json!({"sockets": clients.len(), "nodes": survivors.len()}),
        "a full answer from every survivor, no partial"
    );
    let names: Vec<String> = clients.iter().map(|client| client.name.clone()).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    delivered_once(&mut clients, &names, "news", &args).await;

    let results = finish_all(clients).await;
    for (c, name) in names.iter().enumerate() {
        let expected = usize::from(lost.contains(&c) || dropped.contains(&c));
        assert_eq!(
            results[*name]["disconnects"], expected,
            "{name}: {}",
            results[*name]
        );
    }
}

#[tokio::test]
async fn a_redis_outage_degrades_to_each_node_and_recovers() {
    let mut cluster = Cluster::start(NODES).await;
    let spec = [on_node(&cluster, 0, "r0"), on_node(&cluster, 1, "r1")];
    let mut clients = members(&spec, "lobby").await;

    cluster.redis().stop();
    for i in 0..NODES {
        cluster
            .nodes
            .wait_readyz(i, 503, Duration::from_secs(5))
            .await;
    }

    // Same-node traffic goes on: events and their webhooks, acks, pushes to a node's own sockets.
    let ack = clients[0]
        .call("shout", json!(["still here"]), DELIVERY_LIMIT)
        .await;
    assert_eq!(ack, json!(["STILL HERE", 10]));
    let args = json!(["during the outage"]);
    let answer = api_emit(
        &cluster.nodes.api(0),
        &json!({"to": {"rooms": ["user:r0"]}, "event": "news", "args": args}),
    )
    .await;
    assert_eq!(
        answer["sockets"], 1,
        "node 0 reached its own socket: {answer}"
    );
    delivered_once(&mut clients, &["r0"], "news", &args).await;

    cluster.redis().restart();
    for i in 0..NODES {
        cluster
            .nodes
            .wait_readyz(i, 200, Duration::from_secs(10))
            .await;
    }

    // Cross-node again: node 0 lists the other node's socket, a push API call and a webhook broadcast reach it.
    let both: BTreeSet<String> = clients.iter().map(Member::sid).collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        // Every node back on its subscription: node 0's listing is answered by all of them.
        let listing = cluster.nodes.api(0).get_ok("/v1/sockets?room=lobby").await;
        let listed: BTreeSet<String> = listing["sockets"]
            .as_array()
            .unwrap_or_else(|| panic!("no sockets array: {listing}"))
            .iter()
            .map(|socket| socket["sid"].as_str().expect("a sid").to_string())
            .collect();
        if listed == both && listing["nodes"] == json!(NODES) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "node 0 answers {listing} 5 s after Redis came back, not {both:?} from {NODES} nodes"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let args = json!(["after the outage"]);
    let answer = api_emit(
        &cluster.nodes.api(0),
        &json!({"to": {"rooms": ["lobby"]}, "event": "news", "args": args}),
    )
    .await;
    assert_eq!(answer, json!({"sockets": 2, "nodes": NODES}));
    delivered_once(&mut clients, &["r0", "r1"], "news", &args).await;
    let shout = broadcast_from_webhook(&mut clients[0], &["lobby"], "back").await;
    delivered_once(&mut clients, &["r1"], "shout", &shout).await;

    let results = finish_all(clients).await;
    for (name, result) in &results {
        assert_eq!(
            result["disconnects"], 0,
            "{name} was never dropped: {result}"
        );
    }
}
