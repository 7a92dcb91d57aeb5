//! A socket's replay log: the offset-bearing packets it was sent, kept (shared with every other recipient, by
//! reference) so that a client coming back with its last offset gets what came after it. Bounded by bytes and by
//! age, oldest dropped first; what was dropped is remembered only as the newest offset dropped, so a restore from
//! before it is refused rather than replayed with a gap.

use crate::socketio::outgoing::Encoded;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How much a replay log keeps.
#[derive(Debug, Clone, Copy)]
pub struct LogLimits {
    /// Bytes of packets kept (Engine.IO packet lengths: text and binary attachments).
    pub max_bytes: usize,
    /// How long a packet is kept.
    pub max_age: Duration,
}

/// One packet sent.
#[derive(Debug)]
struct Entry {
    seq: u64,
    packets: Arc<Encoded>,
    bytes: usize,
    at: Instant,
}

/// The packets a socket was sent with offsets, oldest first.
#[derive(Debug, Default)]
pub struct ReplayLog {
    entries: VecDeque<Entry>,
    bytes: usize,
    /// The offset number of the newest packet dropped, once one was.
    dropped_through: Option<u64>,
}

/// What a restore from a client's offset gets.
pub type Replay = Vec<(u64, Arc<Encoded>)>;

impl ReplayLog {
    /// Records `packets`, sent with offset `seq` at `now`, then drops what is past `limits`. True when something
    /// was dropped for it.
    pub fn push(
        &mut self,
        seq: u64,
        packets: Arc<Encoded>,
        now: Instant,
        limits: LogLimits,
    ) -> bool {
        let bytes = packets.0.iter().map(|p| p.wire_len()).sum();
        self.entries.push_back(Entry {
            seq,
            packets,
            bytes,
            at: now,
        });
        self.bytes += bytes;
        let mut dropped = self.trim_old(now, limits.max_age);
        while self.bytes > limits.max_bytes {
            dropped |= self.drop_oldest();
        }
        dropped
    }

    /// Drops the packets older than `max_age`. True when it dropped any.
    pub fn trim_old(&mut self, now: Instant, max_age: Duration) -> bool {
        let mut dropped = false;
        while self
            .entries
            .front()
            .is_some_and(|e| now.saturating_duration_since(e.at) > max_age)
        {
            dropped |= self.drop_oldest();
        }
        dropped
    }

    fn drop_oldest(&mut self) -> bool {
        match self.entries.pop_front() {
            Some(entry) => {
                self.bytes -= entry.bytes;
                self.dropped_through = Some(entry.seq);
                true
            }
            None => false,
        }
    }

    /// What a client whose last offset is `offset` (`None`: it never got one) missed, in order; `None` when that
    /// cannot be known exactly (the offset is not in the log, or packets after it were dropped).
    pub fn after(&self, offset: Option<u64>) -> Option<Replay> {
        let start = match (offset, self.dropped_through) {
            (None, None) => 0,
            (None, Some(_)) => return None,
            (Some(seq), dropped) => match self.entries.iter().position(|e| e.seq == seq) {
                Some(index) => index + 1,
                None if dropped == Some(seq) => 0,
                None => return None,
            },
        };
        Some(self.entries.iter().skip(start).map(Self::item).collect())
    }

    /// The packets recorded after offset number `seq` (whatever was dropped).
    pub fn newer_than(&self, seq: u64) -> Replay {
        self.entries
            .iter()
            .filter(|e| e.seq > seq)
            .map(Self::item)
            .collect()
    }

    fn item(entry: &Entry) -> (u64, Arc<Encoded>) {
        (entry.seq, entry.packets.clone())
    }

    /// Bytes of packets held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Packets held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engineio::{Message, Packet, Text};

    fn packet(text: &str) -> Arc<Encoded> {
        Arc::new(Encoded(vec![Packet::message(&Message::Text(Text::from(
            text,
        )))]))
    }

    const WIDE: LogLimits = LogLimits {
        max_bytes: 1 << 20,
        max_age: Duration::from_secs(60),
    };

    fn seqs(replay: Option<Replay>) -> Option<Vec<u64>> {
        replay.map(|r| r.into_iter().map(|(seq, _)| seq).collect())
    }

    #[test]
    fn replays_what_came_after_an_offset() {
        let mut log = ReplayLog::default();
        let now = Instant::now();
        for seq in [3, 7, 9] {
            assert!(!log.push(seq, packet("2[\"e\"]"), now, WIDE));
        }
        assert_eq!(seqs(log.after(Some(3))), Some(vec![7, 9]));
        assert_eq!(seqs(log.after(Some(9))), Some(vec![]));
        assert_eq!(seqs(log.after(None)), Some(vec![3, 7, 9]));
        // An offset the socket was never sent.
        assert_eq!(seqs(log.after(Some(5))), None);
        assert_eq!(seqs(log.after(Some(10))), None);
        assert_eq!(seqs(Some(log.newer_than(3))), Some(vec![7, 9]));
    }

    #[test]
    fn trims_oldest_by_bytes_and_refuses_offsets_before_the_gap() {
        let mut log = ReplayLog::default();
        let now = Instant::now();
        // Each packet is 10 bytes on the wire ("4" + 9): the cap holds two.
        let limits = LogLimits {
            max_bytes: 25,
            ..WIDE
        };
        assert!(!log.push(1, packet("2[\"aaaa\"]"), now, limits));
        assert!(!log.push(2, packet("2[\"bbbb\"]"), now, limits));
        assert_eq!(log.bytes(), 20);
        assert!(log.push(3, packet("2[\"cccc\"]"), now, limits));
        assert_eq!((log.len(), log.bytes()), (2, 20));
        // The client had 1 (now dropped): everything after it is still here, so the replay is exact.
        assert_eq!(seqs(log.after(Some(1))), Some(vec![2, 3]));
        assert_eq!(seqs(log.after(Some(2))), Some(vec![3]));
        // Before the newest dropped one, or no offset at all: a gap, refused.
        assert!(log.push(4, packet("2[\"dddd\"]"), now, limits));
        assert_eq!(seqs(log.after(Some(1))), None);
        assert_eq!(seqs(log.after(None)), None);
        assert_eq!(seqs(log.after(Some(2))), Some(vec![3, 4]));
    }

    #[test]
    fn a_packet_bigger_than_the_cap_is_not_kept() {
        let mut log = ReplayLog::default();
        let now = Instant::now();
        let limits = LogLimits {
            max_bytes: 5,
            ..WIDE
        };
        assert!(log.push(1, packet("2[\"too long\"]"), now, limits));
        assert!(log.is_empty());
        assert_eq!(log.bytes(), 0);
        assert_eq!(seqs(log.after(Some(1))), Some(vec![]));
        assert_eq!(seqs(log.after(None)), None);
    }

    #[test]
    fn trims_by_age() {
        let mut log = ReplayLog::default();
        let start = Instant::now();
        let limits = LogLimits {
            max_age: Duration::from_secs(10),
            ..WIDE
        };
        log.push(1, packet("2[\"a\"]"), start, limits);
        log.push(
            2,
            packet("2[\"b\"]"),
            start + Duration::from_secs(6),
            limits,
        );
        assert!(!log.trim_old(start + Duration::from_secs(10), limits.max_age));
        assert!(log.trim_old(start + Duration::from_secs(11), limits.max_age));
        assert_eq!(log.len(), 1);
        // A push trims too.
        assert!(log.push(
            3,
            packet("2[\"c\"]"),
            start + Duration::from_secs(17),
            limits
        ));
        assert_eq!(seqs(log.after(Some(2))), Some(vec![3]));
        assert_eq!(seqs(log.after(Some(1))), None);
    }
}
