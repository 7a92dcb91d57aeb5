//! The webhook backend down for a minute (its port refusing connections) while clients connect, emit and
//! disconnect: once it is back, every `disconnect` hook and every event of an async route arrives exactly once per
//! delivery id, nobody was answered wrongly meanwhile, and everything the outage held (sessions, hooks waiting for a
//! retry, hook workers) is released. And what is given up (past `webhook_retry_window`, or past
//! `max_retrying_hooks`) is counted and never sent later.

use crate::common;
use common::api::{self, Api, Client, Metrics, Transport};
use common::eio::{self, Answer};
use common::{Backend, Gateway, Hook, Reply};
use futures_util::future::join_all;
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio::time::Instant;

const SIO: &str = "/socket.io";

/// How long the backend stays down in the long test.
const OUTAGE: Duration = Duration::from_secs(60);

/// The backend: `ask` events are acknowledged with the asker's own sid. Every other event and every `disconnect`
/// is answered with an ack, an emit and a broadcast of `leak`: those replies must be ignored (async routes and
/// `disconnect`), or are never delivered (sync events sent while the backend is down), so no client may see `leak`.
fn backend_app(hook: &Hook) -> Reply {
    match hook.event.as_str() {
        "event" if hook.body["event"] == "ask" => Reply::json(json!({ "ack": [hook.body["sid"]] })),
        "event" | "disconnect" => Reply::json(json!({
            "ack": ["leak"],
            "emit": [{ "event": "leak", "args": [] }],
            "broadcast": [{ "event": "leak", "args": [], "self": true }],
        })),
        _ => Reply::ok(""),
    }
}

/// Scrapes `/metrics` until `check` holds; panics after `limit` with the last scrape.
async fn until(
    api: &Api,
    limit: Duration,
    what: &str,
    check: impl Fn(&Metrics) -> bool,
) -> Metrics {
    let deadline = Instant::now() + limit;
    loop {
        let metrics = api.metrics().await;
        if check(&metrics) {
            return metrics;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}; last scrape: {:?}",
            metrics.samples
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A webhook counter of the endpoint, e.g. `iogate_webhook_retries_total` of `disconnect`.
fn hook_counter(metrics: &Metrics, name: &str, event: &str) -> f64 {
    metrics.value(name, &[("endpoint", SIO), ("event", event)])
}

fn given_up(metrics: &Metrics, event: &str) -> f64 {
    hook_counter(metrics, "iogate_webhook_given_up_total", event)
}

fn retries(metrics: &Metrics, event: &str) -> f64 {
    hook_counter(metrics, "iogate_webhook_retries_total", event)
}

fn failures(metrics: &Metrics, event: &str) -> f64 {
    hook_counter(metrics, "iogate_webhook_failures_total", event)
}

/// Hooks waiting for a retry now (`iogate_webhook_retrying`).
fn retrying(metrics: &Metrics) -> f64 {
    metrics.value("iogate_webhook_retrying", &[("endpoint", SIO)])
}

/// Waits until `check` holds for the hooks the backend received; panics after `limit`.
async fn hooks_until(
    backend: &Backend,
    limit: Duration,
    what: &str,
    check: impl Fn(&[Hook]) -> bool,
) {
    let deadline = Instant::now() + limit;
    while !check(&backend.hooks()) {
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the gateway holds `sessions` sessions; panics after 5 s.
async fn sessions_until(gateway: &Gateway, sessions: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while gateway.sessions() != sessions {
        assert!(
            Instant::now() < deadline,
            "{} sessions, expected {sessions}",
            gateway.sessions()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Hooks of `event` whose body's `event` is `name`.
fn events_named(hooks: &[Hook], name: &str) -> Vec<Hook> {
    hooks
        .iter()
        .filter(|h| h.event == "event" && h.body["event"] == name)
        .cloned()
        .collect()
}

/// The resident memory of this process (the test and the gateway in it), for the log only.
fn rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmRSS:"))
                .map(|line| line["VmRSS:".len()..].trim().to_string())
        })
        .unwrap_or_else(|| "n/a".into())
}

/// The default backoffs: 0.2 s doubling up to 10 s.
fn backoffs() -> impl Iterator<Item = f64> {
    (0..).map(|n: i32| (0.2 * 2f64.powi(n.min(10))).min(10.0))
}

/// The fewest and the most retries of one hook that kept failing for at least `shortest` and at most `longest`
/// before the backend came back, each wait being between half the backoff and all of it: at least as many waits as
/// it takes full backoffs to cover `shortest`, at most one more than half backoffs fit in `longest`.
fn retry_bounds(shortest: Duration, longest: Duration) -> (u32, u32) {
    let mut least = 0;
    let mut covered = 0.0;
    for backoff in backoffs() {
        if covered >= shortest.as_secs_f64() {
            break;
        }
        covered += backoff;
        least += 1;
    }
    let mut most = 1;
    let mut covered = 0.0;
    for backoff in backoffs() {
        covered += backoff / 2.0;
        if covered > longest.as_secs_f64() {
            break;
        }
        most += 1;
    }
    (least, most)
}

/// One client of the long test.
struct Member {
    client: Client,
    sid: String,
    transport: Transport,
    /// Polling clients: a GET parked while the backend is down; it must come back with nothing but a noop.
    parked: Option<JoinHandle<Answer>>,
}

impl Member {
    async fn join(gateway: &Gateway, index: usize) -> Self {
        let transport = if index % 2 == 0 {
            Transport::Ws
        } else {
            Transport::Polling
        };
        let (client, sid) = Client::connected(gateway, transport, "/", None).await;
        Self {
            client,
            sid,
            transport,
            parked: None,
        }
    }

    /// Asks the backend and checks the ack carries this socket's own sid.
    async fn ask(&mut self, ack_id: u32) {
        self.client.send(&format!(r#"42{ack_id}["ask"]"#)).await;
        let expected = format!(r#"43{ack_id}["{}"]"#, self.sid);
        self.client.expect(&expected).await;
    }

    /// Polling clients: parks a GET that stays pending while nothing is queued for the client.
    fn park_poll(&mut self) {
        if self.transport == Transport::Polling {
            let url = self.client.polling().url();
            self.parked = Some(tokio::spawn(async move { eio::get(&url).await }));
        }
    }

    /// Leaves (with a namespace disconnect first when `politely`) and asserts nothing reached the client before its
    /// connection ended: no ack, no emit, no broadcast.
    async fn leave(&mut self, politely: bool) {
        if politely {
            self.client.send("41").await;
        }
        match self.transport {
            Transport::Ws => {
                let ws = &mut self.client.ws().ws;
                let _ = ws.close(None).await;
                let before = eio::frames_until_closed(ws, Duration::from_secs(5)).await;
                assert!(before.is_empty(), "{} received {before:?}", self.sid);
            }
            Transport::Polling => {
                self.client.send("1").await;
                if let Some(parked) = self.parked.take() {
                    let answer = tokio::time::timeout(Duration::from_secs(5), parked)
                        .await
                        .unwrap_or_else(|_| {
                            panic!("{}: the parked poll was not released", self.sid)
                        })
                        .expect("poll task");
                    assert_eq!(
                        (answer.status, answer.text.as_str()),
                        (200, "6"),
                        "{}: the parked poll brought something",
                        self.sid
                    );
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_minute_of_backend_outage_loses_no_disconnect_and_answers_nobody_wrongly() {
    let backend = Backend::start(backend_app).await;
    // Long heartbeats: the test's clients do not answer pings while they wait. The retry policy is the default.
    let gateway = api::socketio_gateway(
        &backend.url(),
        "ping_interval = \"300s\"\nping_timeout = \"60s\"\nwebhook_timeout = \"2s\"\n\
         [[endpoint.route]]\nevent = \"typing\"\nmode = \"async\"",
    )
    .await;
    let api = Api::of(&gateway);
    let app = gateway.running.app.clone();
    let started = Instant::now();
    eprintln!("RSS at start: {}", rss());

    // 100 clients (WebSocket and polling) connect while the backend is up, and 4 that stay through the outage.
    let mut members = Vec::new();
    for batch in (0..100).collect::<Vec<_>>().chunks(20) {
        members.extend(join_all(batch.iter().map(|&i| Member::join(&gateway, i))).await);
    }
    let mut bystanders = join_all((0..4).map(|i| Member::join(&gateway, i))).await;
    join_all(members.iter_mut().map(|m| m.ask(1))).await;
    let sids: HashSet<String> = members.iter().map(|m| m.sid.clone()).collect();
    assert_eq!(sids.len(), 100);
    assert_eq!(gateway.sessions(), 104);
    eprintln!(
        "RSS with 104 clients: {} ({:.1} s)",
        rss(),
        started.elapsed().as_secs_f64()
    );

    // The backend goes down: its port refuses connections, its keep-alive connections are gone.
    backend.stop().await;
    let down = Instant::now();

    // Each client emits without an ack, with an ack, and to the async route.
    for member in members.iter_mut() {
        member.park_poll();
    }
    join_all(members.iter_mut().enumerate().map(|(i, m)| async move {
        let packets = [
            format!(r#"42["note",{i}]"#),
            format!(r#"422["ask",{i}]"#),
            format!(r#"42["typing",{i}]"#),
        ];
        match m.transport {
            Transport::Ws => {
                for packet in &packets {
                    m.client.send(packet).await;
                }
            }
            Transport::Polling => {
                let packets: Vec<&str> = packets.iter().map(String::as_str).collect();
                m.client.polling().send(&packets).await;
            }
        }
    }))
    .await;
    until(
        &api,
        Duration::from_secs(10),
        "200 failed sync events, 100 async ones retrying",
        |m| failures(m, "event") >= 200.0 + 100.0 && retrying(m) == 100.0,
    )
    .await;
    let typing_waiting = Instant::now();

    eprintln!(
        "emitted, {:.1} s into the outage",
        down.elapsed().as_secs_f64()
    );

    // New clients are refused while the backend is down, never accepted.
    for transport in [
        Transport::Ws,
        Transport::Polling,
        Transport::Ws,
        Transport::Polling,
    ] {
        let mut refused = Client::open(&gateway, transport).await;
        refused.send("40").await;
        refused
            .expect(r#"44{"message":"Connection refused"}"#)
            .await;
        let mut leaving = Member {
            client: refused,
            sid: "(refused)".into(),
            transport,
            parked: None,
        };
        // With a GET in flight, as a polling client has: a close packet then ends the session at once.
        leaving.park_poll();
        leaving.leave(false).await;
    }

    eprintln!(
        "refused 4, {:.1} s into the outage",
        down.elapsed().as_secs_f64()
    );

    // The 100 leave; nothing reached them (acks of failed events are not sent).
    let leaving = Instant::now();
    join_all(
        members
            .iter_mut()
            .enumerate()
            .map(|(i, m)| m.leave(i % 4 < 2)),
    )
    .await;
    sessions_until(&gateway, 4).await;
    let during = until(
        &api,
        Duration::from_secs(10),
        "200 hooks waiting for a retry",
        |m| retrying(m) == 200.0,
    )
    .await;
    let disconnects_waiting = Instant::now();
    assert_eq!(
        app.webhook_workers(),
        200,
        "100 disconnect workers, 100 async events"
    );
    assert_eq!(given_up(&during, "disconnect"), 0.0);
    assert_eq!(
        failures(&during, "connect"),
        4.0,
        "the refused clients' connects"
    );
    eprintln!(
        "RSS with 200 hooks waiting, {:.1} s into the outage: {}",
        down.elapsed().as_secs_f64(),
        rss()
    );

    tokio::time::sleep_until(down + OUTAGE).await;
    let before_return = api.metrics().await;
    assert_eq!(
        retrying(&before_return),
        200.0,
        "all still waiting after {OUTAGE:?}"
    );
    assert_eq!(
        given_up(&before_return, "disconnect") + given_up(&before_return, "event"),
        0.0
    );
    assert!(backend.hooks_of("disconnect").is_empty());
    backend.restart().await;
    let back = Instant::now();

    // Every disconnect and every async event arrives, within the longest backoff (10 s) plus slack.
    hooks_until(
        &backend,
        Duration::from_secs(20),
        "100 disconnects and 100 async events",
        |hooks| {
            hooks.iter().filter(|h| h.event == "disconnect").count() >= 100
                && events_named(hooks, "typing").len() >= 100
        },
    )
    .await;
    let recovery = back.elapsed();
    let after = until(
        &api,
        Duration::from_secs(5),
        "nothing waiting for a retry",
        |m| retrying(m) == 0.0,
    )
    .await;
    // Late duplicates would show up now.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let hooks = backend.hooks();

    let disconnects: Vec<&Hook> = hooks.iter().filter(|h| h.event == "disconnect").collect();
    assert_eq!(disconnects.len(), 100, "exactly one disconnect per socket");
    let by_sid: HashMap<String, &Hook> = disconnects
        .iter()
        .map(|h| (h.body["sid"].as_str().unwrap_or_default().to_string(), *h))
        .collect();
    assert_eq!(
        by_sid.keys().cloned().collect::<HashSet<_>>(),
        sids,
        "no socket missing"
    );
    let deliveries: HashSet<&str> = disconnects.iter().map(|h| h.delivery.as_str()).collect();
    assert_eq!(deliveries.len(), 100, "one delivery id per socket");
    for (i, member) in members.iter().enumerate() {
        let expected = if i % 4 < 2 {
            "client namespace disconnect"
        } else {
            "transport close"
        };
        assert_eq!(
            by_sid[&member.sid].body["reason"], expected,
            "{}",
            member.sid
        );
    }
    let typing = events_named(&hooks, "typing");
    assert_eq!(typing.len(), 100, "exactly one async event per socket");
    let typing_sids: HashSet<String> = typing
        .iter()
        .map(|h| h.body["sid"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(typing_sids, sids);
    assert_eq!(
        typing
            .iter()
            .map(|h| h.delivery.as_str())
            .collect::<HashSet<_>>()
            .len(),
        100
    );
    for hook in &typing {
        let sid = hook.body["sid"].as_str().unwrap_or_default();
        let index = members.iter().position(|m| m.sid == sid).expect("a member");
        assert_eq!(hook.body["args"], json!([index]), "{sid}");
    }
    assert!(
        events_named(&hooks, "note").is_empty(),
        "failed sync events are not retried"
    );
    assert_eq!(
        events_named(&hooks, "ask").len(),
        100,
        "only the asks sent before the outage"
    );
    assert_eq!(hooks.iter().filter(|h| h.event == "connect").count(), 104);

    // Retries: every failed attempt was retried, none given up, and the waits kept to the backoff (neither
    // spinning nor sleeping past its cap) for as long as each hook waited.
    for (event, first_failed_from, first_failed_by) in [
        ("disconnect", leaving, disconnects_waiting),
        ("event", down, typing_waiting),
    ] {
        assert_eq!(given_up(&after, event), 0.0, "{event}");
        // A second of slack either way for the time the attempts themselves take, and timers.
        let (least, most) = retry_bounds(
            (back - first_failed_by).saturating_sub(Duration::from_secs(1)),
            back - first_failed_from + Duration::from_secs(1),
        );
        let retried = retries(&after, event);
        assert!(
            (100.0 * least as f64..=100.0 * most as f64).contains(&retried),
            "{event}: {retried} retries, expected {least}..={most} per hook"
        );
    }
    assert_eq!(
        failures(&after, "disconnect"),
        retries(&after, "disconnect")
    );
    assert_eq!(failures(&after, "event"), 200.0 + retries(&after, "event"));

    // The clients that stayed were told nothing during the outage (no `leak`), and are answered rightly now.
    join_all(bystanders.iter_mut().map(|m| m.ask(5))).await;
    for bystander in bystanders.iter_mut() {
        bystander.park_poll();
    }
    join_all(bystanders.iter_mut().map(|m| m.leave(true))).await;

    // Everything the outage held is released.
    sessions_until(&gateway, 0).await;
    backend
        .wait_for_within("disconnect", None, 104, Duration::from_secs(5))
        .await;
    let end = until(
        &api,
        Duration::from_secs(5),
        "no socket, no hook waiting",
        |m| m.value("iogate_sockets", &[("endpoint", SIO)]) == 0.0 && retrying(m) == 0.0,
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while app.webhook_workers() != 0 {
        assert!(
            Instant::now() < deadline,
            "{} hook workers left",
            app.webhook_workers()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for transport in ["polling", "websocket"] {
        let labels = [("endpoint", SIO), ("transport", transport)];
        assert_eq!(end.value("iogate_sessions", &labels), 0.0, "{transport}");
    }
    assert_eq!(
        backend.hooks().len(),
        hooks.len() + 4 + 4,
        "the bystanders' asks and disconnects only"
    );
    eprintln!(
        "RSS at the end: {}; recovery {:.1} s after the backend returned; {:.1} s in all; retries: disconnect {}, event {}",
        rss(),
        recovery.as_secs_f64(),
        started.elapsed().as_secs_f64(),
        retries(&after, "disconnect"),
        retries(&after, "event"),
    );
}

#[tokio::test]
async fn a_hook_still_failing_after_the_retry_window_is_given_up_and_never_sent() {
    let backend = Backend::start(backend_app).await;
    let gateway = api::socketio_gateway(&backend.url(), "webhook_retry_window = \"1s\"").await;
    let api = Api::of(&gateway);
    let mut member = Member::join(&gateway, 0).await;
    backend.stop().await;
    let down = Instant::now();
    member.leave(false).await;
    let metrics = until(
        &api,
        Duration::from_secs(5),
        "the disconnect given up",
        |m| given_up(m, "disconnect") == 1.0,
    )
    .await;
    let took = down.elapsed();
    assert!(
        (Duration::from_secs(1)..Duration::from_secs(3)).contains(&took),
        "given up after {took:?}: the last attempt is made when the 1 s window ends"
    );
    assert!(retries(&metrics, "disconnect") >= 3.0, "retried before");
    assert_eq!(retrying(&metrics), 0.0);
    assert_eq!(gateway.running.app.webhook_workers(), 0);
    backend.restart().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        backend.hooks_of("disconnect").is_empty(),
        "given up means never sent"
    );
}

#[tokio::test]
async fn past_max_retrying_hooks_a_failing_hook_is_given_up_at_once() {
    let backend = Backend::start(backend_app).await;
    let gateway = api::socketio_gateway(&backend.url(), "max_retrying_hooks = 2").await;
    let api = Api::of(&gateway);
    let mut members = join_all((0..4).map(|i| Member::join(&gateway, i))).await;
    backend.stop().await;
    join_all(members.iter_mut().map(|m| m.leave(false))).await;
    let metrics = until(
        &api,
        Duration::from_secs(5),
        "two given up, two waiting",
        |m| given_up(m, "disconnect") == 2.0 && retrying(m) == 2.0,
    )
    .await;
    assert_eq!(retrying(&metrics), 2.0);
    backend.restart().await;
    let delivered = backend
        .wait_for_within("disconnect", None, 2, Duration::from_secs(15))
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        backend.hooks_of("disconnect").len(),
        2,
        "the two given up are never sent"
    );
    let sids: HashSet<&str> = delivered
        .iter()
        .filter_map(|h| h.body["sid"].as_str())
        .collect();
    assert_eq!(sids.len(), 2);
    assert_eq!(
        members
            .iter()
            .filter(|m| sids.contains(m.sid.as_str()))
            .count(),
        2
    );
    let metrics = api.metrics().await;
    assert_eq!(given_up(&metrics, "disconnect"), 2.0);
    assert_eq!(retrying(&metrics), 0.0);
}
