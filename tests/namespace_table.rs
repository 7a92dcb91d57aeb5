//! The namespace table holds the configured exact namespaces and those with at least one connected socket, no
//! more: rounds of sessions on distinct long names matched by a glob (accepted, refused, timed out, or ended
//! before the backend decided) leave `iogate_namespaces` where it started once they end, rooms included, while
//! another client on the same gateway keeps working; sockets joining a namespace while its last one leaves end
//! up in the namespace broadcasts reach.

use crate::common;
use common::api::{self, Api};
use common::sio::{self, SioWs};
use common::{Backend, Gateway, Hook, Reply};
use std::time::Duration;

const SIO: &str = "/socket.io";

/// `/tenant-*` is served; a connect hook that takes longer than 300 ms is a refusal.
const CONFIG: &str = "namespaces = [\"/\", \"/tenant-*\"]\nwebhook_timeout = \"300ms\"";

/// The backend decides by the namespace's prefix; on `/` it answers `message` like the reference app.
fn tenants(hook: &Hook) -> Reply {
    let namespace = hook.body["namespace"].as_str().unwrap_or("");
    match hook.event.as_str() {
        "connect" if namespace.starts_with("/tenant-ok-") => Reply::ok(r#"{"join":["blue"]}"#),
        "connect" if namespace.starts_with("/tenant-no-") => {
            Reply::ok(r#"{"reject":{"message":"no"}}"#)
        }
        "connect" if namespace.starts_with("/tenant-slow-") => {
            Reply::ok("").after(Duration::from_secs(1))
        }
        "connect" if namespace.starts_with("/tenant-gone-") => {
            Reply::ok("").after(Duration::from_millis(150))
        }
        _ => sio::reference_app(hook),
    }
}

async fn namespaces(api: &Api) -> f64 {
    api.metrics()
        .await
        .get("iogate_namespaces", &[("endpoint", SIO)])
        .expect("iogate_namespaces is exported")
}

/// Waits until `iogate_namespaces` is `expected`; panics after 5 s.
async fn namespaces_become(api: &Api, expected: f64, what: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let count = namespaces(api).await;
        if count == expected {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: {count} namespaces, expected {expected}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A long namespace name of `kind`, distinct per round and client (under the 256-byte default bound).
fn tenant(kind: &str, round: usize, client: usize) -> String {
    let name = format!("/tenant-{kind}-{round}-{client}-");
    format!("{name}{}", "x".repeat(220 - name.len()))
}

/// Opens a session connected to `/`, past the `auth` event the reference app sends on connect.
async fn connected(gateway: &Gateway) -> (SioWs, String) {
    let (mut client, sid) = SioWs::connected(gateway, "/", None).await;
    assert_eq!(client.recv_text().await, r#"42["auth",{}]"#);
    (client, sid)
}

async fn bystander_works(bystander: &mut SioWs, round: usize) {
    bystander.send(&format!(r#"42["message",{round}]"#)).await;
    assert_eq!(
        bystander.recv_text().await,
        format!(r#"42["message-back",{round}]"#)
    );
}

async fn start() -> (Backend, Gateway, Api) {
    let backend = Backend::start(tenants).await;
    let gateway = api::gateway_with(&format!(
        "[[endpoint]]\npath = \"{SIO}\"\nwebhook = \"{}\"\n{CONFIG}\n",
        backend.url()
    ))
    .await;
    let api = Api::of(&gateway);
    (backend, gateway, api)
}

#[tokio::test]
async fn glob_matched_namespaces_leave_the_table_with_their_last_socket() {
    let (backend, gateway, api) = start().await;
    // The configured exact name `/` is always there.
    assert_eq!(namespaces(&api).await, 1.0);
    let (mut bystander, _) = connected(&gateway).await;
    let mut gone = 0;
    for round in 0..4 {
        let mut clients = Vec::new();
        for index in 0..10 {
            let kind = ["ok", "no", "slow", "gone", "ok"][index % 5];
            let name = tenant(kind, round, index);
            let mut client = SioWs::open(&gateway).await;
            client.send(&format!("40{name},")).await;
            match kind {
                "ok" => {
                    sio::connect_reply_sid(&client.recv_text().await, &name);
                    let rooms = api.rooms(&format!("namespace={name}")).await;
                    assert_eq!(rooms.get("blue"), Some(&1), "{rooms:?}");
                }
                "no" | "slow" => {
                    let refusal = client.recv_text().await;
                    assert!(refusal.starts_with(&format!("44{name},")), "{refusal}");
                }
                _ => {
                    // The session ends while the backend is still deciding (it accepts 150 ms later).
                    client.close().await;
                    gone += 1;
                    continue;
                }
            }
            clients.push(client);
        }
        // The accepted ones are in the table meanwhile: `/` and four tenants.
        assert!(namespaces(&api).await >= 5.0);
        bystander_works(&mut bystander, round).await;
        for client in clients {
            client.close().await;
        }
        // A session that ended before its accepted connect was decided gets its disconnect hook.
        backend
            .wait_for("disconnect", None, 4 * (round + 1) + gone)
            .await;
        namespaces_become(&api, 1.0, &format!("round {round}")).await;
        let rooms = api
            .rooms(&format!("namespace={}", tenant("ok", round, 0)))
            .await;
        assert!(rooms.is_empty(), "the namespace's rooms went with it");
    }
    bystander_works(&mut bystander, 9).await;
    assert_eq!(gateway.sessions(), 1);
}

/// Clients connect to one namespace while others keep joining and leaving it: at the end, every socket still
/// connected is reached by a broadcast to the namespace (none was added to a namespace that had left the table).
#[tokio::test]
async fn sockets_joining_while_the_last_one_leaves_stay_reachable() {
    let (_backend, gateway, api) = start().await;
    let name = tenant("ok", 0, 0);
    let name = name.as_str();
    let gateway = &gateway;
    let churn = (0..8).map(|_| async move {
        for _ in 0..8 {
            let mut client = SioWs::open(gateway).await;
            client.connect(name, None).await;
            client.send(&format!("41{name},")).await;
            client.close().await;
        }
    });
    let staying = (0..8u64).map(|index| async move {
        tokio::time::sleep(Duration::from_millis(index * 15)).await;
        let mut client = SioWs::open(gateway).await;
        client.connect(name, None).await;
        client
    });
    let (mut staying, _) = futures_util::future::join(
        futures_util::future::join_all(staying),
        futures_util::future::join_all(churn),
    )
    .await;
    let emit = format!(r#"{{"namespace":"{name}","event":"after","args":[]}}"#);
    assert_eq!(
        api.emit(&emit).await,
        8,
        "every staying socket is reachable"
    );
    for client in &mut staying {
        assert_eq!(client.recv_text().await, format!(r#"42{name},["after"]"#));
    }
    assert_eq!(namespaces(&api).await, 2.0);
    for client in staying {
        client.close().await;
    }
    namespaces_become(&api, 1.0, "all left").await;
}
