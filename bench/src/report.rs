//! The results table: one row per measurement, iogate beside Node, and how many times better iogate does.

pub mod medians;

use crate::scenario::Usage;
use serde::Serialize;

/// Whether a bigger number is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Better {
    /// Rates.
    Higher,
    /// Costs: memory, CPU, latency.
    Lower,
}

/// One measurement of both servers in one run.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// What was measured.
    pub scenario: String,
    /// Unit shown after the numbers.
    pub unit: &'static str,
    /// Which way is better.
    pub better: Better,
    /// iogate's value.
    pub iogate: Option<f64>,
    /// Node's value.
    pub node: Option<f64>,
    /// For a CPU row: where iogate's CPU went and what the tools spent in the same window.
    pub iogate_cpu: Option<CpuShares>,
    /// For a CPU row: where Node's CPU went and what the tools spent in the same window.
    pub node_cpu: Option<CpuShares>,
}

/// A CPU row's context: the server's kernel share, and the load generator's and backend's CPU in the same window,
/// in the row's unit (per unit of work, or percent of a core).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct CpuShares {
    /// The server's kernel time (`stime`), percent of its CPU (`utime` + `stime`).
    pub kernel_percent: f64,
    /// The load generator's CPU in the window, in the row's unit.
    pub loadgen: f64,
    /// The webhook backend's CPU in the window, in the row's unit.
    pub backend: f64,
}

impl CpuShares {
    /// The shares of `usage` for a row whose figure, `value`, is proportional to the server's CPU in the window
    /// (CPU per unit of work, or percent of a core); `None` when the server used no measurable CPU.
    pub fn of(usage: &Usage, value: f64) -> Option<Self> {
        let server = usage.server.total();
        if server <= 0.0 || !value.is_finite() {
            return None;
        }
        Some(Self {
            kernel_percent: usage.server.system_share(),
            loadgen: value * usage.loadgen.total() / server,
            backend: value * usage.backend.total() / server,
        })
    }
}

impl Row {
    /// How many times better iogate does than Node (>1: iogate is better).
    pub fn advantage(&self) -> Option<f64> {
        let (iogate, node) = (self.iogate?, self.node?);
        if !iogate.is_finite() || !node.is_finite() || iogate <= 0.0 || node <= 0.0 {
            return None;
        }
        Some(match self.better {
            Better::Higher => iogate / node,
            Better::Lower => node / iogate,
        })
    }
}

/// A number with a sensible count of digits and thousands separators.
pub fn number(value: f64) -> String {
    if !value.is_finite() {
        return "n/a".to_string();
    }
    let magnitude = value.abs();
    // From 999.5 on, the rounding below would print "1000": thousands are written with separators instead.
    if magnitude >= 999.5 {
        let rounded = value.round() as i64;
        let digits = rounded.unsigned_abs().to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        if rounded < 0 {
            out.insert(0, '-');
        }
        out
    } else if magnitude >= 100.0 {
        format!("{value:.0}")
    } else if magnitude >= 10.0 {
        format!("{value:.1}")
    } else if magnitude >= 1.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_numbers_and_ratios() {
        assert_eq!(number(1234567.4), "1,234,567");
        assert_eq!(number(12.345), "12.3");
        assert_eq!(number(0.01234), "0.012");
        assert_eq!(number(999.6), "1,000");
        let row = Row {
            scenario: "x".into(),
            unit: "KiB",
            better: Better::Lower,
            iogate: Some(2.0),
            node: Some(16.0),
            iogate_cpu: None,
            node_cpu: None,
        };
        assert_eq!(row.advantage(), Some(8.0));
        let faster = Row {
            better: Better::Higher,
            ..row
        };
        assert_eq!(faster.advantage(), Some(0.125));
    }

    #[test]
    fn cpu_shares_are_in_the_rows_unit() {
        use crate::procfs::CpuUse;
        let usage = Usage {
            server: CpuUse {
                user: 0.3,
                system: 0.7,
                wall: 2.0,
            },
            loadgen: CpuUse {
                user: 0.4,
                system: 0.1,
                wall: 2.0,
            },
            backend: CpuUse {
                user: 0.2,
                system: 0.05,
                wall: 2.0,
            },
        };
        // 1 s of server CPU over 100,000 acks: 10 µs per ack.
        let shares = CpuShares::of(&usage, 10.0).expect("shares");
        assert!((shares.kernel_percent - 70.0).abs() < 1e-9);
        assert!((shares.loadgen - 5.0).abs() < 1e-9);
        assert!((shares.backend - 2.5).abs() < 1e-9);
        assert_eq!(CpuShares::of(&Usage::default(), 10.0), None);
    }
}
