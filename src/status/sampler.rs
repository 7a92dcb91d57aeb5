//! Turns snapshots into what the status page shows: per-second rates from the counters, webhook latency
//! percentiles over the last minute, the cluster's nodes, and the JSON of it all. One JSON is made per second at
//! most and shared by every viewer (the page's stream, `/status.json`), so viewers do not multiply the cost of
//! walking the session tables.

use super::node_counts::NodeCounts;
use super::snapshot::{self, Snapshot, Totals};
use crate::server::FrontDoor;
use crate::webhook_stats::UrlCounts;
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long one JSON is served before a new one is read.
pub const FRESH_FOR: Duration = Duration::from_millis(900);
/// The window webhook percentiles and failures are computed over.
pub const WEBHOOK_WINDOW: Duration = Duration::from_secs(60);
/// How many past readings are kept (a bound, whatever the reading rate).
const MAX_READINGS: usize = 128;

/// Per-second rates between two readings.
#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct Rates {
    /// Sessions opened per second.
    pub connects: f64,
    /// Sessions closed per second.
    pub disconnects: f64,
    /// Messages from clients per second.
    pub events_in: f64,
    /// Packets to clients per second.
    pub packets_out: f64,
}

/// One webhook URL as the page shows it.
#[derive(Debug, Serialize)]
pub struct WebhookView {
    /// The URL, without credentials or query.
    pub url: String,
    /// Calls since start.
    pub calls: u64,
    /// Failed calls since start.
    pub failures: u64,
    /// Calls in the window.
    pub window_calls: u64,
    /// Failed calls in the window.
    pub window_failures: u64,
    /// Latency percentiles in the window, in milliseconds (bucket upper bounds); null without calls.
    pub p50_ms: Option<f64>,
    /// 95th percentile.
    pub p95_ms: Option<f64>,
    /// 99th percentile.
    pub p99_ms: Option<f64>,
}

/// One cluster node.
#[derive(Debug, Serialize)]
pub struct NodeView {
    /// Its configured (or random) name.
    pub node_id: String,
    /// The tag its session ids start with.
    pub tag: String,
    /// Where its public listener is reached.
    pub advertise: String,
    /// Whether it is this node.
    pub this_node: bool,
    /// Its open sessions: known for this node only (each node's own status page shows its own).
    pub sessions: Option<u64>,
    /// The sessions it has registered in Redis (its Socket.IO sockets, parked ones included, and its `engine.io`
    /// sessions), read every few seconds; `None` until read, or while Redis does not answer.
    pub registered: Option<u64>,
}

/// This node's place in a cluster.
#[derive(Debug, Serialize)]
pub struct ClusterView {
    /// This node's name.
    pub node_id: String,
    /// This node's tag.
    pub tag: String,
    /// Whether Redis answers and this node is subscribed.
    pub redis_up: bool,
    /// The live nodes, this one included.
    pub nodes: Vec<NodeView>,
}

/// What the page receives once per second.
#[derive(Debug, Serialize)]
pub struct StatusJson<'a> {
    /// Milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// Seconds since the API listener started.
    pub uptime_s: u64,
    /// iogate's version.
    pub version: &'static str,
    /// What was read.
    #[serde(flatten)]
    pub snapshot: &'a Snapshot,
    /// Per-second rates since the previous reading.
    pub rates: Rates,
    /// Webhook URLs.
    pub webhooks: Vec<WebhookView>,
    /// Seconds the webhook window covers (shorter right after start).
    pub webhook_window_s: u64,
    /// The cluster, when `[cluster]` is configured.
    pub cluster: Option<ClusterView>,
}

struct Reading {
    at: Instant,
    totals: Totals,
    urls: Vec<(String, UrlCounts)>,
}

struct State {
    readings: VecDeque<Reading>,
    last_json: Option<(Instant, Arc<str>)>,
    rates: Rates,
}

/// The shared reader of snapshots.
pub struct Sampler {
    started: Instant,
    /// The other nodes' registered sessions, kept fresh in the background.
    node_counts: Arc<NodeCounts>,
    state: Mutex<State>,
}

impl Default for Sampler {
    fn default() -> Self {
        Self::new(Arc::default())
    }
}

impl Sampler {
    /// A sampler whose cluster view takes the other nodes' counts from `node_counts`.
    pub fn new(node_counts: Arc<NodeCounts>) -> Self {
        Self {
            started: Instant::now(),
            node_counts,
            state: Mutex::new(State {
                readings: VecDeque::new(),
                last_json: None,
                rates: Rates::default(),
            }),
        }
    }
}

impl Sampler {
    /// The status JSON of `app`: the last one when it is fresh, else a new reading.
    pub fn json(&self, app: &FrontDoor) -> Arc<str> {
        let Ok(mut state) = self.state.lock() else {
            return Arc::from("{}");
        };
        let now = Instant::now();
        if let Some((at, json)) = &state.last_json
            && now.duration_since(*at) < FRESH_FOR
        {
            return json.clone();
        }
        let snapshot = snapshot::read(app);
        if let Some(previous) = state.readings.back() {
            state.rates = rates(&previous.totals, &snapshot.totals, now - previous.at);
        }
        while state.readings.len() >= MAX_READINGS
            || state
                .readings
                .front()
                .is_some_and(|oldest| now.duration_since(oldest.at) > WEBHOOK_WINDOW)
                && state.readings.len() > 1
        {
            state.readings.pop_front();
        }
        let window_start = state.readings.front().map(|r| (r.at, &r.urls));
        let webhook_window_s = window_start.map_or(0, |(at, _)| now.duration_since(at).as_secs());
        let webhooks = webhook_views(&snapshot.webhook_urls, window_start.map(|(_, urls)| urls));
        let json = StatusJson {
            time_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            uptime_s: now.duration_since(self.started).as_secs(),
            version: env!("CARGO_PKG_VERSION"),
            snapshot: &snapshot,
            rates: state.rates,
            webhooks,
            webhook_window_s,
            cluster: cluster_view(app, snapshot.sessions.total, &self.node_counts),
        };
        let json: Arc<str> = Arc::from(serde_json::to_string(&json).unwrap_or_default());
        state.readings.push_back(Reading {
            at: now,
            totals: snapshot.totals,
            urls: snapshot.webhook_urls,
        });
        state.last_json = Some((now, json.clone()));
        json
    }
}

fn rates(before: &Totals, now: &Totals, elapsed: Duration) -> Rates {
    let seconds = elapsed.as_secs_f64().max(0.001);
    let per_second = |a: u64, b: u64| (b.saturating_sub(a) as f64 / seconds * 10.0).round() / 10.0;
    Rates {
        connects: per_second(before.connects, now.connects),
        disconnects: per_second(before.disconnects, now.disconnects),
        events_in: per_second(before.events_in, now.events_in),
        packets_out: per_second(before.packets_out, now.packets_out),
    }
}

fn webhook_views(
    now: &[(String, UrlCounts)],
    window_start: Option<&Vec<(String, UrlCounts)>>,
) -> Vec<WebhookView> {
    now.iter()
        .map(|(url, counts)| {
            let earlier = window_start
                .and_then(|urls| urls.iter().find(|(known, _)| known == url))
                .map(|(_, counts)| *counts)
                .unwrap_or_default();
            let window = counts.since(&earlier);
            WebhookView {
                url: url.clone(),
                calls: counts.calls(),
                failures: counts.failures,
                window_calls: window.calls(),
                window_failures: window.failures,
                p50_ms: window.quantile_ms(0.50),
                p95_ms: window.quantile_ms(0.95),
                p99_ms: window.quantile_ms(0.99),
            }
        })
        .collect()
}

fn cluster_view(app: &FrontDoor, sessions: u64, counts: &NodeCounts) -> Option<ClusterView> {
    let cluster = app.cluster()?;
    let me = cluster.me();
    let mut nodes: Vec<NodeView> = cluster
        .membership()
        .live()
        .into_iter()
        .map(|(_, peer)| {
            let this_node = peer.node_id == me.node_id;
            NodeView {
                registered: counts.of(&peer.tag),
                node_id: peer.node_id,
                tag: peer.tag,
                advertise: peer.advertise,
                this_node,
                sessions: this_node.then_some(sessions),
            }
        })
        .collect();
    if !nodes.iter().any(|node| node.this_node) {
        nodes.push(NodeView {
            registered: counts.of(&me.tag),
            node_id: me.node_id.clone(),
            tag: me.tag.clone(),
            advertise: me.advertise.clone(),
            this_node: true,
            sessions: Some(sessions),
        });
    }
    nodes.sort_by(|a, b| a.node_id.cmp(&b.node_id));
    Some(ClusterView {
        node_id: me.node_id,
        tag: cluster.tag().to_string(),
        redis_up: cluster.is_up(),
        nodes,
    })
}
