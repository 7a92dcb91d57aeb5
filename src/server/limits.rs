//! The listener's limits: connections open at once (in all and per client address), and the settings every
//! connection is served with (head and body timeouts, the largest head). A connection or proxied request past a
//! limit is refused, counted in `iogate_refused_total` and logged (at most once a second per listener).

use crate::config::{ServerConfig, canonical};
use crate::metrics::Metrics;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// How a listener serves each connection (the HTTP/1.1 path's limits).
pub type ConnSettings = iogate_h1::Limits;

/// The connections a listener holds, and the limits on them.
pub struct Gate {
    settings: ConnSettings,
    max_connections: usize,
    max_per_ip: usize,
    open: AtomicUsize,
    per_ip: Mutex<HashMap<IpAddr, usize>>,
    metrics: Arc<Metrics>,
    quiet: LogLimiter,
}

/// Why a connection or request was refused: the `reason` label of `iogate_refused_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The listener holds `max_connections` connections.
    MaxConnections,
    /// The client address holds `max_connections_per_ip` connections.
    MaxConnectionsPerIp,
}

impl Refusal {
    /// The metric label.
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::MaxConnections => "max_connections",
            Refusal::MaxConnectionsPerIp => "max_connections_per_ip",
        }
    }
}

impl Gate {
    /// A gate for the public listener, with the limits of `server` (defaults resolved).
    pub fn public(server: &ServerConfig, metrics: Arc<Metrics>) -> Arc<Self> {
        let max_connections = server
            .max_connections
            .unwrap_or_else(default_max_connections);
        Self::new(
            server,
            metrics,
            max_connections,
            server.max_connections_per_ip,
        )
    }

    /// A gate with the timeouts of `server` and no connection limits (the push API's listener: a backend on a
    /// private network; the reserve left by the public listener's default limit is for it and for webhooks).
    pub fn unlimited(server: &ServerConfig, metrics: Arc<Metrics>) -> Arc<Self> {
        Self::new(server, metrics, usize::MAX, 0)
    }

    fn new(
        server: &ServerConfig,
        metrics: Arc<Metrics>,
        max_connections: usize,
        max_per_ip: usize,
    ) -> Arc<Self> {
        Arc::new(Self {
            settings: ConnSettings {
                head_timeout: server.request_head_timeout,
                body_timeout: server.body_timeout,
                max_head: server.max_request_head,
            },
            max_connections,
            max_per_ip,
            open: AtomicUsize::new(0),
            per_ip: Mutex::default(),
            metrics,
            quiet: LogLimiter::default(),
        })
    }

    /// How each connection is served.
    pub fn settings(&self) -> &ConnSettings {
        &self.settings
    }

    /// The most connections the listener holds at once.
    pub fn max_connections(&self) -> usize {
        self.max_connections
    }

    /// Whether connections are counted per client address (`max_connections_per_ip` is set).
    pub fn counts_per_address(&self) -> bool {
        self.max_per_ip > 0
    }

    /// Connections open now.
    pub fn open_connections(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// Admits a new connection from `peer`, counted per address too unless `peer` is a trusted proxy (its
    /// requests are counted on the client addresses it forwards, by [`Gate::admit_forwarded`]).
    pub fn admit(self: &Arc<Self>, peer: IpAddr, per_ip: bool) -> Result<Slot, Refusal> {
        if self.open.fetch_add(1, Ordering::AcqRel) >= self.max_connections {
            self.open.fetch_sub(1, Ordering::AcqRel);
            return Err(self.refuse(Refusal::MaxConnections, peer));
        }
        let counted = per_ip && self.max_per_ip > 0;
        if counted && !self.count_ip(peer) {
            self.open.fetch_sub(1, Ordering::AcqRel);
            return Err(self.refuse(Refusal::MaxConnectionsPerIp, peer));
        }
        Ok(Slot {
            gate: self.clone(),
            ip: counted.then_some(peer),
            connection: true,
        })
    }

    /// Admits a request (or the WebSocket it opens) that a trusted proxy forwarded for `client`; `None` when no
    /// per-address limit is set.
    pub fn admit_forwarded(self: &Arc<Self>, client: IpAddr) -> Result<Option<Slot>, Refusal> {
        if self.max_per_ip == 0 {
            return Ok(None);
        }
        if !self.count_ip(client) {
            return Err(self.refuse(Refusal::MaxConnectionsPerIp, client));
        }
        Ok(Some(Slot {
            gate: self.clone(),
            ip: Some(client),
            connection: false,
        }))
    }

    /// Counts `refusal` and logs it (rate-limited), naming `peer`.
    fn refuse(&self, refusal: Refusal, peer: IpAddr) -> Refusal {
        self.refused(refusal.reason(), peer);
        refusal
    }

    /// Counts a refusal of `reason` from `peer` in `iogate_refused_total` and logs it at warn, at most once a
    /// second per listener (with how many went unlogged), so a flood does not flood the log too.
    pub fn refused(&self, reason: &'static str, peer: IpAddr) {
        self.metrics.refused(reason);
        if let Some(unlogged) = self.quiet.allow() {
            tracing::warn!(%peer, reason, unlogged, "refused by a limit");
        }
    }

    fn count_ip(&self, ip: IpAddr) -> bool {
        let ip = address_key(ip);
        let mut per_ip = self.per_ip.lock().unwrap_or_else(|p| p.into_inner());
        // Called only with a limit set (above zero): an entry that exists holds at least one place.
        let held = per_ip.entry(ip).or_insert(0);
        if *held >= self.max_per_ip {
            return false;
        }
        *held += 1;
        true
    }

    fn release_ip(&self, ip: IpAddr) {
        let ip = address_key(ip);
        let mut per_ip = self.per_ip.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(held) = per_ip.get_mut(&ip) {
            *held -= 1;
            if *held == 0 {
                per_ip.remove(&ip);
            }
        }
    }

    /// Client addresses with something counted now (their map entries; an address's entry goes with its last
    /// connection).
    pub fn tracked_addresses(&self) -> usize {
        self.per_ip.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// The key a client address is counted under: IPv4 as is (an IPv4-mapped IPv6 address as its IPv4 one, so a
/// client counts once whether it comes directly or through a proxy), IPv6 by its /64: one subscriber's network,
/// in which a client may pick any number of addresses.
fn address_key(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        v4 => v4,
    }
}

/// A connection or forwarded request being counted; dropping it gives the count back.
pub struct Slot {
    gate: Arc<Gate>,
    ip: Option<IpAddr>,
    connection: bool,
}

impl Slot {
    /// The listener's gate.
    pub fn gate(&self) -> &Arc<Gate> {
        &self.gate
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if self.connection {
            self.gate.open.fetch_sub(1, Ordering::AcqRel);
        }
        if let Some(ip) = self.ip {
            self.gate.release_ip(ip);
        }
    }
}

/// Allows one log line a second; says how many were held back since the last.
#[derive(Default)]
struct LogLimiter {
    /// The second (since the process's first refusal) of the last line logged, plus one; 0 = never.
    last: AtomicU64,
    held_back: AtomicU64,
}

impl LogLimiter {
    /// `Some(lines held back since the last one)` when a line may be logged now.
    fn allow(&self) -> Option<u64> {
        let now = seconds_since_start() + 1;
        let last = self.last.load(Ordering::Relaxed);
        if last == now
            || self
                .last
                .compare_exchange(last, now, Ordering::AcqRel, Ordering::Relaxed)
                .is_err()
        {
            self.held_back.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        Some(self.held_back.swap(0, Ordering::Relaxed))
    }
}

fn seconds_since_start() -> u64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_secs()
}

/// The default `max_connections`: the open-files limit minus a reserve (a tenth of it, at least 100) for
/// webhook connections, the API listener and files.
pub fn default_max_connections() -> usize {
    let limit = open_files_limit();
    limit.saturating_sub((limit / 10).max(100)).max(1)
}

/// The process's open-files limit (soft), or 10,000 where there is none to read.
#[cfg(unix)]
#[expect(unsafe_code, reason = "getrlimit has no safe wrapper in std")]
pub fn open_files_limit() -> usize {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct it is given and reads nothing else.
    let read = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    if read != 0 || limit.rlim_cur == libc::RLIM_INFINITY {
        return 10_000;
    }
    usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX)
}

/// The process's open-files limit: Windows has no such limit on sockets, so a fixed default.
#[cfg(not(unix))]
pub fn open_files_limit() -> usize {
    10_000
}

/// Raises the soft open-files limit to the hard limit (as many runtimes do at start), so the default
/// `max_connections` is what the system allows rather than a shell's 1024. Returns the limit in force.
#[cfg(unix)]
#[expect(
    unsafe_code,
    reason = "getrlimit and setrlimit have no safe wrapper in std"
)]
pub fn raise_open_files_limit() -> usize {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write only the struct they are given.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            libc::setrlimit(libc::RLIMIT_NOFILE, &raised);
        }
    }
    open_files_limit()
}

/// Raises the open-files limit: nothing to do where there is none.
#[cfg(not(unix))]
pub fn raise_open_files_limit() -> usize {
    open_files_limit()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(max_connections: usize, per_ip: usize) -> Arc<Gate> {
        let server = ServerConfig {
            max_connections: Some(max_connections),
            max_connections_per_ip: per_ip,
            ..ServerConfig::default()
        };
        Gate::public(&server, Metrics::new())
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn connections_past_the_limit_are_refused_and_slots_give_back() {
        let gate = gate(2, 0);
        let a = gate.admit(ip("10.0.0.1"), true).unwrap();
        let _b = gate.admit(ip("10.0.0.2"), true).unwrap();
        assert_eq!(
            gate.admit(ip("10.0.0.3"), true).err(),
            Some(Refusal::MaxConnections)
        );
        drop(a);
        assert!(gate.admit(ip("10.0.0.3"), true).is_ok());
        assert_eq!(gate.tracked_addresses(), 0, "no per-address limit, no map");
    }

    #[test]
    fn per_address_limit_counts_connections_and_forwarded_requests_alike() {
        let gate = gate(100, 2);
        let first = gate.admit(ip("203.0.113.9"), true).unwrap();
        let forwarded = gate.admit_forwarded(ip("203.0.113.9")).unwrap();
        assert!(forwarded.is_some());
        assert_eq!(
            gate.admit(ip("203.0.113.9"), true).err(),
            Some(Refusal::MaxConnectionsPerIp)
        );
        assert_eq!(
            gate.admit_forwarded(ip("203.0.113.9")).err(),
            Some(Refusal::MaxConnectionsPerIp)
        );
        assert_eq!(
            gate.open_connections(),
            1,
            "a refused connection is not kept"
        );
        // A trusted proxy's own connections are not counted on its address.
        let proxied: Vec<_> = (0..5)
            .map(|_| gate.admit(ip("127.0.0.1"), false).unwrap())
            .collect();
        assert!(gate.admit(ip("198.51.100.7"), true).is_ok());
        drop((first, forwarded, proxied));
        assert_eq!(
            gate.tracked_addresses(),
            0,
            "entries go with their last slot"
        );
        assert_eq!(gate.open_connections(), 0);
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_64_and_a_mapped_ipv4_one_as_ipv4() {
        let gate = gate(100, 1);
        let _held = gate.admit(ip("2001:db8:1:2::1"), true).unwrap();
        assert_eq!(
            gate.admit(ip("2001:db8:1:2:ffff::9"), true).err(),
            Some(Refusal::MaxConnectionsPerIp),
            "another address of the same /64"
        );
        assert!(gate.admit(ip("2001:db8:1:3::1"), true).is_ok());
        let _v4 = gate.admit(ip("::ffff:203.0.113.9"), true).unwrap();
        assert_eq!(
            gate.admit_forwarded(ip("203.0.113.9")).err(),
            Some(Refusal::MaxConnectionsPerIp)
        );
    }

    #[test]
    fn the_default_leaves_a_reserve() {
        let limit = open_files_limit();
        let default = default_max_connections();
        assert!(default < limit || limit <= 100, "{default} of {limit}");
        assert!(default >= 1);
    }

    #[test]
    fn refusals_are_logged_at_most_once_a_second() {
        let quiet = LogLimiter::default();
        assert_eq!(quiet.allow(), Some(0));
        assert_eq!(quiet.allow(), None);
        assert_eq!(quiet.allow(), None);
    }
}
