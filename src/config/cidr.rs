//! CIDR blocks for `trusted_proxies`, parsed once when the config is loaded; the server matches peers against them.

use serde::{Deserialize, Deserializer};
use std::net::IpAddr;

/// An address block such as `10.0.0.0/8` or `::1/128` (a bare address is a single-host block).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `addr/prefix` or a bare address.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| format!("{text:?} is not an IP address or CIDR block"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{text:?} has a bad prefix length"))?,
            None => max,
        };
        Ok(Self::block(network, prefix))
    }

    /// The block of `prefix` bits at `network`. An IPv4-mapped IPv6 block of at least 96 bits is the IPv4 block it
    /// maps (peers are matched as IPv4); a shorter one stays an IPv6 block.
    fn block(network: IpAddr, prefix: u8) -> Self {
        match canonical(network) {
            IpAddr::V4(v4) if network.is_ipv6() && prefix >= 96 => Self {
                network: IpAddr::V4(v4),
                prefix: prefix - 96,
            },
            IpAddr::V4(_) if network.is_ipv6() => Self { network, prefix },
            canonical => Self {
                network: canonical,
                prefix,
            },
        }
    }

    /// The block holding `addr` alone.
    pub fn host(addr: IpAddr) -> Self {
        Self::block(addr, if addr.is_ipv4() { 32 } else { 128 })
    }

    /// Whether `addr` is inside the block (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, addr: IpAddr) -> bool {
        match (self.network, canonical(addr)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            _ => false,
        }
    }
}

/// A `trusted_proxies` entry: a string parsed by [`Cidr::parse`], whose message names the bad entry.
impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let text = String::deserialize(de)?;
        Cidr::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) as IPv4.
pub fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    }
}

fn prefix_eq(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let full = usize::from(prefix / 8);
    if a[..full] != b[..full] {
        return false;
    }
    let rest = prefix % 8;
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    (a[full] & mask) == (b[full] & mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn matches_v4_v6_and_mapped() {
        let lan = Cidr::parse("10.1.0.0/16").unwrap();
        assert!(lan.contains(ip("10.1.200.3")));
        assert!(!lan.contains(ip("10.2.0.1")));
        assert!(lan.contains(ip("::ffff:10.1.0.9")));
        let odd = Cidr::parse("192.168.0.0/23").unwrap();
        assert!(odd.contains(ip("192.168.1.255")));
        assert!(!odd.contains(ip("192.168.2.0")));
        let loopback6 = Cidr::parse("::1/128").unwrap();
        assert!(loopback6.contains(ip("::1")));
        assert!(!loopback6.contains(ip("127.0.0.1")));
        assert!(Cidr::parse("127.0.0.1").unwrap().contains(ip("127.0.0.1")));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
    }

    #[test]
    fn a_host_block_holds_that_address_alone() {
        assert_eq!(
            Cidr::host(ip("127.0.0.1")),
            Cidr::parse("127.0.0.1/32").unwrap()
        );
        assert_eq!(Cidr::host(ip("::1")), Cidr::parse("::1/128").unwrap());
        assert_eq!(
            Cidr::host(ip("::ffff:10.0.0.1")),
            Cidr::parse("10.0.0.1").unwrap()
        );
        assert!(!Cidr::host(ip("10.0.0.1")).contains(ip("10.0.0.2")));
    }

    #[test]
    fn ipv4_mapped_blocks_match_as_ipv4() {
        let mapped = Cidr::parse("::ffff:10.0.0.1").unwrap();
        assert_eq!(mapped, Cidr::parse("10.0.0.1").unwrap());
        assert!(mapped.contains(ip("10.0.0.1")));
        assert!(mapped.contains(ip("::ffff:10.0.0.1")));
        assert!(!mapped.contains(ip("10.0.0.2")));
        let lan = Cidr::parse("::ffff:10.0.0.0/104").unwrap();
        assert_eq!(lan, Cidr::parse("10.0.0.0/8").unwrap());
        assert!(lan.contains(ip("10.9.8.7")));
        // Shorter than the mapped range: an IPv6 block, which IPv4 peers (mapped or not) are never inside.
        let wide = Cidr::parse("::ffff:10.0.0.0/64").unwrap();
        assert!(!wide.contains(ip("10.0.0.1")));
        assert!(!wide.contains(ip("::ffff:10.0.0.1")));
        assert!(wide.contains(ip("::1:2:3:4")));
    }

    #[test]
    fn rejects_garbage() {
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(Cidr::parse("nope").is_err());
        assert!(Cidr::parse("::1/129").is_err());
    }
}
