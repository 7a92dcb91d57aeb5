//! A client's frames, masked as RFC 6455 requires of clients: what tests, fuzzing and load generators send to the
//! server side this crate implements.

/// Appends the header of a masked client frame announcing `len` payload bytes (FIN bit, opcode, 7/16/64-bit length,
/// masking key).
pub fn client_frame_header(out: &mut Vec<u8>, fin: bool, opcode: u8, len: u64, mask: [u8; 4]) {
    out.push(if fin { 0x80 } else { 0 } | opcode);
    if len < 126 {
        out.push(0x80 | len as u8);
    } else if let Ok(short) = u16::try_from(len) {
        out.push(0x80 | 126);
        out.extend_from_slice(&short.to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&len.to_be_bytes());
    }
    out.extend_from_slice(&mask);
}

/// Appends a whole masked client frame carrying `payload`.
pub fn encode_client_frame(
    out: &mut Vec<u8>,
    fin: bool,
    opcode: u8,
    payload: &[u8],
    mask: [u8; 4],
) {
    client_frame_header(out, fin, opcode, payload.len() as u64, mask);
    out.extend(payload.iter().zip(mask.iter().cycle()).map(|(b, m)| b ^ m));
}
