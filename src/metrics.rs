//! Prometheus metrics worth alerting on, served at `/metrics` on the API listener.

use crate::webhook_stats::{UrlStats, WebhookUrls};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Labels: endpoint path.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EndpointLabel {
    /// The endpoint path.
    pub endpoint: String,
}

/// Labels: endpoint and transport.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TransportLabels {
    /// The endpoint path.
    pub endpoint: String,
    /// `polling` or `websocket`.
    pub transport: String,
}

/// Labels: endpoint and webhook event.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HookLabels {
    /// The endpoint path.
    pub endpoint: String,
    /// `connect`, `event`, `disconnect`, `open`, `message` or `close`.
    pub event: String,
}

/// Labels: endpoint and which queue overflowed.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueLabels {
    /// The endpoint path.
    pub endpoint: String,
    /// `outbound` (packets for a slow client; the session is closed) or `hooks` (backpressure applied).
    pub queue: String,
}

/// Labels: why a request, connection or session was refused.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RefusedLabels {
    /// What was refused and why, e.g. `max_connections`, `body_timeout`, `cors_origin` (docs/security.md lists them).
    pub reason: String,
}

/// Labels: API call and outcome.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ApiLabels {
    /// The call, e.g. `/v1/emit`.
    pub call: String,
    /// The HTTP status answered.
    pub status: String,
}

/// Labels: what became of cross-node requests.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ClusterRequestLabels {
    /// `sent` (by this node), `answered` (this node answered another's), `partial` (sent, and a live node did not
    /// answer within peer_timeout).
    pub outcome: String,
}

/// Every metric of the process.
pub struct Metrics {
    registry: Registry,
    sessions: Family<TransportLabels, Gauge>,
    sockets: Family<EndpointLabel, Gauge>,
    buffered_bytes: Family<EndpointLabel, Gauge>,
    namespaces: Family<EndpointLabel, Gauge>,
    packets_in: Family<EndpointLabel, Counter>,
    packets_out: Family<EndpointLabel, Counter>,
    hook_latency: Family<HookLabels, Histogram>,
    hook_failures: Family<HookLabels, Counter>,
    hook_retries: Family<HookLabels, Counter>,
    hook_given_up: Family<HookLabels, Counter>,
    hook_retrying: Family<EndpointLabel, Gauge>,
    queue_overflows: Family<QueueLabels, Counter>,
    api_calls: Family<ApiLabels, Counter>,
    refused: Family<RefusedLabels, Counter>,
    cluster: ClusterMetrics,
    hop: crate::server::hop::HopMetrics,
    recovery: RecoveryFamilies,
    webhook_urls: WebhookUrls,
    /// The refusal reasons counted so far (a reason is a `&'static str`: the set is bounded by the code).
    refused_seen: std::sync::Mutex<Vec<&'static str>>,
}

/// The metric families of connection state recovery, registered when the first endpoint turns it on.
#[derive(Default)]
struct RecoveryFamilies {
    parked: Family<EndpointLabel, Gauge>,
    lent: Family<EndpointLabel, Gauge>,
    outcomes: Family<OutcomeLabels, Counter>,
    expired: Family<EndpointLabel, Counter>,
    trimmed: Family<EndpointLabel, Counter>,
    park_refused: Family<EndpointLabel, Counter>,
}

/// Labels of a recovery attempt's outcome.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// The endpoint path.
    pub endpoint: String,
    /// `recovered`, or why not: `unknown_pid`, `expired`, `offset_not_found`, `live`, `rejected`.
    pub outcome: String,
}

/// Connection state recovery metrics of one endpoint.
#[derive(Clone, Debug)]
pub struct RecoveryMetrics {
    endpoint: String,
    /// Sockets parked now, waiting for their client (`iogate_recovery_parked`).
    pub parked: Gauge,
    /// Sockets handed to another node of the cluster that has not confirmed it took them yet
    /// (`iogate_recovery_lent`); they count against the parking limit.
    pub lent: Gauge,
    outcomes: Family<OutcomeLabels, Counter>,
    /// Parked sockets whose window ran out (`iogate_recovery_expired_total`).
    pub expired: Counter,
    /// Events dropped from a socket's replay log to stay within its bounds (`iogate_recovery_log_trimmed_total`).
    pub trimmed: Counter,
    /// Sockets not parked because the endpoint's parking limit was reached (`iogate_recovery_park_refused_total`).
    pub park_refused: Counter,
}

impl RecoveryMetrics {
    /// Counts one CONNECT that named a private id, by outcome.
    pub fn outcome(&self, outcome: &'static str) {
        self.outcomes
            .get_or_create(&OutcomeLabels {
                endpoint: self.endpoint.clone(),
                outcome: outcome.to_string(),
            })
            .inc();
    }

    /// Handles that count into a private registry (tests).
    pub fn detached() -> Self {
        Metrics::new().recovery("")
    }
}

impl Metrics {
    /// A registry with every metric registered.
    pub fn new() -> Arc<Self> {
        Self::with_cluster(None)
    }

    /// A registry with every metric registered, and a cluster node's (`iogate_cluster_*`) when `cluster` is given.
    pub fn with_cluster(cluster: Option<&ClusterMetrics>) -> Arc<Self> {
        let mut registry = Registry::with_prefix("iogate");
        if let Some(cluster) = cluster {
            cluster.register(&mut registry);
        }
        let cluster = cluster.cloned().unwrap_or_default();
        let sessions = Family::<TransportLabels, Gauge>::default();
        let sockets = Family::<EndpointLabel, Gauge>::default();
        let buffered_bytes = Family::<EndpointLabel, Gauge>::default();
        let namespaces = Family::<EndpointLabel, Gauge>::default();
        let packets_in = Family::<EndpointLabel, Counter>::default();
        let packets_out = Family::<EndpointLabel, Counter>::default();
        let hook_latency = Family::<HookLabels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let hook_failures = Family::<HookLabels, Counter>::default();
        let hook_retries = Family::<HookLabels, Counter>::default();
        let hook_given_up = Family::<HookLabels, Counter>::default();
        let hook_retrying = Family::<EndpointLabel, Gauge>::default();
        let queue_overflows = Family::<QueueLabels, Counter>::default();
        let api_calls = Family::<ApiLabels, Counter>::default();
        let refused = Family::<RefusedLabels, Counter>::default();
        registry.register("sessions", "Open Engine.IO sessions", sessions.clone());
        registry.register("sockets", "Connected Socket.IO sockets", sockets.clone());
        registry.register(
            "buffered_bytes",
            "Bytes queued for clients that they have not taken yet (bounded per session by max_buffer)",
            buffered_bytes.clone(),
        );
        registry.register(
            "namespaces",
            "Socket.IO namespaces in the table: the configured exact ones and those with a connected socket",
            namespaces.clone(),
        );
        registry.register(
            "packets_in",
            "Messages received from clients",
            packets_in.clone(),
        );
        registry.register(
            "packets_out",
            "Packets queued for clients",
            packets_out.clone(),
        );
        registry.register(
            "webhook_duration_seconds",
            "Webhook call latency",
            hook_latency.clone(),
        );
        registry.register(
            "webhook_failures",
            "Webhook calls that failed (unreachable, timeout, non-2xx)",
            hook_failures.clone(),
        );
        registry.register(
            "webhook_retries",
            "Webhook deliveries retried",
            hook_retries.clone(),
        );
        registry.register(
            "webhook_given_up",
            "Webhooks that must arrive given up: retried for webhook_retry_window, or past max_retrying_hooks",
            hook_given_up.clone(),
        );
        registry.register(
            "webhook_retrying",
            "Webhook deliveries waiting for a retry now",
            hook_retrying.clone(),
        );
        registry.register(
            "queue_overflows",
            "Queue overflows: outbound closes a session, hooks applies backpressure",
            queue_overflows.clone(),
        );
        registry.register("api_calls", "Push API calls by outcome", api_calls.clone());
        registry.register(
            "refused",
            "Connections, requests and sessions refused by a limit or a security check, by reason",
            refused.clone(),
        );
        let hop = crate::server::hop::HopMetrics::register(&mut registry);
        let recovery = RecoveryFamilies::default();
        registry.register(
            "recovery_parked",
            "Sockets parked for connection state recovery, waiting for their client",
            recovery.parked.clone(),
        );
        registry.register(
            "recovery_lent",
            "Sockets handed over to another node that has not confirmed it took them (held, and counted against the parking limit, until it does)",
            recovery.lent.clone(),
        );
        registry.register(
            "recoveries",
            "CONNECTs naming a socket to recover, by outcome (recovered, or why not)",
            recovery.outcomes.clone(),
        );
        registry.register(
            "recovery_expired",
            "Parked sockets whose recovery window ran out (their disconnect hook is sent then)",
            recovery.expired.clone(),
        );
        registry.register(
            "recovery_log_trimmed",
            "Events dropped from a socket's replay log to stay within recovery.max_buffer or the window",
            recovery.trimmed.clone(),
        );
        registry.register(
            "recovery_park_refused",
            "Sockets not parked because as many were parked (or lent) as the endpoint allows",
            recovery.park_refused.clone(),
        );
        Arc::new(Self {
            registry,
            sessions,
            sockets,
            buffered_bytes,
            namespaces,
            packets_in,
            packets_out,
            hook_latency,
            hook_failures,
            hook_retries,
            hook_given_up,
            hook_retrying,
            queue_overflows,
            api_calls,
            refused,
            cluster,
            hop,
            recovery,
            webhook_urls: WebhookUrls::default(),
            refused_seen: std::sync::Mutex::default(),
        })
    }

    /// The recovery metrics of `endpoint`.
    pub fn recovery(self: &Arc<Self>, endpoint: &str) -> RecoveryMetrics {
        let label = EndpointLabel {
            endpoint: endpoint.to_string(),
        };
        let families = &self.recovery;
        RecoveryMetrics {
            endpoint: endpoint.to_string(),
            parked: families.parked.get_or_create_owned(&label),
            lent: families.lent.get_or_create_owned(&label),
            outcomes: families.outcomes.clone(),
            expired: families.expired.get_or_create_owned(&label),
            trimmed: families.trimmed.get_or_create_owned(&label),
            park_refused: families.park_refused.get_or_create_owned(&label),
        }
    }

    /// The cluster node's metrics (registered only when the registry was made for a cluster node).
    pub fn cluster(&self) -> ClusterMetrics {
        self.cluster.clone()
    }

    /// Latency and failures per webhook URL (the status page's).
    pub fn webhook_urls(&self) -> &WebhookUrls {
        &self.webhook_urls
    }

    /// The cluster hop's metrics (requests passed to the node holding their session).
    pub fn hop(&self) -> &crate::server::hop::HopMetrics {
        &self.hop
    }

    /// Handles for one endpoint. Its webhook series exist from the start (at zero), so alerts have data.
    pub fn endpoint(self: &Arc<Self>, endpoint: &str) -> EndpointMetrics {
        for event in ["connect", "event", "disconnect", "open", "message", "close"] {
            let labels = HookLabels {
                endpoint: endpoint.to_string(),
                event: event.to_string(),
            };
            drop(self.hook_latency.get_or_create(&labels));
            drop(self.hook_failures.get_or_create(&labels));
            drop(self.hook_retries.get_or_create(&labels));
            drop(self.hook_given_up.get_or_create(&labels));
        }
        let label = EndpointLabel {
            endpoint: endpoint.to_string(),
        };
        let transport = |name: &str| TransportLabels {
            endpoint: endpoint.to_string(),
            transport: name.to_string(),
        };
        let queue = |name: &str| QueueLabels {
            endpoint: endpoint.to_string(),
            queue: name.to_string(),
        };
        EndpointMetrics {
            sessions_polling: self.sessions.get_or_create_owned(&transport("polling")),
            sessions_websocket: self.sessions.get_or_create_owned(&transport("websocket")),
            sockets: self.sockets.get_or_create_owned(&label),
            sessions_opened: Counter::default(),
            sessions_closed: Counter::default(),
            buffered_bytes: self.buffered_bytes.get_or_create_owned(&label),
            namespaces: self.namespaces.get_or_create_owned(&label),
            packets_in: self.packets_in.get_or_create_owned(&label),
            packets_out: self.packets_out.get_or_create_owned(&label),
            outbound_overflows: self.queue_overflows.get_or_create_owned(&queue("outbound")),
            hook_overflows: self.queue_overflows.get_or_create_owned(&queue("hooks")),
            hooks: HookMetrics {
                endpoint: endpoint.to_string(),
                retrying: self.hook_retrying.get_or_create_owned(&label),
                metrics: self.clone(),
                latency: Arc::default(),
            },
        }
    }

    /// Counts an API call.
    pub fn api_call(&self, call: &str, status: u16) {
        self.api_calls
            .get_or_create(&ApiLabels {
                call: call.to_string(),
                status: status.to_string(),
            })
            .inc();
    }

    /// Counts one refusal (a limit reached or a security check failed); `reason` is a short snake_case name.
    pub fn refused(&self, reason: &'static str) {
        self.refused
            .get_or_create(&RefusedLabels {
                reason: reason.to_string(),
            })
            .inc();
        if let Ok(mut seen) = self.refused_seen.lock()
            && !seen.contains(&reason)
        {
            seen.push(reason);
        }
    }

    /// Every refusal reason counted so far, with its count (the status page's "bounds hit").
    pub fn refused_counts(&self) -> Vec<(&'static str, u64)> {
        let seen = self
            .refused_seen
            .lock()
            .map(|seen| seen.clone())
            .unwrap_or_default();
        seen.into_iter()
            .map(|reason| {
                let labels = RefusedLabels {
                    reason: reason.to_string(),
                };
                (reason, self.refused.get_or_create(&labels).get())
            })
            .collect()
    }

    /// The Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// A cluster node's metrics; they exist only when `[cluster]` is configured.
#[derive(Clone, Debug)]
pub struct ClusterMetrics {
    /// Cross-node requests by outcome; `requests_sent`, `requests_answered` and `requests_partial` are its series.
    requests: Family<ClusterRequestLabels, Counter>,
    /// 1 while Redis answers and this node is subscribed (cross-node delivery works), else 0.
    pub redis_up: Gauge,
    /// Live nodes as this node last saw them, itself included.
    pub nodes: Gauge,
    /// Departed nodes this node cleaned up after.
    pub departures: Counter,
    /// Hooks this node sent for the sessions of departed nodes.
    pub departed_hooks: Counter,
    /// Times this node found itself declared departed by the others while it was alive.
    pub declared_departed: Counter,
    /// Times the socket registry had to be rewritten whole (its queue was full or Redis did not answer).
    pub registry_rewrites: Counter,
    /// Cross-node requests this node sent.
    pub requests_sent: Counter,
    /// Other nodes' requests this node answered.
    pub requests_answered: Counter,
    /// Requests this node sent that a live node did not answer in time (their answers say `partial`).
    pub requests_partial: Counter,
    /// Messages of the Node ecosystem's emitter or adapter applied to this node's sockets.
    pub node_messages: Counter,
    /// Messages from Redis dropped because their subscriber (a task of this node) had a full queue.
    pub messages_dropped: Counter,
}

impl Default for ClusterMetrics {
    fn default() -> Self {
        let requests = Family::<ClusterRequestLabels, Counter>::default();
        let outcome = |name: &str| {
            requests.get_or_create_owned(&ClusterRequestLabels {
                outcome: name.to_string(),
            })
        };
        Self {
            redis_up: Gauge::default(),
            nodes: Gauge::default(),
            departures: Counter::default(),
            departed_hooks: Counter::default(),
            declared_departed: Counter::default(),
            registry_rewrites: Counter::default(),
            requests_sent: outcome("sent"),
            requests_answered: outcome("answered"),
            requests_partial: outcome("partial"),
            node_messages: Counter::default(),
            messages_dropped: Counter::default(),
            requests,
        }
    }
}

impl ClusterMetrics {
    fn register(&self, registry: &mut Registry) {
        registry.register(
            "cluster_redis_up",
            "1 while Redis answers and this node is subscribed: cross-node delivery works",
            self.redis_up.clone(),
        );
        registry.register(
            "cluster_nodes",
            "Live cluster nodes as this node last saw them, itself included",
            self.nodes.clone(),
        );
        registry.register(
            "cluster_departures",
            "Departed nodes this node cleaned up after",
            self.departures.clone(),
        );
        registry.register(
            "cluster_departed_hooks",
            "Disconnect and close hooks this node sent for the sessions of departed nodes",
            self.departed_hooks.clone(),
        );
        registry.register(
            "cluster_declared_departed",
            "Times this node found the others had declared it departed while it was alive",
            self.declared_departed.clone(),
        );
        registry.register(
            "cluster_registry_rewrites",
            "Times this node rewrote its socket registry in Redis whole",
            self.registry_rewrites.clone(),
        );
        registry.register(
            "cluster_requests",
            "Cross-node requests: sent by this node, answered for other nodes, partial (a live node did not answer within peer_timeout)",
            self.requests.clone(),
        );
        registry.register(
            "cluster_node_messages",
            "Messages of the Node ecosystem's Redis emitter or adapter applied to this node's sockets",
            self.node_messages.clone(),
        );
        registry.register(
            "cluster_messages_dropped",
            "Messages from Redis pub/sub dropped because the task they were for had 4096 waiting already",
            self.messages_dropped.clone(),
        );
    }
}

fn latency_histogram() -> Histogram {
    // 1 ms to ~16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// Metric handles of one endpoint, shared by its sessions and relay.
#[derive(Clone, Debug)]
pub struct EndpointMetrics {
    /// Sessions on long-polling.
    pub sessions_polling: Gauge,
    /// Sessions on WebSocket.
    pub sessions_websocket: Gauge,
    /// Connected sockets.
    pub sockets: Gauge,
    /// Sessions opened since start (the status page's connects per second; not exported).
    pub sessions_opened: Counter,
    /// Sessions closed since start (the status page's disconnects per second; not exported).
    pub sessions_closed: Counter,
    /// Bytes queued for the endpoint's clients that they have not taken yet.
    pub buffered_bytes: Gauge,
    /// Namespaces in the endpoint's table.
    pub namespaces: Gauge,
    /// Messages received.
    pub packets_in: Counter,
    /// Packets queued for clients.
    pub packets_out: Counter,
    /// Sessions closed because their outbound queue overflowed.
    pub outbound_overflows: Counter,
    /// Times a client was paused because its hook queue was full.
    pub hook_overflows: Counter,
    /// Webhook metrics.
    pub hooks: HookMetrics,
}

impl EndpointMetrics {
    /// Handles that count into a private registry (for code paths built without a shared one).
    pub fn detached() -> Self {
        Metrics::new().endpoint("")
    }

    /// Counts one refusal in the process-wide `iogate_refused_total` (see [`Metrics::refused`]).
    pub fn refused(&self, reason: &'static str) {
        self.hooks.metrics.refused(reason);
    }

    /// The session gauge of `websocket` or polling.
    pub fn sessions(&self, websocket: bool) -> &Gauge {
        if websocket {
            &self.sessions_websocket
        } else {
            &self.sessions_polling
        }
    }
}

/// The hook events iogate sends, whose latency histograms are looked up once each.
const HOOK_EVENTS: [&str; 6] = ["connect", "event", "disconnect", "open", "message", "close"];

/// Webhook metrics of one endpoint.
#[derive(Clone)]
pub struct HookMetrics {
    endpoint: String,
    /// Deliveries of the endpoint waiting for a retry (`iogate_webhook_retrying`), also what
    /// `max_retrying_hooks` bounds.
    retrying: Gauge,
    metrics: Arc<Metrics>,
    /// The latency histogram of each of [`HOOK_EVENTS`], found in the family on first use: a lookup builds its
    /// labels (two strings), which every webhook call would otherwise pay.
    latency: Arc<[OnceLock<Histogram>; HOOK_EVENTS.len()]>,
}

impl std::fmt::Debug for HookMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HookMetrics")
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

impl HookMetrics {
    fn labels(&self, event: &str) -> HookLabels {
        HookLabels {
            endpoint: self.endpoint.clone(),
            event: event.to_string(),
        }
    }

    /// Records one call's latency.
    pub fn observe(&self, event: &str, took: Duration) {
        let lookup = || {
            self.metrics
                .hook_latency
                .get_or_create(&self.labels(event))
                .clone()
        };
        match HOOK_EVENTS.iter().position(|known| *known == event) {
            Some(index) => self.latency[index]
                .get_or_init(lookup)
                .observe(took.as_secs_f64()),
            None => lookup().observe(took.as_secs_f64()),
        }
    }

    /// Counts a failed call.
    pub fn failed(&self, event: &str) {
        self.metrics
            .hook_failures
            .get_or_create(&self.labels(event))
            .inc();
    }

    /// Counts a retry.
    pub fn retried(&self, event: &str) {
        self.metrics
            .hook_retries
            .get_or_create(&self.labels(event))
            .inc();
    }

    /// Counts a delivery that must arrive given up.
    pub fn given_up(&self, event: &str) {
        self.metrics
            .hook_given_up
            .get_or_create(&self.labels(event))
            .inc();
    }

    /// Counts one more delivery waiting for a retry, unless `max` already wait: then nothing changes and the
    /// answer is false.
    pub fn start_retrying(&self, max: usize) -> bool {
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        if self.retrying.inc() >= max {
            self.retrying.dec();
            return false;
        }
        true
    }

    /// Counts one delivery fewer waiting for a retry (it was delivered or given up).
    pub fn stop_retrying(&self) {
        self.retrying.dec();
    }

    /// The endpoint path.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Deliveries of the endpoint waiting for a retry now.
    pub fn retrying_now(&self) -> i64 {
        self.retrying.get()
    }

    /// Deliveries given up, over every hook event.
    pub fn given_up_total(&self) -> u64 {
        HOOK_EVENTS
            .iter()
            .map(|event| {
                self.metrics
                    .hook_given_up
                    .get_or_create(&self.labels(event))
                    .get()
            })
            .sum()
    }

    /// The latency and failure counts of webhook `url` (looked up once per webhook target, never per call).
    pub fn url_stats(&self, url: &str) -> Arc<UrlStats> {
        self.metrics.webhook_urls.of(url)
    }
}
