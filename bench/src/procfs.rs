//! What the benchmarks read about a process from /proc: CPU time (utime + stime of every thread) and resident memory.

use std::time::Instant;

/// Clock ticks per second of /proc/PID/stat times.
pub fn ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

/// CPU seconds (user + system, all threads) used so far by `pid`.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    cpu_split(pid).map(|(user, system)| user + system)
}

/// User and system CPU seconds (all threads) used so far by `pid`.
pub fn cpu_split(pid: u32) -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start at field 3 (state).
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    let ticks = ticks_per_second();
    Some((utime as f64 / ticks, stime as f64 / ticks))
}

/// Resident memory of `pid`, in KiB (VmRSS).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
}

/// A CPU-time reading of a process (or of the processes of a cluster, summed) at an instant, to measure a window.
#[derive(Clone, Debug)]
pub struct CpuMark {
    pids: Vec<u32>,
    at: Instant,
    user: f64,
    system: f64,
}

/// CPU used by a process over a window.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct CpuUse {
    /// User-space CPU seconds.
    pub user: f64,
    /// Kernel CPU seconds.
    pub system: f64,
    /// Wall seconds of the window.
    pub wall: f64,
}

impl CpuUse {
    /// User + system CPU seconds.
    pub fn total(&self) -> f64 {
        self.user + self.system
    }

    /// Average use over the window, percent of one core.
    pub fn percent(&self) -> f64 {
        if self.wall > 0.0 {
            100.0 * self.total() / self.wall
        } else {
            0.0
        }
    }

    /// The share of kernel time, percent.
    pub fn system_share(&self) -> f64 {
        if self.total() > 0.0 {
            100.0 * self.system / self.total()
        } else {
            0.0
        }
    }
}

impl CpuMark {
    /// Reads `pid` now (a pid of 0 reads nothing: every window is empty).
    pub fn now(pid: u32) -> Self {
        Self::now_summed(&[pid])
    }

    /// Reads `pids` now; windows measured from this mark sum the CPU of all of them.
    pub fn now_summed(pids: &[u32]) -> Self {
        let (user, system) = read_all(pids);
        Self {
            pids: pids.to_vec(),
            at: Instant::now(),
            user,
            system,
        }
    }

    /// CPU used since this mark.
    pub fn used(&self) -> CpuUse {
        let (user, system) = read_all(&self.pids);
        CpuUse {
            user: (user - self.user).max(0.0),
            system: (system - self.system).max(0.0),
            wall: self.at.elapsed().as_secs_f64(),
        }
    }
}

fn read_all(pids: &[u32]) -> (f64, f64) {
    pids.iter()
        .map(|pid| read(*pid))
        .fold((0.0, 0.0), |(u, s), (pu, ps)| (u + pu, s + ps))
}

fn read(pid: u32) -> (f64, f64) {
    if pid == 0 {
        return (0.0, 0.0);
    }
    cpu_split(pid).unwrap_or((0.0, 0.0))
}
