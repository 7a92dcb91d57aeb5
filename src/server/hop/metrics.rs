//! The hop's metrics: requests passed to the nodes holding their sessions, by kind; failures, by reason; how
//! long a passed request took (a parked long poll included), by kind; connections to peers closed because their
//! idle pool was full.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::time::Duration;

/// What kind of request was passed to another node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HopKind {
    /// A long-poll GET (any GET of a polling transport).
    PollingGet,
    /// A POST of packets.
    Post,
    /// A WebSocket upgrade.
    Websocket,
}

impl HopKind {
    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PollingGet => "polling_get",
            Self::Post => "post",
            Self::Websocket => "websocket",
        }
    }
}

/// Labels: the kind of a passed request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HopKindLabel {
    /// `polling_get`, `post` or `websocket`.
    pub kind: String,
}

/// Labels: why a request could not be passed on (or a hop was not believed).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HopFailureLabel {
    /// `no_live_node`, `no_secret`, `connect`, `peer_busy`, `peer_error`, `timeout`, `bad_proof`.
    pub reason: String,
}

/// The hop's metric handles.
#[derive(Clone, Debug)]
pub struct HopMetrics {
    passed: Family<HopKindLabel, Counter>,
    failures: Family<HopFailureLabel, Counter>,
    latency: Family<HopKindLabel, Histogram>,
    idle_closed: Counter,
}

fn hop_histogram() -> Histogram {
    // 100 µs to ~52 s: a passed POST takes a fraction of a millisecond, a parked long poll up to its wait.
    Histogram::new(exponential_buckets(0.0001, 2.0, 20))
}

impl HopMetrics {
    /// The hop's metrics, registered in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            passed: Family::default(),
            failures: Family::default(),
            latency: Family::new_with_constructor(hop_histogram as fn() -> Histogram),
            idle_closed: Counter::default(),
        };
        registry.register(
            "hop_requests",
            "Requests of a session held by another cluster node, passed to that node, by kind",
            metrics.passed.clone(),
        );
        registry.register(
            "hop_failures",
            "Requests that could not be passed to the node holding their session, or hops not believed, by reason",
            metrics.failures.clone(),
        );
        registry.register(
            "hop_duration_seconds",
            "Time from passing a request to another node to its answer (a parked long poll included), by kind",
            metrics.latency.clone(),
        );
        registry.register(
            "hop_idle_closed",
            "Connections to a peer node closed after their answer because 256 idle ones to that peer were kept already",
            metrics.idle_closed.clone(),
        );
        metrics
    }

    /// The counter of connections to peers closed because their idle pool was full.
    pub fn idle_closed(&self) -> Counter {
        self.idle_closed.clone()
    }

    /// Counts a request of `kind` passed to another node.
    pub fn passed(&self, kind: HopKind) {
        self.passed.get_or_create(&kind_label(kind)).inc();
    }

    /// Counts a failure for `reason`.
    pub fn failed(&self, reason: &'static str) {
        self.failures
            .get_or_create(&HopFailureLabel {
                reason: reason.to_string(),
            })
            .inc();
    }

    /// Records how long a passed request of `kind` took.
    pub fn took(&self, kind: HopKind, elapsed: Duration) {
        self.latency
            .get_or_create(&kind_label(kind))
            .observe(elapsed.as_secs_f64());
    }
}

fn kind_label(kind: HopKind) -> HopKindLabel {
    HopKindLabel {
        kind: kind.as_str().to_string(),
    }
}
