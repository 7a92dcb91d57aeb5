//! The comparison: for each run a fresh `redis-server` with a fresh Redis owner process, then a fresh `bench-backend`
//! as the HTTP owner, the two ways measured one after the other; a table of every run and the medians.

use super::{WayOutcome, Window, via_http, via_redis};
use crate::Res;
use crate::redis::Redis;
use crate::servers::{Backend, Tools};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

/// Every run of both ways.
pub struct Comparison {
    /// The offered rate and windows.
    pub rate: f64,
    /// Through Redis, one per run.
    pub redis: Vec<WayOutcome>,
    /// Over one HTTP/1.1 round trip, one per run.
    pub http: Vec<WayOutcome>,
}

/// Measures both ways `runs` times, alternating (Redis first in each run).
pub async fn compare(tools: &Tools, timing: &Window, runs: usize) -> Res<Comparison> {
    let mut comparison = Comparison {
        rate: timing.rate,
        redis: Vec::new(),
        http: Vec::new(),
    };
    for run in 1..=runs {
        let redis = Redis::start(&tools.work_dir).await?;
        let measured = through_redis(&redis, timing).await;
        redis.stop().await;
        let way = measured?;
        eprintln!("   run {run}, through Redis: {}", summary(&way));
        comparison.redis.push(way);

        let owner = Backend::start(tools).await?;
        let measured = via_http(owner.addr, owner.pid, timing).await;
        owner.stop().await;
        let way = measured?;
        eprintln!("   run {run}, direct HTTP/1.1: {}", summary(&way));
        comparison.http.push(way);
    }
    Ok(comparison)
}

/// Starts the Redis owner (`bench-loadgen forward-owner`) on `redis`, measures, stops it.
async fn through_redis(redis: &Redis, timing: &Window) -> Res<WayOutcome> {
    let mut owner = Command::new(std::env::current_exe()?)
        .args(["forward-owner", "--redis", &redis.url()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()?;
    let pid = owner.id().ok_or("the Redis owner exited at once")?;
    let stdout = owner.stdout.take().ok_or("no stdout of the Redis owner")?;
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
        .await
        .map_err(|_| "the Redis owner did not subscribe in 10 s")??;
    if line.as_deref() != Some("ready") {
        return Err(format!("the Redis owner said {line:?}").into());
    }
    let measured = via_redis(&redis.url(), pid, redis.pid(), timing).await;
    let _ = owner.start_kill();
    let _ = owner.wait().await;
    measured
}

fn summary(way: &WayOutcome) -> String {
    let mut latencies = way.latencies.clone();
    format!(
        "{} round trips ({} failed), p50 {:.3} ms, p99 {:.3} ms; CPU per round trip: asker {:.1} us, owner {:.1} us, \
         redis-server {:.1} us",
        way.round_trips,
        way.failed,
        latencies.percentile_ms(50.0).unwrap_or(f64::NAN),
        latencies.percentile_ms(99.0).unwrap_or(f64::NAN),
        way.us_per_round_trip(&way.asker),
        way.us_per_round_trip(&way.owner),
        way.us_per_round_trip(&way.redis),
    )
}

/// The median of `values` (NaN when empty).
fn median(values: Vec<f64>) -> f64 {
    crate::stats::median(values).unwrap_or(f64::NAN)
}

impl Comparison {
    /// A markdown table: one row per figure, the median over the runs of each way, every run in brackets.
    pub fn render(&self) -> String {
        type Figure = fn(&WayOutcome) -> f64;
        // Name, decimals, figure.
        let figures: [(&str, usize, Figure); 7] = [
            ("round trips answered per second", 0, |w| {
                w.round_trips as f64 / w.asker.wall.max(1e-9)
            }),
            ("p50 round trip, ms", 3, |w| {
                w.latencies.clone().percentile_ms(50.0).unwrap_or(f64::NAN)
            }),
            ("p99 round trip, ms", 3, |w| {
                w.latencies.clone().percentile_ms(99.0).unwrap_or(f64::NAN)
            }),
            ("CPU per round trip, asking end, µs", 1, |w| {
                w.us_per_round_trip(&w.asker)
            }),
            ("CPU per round trip, owning end, µs", 1, |w| {
                w.us_per_round_trip(&w.owner)
            }),
            ("CPU per round trip, redis-server, µs", 1, |w| {
                w.us_per_round_trip(&w.redis)
            }),
            ("CPU per round trip, all processes, µs", 1, |w| {
                w.us_per_round_trip(&w.asker)
                    + w.us_per_round_trip(&w.owner)
                    + w.us_per_round_trip(&w.redis)
            }),
        ];
        let mut out = format!(
            "| at {:.0} round trips/s offered, median of {} runs [each run] | through Redis (2 PUBLISH) | direct \
             HTTP/1.1 (keep-alive) |\n|---|---:|---:|\n",
            self.rate,
            self.redis.len()
        );
        let cell = |ways: &[WayOutcome], decimals: usize, figure: Figure| {
            let values: Vec<f64> = ways.iter().map(figure).collect();
            let each: Vec<String> = values.iter().map(|v| format!("{v:.decimals$}")).collect();
            format!(
                "{:.decimals$} [{}]",
                median(values.clone()),
                each.join(", ")
            )
        };
        for (name, decimals, figure) in figures {
            out.push_str(&format!(
                "| {name} | {} | {} |\n",
                cell(&self.redis, decimals, figure),
                cell(&self.http, decimals, figure)
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn medians() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0]), 2.5);
        assert!(median(Vec::new()).is_nan());
    }
}
