//! The `iogate` binary: parse the command line, set up logging, load the config, run, map errors to exit codes.

use clap::Parser;
use iogate::cli::{Cli, Command, DemoArgs, LogFormat, RunArgs};
use iogate::config;
use iogate::server::HttpHandler;
use std::process::ExitCode;

/// jemalloc off Windows (feature `jemalloc`, on by default): an idle session costs about a tenth less memory than
/// with glibc's malloc (no header per block, no fragments left around Tokio's cache-aligned task cells and IO
/// registrations). See docs/design.md ("Allocator").
#[cfg(all(not(windows), feature = "jemalloc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// The example config printed by `iogate example-config`.
const EXAMPLE_CONFIG: &str = include_str!("../config/iogate.toml");

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::ExampleConfig) => {
            print!("{EXAMPLE_CONFIG}");
            ExitCode::SUCCESS
        }
        Some(Command::Check { config }) => match config::load_file(&config) {
            Ok(parsed) => {
                println!(
                    "{}: ok ({} endpoint(s))",
                    config.display(),
                    parsed.endpoints.len()
                );
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("iogate: config error: {error}");
                ExitCode::from(2)
            }
        },
        Some(Command::Healthcheck { address, path }) => {
            match iogate::healthcheck::check(address, &path, std::time::Duration::from_secs(3)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("iogate: unhealthy: {error}");
                    ExitCode::from(1)
                }
            }
        }
        Some(Command::Demo(args)) => demo(args),
        Some(Command::Run(args)) => run(args),
        None => run(cli.run),
    }
}

fn run(args: RunArgs) -> ExitCode {
    let Some(path) = args.config else {
        eprintln!("iogate: --config FILE is required (try `iogate example-config > iogate.toml`)");
        return ExitCode::from(2);
    };
    let mut config = match config::load_file(&path) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("iogate: config error: {error}");
            return ExitCode::from(2);
        }
    };
    match iogate::server::iis::listen_from_env(&|name| std::env::var(name).ok()) {
        Ok(Some(listen)) => config.server.listen = listen,
        Ok(None) => {}
        Err(error) => {
            eprintln!("iogate: config error: {error}");
            return ExitCode::from(2);
        }
    }
    if let Some(listen) = args.listen {
        config.server.listen = listen;
    }
    init_logging(&config.log.level, args.log_format);
    let open_files = iogate::server::limits::raise_open_files_limit();
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let code = runtime.block_on(async move {
        // Before anything listens: a stop signal from then on is a graceful shutdown.
        let stop_signals = iogate::shutdown::StopSignals::install();
        let running = match iogate::gateway::start(&config).await {
            Ok(running) => running,
            Err(error) => {
                tracing::error!("{error}");
                eprintln!("iogate: {error}");
                return ExitCode::from(1);
            }
        };
        for line in iogate::startup_lines::lines(&config, running.address, running.api_address) {
            tracing::info!("{line}");
        }
        tracing::info!(
            open_files,
            max_connections = running.app.gate().max_connections(),
            max_sessions = running.app.max_sessions(),
            max_connections_per_ip = config.server.max_connections_per_ip,
            "limits"
        );
        tokio::select! {
            _ = stop_signals.recv() => {}
            _ = running.app.shutdown_requested() => {}
        }
        tracing::info!(limit = ?config.server.shutdown_timeout, "shutting down");
        if running.shutdown(config.server.shutdown_timeout).await {
            tracing::info!("shutdown complete");
        } else {
            tracing::warn!("shutdown limit reached with webhooks still pending");
        }
        ExitCode::SUCCESS
    });
    // Tasks still running (webhooks waiting for a retry) are dropped now; blocking threads (a host name lookup of a
    // webhook in flight) are not waited for longer than this, so the shutdown limit holds.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    code
}

fn demo(args: DemoArgs) -> ExitCode {
    init_logging("info", args.log_format);
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let code = runtime.block_on(async move {
        let stop_signals = iogate::shutdown::StopSignals::install();
        match iogate::demo::run(args.listen, stop_signals.recv()).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("iogate: {error}");
                if error.starts_with("cannot listen on") {
                    eprintln!("iogate: `iogate demo --listen 127.0.0.1:PORT` serves the demo on another port");
                }
                ExitCode::from(1)
            }
        }
    });
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    code
}

fn init_logging(level: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(iogate::log_color::ansi_for_stderr())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// The multi-threaded Tokio runtime; exit code 1 (with the reason on stderr) when it cannot start.
fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| {
            eprintln!("iogate: cannot start the runtime: {error}");
            ExitCode::from(1)
        })
}
