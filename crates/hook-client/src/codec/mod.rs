//! The pure part of the HTTP/1.1 client: bytes in, decisions out, no I/O.
//!
//! [`request`] writes a request head; [`response`] parses a response head (complete, "need more", or an error);
//! [`chunked`] decodes a chunked body in place (done, "need more", or an error).

pub mod chunked;
pub mod request;
pub mod response;
