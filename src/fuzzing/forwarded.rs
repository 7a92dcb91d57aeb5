//! The client address behind proxies (`server::forwarded::TrustedProxies::resolve`: `Forwarded`,
//! `X-Forwarded-For`, `X-Forwarded-Proto`, `X-ARR-SSL`).
//!
//! Input: header lines, each a name selector byte and its value. Asserts, for both `[server] forwarded` modes: a
//! peer that is not a trusted proxy is never moved by any header, nor made secure; a trusted one resolves to a
//! canonical address (IPv4 never as IPv4-mapped IPv6), and to itself when no forwarding header names anyone; and
//! the header of the other mode changes nothing (a client's own passes through a proxy that does not set it).

use crate::config::{Cidr, ForwardedHeader, canonical};
use crate::server::forwarded::{Client, TrustedProxies};
use http::{HeaderMap, HeaderName, HeaderValue};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The header names a line can set.
const NAMES: [&str; 5] = [
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-arr-ssl",
    "x-other",
];

/// Runs the checks on `data`.
pub fn check(data: &[u8]) {
    let mut headers = HeaderMap::new();
    for line in data.split(|&b| b == b'\n') {
        let Some((&name, value)) = line.split_first() else {
            continue;
        };
        let name = HeaderName::from_static(NAMES[usize::from(name) % NAMES.len()]);
        if let Ok(value) = HeaderValue::from_bytes(value) {
            headers.append(name, value);
        }
    }
    let tls = data.len() % 2 == 0;
    for mode in [ForwardedHeader::XForwardedFor, ForwardedHeader::Forwarded] {
        check_mode(mode, &headers, tls);
    }
}

/// The checks for proxies that speak `mode`.
fn check_mode(mode: ForwardedHeader, headers: &HeaderMap, tls: bool) {
    let (Ok(lan), Ok(loopback)) = (Cidr::parse("10.0.0.0/8"), Cidr::parse("::1/128")) else {
        panic!("the trusted proxies of the check do not parse");
    };
    let proxies = TrustedProxies::new(vec![lan, loopback], mode);
    let stranger = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 5));
    assert_eq!(
        proxies.resolve(stranger, tls, headers),
        Client {
            address: stranger,
            secure: tls
        },
        "an untrusted peer was believed"
    );
    let (own, others): (&[&str], &[&str]) = match mode {
        ForwardedHeader::XForwardedFor => (&["x-forwarded-for"], &["forwarded"]),
        ForwardedHeader::Forwarded => (
            &["forwarded"],
            &["x-forwarded-for", "x-forwarded-proto", "x-arr-ssl"],
        ),
    };
    let mut without_others = headers.clone();
    for name in others {
        without_others.remove(*name);
    }
    let mapped = IpAddr::V6(Ipv4Addr::new(10, 1, 2, 3).to_ipv6_mapped());
    for peer in [mapped, IpAddr::V6(Ipv6Addr::LOCALHOST)] {
        let client = proxies.resolve(peer, tls, headers);
        assert_eq!(canonical(client.address), client.address, "{client:?}");
        if !own.iter().any(|name| headers.contains_key(*name)) {
            assert_eq!(client.address, canonical(peer));
        }
        assert_eq!(
            proxies.resolve(peer, tls, &without_others),
            client,
            "the header {mode:?} proxies do not set changed the client"
        );
    }
}
