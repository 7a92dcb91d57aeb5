//! The client's address and scheme behind proxies: the one forwarding header the proxies are said to speak
//! (`X-Forwarded-For` with `X-Forwarded-Proto` / `X-ARR-SSL`, or RFC 7239 `Forwarded`), believed only from
//! `trusted_proxies`, walked right to left, in every address form ARR and ANCM produce. The other header is
//! ignored: a proxy passes through whatever a client sends in a header it does not set itself.

use crate::config::{Cidr, ForwardedHeader, canonical};
use http::HeaderMap;
use std::net::{IpAddr, Ipv6Addr};

/// Who the client is, as far as trusted proxies say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Client {
    /// The client's address.
    pub address: IpAddr,
    /// Whether the client used HTTPS.
    pub secure: bool,
}

/// The proxies whose forwarding headers are believed, and which header they speak.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    blocks: Vec<Cidr>,
    header: ForwardedHeader,
}

impl TrustedProxies {
    /// The proxies in `blocks` (`trusted_proxies`, parsed with the config), which set `header`.
    pub fn new(blocks: Vec<Cidr>, header: ForwardedHeader) -> Self {
        Self { blocks, header }
    }

    /// Whether `addr` is a trusted proxy.
    pub fn trusts(&self, addr: IpAddr) -> bool {
        self.blocks.iter().any(|block| block.contains(addr))
    }

    /// Resolves the client of a request that came from `peer` over a connection that was (not) TLS.
    pub fn resolve(&self, peer: IpAddr, tls: bool, headers: &HeaderMap) -> Client {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return Client {
                address: peer,
                secure: tls,
            };
        }
        let hops = match self.header {
            ForwardedHeader::Forwarded => forwarded_hops(headers),
            ForwardedHeader::XForwardedFor => x_forwarded_for_hops(headers),
        };
        // Walk from the nearest hop outwards; stop at the first address we do not trust.
        let mut address = peer;
        let mut proto = None;
        for hop in hops.iter().rev() {
            let Some(hop_address) = hop.address else {
                break;
            };
            address = hop_address;
            proto = hop.proto.clone().or(proto);
            if !self.trusts(hop_address) {
                break;
            }
        }
        let proto = match self.header {
            ForwardedHeader::Forwarded => proto,
            ForwardedHeader::XForwardedFor => last_value(headers, "x-forwarded-proto"),
        };
        let secure = match proto {
            Some(proto) => proto.eq_ignore_ascii_case("https") || proto.eq_ignore_ascii_case("wss"),
            None => {
                tls || (self.header == ForwardedHeader::XForwardedFor
                    && headers.contains_key("x-arr-ssl"))
            }
        };
        Client { address, secure }
    }
}

/// One hop of a forwarding header.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Hop {
    address: Option<IpAddr>,
    proto: Option<String>,
}

/// Hops from `Forwarded`, in header order (client first).
fn forwarded_hops(headers: &HeaderMap) -> Vec<Hop> {
    values(headers, "forwarded")
        .flat_map(|v| parse_forwarded(&v))
        .collect()
}

/// Hops from `X-Forwarded-For`, in header order (client first).
fn x_forwarded_for_hops(headers: &HeaderMap) -> Vec<Hop> {
    values(headers, "x-forwarded-for")
        .flat_map(|v| {
            v.split(',')
                .map(|e| Hop {
                    address: parse_node(e),
                    proto: None,
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

fn values<'a>(headers: &'a HeaderMap, name: &str) -> impl Iterator<Item = String> + 'a {
    headers
        .get_all(name)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

fn last_value(headers: &HeaderMap, name: &str) -> Option<String> {
    values(headers, name)
        .flat_map(|v| {
            v.split(',')
                .map(|p| p.trim().to_string())
                .collect::<Vec<_>>()
        })
        .filter(|v| !v.is_empty())
        .last()
}

/// Parses RFC 7239 `for=...;proto=...` elements.
fn parse_forwarded(value: &str) -> Vec<Hop> {
    value
        .split(',')
        .map(|element| {
            let mut hop = Hop {
                address: None,
                proto: None,
            };
            for pair in element.split(';') {
                let Some((key, val)) = pair.split_once('=') else {
                    continue;
                };
                let val = val.trim().trim_matches('"');
                match key.trim().to_ascii_lowercase().as_str() {
                    "for" => hop.address = parse_node(val),
                    "proto" => hop.proto = Some(val.to_string()),
                    _ => {}
                }
            }
            hop
        })
        .collect()
}

/// Parses a node: `ip`, `ip:port`, `[v6]`, `[v6]:port`, `[v6%zone]:port`, bare v6; `unknown` and obfuscated ids are `None`.
fn parse_node(text: &str) -> Option<IpAddr> {
    let text = text.trim().trim_matches('"');
    if let Some(rest) = text.strip_prefix('[') {
        let inside = &rest[..rest.find(']')?];
        return parse_v6(inside);
    }
    if let Ok(addr) = text.parse::<IpAddr>() {
        return Some(canonical(addr));
    }
    if text.matches(':').count() == 1 {
        let (host, port) = text.split_once(':')?;
        port.parse::<u16>().ok()?;
        return host.parse::<IpAddr>().ok().map(canonical);
    }
    parse_v6(text)
}

fn parse_v6(text: &str) -> Option<IpAddr> {
    let without_zone = text.split('%').next()?;
    without_zone
        .parse::<Ipv6Addr>()
        .ok()
        .map(|v6| canonical(IpAddr::V6(v6)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn trusted() -> TrustedProxies {
        trusted_speaking(ForwardedHeader::XForwardedFor)
    }

    fn trusted_speaking(header: ForwardedHeader) -> TrustedProxies {
        let blocks = ["127.0.0.1/32", "::1/128", "10.0.0.0/8"]
            .into_iter()
            .map(|block| Cidr::parse(block).unwrap())
            .collect();
        TrustedProxies::new(blocks, header)
    }

    #[test]
    fn node_forms_arr_and_ancm_produce() {
        assert_eq!(parse_node("1.2.3.4"), Some(ip("1.2.3.4")));
        assert_eq!(parse_node(" 1.2.3.4:5678 "), Some(ip("1.2.3.4")));
        assert_eq!(parse_node("[fe80::1%6]:63354"), Some(ip("fe80::1")));
        assert_eq!(parse_node("[2001:db8::17]:4711"), Some(ip("2001:db8::17")));
        assert_eq!(parse_node("[2001:db8::17]"), Some(ip("2001:db8::17")));
        assert_eq!(parse_node("2001:db8::17"), Some(ip("2001:db8::17")));
        assert_eq!(parse_node("fe80::1%eth0"), Some(ip("fe80::1")));
        assert_eq!(parse_node("::ffff:203.0.113.9"), Some(ip("203.0.113.9")));
        assert_eq!(parse_node("\"[::1]:80\""), Some(ip("::1")));
        assert_eq!(parse_node("unknown"), None);
        assert_eq!(parse_node("_hidden"), None);
        assert_eq!(parse_node("1.2.3.4:notaport"), None);
    }

    #[test]
    fn untrusted_peers_are_not_believed() {
        let spoofed = headers(&[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-proto", "https"),
            ("x-arr-ssl", "1"),
        ]);
        let client = trusted().resolve(ip("203.0.113.9"), false, &spoofed);
        assert_eq!(
            client,
            Client {
                address: ip("203.0.113.9"),
                secure: false
            }
        );
    }

    #[test]
    fn walks_right_to_left_past_trusted_hops() {
        let chain = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.7:5678, 10.0.0.5")]);
        let client = trusted().resolve(ip("127.0.0.1"), false, &chain);
        assert_eq!(
            client.address,
            ip("198.51.100.7"),
            "the spoofed leftmost entry is ignored"
        );
        let all_trusted = headers(&[("x-forwarded-for", "10.0.0.9, 10.0.0.5")]);
        assert_eq!(
            trusted().resolve(ip("::1"), false, &all_trusted).address,
            ip("10.0.0.9")
        );
    }

    #[test]
    fn ancm_style_ipv6_with_zone_and_port() {
        let ancm = headers(&[
            ("x-forwarded-for", "[fe80::1%6]:63354"),
            ("x-forwarded-proto", "https"),
        ]);
        let client = trusted().resolve(ip("::ffff:127.0.0.1"), false, &ancm);
        assert_eq!(
            client,
            Client {
                address: ip("fe80::1"),
                secure: true
            }
        );
    }

    #[test]
    fn forwarded_mode_reads_only_forwarded_with_its_proto() {
        let both = headers(&[
            (
                "forwarded",
                "for=192.0.2.60;proto=http, for=\"[2001:db8:cafe::17]:4711\";proto=https",
            ),
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-proto", "http"),
            ("x-arr-ssl", "1"),
        ]);
        let client =
            trusted_speaking(ForwardedHeader::Forwarded).resolve(ip("127.0.0.1"), false, &both);
        assert_eq!(
            client,
            Client {
                address: ip("2001:db8:cafe::17"),
                secure: true
            }
        );
        let only_xff = headers(&[("x-forwarded-for", "6.6.6.6"), ("x-arr-ssl", "1")]);
        assert_eq!(
            trusted_speaking(ForwardedHeader::Forwarded).resolve(ip("127.0.0.1"), false, &only_xff),
            Client {
                address: ip("127.0.0.1"),
                secure: false
            },
            "X-Forwarded-For and X-ARR-SSL are a client's own when the proxy speaks Forwarded"
        );
    }

    #[test]
    fn a_clients_own_forwarded_header_is_ignored_behind_an_x_forwarded_for_proxy() {
        // nginx sets X-Forwarded-For and X-Forwarded-Proto and passes the client's Forwarded through.
        let through_nginx = headers(&[
            ("forwarded", "for=6.6.6.6;proto=https"),
            ("x-forwarded-for", "203.0.113.9"),
            ("x-forwarded-proto", "http"),
        ]);
        assert_eq!(
            trusted().resolve(ip("127.0.0.1"), false, &through_nginx),
            Client {
                address: ip("203.0.113.9"),
                secure: false
            }
        );
    }

    #[test]
    fn arr_ssl_marks_https_and_unknown_stops_the_walk() {
        let arr = headers(&[
            ("x-forwarded-for", "198.51.100.7:1234"),
            ("x-arr-ssl", "2048|256|..."),
        ]);
        assert_eq!(
            trusted().resolve(ip("127.0.0.1"), false, &arr),
            Client {
                address: ip("198.51.100.7"),
                secure: true
            }
        );
        let unknown = headers(&[("forwarded", "for=unknown")]);
        assert_eq!(
            trusted_speaking(ForwardedHeader::Forwarded)
                .resolve(ip("127.0.0.1"), false, &unknown)
                .address,
            ip("127.0.0.1")
        );
        let unknown = headers(&[("x-forwarded-for", "unknown, 10.0.0.5")]);
        assert_eq!(
            trusted().resolve(ip("127.0.0.1"), false, &unknown).address,
            ip("10.0.0.5")
        );
    }
}
