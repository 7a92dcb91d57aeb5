//! The proof a node puts on a request it passes to another node: `x-iogate-hop: <unix seconds> <client address>
//! <http|https> <hex HMAC-SHA256>`, the HMAC made with the cluster's hop secret over the time, the client's address
//! and scheme, the method and the request target. The receiving node believes the client address only when the
//! proof is valid and recent ([`VALIDITY`]); anything else is a client's header and is never believed.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

/// The header carrying the proof.
pub const HEADER: &str = "x-iogate-hop";

/// How far a proof's time may be from the receiving node's clock, either way, in seconds (clocks of the nodes
/// of one deployment are expected to agree within it).
pub const VALIDITY: u64 = 10;

/// What a valid proof says about the request it came with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hopped {
    /// The client's address, as the first node saw it.
    pub client: IpAddr,
    /// Whether the client's connection was HTTPS there.
    pub secure: bool,
}

/// Why a proof is not believed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// Not the four fields of a proof.
    #[error("malformed hop proof")]
    Malformed,
    /// Made too long ago (or too far in the future).
    #[error("expired hop proof")]
    Expired,
    /// Not made with this cluster's secret for this request.
    #[error("hop proof does not match")]
    Forged,
}

/// Seconds since the Unix epoch, as proofs state time.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// The proof for a request `method target` of `hopped`'s client, made at `time` with `secret`.
pub fn make(secret: &[u8], time: u64, hopped: Hopped, method: &str, target: &str) -> String {
    let scheme = scheme(hopped.secure);
    let mac = hex::encode(mac(secret, time, hopped.client, scheme, method, target));
    format!("{time} {} {scheme} {mac}", hopped.client)
}

/// Checks `proof` (the header's value) of the request `method target` against `secret` at time `now`.
pub fn verify(
    secret: &[u8],
    now: u64,
    proof: &str,
    method: &str,
    target: &str,
) -> Result<Hopped, ProofError> {
    let mut fields = proof.split(' ');
    let (Some(time), Some(client), Some(scheme), Some(mac_hex), None) = (
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
    ) else {
        return Err(ProofError::Malformed);
    };
    let time: u64 = time.parse().map_err(|_| ProofError::Malformed)?;
    let client: IpAddr = client.parse().map_err(|_| ProofError::Malformed)?;
    let secure = match scheme {
        "http" => false,
        "https" => true,
        _ => return Err(ProofError::Malformed),
    };
    let given = hex::decode(mac_hex).map_err(|_| ProofError::Malformed)?;
    if time.abs_diff(now) > VALIDITY {
        return Err(ProofError::Expired);
    }
    let mut expected = keyed(secret);
    feed(&mut expected, time, client, scheme, method, target);
    expected
        .verify_slice(&given)
        .map_err(|_| ProofError::Forged)?;
    Ok(Hopped { client, secure })
}

fn scheme(secure: bool) -> &'static str {
    if secure { "https" } else { "http" }
}

fn keyed(secret: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length: this cannot fail.
    Hmac::<Sha256>::new_from_slice(secret).unwrap_or_else(|_| unreachable!())
}

fn feed(
    mac: &mut Hmac<Sha256>,
    time: u64,
    client: IpAddr,
    scheme: &str,
    method: &str,
    target: &str,
) {
    let fields = [
        time.to_string(),
        client.to_string(),
        scheme.to_string(),
        method.to_string(),
    ];
    for field in &fields {
        mac.update(field.as_bytes());
        mac.update(b"\n");
    }
    mac.update(target.as_bytes());
}

fn mac(
    secret: &[u8],
    time: u64,
    client: IpAddr,
    scheme: &str,
    method: &str,
    target: &str,
) -> [u8; 32] {
    let mut mac = keyed(secret);
    feed(&mut mac, time, client, scheme, method, target);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"the cluster's secret";
    const TARGET: &str = "/socket.io/?EIO=4&transport=polling&sid=abcd";

    fn client() -> Hopped {
        Hopped {
            client: "203.0.113.7".parse().unwrap(),
            secure: true,
        }
    }

    #[test]
    fn a_fresh_proof_of_the_same_request_is_believed() {
        let proof = make(SECRET, 1000, client(), "GET", TARGET);
        assert_eq!(verify(SECRET, 1000, &proof, "GET", TARGET), Ok(client()));
        assert_eq!(
            verify(SECRET, 1000 + VALIDITY, &proof, "GET", TARGET),
            Ok(client())
        );
        let v6 = Hopped {
            client: "2001:db8::1".parse().unwrap(),
            secure: false,
        };
        let proof = make(SECRET, 1000, v6, "POST", TARGET);
        assert_eq!(verify(SECRET, 995, &proof, "POST", TARGET), Ok(v6));
    }

    #[test]
    fn an_old_or_future_proof_is_expired() {
        let proof = make(SECRET, 1000, client(), "GET", TARGET);
        assert_eq!(
            verify(SECRET, 1000 + VALIDITY + 1, &proof, "GET", TARGET),
            Err(ProofError::Expired)
        );
        assert_eq!(
            verify(SECRET, 1000 - VALIDITY - 1, &proof, "GET", TARGET),
            Err(ProofError::Expired)
        );
    }

    #[test]
    fn another_secret_or_request_is_forged() {
        let proof = make(SECRET, 1000, client(), "GET", TARGET);
        assert_eq!(
            verify(b"another secret", 1000, &proof, "GET", TARGET),
            Err(ProofError::Forged)
        );
        assert_eq!(
            verify(SECRET, 1000, &proof, "GET", "/socket.io/?sid=other"),
            Err(ProofError::Forged)
        );
        assert_eq!(
            verify(SECRET, 1000, &proof, "POST", TARGET),
            Err(ProofError::Forged)
        );
        // Another client address with the same MAC.
        let altered = proof.replace("203.0.113.7", "198.51.100.1");
        assert_eq!(
            verify(SECRET, 1000, &altered, "GET", TARGET),
            Err(ProofError::Forged)
        );
        let downgraded = proof.replace(" https ", " http ");
        assert_eq!(
            verify(SECRET, 1000, &downgraded, "GET", TARGET),
            Err(ProofError::Forged)
        );
    }

    #[test]
    fn garbage_is_malformed() {
        for proof in [
            "",
            "1000",
            "1000 1.2.3.4 http",
            "x 1.2.3.4 http 00",
            "1000 nope http 00",
            "1000 1.2.3.4 ftp 00",
            "1000 1.2.3.4 http zz",
            "1000 1.2.3.4 http 00 extra",
        ] {
            assert_eq!(
                verify(SECRET, 1000, proof, "GET", TARGET),
                Err(ProofError::Malformed),
                "{proof:?}"
            );
        }
    }
}
