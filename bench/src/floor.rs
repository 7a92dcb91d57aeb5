//! The loopback floors: what this machine's kernel charges a minimal program for the socket work a server does
//! per unit, with no server at all, so that a server's CPU per unit can be read against it (the part above the
//! floor is the server's own code).
//!
//! - [`fanout`]: one thread writes one ready-made WebSocket frame to each of N loopback connections per round, a
//!   broadcast with nothing else; readers in a child process drain them. CPU per write. Its polling shape writes a
//!   poll response to each connection and reads the next GET each client sends back: CPU per delivery.
//! - [`relay`]: one thread relays each client frame to a backend connection and the backend's reply back as an ack:
//!   the irreducible two reads and two writes per ack. CPU per round; and, with the clients emitting at a fixed
//!   rate, the latency of a round at that rate.
//!
//! - [`minimal_server`]: not a floor of the kernel's but of a server's: a relay server that does almost nothing,
//!   for the real load generator and backend (`bench-loadgen minimal-server`); every run measures it at the
//!   relay's half-load rates (`runner::floor_rows`), and `bench/trace/relay_hops.sh minimal` runs it by hand.
//!
//! Both floors read the measured thread's own CPU with `getrusage(RUSAGE_THREAD)` (user and kernel apart, microseconds).

pub mod fanout;
pub mod minimal_server;
pub mod relay;

use serde::Serialize;

/// One floor measured once.
#[derive(Clone, Debug, Serialize)]
pub struct FloorReading {
    /// What was measured: the row's name.
    pub name: String,
    /// What one unit is (a write, a round).
    pub unit_name: &'static str,
    /// Units done in the measured window.
    pub units: u64,
    /// The measured thread's user CPU seconds in the window.
    pub user_seconds: f64,
    /// The measured thread's kernel CPU seconds in the window.
    pub system_seconds: f64,
    /// Wall seconds of the window.
    pub wall_seconds: f64,
    /// Median latency of a unit, ms (measured at a fixed rate only).
    pub p50_ms: Option<f64>,
    /// 99th percentile latency of a unit, ms (measured at a fixed rate only).
    pub p99_ms: Option<f64>,
}

impl FloorReading {
    /// The measured thread's CPU per unit, µs (NaN without units).
    pub fn cpu_us_per_unit(&self) -> f64 {
        if self.units == 0 {
            return f64::NAN;
        }
        (self.user_seconds + self.system_seconds) * 1e6 / self.units as f64
    }

    /// The kernel's share of the measured thread's CPU, percent (NaN without CPU).
    pub fn kernel_percent(&self) -> f64 {
        let total = self.user_seconds + self.system_seconds;
        if total > 0.0 {
            100.0 * self.system_seconds / total
        } else {
            f64::NAN
        }
    }

    /// Units per wall second.
    pub fn per_second(&self) -> f64 {
        if self.wall_seconds > 0.0 {
            self.units as f64 / self.wall_seconds
        } else {
            f64::NAN
        }
    }

    /// One line for the progress output.
    pub fn summary(&self) -> String {
        let mut line = format!(
            "{} {}s, {:.0}/s, {:.2} us CPU per {} ({:.0}% kernel)",
            self.units,
            self.unit_name,
            self.per_second(),
            self.cpu_us_per_unit(),
            self.unit_name,
            self.kernel_percent()
        );
        if let (Some(p50), Some(p99)) = (self.p50_ms, self.p99_ms) {
            line.push_str(&format!(", p50 {p50:.3} ms, p99 {p99:.3} ms"));
        }
        line
    }
}

/// User and kernel CPU seconds of the calling thread so far.
pub fn thread_cpu() -> (f64, f64) {
    // SAFETY: `rusage` is plain old data, for which all zero bytes are a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes one `rusage` to a valid, aligned pointer that outlives the call.
    let status = unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) };
    if status != 0 {
        return (0.0, 0.0);
    }
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (seconds(usage.ru_utime), seconds(usage.ru_stime))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_cpu_grows_with_work() {
        let (user, system) = thread_cpu();
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let (user_after, system_after) = thread_cpu();
        assert!(user_after + system_after > user + system);
    }

    #[test]
    fn per_unit_figures() {
        let reading = FloorReading {
            name: "x".into(),
            unit_name: "write",
            units: 1000,
            user_seconds: 0.001,
            system_seconds: 0.003,
            wall_seconds: 0.5,
            p50_ms: None,
            p99_ms: None,
        };
        assert!((reading.cpu_us_per_unit() - 4.0).abs() < 1e-9);
        assert!((reading.kernel_percent() - 75.0).abs() < 1e-9);
        assert!((reading.per_second() - 2000.0).abs() < 1e-9);
    }
}
