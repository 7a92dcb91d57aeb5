//! Latency histograms and failure counts per webhook URL, for the status page: a fixed set of buckets per URL
//! (a call costs two atomic adds), and a bound on how many URLs are kept apart (past it, every further URL is
//! counted under one `other` entry), so configs with many endpoints cannot grow it without bound.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How many distinct webhook URLs are kept apart.
pub const MAX_URLS: usize = 64;

/// The name the URLs past [`MAX_URLS`] are counted under.
pub const OTHER_URLS: &str = "other";

/// Upper bounds of the latency buckets, in microseconds: 0.5 ms doubling to ~16 s; a last bucket takes the rest.
pub const BUCKET_BOUNDS_MICROS: [u64; 16] = [
    500, 1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 512_000, 1_024_000,
    2_048_000, 4_096_000, 8_192_000, 16_384_000,
];

/// How many buckets a histogram has (the bounded ones and the overflow).
pub const BUCKETS: usize = BUCKET_BOUNDS_MICROS.len() + 1;

/// The calls to one webhook URL: a latency histogram and the failed calls.
#[derive(Debug, Default)]
pub struct UrlStats {
    buckets: [AtomicU64; BUCKETS],
    failures: AtomicU64,
}

/// The counts of one [`UrlStats`] at a moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UrlCounts {
    /// Calls per latency bucket.
    pub buckets: [u64; BUCKETS],
    /// Failed calls (unreachable, timeout, non-2xx).
    pub failures: u64,
}

impl UrlStats {
    /// Counts one call that took `took`, and whether it failed.
    pub fn record(&self, took: Duration, failed: bool) {
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let bucket = BUCKET_BOUNDS_MICROS
            .iter()
            .position(|bound| micros <= *bound)
            .unwrap_or(BUCKETS - 1);
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        if failed {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The counts now.
    pub fn counts(&self) -> UrlCounts {
        UrlCounts {
            buckets: std::array::from_fn(|i| self.buckets[i].load(Ordering::Relaxed)),
            failures: self.failures.load(Ordering::Relaxed),
        }
    }
}

impl UrlCounts {
    /// Calls counted.
    pub fn calls(&self) -> u64 {
        self.buckets.iter().sum()
    }

    /// What was counted since `earlier` (counts only grow).
    pub fn since(&self, earlier: &UrlCounts) -> UrlCounts {
        UrlCounts {
            buckets: std::array::from_fn(|i| self.buckets[i].saturating_sub(earlier.buckets[i])),
            failures: self.failures.saturating_sub(earlier.failures),
        }
    }

    /// The latency under which a `quantile` (0..1) of the calls finished, as the upper bound of its bucket, in
    /// milliseconds; `None` without calls, and for the overflow bucket the largest bound.
    pub fn quantile_ms(&self, quantile: f64) -> Option<f64> {
        let calls = self.calls();
        if calls == 0 {
            return None;
        }
        let rank = ((calls as f64) * quantile).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, count) in self.buckets.iter().enumerate() {
            seen += count;
            if seen >= rank {
                let bound = BUCKET_BOUNDS_MICROS
                    .get(i)
                    .or(BUCKET_BOUNDS_MICROS.last())
                    .copied()
                    .unwrap_or(0);
                return Some(bound as f64 / 1000.0);
            }
        }
        None
    }
}

/// Every webhook URL's stats, looked up when a webhook target is built (never per call).
#[derive(Debug, Default)]
pub struct WebhookUrls {
    urls: Mutex<Vec<(String, Arc<UrlStats>)>>,
}

impl WebhookUrls {
    /// The stats of `url` (shown without credentials or query), shared by every target of that URL; past
    /// [`MAX_URLS`] URLs, the shared [`OTHER_URLS`] entry.
    pub fn of(&self, url: &str) -> Arc<UrlStats> {
        let Ok(mut urls) = self.urls.lock() else {
            return Arc::default();
        };
        if let Some((_, stats)) = urls.iter().find(|(known, _)| known == url) {
            return stats.clone();
        }
        let name = if urls.len() < MAX_URLS - 1 {
            url
        } else {
            OTHER_URLS
        };
        if let Some((_, stats)) = urls.iter().find(|(known, _)| known == name) {
            return stats.clone();
        }
        let stats = Arc::new(UrlStats::default());
        urls.push((name.to_string(), stats.clone()));
        stats
    }

    /// Every URL with its counts now, in the order they were first seen.
    pub fn counts(&self) -> Vec<(String, UrlCounts)> {
        self.urls
            .lock()
            .map(|urls| {
                urls.iter()
                    .map(|(url, stats)| (url.clone(), stats.counts()))
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_bucket_bounds() {
        let stats = UrlStats::default();
        for _ in 0..90 {
            stats.record(Duration::from_micros(700), false);
        }
        for _ in 0..9 {
            stats.record(Duration::from_millis(30), false);
        }
        stats.record(Duration::from_secs(60), true);
        let counts = stats.counts();
        assert_eq!(counts.calls(), 100);
        assert_eq!(counts.failures, 1);
        assert_eq!(counts.quantile_ms(0.5), Some(1.0));
        assert_eq!(counts.quantile_ms(0.95), Some(32.0));
        assert_eq!(counts.quantile_ms(0.99), Some(32.0));
        assert_eq!(counts.quantile_ms(1.0), Some(16384.0));
        assert_eq!(UrlCounts::default().quantile_ms(0.5), None);
        let later = stats.counts();
        stats.record(Duration::from_millis(3), false);
        assert_eq!(stats.counts().since(&later).quantile_ms(0.5), Some(4.0));
    }

    #[test]
    fn urls_are_bounded() {
        let urls = WebhookUrls::default();
        let first = urls.of("http://a/hook");
        assert!(Arc::ptr_eq(&first, &urls.of("http://a/hook")));
        for i in 0..200 {
            drop(urls.of(&format!("http://h{i}/hook")));
        }
        let counts = urls.counts();
        assert_eq!(counts.len(), MAX_URLS);
        assert_eq!(counts.last().map(|(url, _)| url.as_str()), Some(OTHER_URLS));
    }
}
