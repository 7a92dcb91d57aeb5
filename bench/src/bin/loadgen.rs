//! `bench-loadgen`: runs iogate's benchmarks side by side with the Node socket.io reference and prints one markdown
//! table. `bench/run.sh` builds everything and calls `bench-loadgen run`.
//!
//! Usage: `bench-loadgen run [--quick | --smoke] [--runs N] [--only iogate|node] [--iogate BIN] [--backend BIN]
//!         [--node BIN] [--node-app DIR] [--sources N] [--json FILE] [--no-cluster | --cluster-only | --parked-only]
//!         [--no-floor]`: the whole suite N times (default 1), one table of the medians.
//!
//! The loopback floors alone (no server): `bench-loadgen floor [--quick | --smoke] [--runs N] [--sources N]`; with
//! `--rate R`, only the relay floor with its clients emitting R times per second together (its p50 and p99); with
//! `--polling` as well, its polling shape (a POST in, its response and a poll response out, the next GET in).
//!
//! What forwarding a polling request to its session's node costs, direct over HTTP/1.1 or through Redis (no iogate;
//! needs `redis-server`): `bench-loadgen forward-cost [--quick | --smoke] [--rate R] [--runs N] [--backend BIN]`.
//!
//! The minimal relay server (`iogate_bench::floor::minimal_server`), for `scenario relay-*` by hand:
//! `bench-loadgen minimal-server --listen ADDR --backend ADDR [--threads N]`; prints `listening <addr>` once bound,
//! runs until killed.
//!
//! The iogate config the benchmarks run with, for starting iogate by hand (`bench/trace/relay_hops.sh`):
//! `bench-loadgen iogate-config --port PORT --api-port PORT --webhook URL` prints it (heartbeat 25 s / 20 s).
//!
//! One scenario against servers started by hand (to profile them):
//! `bench-loadgen scenario NAME --kind iogate|node --pid PID --addr ADDR --control ADDR --backend ADDR
//!  [--clients N] [--seconds S] [--rate R | --burst K] [--rounds R [--warmup W]] [--ramp S] [--sources N]`, NAME one of idle-polling, idle-websocket,
//! relay-polling, relay-websocket, fanout-polling, fanout-websocket, storm-polling, storm-websocket, parked-websocket
//! (the servers started with recovery on: iogate's endpoint `recovery`, Node's `RECOVERY_MAX_DISCONNECTION_MS`).

use iogate_bench::floor;
use iogate_bench::forward_cost;
use iogate_bench::net::Sources;
use iogate_bench::report::medians;
use iogate_bench::runner::{self, Mode, Options, Plan};
use iogate_bench::scenario::{self, Ctx, Pace, Problems, Transport};
use iogate_bench::servers::{self, Backend, Kind, Server, Tools};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

fn usage(problem: &str) -> ! {
    eprintln!(
        "bench-loadgen: {problem}\n\
         usage: bench-loadgen run [--quick | --smoke] [--runs N] [--only iogate|node] [--iogate BIN]\n\
         \x20                        [--backend BIN] [--node BIN] [--node-app DIR] [--sources N] [--json FILE]\n\
         \x20                        [--no-cluster | --cluster-only | --parked-only] [--no-floor]\n\
         \x20      bench-loadgen floor [--quick | --smoke] [--runs N] [--sources N] [--rate R [--polling]]\n\
         \x20      bench-loadgen forward-cost [--quick | --smoke] [--rate R] [--runs N] [--backend BIN]\n\
         \x20      bench-loadgen minimal-server --listen ADDR --backend ADDR [--threads N]\n\
         \x20      bench-loadgen iogate-config --port PORT --api-port PORT --webhook URL\n\
         \x20      bench-loadgen scenario NAME --kind iogate|node --pid PID --addr ADDR --control ADDR --backend ADDR\n\
         \x20                        [--clients N] [--seconds S] [--rate R | --burst K] [--rounds R [--warmup W]] [--ramp S] [--sources N]"
    );
    std::process::exit(2)
}

fn main() {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("run") => {}
        Some("scenario") => return single(args),
        Some("forward-cost") => return forward_cost(args),
        Some("forward-owner") => return forward_owner(args),
        Some("floor") => return floor_only(args),
        Some("floor-reader") => return floor_reader(args),
        Some("minimal-server") => return minimal_server(args),
        Some("iogate-config") => return print_iogate_config(args),
        Some("--help" | "-h") => usage("runs the benchmarks"),
        Some(other) => usage(&format!("unknown command {other}")),
        None => usage("a command is required"),
    }
    let here = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(PathBuf::from))
        .unwrap_or_default();
    let mut mode = Mode::Full;
    let mut servers = vec![Kind::Iogate, Kind::Node];
    let mut tools = Tools {
        iogate: here.join("iogate"),
        backend: here.join("bench-backend"),
        node: PathBuf::from("node"),
        node_app: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("node"),
        work_dir: std::env::temp_dir().join(format!("iogate-bench-{}", std::process::id())),
    };
    let mut sources = 4;
    let mut json = None;
    let mut cluster = true;
    let mut single = true;
    let mut parked = true;
    let mut floor = true;
    let mut runs = 1usize;
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{arg} needs a value")))
        };
        match arg.as_str() {
            "--quick" => mode = Mode::Quick,
            "--smoke" => mode = Mode::Smoke,
            "--full" => mode = Mode::Full,
            "--only" => {
                servers = match value().as_str() {
                    "iogate" => vec![Kind::Iogate],
                    "node" => vec![Kind::Node],
                    other => usage(&format!("unknown server {other}")),
                }
            }
            "--iogate" => tools.iogate = PathBuf::from(value()),
            "--backend" => tools.backend = PathBuf::from(value()),
            "--node" => tools.node = PathBuf::from(value()),
            "--node-app" => tools.node_app = PathBuf::from(value()),
            "--sources" => {
                sources = value()
                    .parse()
                    .unwrap_or_else(|_| usage("--sources takes a count"))
            }
            "--json" => json = Some(PathBuf::from(value())),
            "--runs" => {
                runs = value()
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .unwrap_or_else(|| usage("--runs takes a count of at least 1"))
            }
            "--no-floor" => floor = false,
            "--no-cluster" => cluster = false,
            "--cluster-only" => {
                single = false;
                parked = false;
            }
            "--parked-only" => {
                single = false;
                cluster = false;
            }
            other => usage(&format!("unknown argument {other}")),
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let work_dir = tools.work_dir.clone();
    let options = Options {
        mode,
        tools,
        servers,
        sources,
        json,
        cluster,
        single,
        parked,
        floor: floor && single,
        runs,
    };
    let result = runtime.block_on(runner::run(options));
    let _ = std::fs::remove_dir_all(&work_dir);
    match result {
        Ok(report) => {
            println!("{}", report.render());
            if report.failures > 0 {
                eprintln!(
                    "bench-loadgen: {} measurement(s) failed (see the notes)",
                    report.failures
                );
                std::process::exit(1);
            }
        }
        Err(error) => {
            eprintln!("bench-loadgen: {error}");
            std::process::exit(1);
        }
    }
}

/// Runs one scenario against servers started by hand and prints its outcome.
fn single(mut args: impl Iterator<Item = String>) {
    let name = args
        .next()
        .unwrap_or_else(|| usage("scenario needs a name"));
    let mut kind = Kind::Iogate;
    let (mut pid, mut addr, mut control, mut backend) = (None, None, None, None);
    let mut ramp = Duration::ZERO;
    let mut burst = None;
    let (mut clients, mut seconds, mut rate, mut rounds, mut sources) =
        (100usize, 10.0f64, None, 10usize, 4usize);
    let mut warmup = 0usize;
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{arg} needs a value")))
        };
        let bad = |what: &str| -> ! { usage(&format!("bad {what}")) };
        match arg.as_str() {
            "--kind" => {
                kind = match value().as_str() {
                    "iogate" => Kind::Iogate,
                    "node" => Kind::Node,
                    _ => bad("--kind"),
                }
            }
            "--pid" => pid = Some(value().parse::<u32>().unwrap_or_else(|_| bad("--pid"))),
            "--addr" => {
                addr = Some(
                    value()
                        .parse::<SocketAddr>()
                        .unwrap_or_else(|_| bad("--addr")),
                )
            }
            "--control" => {
                control = Some(
                    value()
                        .parse::<SocketAddr>()
                        .unwrap_or_else(|_| bad("--control")),
                )
            }
            "--backend" => {
                backend = Some(
                    value()
                        .parse::<SocketAddr>()
                        .unwrap_or_else(|_| bad("--backend")),
                )
            }
            "--clients" => clients = value().parse().unwrap_or_else(|_| bad("--clients")),
            "--seconds" => seconds = value().parse().unwrap_or_else(|_| bad("--seconds")),
            "--rate" => rate = Some(value().parse::<f64>().unwrap_or_else(|_| bad("--rate"))),
            "--burst" => burst = Some(value().parse::<u32>().unwrap_or_else(|_| bad("--burst"))),
            "--rounds" => rounds = value().parse().unwrap_or_else(|_| bad("--rounds")),
            "--warmup" => warmup = value().parse().unwrap_or_else(|_| bad("--warmup")),
            "--ramp" => {
                ramp = Duration::from_secs_f64(value().parse().unwrap_or_else(|_| bad("--ramp")))
            }
            "--sources" => sources = value().parse().unwrap_or_else(|_| bad("--sources")),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    let (Some(pid), Some(addr), Some(backend)) = (pid, addr, backend) else {
        usage("scenario needs --pid, --addr and --backend")
    };
    let control = control.unwrap_or(addr);
    let (what, transport) = name
        .rsplit_once('-')
        .map(|(what, t)| {
            let transport = match t {
                "polling" => Transport::Polling,
                "websocket" => Transport::Websocket,
                _ => usage(&format!("unknown transport in {name}")),
            };
            (what.to_string(), transport)
        })
        .unwrap_or_else(|| usage(&format!("unknown scenario {name}")));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async move {
        let server = Server::attach(kind, pid, addr, control);
        let backend = Backend::attach(backend, 0);
        let ctx = Ctx::single(&server, &backend, Arc::new(Sources::loopback(sources)), 256);
        let mut problems = Problems::default();
        let window = Duration::from_secs_f64(seconds);
        let outcome: Result<String, iogate_bench::Error> = match what.as_str() {
            "idle" => scenario::idle(
                &ctx,
                transport,
                clients,
                ramp,
                Duration::from_secs(1),
                window,
                &mut problems,
            )
            .await
            .map(|o| format!("{o:?}")),
            "relay" => {
                let pace = match (rate, burst) {
                    (Some(rate), _) => Pace::Rate(rate),
                    (None, Some(burst)) => Pace::Burst(burst),
                    (None, None) => Pace::ClosedLoop,
                };
                scenario::relay(
                    &ctx,
                    transport,
                    clients,
                    Duration::from_secs(1),
                    window,
                    pace,
                    &mut problems,
                )
                .await
                .map(|mut o| {
                    format!(
                        "{:.0} acks/s, p50 {:.3} ms, p99 {:.3} ms, {:.1} us CPU/ack, {:.2} acks per poll response; {}",
                        o.acks_per_second,
                        o.latencies.percentile_ms(50.0).unwrap_or(f64::NAN),
                        o.latencies.percentile_ms(99.0).unwrap_or(f64::NAN),
                        o.cpu_us_per_ack,
                        o.acks_per_response,
                        o.cpu.summary()
                    )
                })
            }
            "fanout" => scenario::fanout(&ctx, transport, clients, (warmup, rounds), &mut problems)
                .await
                .map(|mut o| {
                    format!(
                        "{} clients, {:.0} deliveries/s, p99 {:?} ms, {:.2} us CPU/delivery; {}",
                        o.clients,
                        o.deliveries_per_second,
                        o.latencies.percentile_ms(99.0),
                        o.cpu_us_per_delivery,
                        o.cpu.summary()
                    )
                }),
            "parked" => scenario::parked(
                &ctx,
                clients,
                Duration::from_secs(1),
                transport,
                &mut problems,
            )
            .await
            .map(|o| format!("{o:?}")),
            "storm" => scenario::storm(&ctx, transport, clients, 64, &mut problems)
                .await
                .map(|o| {
                    format!(
                        "{:.0} connects/s, {:.0} us CPU/connect",
                        o.connects_per_second, o.cpu_us_per_connect
                    )
                }),
            _ => usage(&format!("unknown scenario {name}")),
        };
        match outcome {
            Ok(line) => println!("{name}: {line}"),
            Err(error) => println!("{name}: FAILED: {error}"),
        }
        for note in problems.notes {
            println!("note: {note}");
        }
    });
}

/// Measures both ways of forwarding a request to its session's node (`iogate_bench::forward_cost`) and prints a
/// table. Sizes: the full run's hop rate (2,000 emits/s, each ack one forwarded POST and one GET: 4,000 round
/// trips/s), 10 s windows; `--quick` the quick run's (2,000 round trips/s), 2.5 s windows; `--smoke` tiny.
fn forward_cost(mut args: impl Iterator<Item = String>) {
    let here = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(PathBuf::from))
        .unwrap_or_default();
    let mut tools = Tools {
        iogate: here.join("iogate"),
        backend: here.join("bench-backend"),
        node: PathBuf::from("node"),
        node_app: PathBuf::new(),
        work_dir: std::env::temp_dir().join(format!("iogate-forward-{}", std::process::id())),
    };
    let mut timing = forward_cost::Window {
        rate: 4_000.0,
        warmup: Duration::from_secs(2),
        window: Duration::from_secs(10),
    };
    let mut runs = 3usize;
    let mut rate = None;
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{arg} needs a value")))
        };
        match arg.as_str() {
            "--quick" => {
                timing.rate = 2_000.0;
                timing.warmup = Duration::from_secs(1);
                timing.window = Duration::from_millis(2500);
            }
            "--smoke" => {
                timing.rate = 200.0;
                timing.warmup = Duration::from_millis(100);
                timing.window = Duration::from_millis(300);
                runs = 1;
            }
            "--rate" => rate = Some(value().parse().unwrap_or_else(|_| usage("bad --rate"))),
            "--runs" => runs = value().parse().unwrap_or_else(|_| usage("bad --runs")),
            "--backend" => tools.backend = PathBuf::from(value()),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    if let Some(rate) = rate {
        timing.rate = rate;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let work_dir = tools.work_dir.clone();
    let result = runtime.block_on(forward_cost::compare(&tools, &timing, runs.max(1)));
    let _ = std::fs::remove_dir_all(&work_dir);
    match result {
        Ok(comparison) => println!("{}", comparison.render()),
        Err(error) => {
            eprintln!("bench-loadgen forward-cost: {error}");
            std::process::exit(1);
        }
    }
}

/// The Redis owner of `forward-cost`: prints `ready` once subscribed, then answers until Redis goes away.
fn forward_owner(mut args: impl Iterator<Item = String>) {
    let url = match (args.next().as_deref(), args.next()) {
        (Some("--redis"), Some(url)) => url,
        _ => usage("forward-owner needs --redis URL"),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let served = runtime.block_on(forward_cost::serve_redis_owner(&url, || {
        println!("ready");
    }));
    if let Err(error) = served {
        eprintln!("bench-loadgen forward-owner: {error}");
        std::process::exit(1);
    }
}

/// Measures the loopback floors alone, `--runs` times, and prints their table (sizes of the run's mode: the fan-out
/// floor over as many connections as the WebSocket fan-out's room, the relay floor with the relay's clients); with
/// `--rate R`, only the relay floor at that offered rate (`--polling`: its polling shape).
fn floor_only(mut args: impl Iterator<Item = String>) {
    let (mut mode, mut runs, mut sources) = (Mode::Full, 1usize, 4usize);
    let mut rate: Option<f64> = None;
    let mut polling = false;
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{arg} needs a value")))
        };
        match arg.as_str() {
            "--quick" => mode = Mode::Quick,
            "--smoke" => mode = Mode::Smoke,
            "--full" => mode = Mode::Full,
            "--runs" => runs = value().parse().unwrap_or_else(|_| usage("bad --runs")),
            "--sources" => sources = value().parse().unwrap_or_else(|_| usage("bad --sources")),
            "--rate" => {
                let r: f64 = value().parse().unwrap_or_else(|_| usage("bad --rate"));
                if !(r.is_finite() && r >= 1.0) {
                    usage("--rate must be at least 1");
                }
                rate = Some(r);
            }
            "--polling" => polling = true,
            other => usage(&format!("unknown argument {other}")),
        }
    }
    let plan = Plan::for_mode(mode);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let measured = runtime.block_on(async {
        let mut readings = Vec::new();
        for run in 1..=runs.max(1) {
            if let Some(rate) = rate {
                let (clients, warmup, window) =
                    (plan.relay_clients, plan.relay_warmup, plan.relay_window);
                let shape = if polling {
                    floor::relay::Shape::Polling
                } else {
                    floor::relay::Shape::WebSocket
                };
                let paced =
                    floor::relay::measure_at(shape, clients, rate, None, warmup, window).await?;
                eprintln!(
                    "   run {run}, relay floor at {rate:.0} emits/s: {}",
                    paced.summary()
                );
                readings.push(vec![paced]);
                continue;
            }
            let fanout =
                floor::fanout::measure(plan.fanout_websocket, plan.fanout_floor_rounds(), sources)
                    .await?;
            eprintln!("   run {run}, fan-out floor: {}", fanout.summary());
            let polling = floor::fanout::measure_shape(
                floor::fanout::Shape::Polling,
                plan.fanout_polling,
                plan.fanout_floor_rounds(),
                sources,
            )
            .await?;
            eprintln!("   run {run}, polling fan-out floor: {}", polling.summary());
            let relay =
                floor::relay::measure(plan.relay_clients, plan.relay_warmup, plan.relay_window)
                    .await?;
            eprintln!("   run {run}, relay floor: {}", relay.summary());
            readings.push(vec![fanout, polling, relay]);
        }
        Ok::<_, iogate_bench::Error>(readings)
    });
    match measured {
        Ok(readings) => {
            let runs: Vec<&[floor::FloorReading]> = readings.iter().map(Vec::as_slice).collect();
            println!("{}", medians::floor_table(&medians::merge_floors(&runs)));
        }
        Err(error) => {
            eprintln!("bench-loadgen floor: {error}");
            std::process::exit(1);
        }
    }
}

/// The fan-out floor's reader process (started by the floor itself): connects, drains, reports whole rounds.
fn floor_reader(mut args: impl Iterator<Item = String>) {
    let (mut addr, mut connections, mut frame_bytes, mut sources) = (None, 0usize, 0usize, 0usize);
    let mut answer_polls = false;
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{arg} needs a value")))
        };
        let bad = |what: &str| -> ! { usage(&format!("bad {what}")) };
        match arg.as_str() {
            "--addr" => {
                addr = Some(
                    value()
                        .parse::<SocketAddr>()
                        .unwrap_or_else(|_| bad("--addr")),
                )
            }
            "--connections" => {
                connections = value().parse().unwrap_or_else(|_| bad("--connections"))
            }
            "--frame-bytes" => {
                frame_bytes = value().parse().unwrap_or_else(|_| bad("--frame-bytes"))
            }
            "--sources" => sources = value().parse().unwrap_or_else(|_| bad("--sources")),
            "--answer-polls" => {
                answer_polls = match value().as_str() {
                    "yes" => true,
                    "no" => false,
                    _ => bad("--answer-polls"),
                }
            }
            other => usage(&format!("unknown argument {other}")),
        }
    }
    let Some(addr) = addr else {
        usage("floor-reader needs --addr")
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    if let Err(error) = runtime.block_on(floor::fanout::read_frames(
        addr,
        connections,
        frame_bytes,
        answer_polls,
        sources,
    )) {
        eprintln!("bench-loadgen floor-reader: {error}");
        std::process::exit(1);
    }
}

/// `bench-loadgen minimal-server --listen ADDR --backend ADDR [--threads N]`: the minimal relay server until killed,
/// on a Tokio runtime of N worker threads (default: one per core, as iogate's; 1: a current-thread runtime).
fn minimal_server(mut args: impl Iterator<Item = String>) {
    let (mut listen, mut backend) = (None::<SocketAddr>, None::<SocketAddr>);
    let mut threads = std::thread::available_parallelism().map_or(1, usize::from);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{arg} needs a value")))
        };
        match arg.as_str() {
            "--listen" => listen = Some(value().parse().unwrap_or_else(|_| usage("bad --listen"))),
            "--backend" => {
                backend = Some(value().parse().unwrap_or_else(|_| usage("bad --backend")))
            }
            "--threads" => threads = value().parse().unwrap_or_else(|_| usage("bad --threads")),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    let (Some(listen), Some(backend)) = (listen, backend) else {
        usage("minimal-server needs --listen and --backend")
    };
    let mut builder = match threads {
        0 | 1 => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    if threads > 1 {
        builder.worker_threads(threads);
    }
    let runtime = builder.enable_all().build().expect("a tokio runtime");
    let served = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        println!("listening {}", listener.local_addr()?);
        floor::minimal_server::serve(listener, backend).await
    });
    if let Err(error) = served {
        eprintln!("bench-loadgen minimal-server: {error}");
        std::process::exit(1);
    }
}

/// `bench-loadgen iogate-config`: prints the config `Server::start` writes for iogate, with the default heartbeat.
fn print_iogate_config(mut args: impl Iterator<Item = String>) {
    let (mut port, mut api_port, mut webhook) = (None::<u16>, None::<u16>, None::<String>);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{arg} needs a value")))
        };
        match arg.as_str() {
            "--port" => port = Some(value().parse().unwrap_or_else(|_| usage("bad --port"))),
            "--api-port" => {
                api_port = Some(value().parse().unwrap_or_else(|_| usage("bad --api-port")))
            }
            "--webhook" => webhook = Some(value()),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    let (Some(port), Some(api_port), Some(webhook)) = (port, api_port, webhook) else {
        usage("iogate-config needs --port, --api-port and --webhook")
    };
    print!(
        "{}",
        servers::iogate_config(port, api_port, &webhook, runner::DEFAULT_HEARTBEAT)
    );
}
