//! The bounds a peer node can push on another, through real nodes sharing a real Redis: a passed request the
//! owner never answers ends within the endpoint's poll wait plus a margin, a recovery no node answers for is
//! refused within `peer_timeout`, and the owner counts a passed request on the original client's address, never on
//! the node that passed it.

use crate::common;
use common::cluster_gateway::{cluster_table, metrics_text, wait_joined};
use common::eio::{self, Answer, poll_url};
use common::redis::Redis;
use common::{Backend, Gateway};
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;

/// An HTTP client whose connections come from `ip` (of `127.0.0.0/8`): one client address of the test.
fn client_from(ip: Ipv4Addr) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .local_address(IpAddr::V4(ip))
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

async fn get_with(client: &reqwest::Client, url: &str) -> Answer {
    eio::answer(client.get(url).send().await.expect("GET")).await
}

/// Opens a session at `base` and answers its id.
async fn handshake_with(client: &reqwest::Client, base: &str) -> String {
    let answer = get_with(client, &format!("{base}?EIO=4&transport=polling")).await;
    assert_eq!(answer.status, 200, "handshake failed: {}", answer.text);
    let open: serde_json::Value = serde_json::from_str(&answer.text[1..]).unwrap();
    open["sid"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_passed_poll_the_owner_never_answers_ends_within_its_bound_and_is_counted() {
    let redis = Redis::start();
    let backend = Backend::echo().await;
    let node = Gateway::start(&format!(
        "{}[[endpoint]]\npath = \"/engine.io\"\nprotocol = \"engine.io\"\nwebhook = \"{}\"\nping_interval = \"1s\"\nping_timeout = \"1s\"\n",
        cluster_table(&redis, "b"),
        backend.url()
    ))
    .await;

    // A node that takes passed requests and never answers them: a listener posing as a live node's record.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf).await;
            held.push(stream);
        }
    });
    let record = format!(r#"{{"node_id":"silent","tag":"QQQQ","advertise":"{silent}"}}"#);
    redis.cli(&["SET", "socket.io-iogate#node#QQQQ", &record, "PX", "60000"]);
    redis.cli(&["SADD", "socket.io-iogate#nodes", "QQQQ"]);
    wait_joined(&node, 2).await;

    // Ping interval 1 s + ping timeout 1 s + the 5 s margin.
    let started = Instant::now();
    let answer = eio::get(&poll_url(&node.url("/engine.io/"), "QQQQabcdefghijklmnop")).await;
    let took = started.elapsed();
    assert_eq!(answer.status, 504, "{}", answer.text);
    assert!(
        answer.text.contains("did not answer in time"),
        "{}",
        answer.text
    );
    assert!(
        took >= Duration::from_millis(6_900) && took < Duration::from_secs(9),
        "answered after {took:?}"
    );
    assert!(
        metrics_text(&node).contains("iogate_hop_failures_total{reason=\"timeout\"} 1"),
        "{}",
        metrics_text(&node)
    );
    // The other bounds' counters are exposed from the start.
    for counter in [
        "iogate_hop_idle_closed_total 0",
        "iogate_cluster_messages_dropped_total 0",
    ] {
        assert!(metrics_text(&node).contains(counter), "{counter}");
    }
}

/// A live node that never answers (a record in Redis and nobody behind it), and a client that comes back naming a
/// private id: the CONNECT is answered with a new socket once `peer_timeout` has passed, counted `owner_silent`.
#[tokio::test]
async fn a_recovery_no_node_answers_for_gets_a_new_socket_within_peer_timeout() {
    let redis = Redis::start();
    let backend = Backend::start(common::sio::accept).await;
    let node = Gateway::start(&format!(
        "{}peer_timeout = \"1s\"\n[[endpoint]]\npath = \"/socket.io\"\nwebhook = \"{}\"\n\
         recovery = {{ max_disconnection = \"10s\" }}\n",
        cluster_table(&redis, "b"),
        backend.url()
    ))
    .await;
    let record = r#"{"node_id":"silent","tag":"QQQQ","advertise":"127.0.0.1:9"}"#;
    redis.cli(&["SET", "socket.io-iogate#node#QQQQ", record, "PX", "60000"]);
    redis.cli(&["SADD", "socket.io-iogate#nodes", "QQQQ"]);
    wait_joined(&node, 2).await;

    let mut client = common::sio::SioWs::open(&node).await;
    let started = Instant::now();
    let auth = r#"{"pid":"QQQQabcdefghijklmnop","offset":"x-1"}"#;
    client
        .send(&common::sio::connect_packet("/", Some(auth)))
        .await;
    let reply = client.recv_text().await;
    let took = started.elapsed();
    let reply: serde_json::Value =
        serde_json::from_str(reply.strip_prefix("40").expect("a CONNECT reply")).expect("JSON");
    assert!(reply["sid"].is_string(), "a new socket: {reply}");
    assert_ne!(
        reply["pid"], "QQQQabcdefghijklmnop",
        "with a new private id"
    );
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "answered after {took:?}"
    );
    let metrics = metrics_text(&node);
    assert!(
        metrics.contains(
            "iogate_recoveries_total{endpoint=\"/socket.io\",outcome=\"owner_silent\"} 1"
        ),
        "{metrics}"
    );
}

/// Two nodes on their own loopback addresses (A `127.0.0.3`, B `127.0.0.2`), each allowing 2 connections per
/// client address.
async fn per_ip_pair(redis: &Redis, backend: &Backend) -> (Gateway, Gateway) {
    let node = |name: &str| {
        format!(
            "[server]\nmax_connections_per_ip = 2\n{}[[endpoint]]\npath = \"/engine.io\"\nprotocol = \"engine.io\"\nwebhook = \"{}\"\nping_interval = \"10s\"\nping_timeout = \"5s\"\n",
            cluster_table(redis, name),
            backend.url()
        )
    };
    let a = Gateway::start_on(&node("a"), Ipv4Addr::new(127, 0, 0, 3)).await;
    let b = Gateway::start_on(&node("b"), Ipv4Addr::new(127, 0, 0, 2)).await;
    wait_joined(&a, 2).await;
    wait_joined(&b, 2).await;
    (a, b)
}

#[tokio::test]
async fn the_owner_counts_a_passed_request_on_its_client_not_on_the_node_that_passed_it() {
    let redis = Redis::start();
    let backend = Backend::echo().await;
    let (a, b) = per_ip_pair(&redis, &backend).await;
    let (on_a, on_b) = (a.url("/engine.io/"), b.url("/engine.io/"));
    let opener = client_from(Ipv4Addr::new(127, 0, 0, 9));
    let mut sids = Vec::new();
    for _ in 0..7 {
        sids.push(handshake_with(&opener, &on_a).await);
    }

    // Four clients, each from its own address, park a poll through B: A holds four passed requests from B,
    // twice its per-address bound, and counts each on its client.
    let mut parked = Vec::new();
    for (n, sid) in sids[..4].iter().enumerate() {
        let client = client_from(Ipv4Addr::new(127, 0, 0, 10 + n as u8));
        let url = poll_url(&on_b, sid);
        parked.push(tokio::spawn(async move { get_with(&client, &url).await }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        parked.iter().all(|poll| !poll.is_finished()),
        "every passed poll is parked on A"
    );
    for sid in &sids[..4] {
        let answer = eio::answer(
            opener
                .post(poll_url(&on_a, sid))
                .body("4for you")
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(answer.status, 200, "{}", answer.text);
    }
    for poll in parked {
        let answer = poll.await.unwrap();
        assert_eq!((answer.status, answer.text.as_str()), (200, "4for you"));
    }

    // One client: a poll parked on A directly and one through B hold its 2 places on A; a third through B
    // (B's own bound for that client is not reached: it holds one connection of it) is refused by A.
    let client = Ipv4Addr::new(127, 0, 0, 20);
    let direct = {
        let (client, url) = (client_from(client), poll_url(&on_a, &sids[4]));
        tokio::spawn(async move { get_with(&client, &url).await })
    };
    let through_b = {
        let (client, url) = (client_from(client), poll_url(&on_b, &sids[5]));
        tokio::spawn(async move { get_with(&client, &url).await })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!direct.is_finished() && !through_b.is_finished());
    let refused = get_with(&client_from(client), &poll_url(&on_b, &sids[6])).await;
    assert_eq!(refused.status, 503, "{}", refused.text);
    assert!(
        refused
            .text
            .contains("too many connections from this address"),
        "{}",
        refused.text
    );
    assert!(
        metrics_text(&a).contains("iogate_refused_total{reason=\"max_connections_per_ip\"} 1"),
        "{}",
        metrics_text(&a)
    );
    assert!(
        !metrics_text(&b).contains("max_connections_per_ip"),
        "{}",
        metrics_text(&b)
    );
    direct.abort();
    through_b.abort();
}
