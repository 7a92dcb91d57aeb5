//! The table over several runs: every figure is the median of the runs, each run's value in brackets, and the
//! ratio is the ratio of the medians. Beside it, the tools' CPU in the same windows and the loopback floors.

use super::{Better, CpuShares, Row, number};
use crate::floor::FloorReading;
use crate::stats::median;
use serde::Serialize;

/// One figure's value in each run (`None` where that run has no value).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Series {
    /// In run order.
    pub each_run: Vec<Option<f64>>,
}

impl Series {
    /// The median of the runs that have a value.
    pub fn median(&self) -> Option<f64> {
        median(self.each_run.iter().flatten().copied())
    }

    /// Whether no run has a value.
    pub fn is_empty(&self) -> bool {
        self.each_run.iter().all(Option::is_none)
    }

    /// `median unit`, then `(N% kernel)` when `kernel` is given, then every run's value in brackets when there was
    /// more than one run: `14.3 µs (70% kernel) [14.1, 14.3, 15.0]`.
    pub fn cell(&self, unit: &str, kernel: Option<&Series>) -> String {
        let Some(middle) = self.median() else {
            return "n/a".to_string();
        };
        let mut out = format!("{} {unit}", number(middle));
        if let Some(share) = kernel.and_then(Series::median) {
            out.push_str(&format!(" ({share:.0}% kernel)"));
        }
        if self.each_run.len() > 1 {
            let each: Vec<String> = self
                .each_run
                .iter()
                .map(|v| v.filter(|v| v.is_finite()).map_or("–".to_string(), compact))
                .collect();
            out.push_str(&format!(" [{}]", each.join(", ")));
        }
        out
    }
}

/// A number for the brackets: like [`number`], but thousands as `k` with three digits (`33.0k`, `114k`), so
/// that no comma inside a number is taken for the one between numbers.
pub fn compact(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 999_500.0 {
        format!("{:.2}M", value / 1e6)
    } else if magnitude >= 99_950.0 {
        format!("{:.0}k", value / 1e3)
    } else if magnitude >= 9_995.0 {
        format!("{:.1}k", value / 1e3)
    } else if magnitude >= 1_000.0 {
        format!("{:.2}k", value / 1e3)
    } else {
        number(value)
    }
}

/// One server's readings of one row over the runs.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ServerRuns {
    /// The row's figure.
    pub value: Series,
    /// For a CPU row: the server's kernel share, percent.
    pub kernel_percent: Series,
    /// For a CPU row: the load generator's CPU in the same window, in the row's unit.
    pub loadgen: Series,
    /// For a CPU row: the webhook backend's CPU in the same window, in the row's unit.
    pub backend: Series,
}

impl ServerRuns {
    fn push(&mut self, value: Option<f64>, cpu: Option<CpuShares>) {
        self.value.each_run.push(value);
        self.kernel_percent
            .each_run
            .push(cpu.map(|c| c.kernel_percent));
        self.loadgen.each_run.push(cpu.map(|c| c.loadgen));
        self.backend.each_run.push(cpu.map(|c| c.backend));
    }

    fn is_cpu_row(&self) -> bool {
        !self.kernel_percent.is_empty()
    }
}

/// One row of the table with every run's readings of both servers.
#[derive(Clone, Debug, Serialize)]
pub struct MedianRow {
    /// What was measured.
    pub scenario: String,
    /// Unit shown after the numbers.
    pub unit: &'static str,
    /// Which way is better.
    pub better: Better,
    /// iogate's readings.
    pub iogate: ServerRuns,
    /// Node's readings.
    pub node: ServerRuns,
}

impl MedianRow {
    /// How many times better iogate does than Node, from the two medians.
    pub fn advantage(&self) -> Option<f64> {
        Row {
            scenario: String::new(),
            unit: self.unit,
            better: self.better,
            iogate: self.iogate.value.median(),
            node: self.node.value.median(),
            iogate_cpu: None,
            node_cpu: None,
        }
        .advantage()
    }

    fn is_cpu_row(&self) -> bool {
        self.iogate.is_cpu_row() || self.node.is_cpu_row()
    }
}

/// The rows of every run, matched by name, in the order they first appear; a run without a row counts as a run
/// without a value.
pub fn merge(runs: &[&[Row]]) -> Vec<MedianRow> {
    let mut merged: Vec<MedianRow> = Vec::new();
    for row in runs.iter().flat_map(|rows| rows.iter()) {
        if !merged.iter().any(|m| m.scenario == row.scenario) {
            merged.push(MedianRow {
                scenario: row.scenario.clone(),
                unit: row.unit,
                better: row.better,
                iogate: ServerRuns::default(),
                node: ServerRuns::default(),
            });
        }
    }
    for merged_row in &mut merged {
        for rows in runs {
            let found = rows.iter().find(|r| r.scenario == merged_row.scenario);
            merged_row.iogate.push(
                found.and_then(|r| r.iogate),
                found.and_then(|r| r.iogate_cpu),
            );
            merged_row
                .node
                .push(found.and_then(|r| r.node), found.and_then(|r| r.node_cpu));
        }
    }
    merged
}

fn run_count(rows: &[MedianRow]) -> usize {
    rows.first().map_or(0, |r| r.iogate.value.each_run.len())
}

/// The markdown table: each server's median (with its kernel share on CPU rows) and every run's value, and the
/// ratio of the medians.
pub fn table(rows: &[MedianRow]) -> String {
    let mut out = if run_count(rows) > 1 {
        format!(
            "| scenario (median of {} runs [each run]) | iogate | Node | ratio of the medians |\n\
             |---|---:|---:|---:|\n",
            run_count(rows)
        )
    } else {
        String::from("| scenario | iogate | Node | ratio |\n|---|---:|---:|---:|\n")
    };
    for row in rows {
        let ratio = row
            .advantage()
            .map_or_else(|| "n/a".to_string(), |r| format!("{r:.1}x"));
        let cell = |server: &ServerRuns| {
            let kernel = server.is_cpu_row().then_some(&server.kernel_percent);
            server.value.cell(row.unit, kernel)
        };
        out.push_str(&format!(
            "| {} | {} | {} | {ratio} |\n",
            row.scenario,
            cell(&row.iogate),
            cell(&row.node)
        ));
    }
    out
}

/// The CPU rows again with what the load generator and the webhook backend spent in the same windows, in the
/// rows' units (medians); empty when there is no CPU row.
pub fn tools_table(rows: &[MedianRow]) -> String {
    let cpu_rows: Vec<&MedianRow> = rows.iter().filter(|r| r.is_cpu_row()).collect();
    if cpu_rows.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "| the tools' CPU in the same window (median) | with iogate: load generator | with iogate: backend \
         | with Node: load generator | with Node: backend |\n|---|---:|---:|---:|---:|\n",
    );
    for row in cpu_rows {
        let cell = |series: &Series| {
            series.median().map_or_else(
                || "n/a".to_string(),
                |v| format!("{} {}", number(v), row.unit),
            )
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            row.scenario,
            cell(&row.iogate.loadgen),
            cell(&row.iogate.backend),
            cell(&row.node.loadgen),
            cell(&row.node.backend)
        ));
    }
    out
}

/// One loopback floor over the runs.
#[derive(Clone, Debug, Serialize)]
pub struct FloorRow {
    /// What was measured.
    pub name: String,
    /// The measured thread's CPU per unit, µs.
    pub cpu_us: Series,
    /// Its kernel share, percent.
    pub kernel_percent: Series,
    /// Units per second.
    pub per_second: Series,
    /// Median latency of a unit, ms (floors measured at a fixed rate).
    pub p50_ms: Series,
    /// 99th percentile latency of a unit, ms (floors measured at a fixed rate).
    pub p99_ms: Series,
}

/// The floors of every run, matched by name, in the order they first appear.
pub fn merge_floors(runs: &[&[FloorReading]]) -> Vec<FloorRow> {
    let mut merged: Vec<FloorRow> = Vec::new();
    for reading in runs.iter().flat_map(|readings| readings.iter()) {
        if !merged.iter().any(|m| m.name == reading.name) {
            merged.push(FloorRow {
                name: reading.name.clone(),
                cpu_us: Series::default(),
                kernel_percent: Series::default(),
                per_second: Series::default(),
                p50_ms: Series::default(),
                p99_ms: Series::default(),
            });
        }
    }
    for row in &mut merged {
        for readings in runs {
            let found = readings.iter().find(|r| r.name == row.name);
            row.cpu_us
                .each_run
                .push(found.map(FloorReading::cpu_us_per_unit));
            row.kernel_percent
                .each_run
                .push(found.map(FloorReading::kernel_percent));
            row.per_second
                .each_run
                .push(found.map(FloorReading::per_second));
            row.p50_ms.each_run.push(found.and_then(|r| r.p50_ms));
            row.p99_ms.each_run.push(found.and_then(|r| r.p99_ms));
        }
    }
    merged
}

/// The floors' table: the measured thread's CPU per unit (with its kernel share) and the units per second; the p50
/// and p99 latency too when a floor was measured at a fixed rate (empty cells for the others).
pub fn floor_table(rows: &[FloorRow]) -> String {
    let runs = rows.first().map_or(0, |r| r.cpu_us.each_run.len());
    let latency = rows
        .iter()
        .any(|r| !r.p50_ms.is_empty() || !r.p99_ms.is_empty());
    let mut out = if runs > 1 {
        format!(
            "| loopback floor, no server; minimal relay server (median of {runs} runs [each run]) | CPU | per second |"
        )
    } else {
        String::from("| loopback floor, no server; minimal relay server | CPU | per second |")
    };
    out.push_str(if latency {
        " p50 latency | p99 latency |\n|---|---:|---:|---:|---:|\n"
    } else {
        "\n|---|---:|---:|\n"
    });
    let latency_cell = |series: &Series| {
        if series.is_empty() {
            String::new()
        } else {
            series.cell("ms", None)
        }
    };
    for row in rows {
        out.push_str(&format!(
            "| {} | {} | {} |",
            row.name,
            row.cpu_us.cell("µs", Some(&row.kernel_percent)),
            row.per_second.cell("/s", None)
        ));
        if latency {
            out.push_str(&format!(
                " {} | {} |",
                latency_cell(&row.p50_ms),
                latency_cell(&row.p99_ms)
            ));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(scenario: &str, iogate: Option<f64>, node: Option<f64>, cpu: bool) -> Row {
        let shares = |kernel| CpuShares {
            kernel_percent: kernel,
            loadgen: 5.0,
            backend: 1.0,
        };
        Row {
            scenario: scenario.to_string(),
            unit: "µs",
            better: Better::Lower,
            iogate,
            node,
            iogate_cpu: cpu.then(|| shares(70.0)),
            node_cpu: cpu.then(|| shares(40.0)),
        }
    }

    #[test]
    fn compact_numbers_have_no_commas() {
        assert_eq!(compact(2.071), "2.07");
        assert_eq!(compact(4236.0), "4.24k");
        assert_eq!(compact(32_961.0), "33.0k");
        assert_eq!(compact(113_686.0), "114k");
        assert_eq!(compact(1_500_000.0), "1.50M");
    }

    #[test]
    fn cells_show_the_median_and_each_run() {
        let series = Series {
            each_run: vec![Some(2.11), Some(2.05), Some(2.07)],
        };
        assert_eq!(series.cell("KiB", None), "2.07 KiB [2.11, 2.05, 2.07]");
        let kernel = Series {
            each_run: vec![Some(68.0), Some(71.0), Some(70.0)],
        };
        assert_eq!(
            series.cell("µs", Some(&kernel)),
            "2.07 µs (70% kernel) [2.11, 2.05, 2.07]"
        );
        let gap = Series {
            each_run: vec![Some(1.0), None, Some(3.0)],
        };
        assert_eq!(gap.cell("ms", None), "2.00 ms [1.00, –, 3.00]");
        let one = Series {
            each_run: vec![Some(14.3)],
        };
        assert_eq!(one.cell("µs", None), "14.3 µs");
        assert_eq!(Series::default().cell("µs", None), "n/a");
    }

    #[test]
    fn merges_runs_by_name_and_takes_the_ratio_of_the_medians() {
        let first = [
            row("a", Some(1.0), Some(8.0), true),
            row("b", Some(2.0), None, false),
        ];
        let second = [row("a", Some(3.0), Some(9.0), true)];
        let third = [
            row("a", Some(2.0), Some(40.0), true),
            row("b", Some(4.0), None, false),
            row("c", None, Some(1.0), false),
        ];
        let merged = merge(&[&first, &second, &third]);
        let names: Vec<&str> = merged.iter().map(|r| r.scenario.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(
            merged[0].iogate.value.each_run,
            [Some(1.0), Some(3.0), Some(2.0)]
        );
        assert_eq!(merged[0].advantage(), Some(4.5));
        assert_eq!(
            merged[1].iogate.value.each_run,
            [Some(2.0), None, Some(4.0)]
        );
        assert_eq!(merged[1].advantage(), None);
        let table = table(&merged);
        assert!(table.starts_with("| scenario (median of 3 runs [each run]) |"));
        assert!(
            table.contains(
                "| a | 2.00 µs (70% kernel) [1.00, 3.00, 2.00] | 9.00 µs (40% kernel) [8.00, 9.00, 40.0] | 4.5x |"
            ),
            "{table}"
        );
        assert!(table.contains("| b | 3.00 µs [2.00, –, 4.00] | n/a | n/a |"));
        let tools = tools_table(&merged);
        assert!(tools.contains("| a | 5.00 µs | 1.00 µs | 5.00 µs | 1.00 µs |"));
        assert!(!tools.contains("| b |"));
    }

    fn floor_reading(name: &str, units: u64, p99_ms: Option<f64>) -> FloorReading {
        FloorReading {
            name: name.into(),
            unit_name: "write",
            units,
            user_seconds: 0.001,
            system_seconds: 0.003,
            wall_seconds: 1.0,
            p50_ms: p99_ms.map(|p99| p99 / 2.0),
            p99_ms,
        }
    }

    #[test]
    fn floors_take_medians_too() {
        let reading = |units| floor_reading("floor", units, None);
        let (a, b, c) = ([reading(1000)], [reading(500)], [reading(2000)]);
        let merged = merge_floors(&[&a, &b, &c]);
        assert_eq!(merged.len(), 1);
        let table = floor_table(&merged);
        assert!(
            table.contains(
                "| floor | 4.00 µs (75% kernel) [4.00, 8.00, 2.00] | 1,000 /s [1.00k, 500, 2.00k] |\n"
            ),
            "{table}"
        );
        assert!(!table.contains("latency"), "{table}");
    }

    #[test]
    fn paced_floors_add_latency_columns() {
        let plain = floor_reading("floor", 1000, None);
        let paced = |p99| floor_reading("paced", 1000, Some(p99));
        let merged = merge_floors(&[&[plain.clone(), paced(0.2)], &[plain, paced(0.4)]]);
        let table = floor_table(&merged);
        assert!(
            table.contains("| p50 latency | p99 latency |\n|---|---:|---:|---:|---:|\n"),
            "{table}"
        );
        assert!(
            table.contains("| paced | 4.00 µs (75% kernel) [4.00, 4.00] | 1,000 /s [1.00k, 1.00k] | 0.150 ms [0.100, 0.200] | 0.300 ms [0.200, 0.400] |\n"),
            "{table}"
        );
        assert!(
            table.contains("| 1,000 /s [1.00k, 1.00k] |  |  |\n"),
            "{table}"
        );
    }

    #[test]
    fn one_run_prints_the_plain_table() {
        let merged = merge(&[&[row("a", Some(2.0), Some(16.0), false)]]);
        assert!(table(&merged).contains("| a | 2.00 µs | 16.0 µs | 8.0x |"));
        assert_eq!(tools_table(&merged), "");
    }
}
