//! The length fields of a WebSocket frame header (RFC 6455 5.2), written and read in one place for the load
//! generator's client and the minimal relay server; what each side checks beyond them (masking, limits, opcodes)
//! stays with it.

/// Appends a frame header's first two bytes and its extended length: `first` (FIN, reserved bits and opcode), the
/// mask bit when `masked` (the caller appends the 4-byte key), and `len` in the shortest of the three encodings.
pub fn push_header(out: &mut Vec<u8>, first: u8, masked: bool, len: usize) {
    let mask_bit = if masked { 0x80 } else { 0 };
    out.push(first);
    if len < 126 {
        out.push(mask_bit | len as u8);
    } else if len <= usize::from(u16::MAX) {
        out.push(mask_bit | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(mask_bit | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
}

/// The header length up to its length fields (2, 4 or 10 bytes, any mask key not counted) and the payload length
/// of the frame at the start of `bytes`; None while those fields are not all there. A 64-bit length beyond
/// `usize` reads as `usize::MAX`.
pub fn lengths(bytes: &[u8]) -> Option<(usize, usize)> {
    match *bytes.get(1)? & 0x7f {
        126 => {
            let n = bytes.get(2..4)?;
            Some((4, usize::from(u16::from_be_bytes([n[0], n[1]]))))
        }
        127 => {
            let mut n = [0u8; 8];
            n.copy_from_slice(bytes.get(2..10)?);
            Some((
                10,
                usize::try_from(u64::from_be_bytes(n)).unwrap_or(usize::MAX),
            ))
        }
        short => Some((2, usize::from(short))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_length_encoding_reads_back() {
        for (len, header) in [(0, 2), (125, 2), (126, 4), (65_535, 4), (65_536, 10)] {
            for masked in [false, true] {
                let mut out = Vec::new();
                push_header(&mut out, 0x81, masked, len);
                assert_eq!(out.len(), header, "{len}");
                assert_eq!(out[0], 0x81);
                assert_eq!(out[1] & 0x80 != 0, masked);
                assert_eq!(lengths(&out), Some((header, len)), "{len}");
                assert_eq!(lengths(&out[..header - 1]), None, "{len}");
            }
        }
        assert_eq!(lengths(b"\x81"), None);
        assert_eq!(lengths(b""), None);
    }
}
