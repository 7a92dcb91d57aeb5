//! The cluster rows: a fan-out over three nodes, cross-node delivery latency (of a push emit and of a client's
//! event relayed through a webhook reply's broadcast), and the cost of a polling request that lands on another node
//! than its session's (iogate only: Node needs sticky sessions for polling).

use super::{DEFAULT_HEARTBEAT, Run, count};
use crate::cluster::Cluster;
use crate::report::{Better, number};
use crate::scenario::{self, ClientNodes, Ctx, Pace, Problems, Transport};
use crate::servers::Kind;

impl Run {
    /// One emit through node 1 to a room whose WebSocket clients are spread evenly over every node.
    pub(super) async fn cluster_fanout(&mut self) {
        let (n, rounds, nodes) = (
            self.plan.cluster_fanout,
            self.plan.fanout_rounds,
            self.plan.cluster_nodes,
        );
        let warmup = self.plan.fanout_warmup;
        let emits = (warmup, rounds);
        for kind in self.servers.clone() {
            let outcome =
                on_fresh_cluster!(self, kind, ClientNodes::All, false, |ctx, problems| {
                    scenario::fanout(&ctx, Transport::Websocket, n, emits, &mut problems).await
                });
            let what = "cluster fan-out WebSocket";
            let Some(mut o) = self.record(kind, what, outcome) else {
                continue;
            };
            let label = format!(
                "cluster of {nodes}: fan-out WebSocket, room of {} spread over the nodes, {rounds} emits after {warmup} via node 1",
                count(n)
            );
            self.put_fanout(
                kind,
                what,
                &label,
                &format!(" (all {nodes} processes)"),
                &mut o,
            );
        }
    }

    /// Emits through node 1, one at a time, to a small room whose clients are all on the other nodes: every
    /// delivery crosses Redis.
    pub(super) async fn cross_node(&mut self) {
        let (n, rounds, nodes) = (
            self.plan.cross_node_clients,
            self.plan.cross_node_rounds,
            self.plan.cluster_nodes,
        );
        let warmup = self.plan.fanout_warmup;
        let emits = (warmup, rounds);
        for kind in self.servers.clone() {
            let outcome =
                on_fresh_cluster!(self, kind, ClientNodes::Peers, false, |ctx, problems| {
                    scenario::fanout(&ctx, Transport::Websocket, n, emits, &mut problems).await
                });
            let what = "cluster cross-node emit";
            let Some(mut o) = self.record(kind, what, outcome) else {
                continue;
            };
            let (p50, p99) = (
                o.latencies.percentile_ms(50.0),
                o.latencies.percentile_ms(99.0),
            );
            eprintln!(
                "   {kind} {what}: {} clients, p50 {:.2} ms, p99 {:.2} ms; {}",
                o.clients,
                p50.unwrap_or(f64::NAN),
                p99.unwrap_or(f64::NAN),
                o.cpu.summary()
            );
            self.detail(kind, what, o.cpu);
            let label = format!(
                "cluster of {nodes}: cross-node emit via node 1 to {n} WebSocket clients on the other nodes, \
                 {rounds} emits one at a time after {warmup}"
            );
            for (name, value) in [("p50", p50), ("p99", p99)] {
                if let Some(value) = value {
                    self.put(
                        kind,
                        format!("{label}: {name} latency"),
                        "ms",
                        Better::Lower,
                        value,
                    );
                }
            }
        }
    }

    /// A client on node 1 emits, one emit at a time; the backend's reply to its event hook broadcasts to a room whose
    /// other members are on the other nodes: latency from the client's emit to each delivery, and CPU per delivery.
    pub(super) async fn cross_node_relay(&mut self) {
        let (n, rounds, nodes) = (
            self.plan.cross_node_clients,
            self.plan.cross_node_relay_rounds,
            self.plan.cluster_nodes,
        );
        for kind in self.servers.clone() {
            let outcome =
                on_fresh_cluster!(self, kind, ClientNodes::Peers, false, |ctx, problems| {
                    scenario::broadcast_relay(&ctx, n, rounds, &mut problems).await
                });
            let what = "cluster cross-node relay via a broadcast reply";
            let Some(mut o) = self.record(kind, what, outcome) else {
                continue;
            };
            let (p50, p99) = (
                o.latencies.percentile_ms(50.0),
                o.latencies.percentile_ms(99.0),
            );
            eprintln!(
                "   {kind} {what}: {} clients, {} deliveries, p50 {:.2} ms, p99 {:.2} ms, {:.1} us CPU/delivery \
                 (all {nodes} processes); {}",
                o.clients,
                o.latencies.len(),
                p50.unwrap_or(f64::NAN),
                p99.unwrap_or(f64::NAN),
                o.cpu_us_per_delivery,
                o.cpu.summary()
            );
            self.detail(kind, what, o.cpu);
            let label = format!(
                "cluster of {nodes}: a client on node 1 emits, the webhook reply broadcasts to {n} WebSocket \
                 clients on the other nodes, {rounds} emits one at a time"
            );
            for (name, value) in [("p50", p50), ("p99", p99)] {
                if let Some(value) = value {
                    self.put(
                        kind,
                        format!("{label}: {name} latency (emit to delivery)"),
                        "ms",
                        Better::Lower,
                        value,
                    );
                }
            }
            self.put_cpu(
                kind,
                format!("{label}: server CPU per delivery (all {nodes} processes)"),
                "µs",
                o.cpu_us_per_delivery,
                &o.cpu,
            );
        }
    }

    /// Polling relay at a fixed offered rate on a cluster, sessions on node 1: every request on node 1, then every request
    /// after the handshake on node 2 (forwarded to node 1). The difference is the hop. iogate only.
    pub(super) async fn forwarded_polling(&mut self) {
        if !self.servers.contains(&Kind::Iogate) {
            return;
        }
        let kind = Kind::Iogate;
        let clients = self.plan.relay_clients;
        let (warmup, window) = (self.plan.relay_warmup, self.plan.relay_window);
        let (nodes, rate) = (self.plan.cluster_nodes, self.plan.hop_rate);
        let mut measured = Vec::new();
        for hop in [false, true] {
            let outcome =
                on_fresh_cluster!(self, kind, ClientNodes::Entry, hop, |ctx, problems| {
                    scenario::relay(
                        &ctx,
                        Transport::Polling,
                        clients,
                        warmup,
                        window,
                        Pace::Rate(rate),
                        &mut problems,
                    )
                    .await
                });
            let what = if hop {
                "cluster polling relay, requests via another node"
            } else {
                "cluster polling relay, requests on the session's node"
            };
            let Some(mut o) = self.record(kind, what, outcome) else {
                continue;
            };
            let (p50, p99) = self.report_paced_relay(kind, what, " (all nodes)", &mut o);
            let label = format!(
                "cluster of {nodes}: polling relay at {} emits/s, {clients} clients, sessions on node 1, {}",
                number(rate),
                if hop {
                    "requests via node 2 (forwarded)"
                } else {
                    "requests on node 1"
                }
            );
            self.put_relay_costs(kind, &label, p50, p99, o.cpu_us_per_ack, &o.cpu);
            measured.push((p50, o.cpu_us_per_ack));
        }
        if let [(Some(direct_p50), direct_cpu), (Some(hop_p50), hop_cpu)] = measured[..] {
            let label = format!(
                "cluster of {nodes}: the hop (forwarded minus direct; an ack = one POST and one GET)"
            );
            self.put(
                kind,
                format!("{label}: extra server CPU per ack (all nodes)"),
                "µs",
                Better::Lower,
                hop_cpu - direct_cpu,
            );
            self.put(
                kind,
                format!("{label}: extra p50 latency"),
                "ms",
                Better::Lower,
                hop_p50 - direct_p50,
            );
        }
    }
}
