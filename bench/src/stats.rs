//! Latency samples and percentiles; a process-wide microsecond clock.

use std::sync::OnceLock;
use std::time::Instant;

fn base() -> Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

/// Microseconds since the first call in this process.
pub fn now_us() -> u64 {
    base().elapsed().as_micros() as u64
}

/// The instant `us` microseconds after the clock's base.
pub fn instant_at(us: u64) -> tokio::time::Instant {
    tokio::time::Instant::from_std(base() + std::time::Duration::from_micros(us))
}

/// Latency samples in microseconds.
#[derive(Default, Debug, Clone)]
pub struct Latencies {
    samples: Vec<u32>,
    sorted: bool,
}

impl Latencies {
    /// Adds a sample.
    pub fn push(&mut self, us: u64) {
        self.samples.push(us.min(u32::MAX as u64) as u32);
        self.sorted = false;
    }

    /// Adds every sample of `other`.
    pub fn extend(&mut self, other: &Latencies) {
        self.samples.extend_from_slice(&other.samples);
        self.sorted = false;
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// Whether there is no sample.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// The `p`-th percentile (0..=100) in milliseconds; `None` without samples.
    pub fn percentile_ms(&mut self, p: f64) -> Option<f64> {
        if self.samples.is_empty() {
            return None;
        }
        if !self.sorted {
            self.samples.sort_unstable();
            self.sorted = true;
        }
        let rank = ((p / 100.0) * self.samples.len() as f64).ceil() as usize;
        let index = rank.clamp(1, self.samples.len()) - 1;
        Some(f64::from(self.samples[index]) / 1000.0)
    }
}

/// The median of the finite values among `values` (the mean of the middle two for an even count); `None` when
/// there is none.
pub fn median(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    let mut finite: Vec<f64> = values.into_iter().filter(|v| v.is_finite()).collect();
    if finite.is_empty() {
        return None;
    }
    finite.sort_by(f64::total_cmp);
    let mid = finite.len() / 2;
    Some(if finite.len() % 2 == 1 {
        finite[mid]
    } else {
        (finite[mid - 1] + finite[mid]) / 2.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median([3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median([4.0, 1.0]), Some(2.5));
        assert_eq!(median([f64::NAN, 5.0, 1.0, 3.0]), Some(3.0));
        assert_eq!(median(Vec::new()), None);
        assert_eq!(median([f64::NAN]), None);
    }

    #[test]
    fn percentiles() {
        let mut l = Latencies::default();
        for us in 1..=100 {
            l.push(us * 1000);
        }
        assert_eq!(l.percentile_ms(50.0), Some(50.0));
        assert_eq!(l.percentile_ms(99.0), Some(99.0));
        assert_eq!(l.percentile_ms(100.0), Some(100.0));
    }
}
