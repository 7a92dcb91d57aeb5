//! A whole benchmark run: each scenario against iogate and then against Node (a fresh server process each time),
//! the relay at half load for both, the loopback floors; all of it as many times as asked, and one table of the
//! medians at the end.

use crate::Res;
use crate::floor::FloorReading;
use crate::net::Sources;
use crate::report::medians::{self, MedianRow};
use crate::report::{Better, CpuShares, Row, number};
use crate::scenario::{self, Ctx, Pace, Problems, Transport};
use crate::servers::{Backend, Heartbeat, Kind, Server, Tools};
use serde::Serialize;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How big a run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Mode {
    /// The documented numbers: 10k idle sessions per transport, 10k-client fan-out, repeated relay runs.
    Full,
    /// About two minutes.
    Quick,
    /// Seconds: tiny counts, to keep the tooling from rotting (CI). Its numbers mean nothing.
    Smoke,
}

/// Sizes and durations of a run.
#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    /// Idle sessions per transport; also the sessions parked for recovery.
    pub idle_sessions: usize,
    /// Heartbeat interval of the idle scenarios.
    pub idle_ping_interval: Duration,
    /// Wait after the last idle client connected (and after the last parked sessions' client connected).
    pub idle_settle: Duration,
    /// CPU window of the idle scenarios.
    pub idle_window: Duration,
    /// Relay clients (concurrency) per transport.
    pub relay_clients: usize,
    /// Relay warm-up, not measured.
    pub relay_warmup: Duration,
    /// Relay measured window.
    pub relay_window: Duration,
    /// Closed-loop relay runs per server and transport; the best (by throughput) is reported.
    pub relay_runs: usize,
    /// Fan-out room size over WebSocket.
    pub fanout_websocket: usize,
    /// Fan-out room size over polling.
    pub fanout_polling: usize,
    /// Emits per fan-out scenario, measured.
    pub fanout_rounds: usize,
    /// Emits before them in each fan-out scenario, not measured: the servers' warm-up, and the connections' (at
    /// least 16 rounds, past the quick ACKs Linux gives a connection's first data segments; the floors warm up as
    /// long).
    pub fanout_warmup: usize,
    /// Connects per connect storm.
    pub storm_connects: usize,
    /// Connects in flight during a storm.
    pub storm_concurrency: usize,
    /// Clients connecting at once while a scenario sets up.
    pub connect_concurrency: usize,
    /// Nodes of the cluster scenarios.
    pub cluster_nodes: usize,
    /// Cluster fan-out room size (clients spread evenly over the nodes).
    pub cluster_fanout: usize,
    /// Clients on the other nodes in the cross-node latency scenario.
    pub cross_node_clients: usize,
    /// Emits, one at a time, in the cross-node latency scenario.
    pub cross_node_rounds: usize,
    /// Emits, one at a time, in the cross-node relay through a webhook reply's broadcast (to the cross-node
    /// scenario's clients).
    pub cross_node_relay_rounds: usize,
    /// Offered emits per second (all relay clients together) when measuring the polling hop.
    pub hop_rate: f64,
    /// Measured rounds of the fan-out floors (one frame to each of `fanout_websocket` loopback connections per
    /// round), after `fanout_warmup` unmeasured ones.
    pub floor_rounds: usize,
}

impl Plan {
    /// The plan of `mode`.
    pub fn for_mode(mode: Mode) -> Self {
        match mode {
            Mode::Full => Self {
                idle_sessions: 10_000,
                idle_ping_interval: Duration::from_secs(25),
                idle_settle: Duration::from_secs(3),
                idle_window: Duration::from_secs(30),
                relay_clients: 100,
                relay_warmup: Duration::from_secs(2),
                relay_window: Duration::from_secs(10),
                relay_runs: 1,
                fanout_websocket: 10_000,
                fanout_polling: 1_000,
                fanout_rounds: 30,
                fanout_warmup: 20,
                storm_connects: 10_000,
                storm_concurrency: 64,
                connect_concurrency: 256,
                cluster_nodes: 3,
                cluster_fanout: 9_000,
                cross_node_clients: 10,
                cross_node_rounds: 200,
                cross_node_relay_rounds: 1_000,
                hop_rate: 2_000.0,
                floor_rounds: 20,
            },
            Mode::Quick => Self {
                idle_sessions: 2_000,
                idle_ping_interval: Duration::from_secs(3),
                idle_settle: Duration::from_millis(500),
                idle_window: Duration::from_secs(4),
                relay_clients: 100,
                relay_warmup: Duration::from_secs(1),
                relay_window: Duration::from_millis(2500),
                relay_runs: 1,
                fanout_websocket: 2_000,
                fanout_polling: 500,
                fanout_rounds: 5,
                fanout_warmup: 20,
                storm_connects: 1_000,
                storm_concurrency: 64,
                connect_concurrency: 256,
                cluster_nodes: 3,
                cluster_fanout: 1_500,
                cross_node_clients: 10,
                cross_node_rounds: 50,
                cross_node_relay_rounds: 200,
                hop_rate: 1_000.0,
                floor_rounds: 20,
            },
            Mode::Smoke => Self {
                idle_sessions: 20,
                idle_ping_interval: Duration::from_millis(300),
                idle_settle: Duration::from_millis(100),
                idle_window: Duration::from_millis(400),
                relay_clients: 4,
                relay_warmup: Duration::from_millis(100),
                relay_window: Duration::from_millis(300),
                relay_runs: 1,
                fanout_websocket: 20,
                fanout_polling: 10,
                fanout_rounds: 2,
                fanout_warmup: 1,
                storm_connects: 20,
                storm_concurrency: 4,
                connect_concurrency: 16,
                cluster_nodes: 3,
                cluster_fanout: 12,
                cross_node_clients: 2,
                cross_node_rounds: 3,
                cross_node_relay_rounds: 3,
                hop_rate: 100.0,
                floor_rounds: 2,
            },
        }
    }

    /// The fan-out floors' rounds: the scenario's warm-up, then `floor_rounds` measured.
    pub fn fanout_floor_rounds(&self) -> crate::floor::fanout::Rounds {
        crate::floor::fanout::Rounds {
            warmup: self.fanout_warmup,
            measured: self.floor_rounds,
        }
    }

    fn idle_heartbeat(&self) -> Heartbeat {
        Heartbeat {
            interval: self.idle_ping_interval,
            timeout: Duration::from_secs(20),
        }
    }
}

/// The servers' default heartbeat (both use 25 s / 20 s), for every scenario but the idle ones.
pub const DEFAULT_HEARTBEAT: Heartbeat = Heartbeat {
    interval: Duration::from_secs(25),
    timeout: Duration::from_secs(20),
};

/// What to run.
#[derive(Clone, Debug)]
pub struct Options {
    /// Size of the run.
    pub mode: Mode,
    /// The programs.
    pub tools: Tools,
    /// Servers to measure, in order.
    pub servers: Vec<Kind>,
    /// Loopback source addresses for client connections (0: the kernel's choice).
    pub sources: usize,
    /// Where to write the results as JSON.
    pub json: Option<PathBuf>,
    /// Whether to run the cluster scenarios (they need `redis-server`).
    pub cluster: bool,
    /// Whether to run the single-server scenarios (idle, relay, fan-out, connect storm).
    pub single: bool,
    /// Whether to run the parked sessions scenario (memory per session kept for connection state recovery).
    pub parked: bool,
    /// Whether to measure the loopback floors (no server).
    pub floor: bool,
    /// How many times to run the whole suite; the table shows the median of the runs.
    pub runs: usize,
}

/// Everything the runs measured.
#[derive(Debug, Serialize)]
pub struct Report {
    /// The size of the runs.
    pub mode: Mode,
    /// Their plan.
    pub plan: Plan,
    /// Every run's own figures.
    pub runs: Vec<SuiteRun>,
    /// The rows of the table: every run's values of each figure (the table shows their medians).
    pub rows: Vec<MedianRow>,
    /// The loopback floors: every run's reading of each.
    pub floors: Vec<medians::FloorRow>,
    /// Measurements that failed outright (no number), over all runs.
    pub failures: usize,
}

/// What one run of the whole suite measured.
#[derive(Debug, Serialize)]
pub struct SuiteRun {
    /// The rows of this run.
    pub rows: Vec<Row>,
    /// The loopback floors of this run.
    pub floors: Vec<FloorReading>,
    /// CPU of the server, load generator and backend in each measured window.
    pub details: Vec<Detail>,
    /// Problems met (failed connects, lost sessions, errors).
    pub notes: Vec<String>,
    /// Measurements that failed outright (no number).
    pub failures: usize,
}

/// CPU use of the three processes during one measurement.
#[derive(Debug, Serialize)]
pub struct Detail {
    /// Which server.
    pub server: String,
    /// Which measurement.
    pub scenario: String,
    /// The CPU readings.
    pub cpu: scenario::Usage,
}

impl Report {
    /// The markdown table of the medians, a legend, the tools' CPU, the loopback floors, and the notes.
    pub fn render(&self) -> String {
        let mut out = medians::table(&self.rows);
        out.push_str(
            "\nratio: how many times better iogate does than Node (rates: iogate / Node; costs and latencies: \
             Node / iogate); below 1.0x Node does better.",
        );
        if self.runs.len() > 1 {
            out.push_str(
                " Every figure is the median of the runs (each run's value in brackets, in run order); the ratio \
                 is the ratio of the two medians.",
            );
        }
        out.push_str(" (N% kernel): the server's kernel time (stime) as a share of its CPU in that window.\n");
        let tools = medians::tools_table(&self.rows);
        if !tools.is_empty() {
            out.push('\n');
            out.push_str(&tools);
        }
        if !self.floors.is_empty() {
            out.push('\n');
            out.push_str(&medians::floor_table(&self.floors));
            out.push_str(
                "\nfloor: what this machine's kernel charges a minimal program for the same socket work, no \
                 server; a server's CPU per unit minus the floor is what its own code costs. A floor's latency at a \
                 fixed rate is what the machine's wake-ups on its shared cores give the same path at that rate; a \
                 server's p99 at the same rate against it says how much of its tail is the machine's. The minimal \
                 relay server's rows: the relay scenario's clients and the run's backend around a server that only \
                 relays (no checks, timers or limits): the latency those tools leave to any server at that rate.\n",
            );
        }
        let notes: Vec<String> = self
            .runs
            .iter()
            .enumerate()
            .flat_map(|(index, run)| {
                let prefix = if self.runs.len() > 1 {
                    format!("run {}: ", index + 1)
                } else {
                    String::new()
                };
                run.notes.iter().map(move |note| format!("{prefix}{note}"))
            })
            .collect();
        if !notes.is_empty() {
            out.push_str("\nnotes:\n");
            for note in &notes {
                out.push_str(&format!("- {note}\n"));
            }
        }
        out
    }
}

/// Values measured per server, keyed by row name, in the order rows were first seen.
#[derive(Default)]
struct Values {
    rows: Vec<(String, &'static str, Better)>,
    by_server: HashMap<(String, Kind), f64>,
    cpu_by_server: HashMap<(String, Kind), CpuShares>,
}

impl Values {
    fn put(&mut self, kind: Kind, scenario: String, unit: &'static str, better: Better, v: f64) {
        if !self.rows.iter().any(|(name, _, _)| *name == scenario) {
            self.rows.push((scenario.clone(), unit, better));
        }
        self.by_server.insert((scenario, kind), v);
    }

    fn rows(&self) -> Vec<Row> {
        self.rows
            .iter()
            .map(|(scenario, unit, better)| Row {
                scenario: scenario.clone(),
                unit,
                better: *better,
                iogate: self
                    .by_server
                    .get(&(scenario.clone(), Kind::Iogate))
                    .copied(),
                node: self.by_server.get(&(scenario.clone(), Kind::Node)).copied(),
                iogate_cpu: self
                    .cpu_by_server
                    .get(&(scenario.clone(), Kind::Iogate))
                    .copied(),
                node_cpu: self
                    .cpu_by_server
                    .get(&(scenario.clone(), Kind::Node))
                    .copied(),
            })
            .collect()
    }
}

fn count(n: usize) -> String {
    if n >= 1000 && n % 1000 == 0 {
        format!("{}k", n / 1000)
    } else {
        n.to_string()
    }
}

fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 1.0 && s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s} s")
    }
}

/// Starts a fresh server of `$kind` (with `$heartbeat`, or as the future `started $start` makes it), runs `$body`
/// with a scenario context `$ctx` and a `Problems` `$problems`, stops the server; evaluates to
/// `(Res<outcome>, Problems)`.
macro_rules! on_fresh_server {
    ($run:expr, $kind:expr, $heartbeat:expr, |$ctx:ident, $problems:ident| $body:block) => {
        on_fresh_server!(
            $run,
            $kind,
            started Server::start(&$run.tools, $kind, &$run.backend, $heartbeat),
            |$ctx, $problems| $body
        )
    };
    ($run:expr, $kind:expr, started $start:expr, |$ctx:ident, $problems:ident| $body:block) => {{
        let mut $problems = Problems::default();
        match $start.await {
            Ok(mut server) => {
                let outcome = {
                    let $ctx = Ctx::single(
                        &server,
                        &$run.backend,
                        $run.sources.clone(),
                        $run.plan.connect_concurrency,
                    );
                    $body
                };
                if !server.is_running() {
                    $problems
                        .notes
                        .push(format!("{} exited during the scenario", $kind));
                }
                server.stop().await;
                (outcome, $problems)
            }
            Err(error) => (Err(error), $problems),
        }
    }};
}

/// Starts a fresh cluster (Redis and `plan.cluster_nodes` nodes) of `$kind`, runs `$body` with a context `$ctx`
/// (node 1 as its server, the others as peers, clients on `$clients_on`, polling hop `$hop`) and a `Problems`
/// `$problems`, stops the cluster; evaluates to `(Res<outcome>, Problems)`.
macro_rules! on_fresh_cluster {
    ($run:expr, $kind:expr, $clients_on:expr, $hop:expr, |$ctx:ident, $problems:ident| $body:block) => {{
        let mut $problems = Problems::default();
        let size = $run.plan.cluster_nodes;
        match Cluster::start(&$run.tools, $kind, &$run.backend, DEFAULT_HEARTBEAT, size).await {
            Ok(mut cluster) => {
                let outcome = match cluster.nodes.split_first() {
                    Some((first, peers)) => {
                        let $ctx = Ctx {
                            server: first,
                            peers,
                            clients_on: $clients_on,
                            polling_hop: $hop,
                            backend: &$run.backend,
                            sources: $run.sources.clone(),
                            connect_concurrency: $run.plan.connect_concurrency,
                        };
                        $body
                    }
                    None => Err("a cluster without nodes".into()),
                };
                eprintln!(
                    "   {} cluster: {:.1} MiB resident over its {size} processes after the scenario",
                    $kind,
                    cluster.rss_kib() as f64 / 1024.0
                );
                let exited = cluster.exited();
                if exited > 0 {
                    $problems.notes.push(format!(
                        "{exited} {} node(s) exited during the scenario",
                        $kind
                    ));
                }
                cluster.stop().await;
                (outcome, $problems)
            }
            Err(error) => (Err(error), $problems),
        }
    }};
}

struct Run {
    plan: Plan,
    /// The relay's offered rate at half load per transport, set by the first run (half of what Node sustained
    /// then) and kept for the others, so that every run's row is the same measurement.
    half_load: HashMap<Transport, f64>,
    tools: Tools,
    backend: Backend,
    sources: Arc<Sources>,
    /// How many loopback source addresses `sources` spreads connections over (for the floor's reader process).
    sources_count: usize,
    servers: Vec<Kind>,
    values: Values,
    floors: Vec<FloorReading>,
    details: Vec<Detail>,
    notes: Vec<String>,
    failures: usize,
}

impl Run {
    fn record<T>(
        &mut self,
        kind: Kind,
        what: &str,
        (outcome, problems): (Res<T>, Problems),
    ) -> Option<T> {
        for note in problems.notes {
            self.notes.push(format!("{kind}: {note}"));
        }
        match outcome {
            Ok(value) => Some(value),
            Err(error) => {
                self.failures += 1;
                eprintln!("   {kind} {what}: FAILED: {error}");
                self.notes.push(format!("{kind}: {what} failed: {error}"));
                None
            }
        }
    }

    fn detail(&mut self, kind: Kind, scenario: &str, cpu: scenario::Usage) {
        self.details.push(Detail {
            server: kind.to_string(),
            scenario: scenario.to_string(),
            cpu,
        });
    }

    fn put(&mut self, kind: Kind, scenario: String, unit: &'static str, better: Better, v: f64) {
        self.values.put(kind, scenario, unit, better, v);
    }

    /// A CPU row (lower is better): its value, proportional to the server's CPU in the window `usage` was read
    /// over, with the server's kernel share and the tools' CPU in that window.
    fn put_cpu(
        &mut self,
        kind: Kind,
        scenario: String,
        unit: &'static str,
        v: f64,
        usage: &scenario::Usage,
    ) {
        if let Some(shares) = CpuShares::of(usage, v) {
            self.values
                .cpu_by_server
                .insert((scenario.clone(), kind), shares);
        }
        self.put(kind, scenario, unit, Better::Lower, v);
    }

    /// The latency and CPU rows of a relay measurement (p50 and p99 only when there were acks).
    fn put_relay_costs(
        &mut self,
        kind: Kind,
        label: &str,
        p50: Option<f64>,
        p99: Option<f64>,
        cpu_us_per_ack: f64,
        usage: &scenario::Usage,
    ) {
        if let Some(p50) = p50 {
            self.put(
                kind,
                format!("{label}: p50 latency"),
                "ms",
                Better::Lower,
                p50,
            );
        }
        if let Some(p99) = p99 {
            self.put(
                kind,
                format!("{label}: p99 latency"),
                "ms",
                Better::Lower,
                p99,
            );
        }
        self.put_cpu(
            kind,
            format!("{label}: server CPU per ack"),
            "µs",
            cpu_us_per_ack,
            usage,
        );
    }

    async fn idle(&mut self, transport: Transport) {
        let n = self.plan.idle_sessions;
        let (settle, window) = (self.plan.idle_settle, self.plan.idle_window);
        let ping = self.plan.idle_ping_interval;
        for kind in self.servers.clone() {
            let outcome =
                on_fresh_server!(self, kind, self.plan.idle_heartbeat(), |ctx, problems| {
                    scenario::idle(&ctx, transport, n, ping, settle, window, &mut problems).await
                });
            let what = format!("idle {transport}");
            let Some(o) = self.record(kind, &what, outcome) else {
                continue;
            };
            eprintln!(
                "   {kind} {what}: {} sessions, {:.2} KiB/session; {}",
                o.sessions,
                o.rss_per_session_kib,
                o.cpu.summary()
            );
            self.detail(kind, &what, o.cpu);
            let label = format!("idle {transport}, {} sessions", count(n));
            self.put(
                kind,
                format!("{label}: memory per session (RSS delta / N)"),
                "KiB",
                Better::Lower,
                o.rss_per_session_kib,
            );
            self.put_cpu(
                kind,
                format!(
                    "{label}: server CPU while idle (ping every {}, {} window)",
                    seconds(self.plan.idle_ping_interval),
                    seconds(window)
                ),
                "% of a core",
                o.cpu_percent,
                &o.cpu,
            );
        }
    }

    /// Closed-loop relay; returns each server's best throughput.
    async fn relay(&mut self, transport: Transport) -> HashMap<Kind, f64> {
        let clients = self.plan.relay_clients;
        let (warmup, window) = (self.plan.relay_warmup, self.plan.relay_window);
        let mut best: HashMap<Kind, scenario::RelayOutcome> = HashMap::new();
        // Runs alternate between the servers, so a noisy neighbour hurts both alike; the best run of each counts.
        for run in 0..self.plan.relay_runs {
            for kind in self.servers.clone() {
                let outcome = on_fresh_server!(self, kind, DEFAULT_HEARTBEAT, |ctx, problems| {
                    scenario::relay(
                        &ctx,
                        transport,
                        clients,
                        warmup,
                        window,
                        Pace::ClosedLoop,
                        &mut problems,
                    )
                    .await
                });
                let what = format!("relay {transport}");
                let Some(mut o) = self.record(kind, &what, outcome) else {
                    continue;
                };
                eprintln!(
                    "   {kind} {what} (run {}): {:.0} acks/s, p50 {:.3} ms, p99 {:.3} ms, {:.1} us CPU/ack; {}",
                    run + 1,
                    o.acks_per_second,
                    o.latencies.percentile_ms(50.0).unwrap_or(f64::NAN),
                    o.latencies.percentile_ms(99.0).unwrap_or(f64::NAN),
                    o.cpu_us_per_ack,
                    o.cpu.summary()
                );
                self.detail(kind, &format!("{what} run {}", run + 1), o.cpu);
                if best
                    .get(&kind)
                    .is_none_or(|b| o.acks_per_second > b.acks_per_second)
                {
                    best.insert(kind, o);
                }
            }
        }
        let runs = if self.plan.relay_runs > 1 {
            format!(", best of {}", self.plan.relay_runs)
        } else {
            String::new()
        };
        let label = format!("relay {transport}, {clients} clients emitting with ack{runs}");
        let mut max = HashMap::new();
        for kind in self.servers.clone() {
            let Some(mut o) = best.remove(&kind) else {
                continue;
            };
            max.insert(kind, o.acks_per_second);
            self.put(
                kind,
                format!("{label}: throughput"),
                "acks/s",
                Better::Higher,
                o.acks_per_second,
            );
            let (p50, p99) = (
                o.latencies.percentile_ms(50.0),
                o.latencies.percentile_ms(99.0),
            );
            self.put_relay_costs(kind, &label, p50, p99, o.cpu_us_per_ack, &o.cpu);
        }
        max
    }

    /// The relay at a fixed offered rate, the same for both servers.
    async fn relay_at(&mut self, transport: Transport, rate: f64) {
        let clients = self.plan.relay_clients;
        let (warmup, window) = (self.plan.relay_warmup, self.plan.relay_window);
        for kind in self.servers.clone() {
            let outcome = on_fresh_server!(self, kind, DEFAULT_HEARTBEAT, |ctx, problems| {
                scenario::relay(
                    &ctx,
                    transport,
                    clients,
                    warmup,
                    window,
                    Pace::Rate(rate),
                    &mut problems,
                )
                .await
            });
            let what = format!("relay {transport} at {rate:.0}/s");
            let Some(mut o) = self.record(kind, &what, outcome) else {
                continue;
            };
            let (p50, p99) = self.report_paced_relay(kind, &what, "", &mut o);
            let label = format!(
                "relay {transport} at {} emits/s (half of Node's max), {clients} clients",
                number(rate)
            );
            self.put_relay_costs(kind, &label, p50, p99, o.cpu_us_per_ack, &o.cpu);
        }
    }

    async fn fanout(&mut self, transport: Transport, n: usize) {
        let (warmup, rounds) = (self.plan.fanout_warmup, self.plan.fanout_rounds);
        for kind in self.servers.clone() {
            let outcome = on_fresh_server!(self, kind, DEFAULT_HEARTBEAT, |ctx, problems| {
                scenario::fanout(&ctx, transport, n, (warmup, rounds), &mut problems).await
            });
            let what = format!("fan-out {transport}");
            let Some(mut o) = self.record(kind, &what, outcome) else {
                continue;
            };
            let label = format!(
                "fan-out {transport}, room of {}, {rounds} emits after {warmup}",
                count(n)
            );
            self.put_fanout(kind, &what, &label, "", &mut o);
        }
    }

    /// A relay measurement at a fixed rate: its detail line (`cpu_scope` after the CPU figure); answers its p50
    /// and p99 (when there were acks).
    fn report_paced_relay(
        &mut self,
        kind: Kind,
        what: &str,
        cpu_scope: &str,
        o: &mut scenario::RelayOutcome,
    ) -> (Option<f64>, Option<f64>) {
        let (p50, p99) = (
            o.latencies.percentile_ms(50.0),
            o.latencies.percentile_ms(99.0),
        );
        eprintln!(
            "   {kind} {what}: {:.0} acks/s, p50 {:.3} ms, p99 {:.3} ms, {:.1} us CPU/ack{cpu_scope}; {}",
            o.acks_per_second,
            p50.unwrap_or(f64::NAN),
            p99.unwrap_or(f64::NAN),
            o.cpu_us_per_ack,
            o.cpu.summary()
        );
        self.detail(kind, what, o.cpu);
        (p50, p99)
    }

    /// A fan-out measurement: its detail line and its rows (deliveries per second, p99 when measured, CPU per
    /// delivery, the CPU row's name ending in `cpu_scope`).
    fn put_fanout(
        &mut self,
        kind: Kind,
        what: &str,
        label: &str,
        cpu_scope: &str,
        o: &mut scenario::FanoutOutcome,
    ) {
        let p99 = o.latencies.percentile_ms(99.0);
        eprintln!(
            "   {kind} {what}: {} clients, {:.0} deliveries/s, p99 {:.1} ms, {:.2} us CPU/delivery{cpu_scope}; {}",
            o.clients,
            o.deliveries_per_second,
            p99.unwrap_or(f64::NAN),
            o.cpu_us_per_delivery,
            o.cpu.summary()
        );
        self.detail(kind, what, o.cpu);
        self.put(
            kind,
            format!("{label}: deliveries per second"),
            "/s",
            Better::Higher,
            o.deliveries_per_second,
        );
        if let Some(p99) = p99 {
            self.put(
                kind,
                format!("{label}: p99 delivery latency"),
                "ms",
                Better::Lower,
                p99,
            );
        }
        self.put_cpu(
            kind,
            format!("{label}: server CPU per delivery{cpu_scope}"),
            "µs",
            o.cpu_us_per_delivery,
            &o.cpu,
        );
    }

    async fn storm(&mut self, transport: Transport) {
        let (total, concurrency) = (self.plan.storm_connects, self.plan.storm_concurrency);
        for kind in self.servers.clone() {
            let outcome = on_fresh_server!(self, kind, DEFAULT_HEARTBEAT, |ctx, problems| {
                scenario::storm(&ctx, transport, total, concurrency, &mut problems).await
            });
            let what = format!("connect storm {transport}");
            let Some(mut o) = self.record(kind, &what, outcome) else {
                continue;
            };
            eprintln!(
                "   {kind} {what}: {:.0} connects/s, p99 {:.1} ms, {:.0} us CPU/connect; {}",
                o.connects_per_second,
                o.latencies.percentile_ms(99.0).unwrap_or(f64::NAN),
                o.cpu_us_per_connect,
                o.cpu.summary()
            );
            self.detail(kind, &what, o.cpu);
            let label = format!(
                "connect storm {transport}, {} connects, {concurrency} at once",
                count(total)
            );
            self.put(
                kind,
                format!("{label}: connects per second"),
                "/s",
                Better::Higher,
                o.connects_per_second,
            );
            self.put_cpu(
                kind,
                format!("{label}: server CPU per connect (and its disconnect)"),
                "µs",
                o.cpu_us_per_connect,
                &o.cpu,
            );
        }
    }
}

/// Runs the whole suite `options.runs` times; prints progress to stderr; returns the report (written as JSON after
/// every run when asked, so a failed later run keeps the earlier ones).
pub async fn run(options: Options) -> Res<Report> {
    let plan = Plan::for_mode(options.mode);
    let runs = options.runs.max(1);
    let mut half_load = HashMap::new();
    let mut report = Report {
        mode: options.mode,
        plan: plan.clone(),
        runs: Vec::new(),
        rows: Vec::new(),
        floors: Vec::new(),
        failures: 0,
    };
    for index in 0..runs {
        if runs > 1 {
            eprintln!("=== run {} of {runs}", index + 1);
        }
        let suite = run_once(&options, &plan, &mut half_load).await?;
        report.failures += suite.failures;
        report.runs.push(suite);
        let rows: Vec<&[Row]> = report.runs.iter().map(|r| r.rows.as_slice()).collect();
        report.rows = medians::merge(&rows);
        let floors: Vec<&[FloorReading]> =
            report.runs.iter().map(|r| r.floors.as_slice()).collect();
        report.floors = medians::merge_floors(&floors);
        if let Some(path) = &options.json {
            std::fs::write(path, serde_json::to_string_pretty(&report)?)?;
        }
    }
    Ok(report)
}

/// One run of the whole suite, with a webhook backend of its own.
async fn run_once(
    options: &Options,
    plan: &Plan,
    half_load: &mut HashMap<Transport, f64>,
) -> Res<SuiteRun> {
    let backend = Backend::start(&options.tools).await?;
    let mut run = Run {
        plan: plan.clone(),
        half_load: std::mem::take(half_load),
        tools: options.tools.clone(),
        backend,
        sources: Arc::new(Sources::loopback(options.sources)),
        sources_count: options.sources,
        servers: options.servers.clone(),
        values: Values::default(),
        floors: Vec::new(),
        details: Vec::new(),
        notes: Vec::new(),
        failures: 0,
    };
    let started = std::time::Instant::now();
    let elapsed = || format!("{:.0} s", started.elapsed().as_secs_f64());
    if options.single {
        eprintln!("== idle sessions");
        run.idle(Transport::Polling).await;
        run.idle(Transport::Websocket).await;
    }
    if options.parked {
        eprintln!("== parked sessions (at {})", elapsed());
        run.parked().await;
    }
    if options.single {
        for transport in [Transport::Polling, Transport::Websocket] {
            eprintln!("== relay {transport} (at {})", elapsed());
            let max = run.relay(transport).await;
            // Latency at half load: both servers get the same offered rate, half of what Node sustained (in the
            // first run: later runs offer the same rate).
            let reference = max.get(&Kind::Node).or_else(|| max.get(&Kind::Iogate));
            let rate = match run.half_load.get(&transport) {
                Some(rate) => Some(*rate),
                None => reference.map(|r| r / 2.0).filter(|r| *r >= 1.0),
            };
            if let Some(rate) = rate {
                run.half_load.insert(transport, rate);
                run.relay_at(transport, rate).await;
            }
        }
        eprintln!("== fan-out (at {})", elapsed());
        run.fanout(Transport::Websocket, plan.fanout_websocket)
            .await;
        run.fanout(Transport::Polling, plan.fanout_polling).await;
        eprintln!("== connect storm (at {})", elapsed());
        run.storm(Transport::Websocket).await;
        run.storm(Transport::Polling).await;
    }
    if options.floor {
        eprintln!(
            "== loopback floors, no server; the minimal relay server (at {})",
            elapsed()
        );
        run.floors().await;
    }
    if options.cluster {
        let nodes = plan.cluster_nodes;
        eprintln!("== cluster of {nodes} nodes (at {})", elapsed());
        run.cluster_fanout().await;
        run.cross_node().await;
        run.cross_node_relay().await;
        run.forwarded_polling().await;
    }
    eprintln!("== done in {}", elapsed());
    let Run {
        backend,
        values,
        floors,
        details,
        notes,
        failures,
        half_load: rates,
        ..
    } = run;
    *half_load = rates;
    backend.stop().await;
    Ok(SuiteRun {
        rows: values.rows(),
        floors,
        details,
        notes,
        failures,
    })
}
mod cluster_rows;
mod floor_rows;
mod parked_rows;
