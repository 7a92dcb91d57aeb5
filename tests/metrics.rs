//! `GET /metrics` on the API listener of a running gateway, parsed from the Prometheus text format: live
//! sessions per transport, sockets, packet counters, webhook latency, failures and retries, outbound queue
//! overflows and API calls by outcome.

use crate::common;
use common::api::{self, Api, Client, Metrics, Transport};
use common::eio;
use common::sio::accept;
use common::{Backend, Gateway, Hook, Reply};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

const SIO: &str = "/socket.io";

fn sessions(metrics: &Metrics, endpoint: &str, transport: &str) -> f64 {
    metrics.value(
        "iogate_sessions",
        &[("endpoint", endpoint), ("transport", transport)],
    )
}

fn hook_count(metrics: &Metrics, event: &str) -> f64 {
    metrics.value(
        "iogate_webhook_duration_seconds_count",
        &[("endpoint", SIO), ("event", event)],
    )
}

fn failures(metrics: &Metrics, event: &str) -> f64 {
    metrics.value(
        "iogate_webhook_failures_total",
        &[("endpoint", SIO), ("event", event)],
    )
}

fn api_calls(metrics: &Metrics, call: &str, status: &str) -> f64 {
    metrics.value(
        "iogate_api_calls_total",
        &[("call", call), ("status", status)],
    )
}

async fn start(
    responder: impl Fn(&Hook) -> Reply + Send + Sync + 'static,
) -> (Backend, Gateway, Api) {
    let backend = Backend::start(responder).await;
    let gateway = api::socketio_gateway(&backend.url(), "").await;
    let api = Api::of(&gateway);
    (backend, gateway, api)
}

#[test]
fn the_test_parser_reads_samples_labels_and_escapes() {
    let text = "# HELP x A thing.\n# TYPE x counter\nx_total{a=\"1\",b=\"q\\\"\\\\\"} 3\nplain 2.5\nh_bucket{le=\"+Inf\"} 7 1700000000\n# EOF\n";
    let metrics = Metrics::parse(text);
    assert_eq!(metrics.types["x"], "counter");
    assert_eq!(
        metrics.get("x_total", &[("a", "1"), ("b", "q\"\\")]),
        Some(3.0)
    );
    assert_eq!(metrics.get("plain", &[]), Some(2.5));
    assert_eq!(metrics.get("h_bucket", &[("le", "+Inf")]), Some(7.0));
    assert_eq!(metrics.get("x_total", &[("a", "1")]), None);
}

#[tokio::test]
async fn the_scrape_is_prometheus_text_with_every_family_typed() {
    let (backend, gateway, api) = start(accept).await;
    let answer = api.get("/metrics").await;
    assert_eq!(answer.status, 200);
    let content_type = answer.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("text/plain")
            || content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let metrics = Metrics::parse(&answer.text);
    // Series of the endpoint exist from the start, at zero.
    for transport in ["polling", "websocket"] {
        assert_eq!(
            metrics.get(
                "iogate_sessions",
                &[("endpoint", SIO), ("transport", transport)]
            ),
            Some(0.0)
        );
    }
    assert_eq!(
        metrics.get("iogate_sockets", &[("endpoint", SIO)]),
        Some(0.0)
    );
    for name in ["iogate_packets_in_total", "iogate_packets_out_total"] {
        assert_eq!(metrics.get(name, &[("endpoint", SIO)]), Some(0.0), "{name}");
    }
    for queue in ["outbound", "hooks"] {
        let labels = [("endpoint", SIO), ("queue", queue)];
        assert_eq!(
            metrics.get("iogate_queue_overflows_total", &labels),
            Some(0.0)
        );
    }
    assert_eq!(
        metrics.get("iogate_webhook_retrying", &[("endpoint", SIO)]),
        Some(0.0)
    );
    for event in ["connect", "event", "disconnect", "open", "message", "close"] {
        let labels = [("endpoint", SIO), ("event", event)];
        assert_eq!(
            metrics.get("iogate_webhook_given_up_total", &labels),
            Some(0.0),
            "{event}"
        );
    }
    assert_eq!(gateway.sessions(), 0);

    // Once hooks ran (one failing) and calls were made, every family is there with its type.
    let (mut client, _) = Client::connected(&gateway, Transport::Ws, "/", None).await;
    backend.respond_with(|_| Reply::status(500));
    client.send("41").await;
    backend.wait_for("disconnect", None, 2).await;
    backend.respond_with(accept);
    let text = api.get("/metrics").await.text;
    let metrics = Metrics::parse(&text);
    for (family, kind) in [
        ("iogate_sessions", "gauge"),
        ("iogate_sockets", "gauge"),
        ("iogate_packets_in", "counter"),
        ("iogate_packets_out", "counter"),
        ("iogate_webhook_duration_seconds", "histogram"),
        ("iogate_webhook_failures", "counter"),
        ("iogate_webhook_retries", "counter"),
        ("iogate_webhook_given_up", "counter"),
        ("iogate_webhook_retrying", "gauge"),
        ("iogate_queue_overflows", "counter"),
        ("iogate_api_calls", "counter"),
    ] {
        assert_eq!(
            metrics.types.get(family).map(String::as_str),
            Some(kind),
            "{family} in {text}"
        );
    }
    let typed = |name: &str| {
        metrics.types.keys().any(|family| {
            name == family
                || name
                    .strip_prefix(family.as_str())
                    .is_some_and(|s| s.starts_with('_'))
        })
    };
    for sample in &metrics.samples {
        assert!(typed(&sample.name), "{} has no # TYPE", sample.name);
        assert!(
            sample.value.is_finite() && sample.value >= 0.0,
            "{sample:?}"
        );
    }
}

#[tokio::test]
async fn the_sessions_gauge_follows_live_sessions_per_transport() {
    let backend = Backend::start(accept).await;
    let gateway = api::gateway_with(&format!(
        "{}{}",
        api::socketio_endpoint(SIO, &backend.url(), ""),
        api::engineio_endpoint("/engine.io", &backend.url(), "")
    ))
    .await;
    let api = Api::of(&gateway);
    let (a, _) = Client::connected(&gateway, Transport::Ws, "/", None).await;
    let (_b, _) = Client::connected(&gateway, Transport::Ws, "/chat", None).await;
    let (_c, _) = Client::connected(&gateway, Transport::Polling, "/", None).await;
    let base = gateway.url("/engine.io/");
    let (upgraded, _) = eio::handshake(&base).await;
    let (_raw, _) = eio::ws_handshake(&gateway.ws_url("/engine.io/")).await;

    let metrics = api.metrics().await;
    assert_eq!(sessions(&metrics, SIO, "websocket"), 2.0);
    assert_eq!(sessions(&metrics, SIO, "polling"), 1.0);
    assert_eq!(sessions(&metrics, "/engine.io", "polling"), 1.0);
    assert_eq!(sessions(&metrics, "/engine.io", "websocket"), 1.0);
    assert_eq!(gateway.sessions(), 5);

    // An upgrade moves a session from polling to websocket.
    let mut ws = eio::ws_connect(&eio::ws_upgrade_url(
        &gateway.ws_url("/engine.io/"),
        &upgraded,
    ))
    .await;
    eio::send_text(&mut ws, "2probe").await;
    assert_eq!(eio::next_text(&mut ws).await, "3probe");
    eio::send_text(&mut ws, "5").await;
    let metrics = api
        .metrics_until("the upgrade", |m| {
            sessions(m, "/engine.io", "websocket") == 2.0
        })
        .await;
    assert_eq!(sessions(&metrics, "/engine.io", "polling"), 0.0);

    // Closed sessions leave the gauge.
    drop(a);
    drop(ws);
    let metrics = api
        .metrics_until("closed sessions", |m| {
            sessions(m, SIO, "websocket") == 1.0 && sessions(m, "/engine.io", "websocket") == 1.0
        })
        .await;
    assert_eq!(sessions(&metrics, SIO, "polling"), 1.0);
    eio::eventually("sessions closed", || gateway.sessions() == 3).await;
}

#[tokio::test]
async fn the_sockets_gauge_counts_connected_sockets() {
    let (_backend, gateway, api) = start(accept).await;
    let mut multi = Client::open(&gateway, Transport::Ws).await;
    multi.connect("/", None).await;
    multi.connect("/chat", None).await;
    let (mut single, _) = Client::connected(&gateway, Transport::Polling, "/", None).await;
    let count = |m: &Metrics| m.value("iogate_sockets", &[("endpoint", SIO)]);
    api.metrics_until("3 sockets", |m| count(m) == 3.0).await;
    single.send("41").await;
    api.metrics_until("2 sockets", |m| count(m) == 2.0).await;
    drop(multi);
    api.metrics_until("no socket", |m| count(m) == 0.0).await;
}

#[tokio::test]
async fn packet_counters_grow_with_traffic_both_ways() {
    let (backend, gateway, api) = start(accept).await;
    let (mut a, sid) = Client::connected(&gateway, Transport::Ws, "/", None).await;
    let (mut b, _) = Client::connected(&gateway, Transport::Polling, "/", None).await;
    let packets = |m: &Metrics, name: &str| m.value(name, &[("endpoint", SIO)]);
    let before = api.metrics().await;
    assert!(
        packets(&before, "iogate_packets_in_total") >= 2.0,
        "two CONNECTs"
    );
    assert!(
        packets(&before, "iogate_packets_out_total") >= 2.0,
        "two CONNECT replies"
    );

    a.send(r#"42["one"]"#).await;
    a.send(r#"42["two"]"#).await;
    b.send(r#"42["three"]"#).await;
    backend.wait_for("event", None, 3).await;
    let after = api.metrics().await;
    assert_eq!(
        packets(&after, "iogate_packets_in_total") - packets(&before, "iogate_packets_in_total"),
        3.0
    );

    assert_eq!(api.emit(r#"{"event":"x"}"#).await, 2);
    let body =
        format!(r#"{{"to":{{"sockets":["{sid}"]}},"event":"b","args":[{{"$binary":"AQID"}}]}}"#);
    assert_eq!(api.emit(&body).await, 1);
    let out = api.metrics().await;
    assert_eq!(
        packets(&out, "iogate_packets_out_total") - packets(&after, "iogate_packets_out_total"),
        4.0,
        "one packet per socket, plus the attachment"
    );
    a.expect(r#"42["x"]"#).await;
    b.expect(r#"42["x"]"#).await;
}

#[tokio::test]
async fn every_webhook_call_is_timed() {
    let (backend, gateway, api) = start(accept).await;
    let before = api.metrics().await;
    assert_eq!(hook_count(&before, "connect"), 0.0);
    let (mut a, _) = Client::connected(&gateway, Transport::Ws, "/", None).await;
    let (_b, _) = Client::connected(&gateway, Transport::Ws, "/chat", None).await;
    let metrics = api.metrics().await;
    assert_eq!(hook_count(&metrics, "connect"), 2.0);
    for n in 1..=3 {
        a.send(r#"42["e"]"#).await;
        backend.wait_for("event", None, n).await;
        let metrics = api
            .metrics_until("the event hook", |m| hook_count(m, "event") == n as f64)
            .await;
        let labels = [("endpoint", SIO), ("event", "event")];
        assert_eq!(
            metrics.get(
                "iogate_webhook_duration_seconds_bucket",
                &[labels[0], labels[1], ("le", "+Inf")]
            ),
            Some(n as f64),
            "the +Inf bucket holds every call"
        );
        assert!(metrics.value("iogate_webhook_duration_seconds_sum", &labels) > 0.0);
    }
    a.send("41").await;
    backend.wait_for("disconnect", None, 1).await;
    api.metrics_until("the disconnect hook", |m| {
        hook_count(m, "disconnect") == 1.0
    })
    .await;
    assert_eq!(failures(&api.metrics().await, "connect"), 0.0);
}

#[tokio::test]
async fn failed_webhooks_and_retries_are_counted() {
    let failing = Arc::new(AtomicBool::new(true));
    let flag = failing.clone();
    let (backend, gateway, api) = start(move |hook: &Hook| {
        if hook.event == "connect" || !flag.load(Ordering::SeqCst) {
            Reply::ok("")
        } else {
            Reply::status(500)
        }
    })
    .await;
    let (mut a, _) = Client::connected(&gateway, Transport::Ws, "/", None).await;
    a.send(r#"42["e"]"#).await;
    backend.wait_for("event", None, 1).await;
    let metrics = api
        .metrics_until("the failed event hook", |m| failures(m, "event") == 1.0)
        .await;
    assert_eq!(hook_count(&metrics, "event"), 1.0);
    assert_eq!(failures(&metrics, "connect"), 0.0);

    // A disconnect hook answered 500 is retried: every attempt fails and counts, then it succeeds.
    a.send("41").await;
    backend.wait_for("disconnect", None, 2).await;
    failing.store(false, Ordering::SeqCst);
    let metrics = api
        .metrics_until("the delivered disconnect hook", |m| {
            hook_count(m, "disconnect") == failures(m, "disconnect") + 1.0
        })
        .await;
    let failed = failures(&metrics, "disconnect");
    assert!(failed >= 2.0, "{failed}");
    assert_eq!(
        metrics.value(
            "iogate_webhook_retries_total",
            &[("endpoint", SIO), ("event", "disconnect")]
        ),
        failed,
        "one retry per failed attempt"
    );

    // A connect answered 500 is refused and counted.
    backend.respond_with(|_| Reply::status(500));
    let mut refused = Client::open(&gateway, Transport::Ws).await;
    refused.send("40").await;
    assert_eq!(
        refused.next().await,
        r#"44{"message":"Connection refused"}"#
    );
    let metrics = api.metrics().await;
    assert_eq!(failures(&metrics, "connect"), 1.0);
    assert_eq!(hook_count(&metrics, "connect"), 2.0);
}

#[tokio::test]
async fn an_overflowing_outbound_queue_closes_the_session_and_counts() {
    let backend = Backend::start(accept).await;
    let gateway = api::socketio_gateway(&backend.url(), "max_buffered_packets = 4").await;
    let api = Api::of(&gateway);
    let (_slow, _) = Client::connected(&gateway, Transport::Polling, "/", None).await;
    let mut reached = Vec::new();
    for _ in 0..6 {
        reached.push(api.emit(r#"{"event":"x"}"#).await);
    }
    assert_eq!(reached, [1, 1, 1, 1, 0, 0], "the fifth packet overflows");
    let metrics = api
        .metrics_until("the overflow", |m| {
            m.value(
                "iogate_queue_overflows_total",
                &[("endpoint", SIO), ("queue", "outbound")],
            ) == 1.0
        })
        .await;
    assert_eq!(sessions(&metrics, SIO, "polling"), 0.0);
    backend.wait_for("disconnect", None, 1).await;
}

#[tokio::test]
async fn api_calls_are_counted_by_call_and_status() {
    let (_backend, _gateway, api) = start(accept).await;
    // Each scrape is counted after it is answered, so the nth scrape shows n - 1.
    for n in 0..3 {
        let metrics = api.metrics().await;
        assert_eq!(api_calls(&metrics, "/metrics", "200"), n as f64);
    }
    for _ in 0..3 {
        api.emit(r#"{"event":"x"}"#).await;
    }
    api.post("/v1/emit", "{").await;
    api.post("/v1/emit", r#"{"namespace":"/nope","event":"x"}"#)
        .await;
    api.request("POST", "/v1/emit", Some("{}"), None).await;
    api.get("/v1/emit").await;
    api.get("/v1/sockets").await;
    api.get("/v1/rooms").await;
    api.put("/v1/data", r#"{"sid":"x","data":1}"#).await;
    api.get("/v1/nope").await;
    api.get("/v1/other-nope").await;
    api.request("GET", "/v2/x", None, None).await;
    api.request("GET", "/healthz", None, None).await;

    let metrics = api.metrics().await;
    for (call, status, count) in [
        ("/v1/emit", "200", 3.0),
        ("/v1/emit", "400", 1.0),
        ("/v1/emit", "404", 1.0),
        ("/v1/emit", "401", 1.0),
        ("/v1/emit", "405", 1.0),
        ("/v1/sockets", "200", 1.0),
        ("/v1/rooms", "200", 1.0),
        ("/v1/data", "404", 1.0),
        ("other", "404", 2.0),
        ("other", "401", 1.0),
        ("/metrics", "200", 3.0),
    ] {
        assert_eq!(api_calls(&metrics, call, status), count, "{call} {status}");
    }
    // Only known calls become label values.
    let calls: Vec<&str> = metrics
        .named("iogate_api_calls_total")
        .iter()
        .map(|s| s.labels["call"].as_str())
        .collect();
    assert!(
        calls
            .iter()
            .all(|c| *c == "other" || c.starts_with("/v1/") || *c == "/metrics"),
        "{calls:?}"
    );
    assert!(
        !calls.contains(&"/v1/nope") && !calls.contains(&"/healthz"),
        "{calls:?}"
    );
}
