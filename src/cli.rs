//! The command line: `iogate [run] --config FILE`, `iogate check --config FILE`, `iogate example-config`,
//! `iogate demo`.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

/// iogate: Socket.IO and Engine.IO clients in front, plain HTTP webhooks behind.
#[derive(Debug, Parser)]
#[command(
    name = "iogate",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// What to do; without a subcommand iogate runs.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options of `run`, accepted without the subcommand too.
    #[command(flatten)]
    pub run: RunArgs,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway (the default).
    Run(RunArgs),
    /// Validate a config file and exit (0 = valid, 2 = invalid).
    Check {
        /// The TOML config file.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Print a commented example config.
    ExampleConfig,
    /// Run a demo that works on its own: a chat page at `/`, a built-in backend reached through signed webhooks,
    /// and the push API with a token made for the run.
    Demo(DemoArgs),
    /// Exit 0 when a running iogate answers `GET /healthz` with 200 (for container health checks).
    Healthcheck {
        /// The address of the public listener.
        #[arg(long, default_value = "127.0.0.1:8080")]
        address: SocketAddr,
        /// The path to check (`/readyz` is 503 while draining).
        #[arg(long, default_value = "/healthz")]
        path: String,
    },
}

/// Options for running the gateway.
#[derive(Debug, Args, Default)]
pub struct RunArgs {
    /// The TOML config file.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Listen on this address instead of `[server].listen`.
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// How logs are written.
#[derive(Debug, Clone, Copy, Default, ValueEnum, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for collectors.
    Json,
}

/// Options of `iogate demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The address of the chat page and the Socket.IO endpoint.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}
