//! What the benchmarks read about a process: CPU time and resident memory, from /proc and the kernel's per-process
//! CPU-time clock.
//!
//! CPU time is measured with the process's CPU-time clock (`clock_getcpuclockid`), which counts every thread's time,
//! ended threads included, to the nanosecond. /proc's user and system times count whole clock ticks (10 ms), which
//! is most of a short window's measurement when a server spends under 0.2 s of CPU in it (a fan-out to 1k clients):
//! they only split the precise total between user and kernel time.

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

/// CPU seconds (user + system, all threads, ended ones included) used so far by `pid`, to the nanosecond, from the
/// kernel's CPU-time clock of that process.
pub fn precise_cpu_seconds(pid: u32) -> Option<f64> {
    let pid = libc::pid_t::try_from(pid).ok()?;
    let mut clock: libc::clockid_t = 0;
    // SAFETY: `clock` is a valid place for the clock id.
    if unsafe { libc::clock_getcpuclockid(pid, &mut clock) } != 0 {
        return None;
    }
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid place for the time.
    if unsafe { libc::clock_gettime(clock, &mut now) } != 0 {
        return None;
    }
    Some(now.tv_sec as f64 + now.tv_nsec as f64 * 1e-9)
}

/// A CPU-time reading of a process (or of the processes of a cluster, summed) at an instant, to measure a window.
#[derive(Clone, Debug)]
pub struct CpuMark {
    pids: Vec<u32>,
    at: Instant,
    reading: CpuReading,
}

/// What one reading of the CPU time of some processes found.
#[derive(Clone, Copy, Debug, Default)]
struct CpuReading {
    /// User CPU seconds, in clock ticks.
    user: f64,
    /// Kernel CPU seconds, in clock ticks.
    system: f64,
    /// User + kernel CPU seconds to the nanosecond, or the ticks' sum where a process's clock could not be read.
    total: f64,
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
        Self {
            pids: pids.to_vec(),
            at: Instant::now(),
            reading: read_all(pids),
        }
    }

    /// CPU used since this mark: the precise total, split between user and kernel time as the ticks split it.
    pub fn used(&self) -> CpuUse {
        let now = read_all(&self.pids);
        let user_ticks = (now.user - self.reading.user).max(0.0);
        let system_ticks = (now.system - self.reading.system).max(0.0);
        let total = (now.total - self.reading.total).max(0.0);
        let user_share = if user_ticks + system_ticks > 0.0 {
            user_ticks / (user_ticks + system_ticks)
        } else {
            // Too short a window for a tick: the split is unknown, and counted as user time.
            1.0
        };
        CpuUse {
            user: total * user_share,
            system: total * (1.0 - user_share),
            wall: self.at.elapsed().as_secs_f64(),
        }
    }
}

fn read_all(pids: &[u32]) -> CpuReading {
    pids.iter()
        .map(|pid| read(*pid))
        .fold(CpuReading::default(), |sum, one| CpuReading {
            user: sum.user + one.user,
            system: sum.system + one.system,
            total: sum.total + one.total,
        })
}

fn read(pid: u32) -> CpuReading {
    if pid == 0 {
        return CpuReading::default();
    }
    let (user, system) = cpu_split(pid).unwrap_or((0.0, 0.0));
    let total = precise_cpu_seconds(pid).unwrap_or(user + system);
    CpuReading {
        user,
        system,
        total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spins until this process's CPU clock has advanced by `seconds` (the wall time that takes depends on what
    /// else the machine runs), or 10 s of wall time pass.
    fn spin_cpu(seconds: f64) {
        let pid = std::process::id();
        let start = precise_cpu_seconds(pid).expect("this process's CPU clock");
        let wall = Instant::now();
        let mut sum = 0u64;
        while precise_cpu_seconds(pid).unwrap_or(f64::MAX) - start < seconds
            && wall.elapsed().as_secs() < 10
        {
            for _ in 0..1000 {
                sum = std::hint::black_box(sum.wrapping_add(1));
            }
        }
    }

    #[test]
    fn the_precise_clock_counts_this_process_work_and_agrees_with_the_ticks() {
        let pid = std::process::id();
        let before = precise_cpu_seconds(pid).expect("this process's CPU clock");
        spin_cpu(0.03);
        let after = precise_cpu_seconds(pid).expect("this process's CPU clock");
        let spent = after - before;
        assert!((0.03..5.0).contains(&spent), "{spent} s for a 30 ms spin");
        let ticks = cpu_seconds(pid).expect("this process's /proc times");
        assert!(
            (after - ticks).abs() < 0.5,
            "clock {after} s against ticks {ticks} s"
        );
    }

    #[test]
    fn a_window_splits_the_precise_total_as_the_ticks_do() {
        let mark = CpuMark::now(std::process::id());
        spin_cpu(0.05);
        let used = mark.used();
        assert!(used.total() >= 0.05, "{used:?}");
        assert!(used.user >= 0.0 && used.system >= 0.0, "{used:?}");
        assert!(
            (used.user + used.system - used.total()).abs() < 1e-9,
            "{used:?}"
        );
        assert_eq!(CpuMark::now(0).used().total(), 0.0);
    }
}
