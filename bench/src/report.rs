//! The results table: one row per measurement, iogate beside Node, and how many times better iogate does.

use serde::Serialize;

/// Whether a bigger number is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Better {
    /// Rates.
    Higher,
    /// Costs: memory, CPU, latency.
    Lower,
}

/// One measurement of both servers.
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
    if magnitude >= 1000.0 {
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

fn cell(value: Option<f64>, unit: &str) -> String {
    match value {
        Some(v) if v.is_finite() => format!("{} {unit}", number(v)),
        _ => "n/a".to_string(),
    }
}

/// The markdown table.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::from("| scenario | iogate | Node | ratio |\n|---|---:|---:|---:|\n");
    for row in rows {
        let ratio = row
            .advantage()
            .map(|r| format!("{r:.1}x"))
            .unwrap_or_else(|| "n/a".to_string());
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            row.scenario,
            cell(row.iogate, row.unit),
            cell(row.node, row.unit),
            ratio
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_numbers_and_ratios() {
        assert_eq!(number(1234567.4), "1,234,567");
        assert_eq!(number(12.345), "12.3");
        assert_eq!(number(0.01234), "0.012");
        let row = Row {
            scenario: "x".into(),
            unit: "KiB",
            better: Better::Lower,
            iogate: Some(2.0),
            node: Some(16.0),
        };
        assert_eq!(row.advantage(), Some(8.0));
        assert!(table(&[row]).contains("| x | 2.00 KiB | 16.0 KiB | 8.0x |"));
    }
}
