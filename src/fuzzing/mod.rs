//! The checks of the coverage-guided fuzz targets (`fuzz/`), one module per codec a client or backend feeds.
//!
//! Each module's `check` takes arbitrary bytes, runs them through its codec and panics when a property the codec
//! promises does not hold: a round trip that changes what was decoded, a parser that claims more bytes than it was
//! given, a limit that lets something over it through. Never called by the gateway: the fuzz targets
//! (`fuzz/fuzz_targets/<name>.rs`) call them, and so does `tests/fuzz_corpus.rs`, which replays the committed
//! corpus (`fuzz/corpus/<name>/`) on stable Rust. Inputs that carry parameters (a size limit, how to split the
//! bytes into reads) take them from their first bytes, so the fuzzer mutates them like the rest.

pub mod forwarded;
pub mod h1_head;
pub mod hook_chunked;
pub mod hook_response;
pub mod legacy_frame;
pub mod legacy_message;
pub mod node_message;
pub mod payload_v3;
pub mod payload_v3_binary;
pub mod payload_v4;
pub mod query;
pub mod sio_packet;
mod support;
pub mod ws_frame;

/// A target's check: panics when a property of its codec fails for the input.
pub type Check = fn(&[u8]);

/// Every target by name (its `fuzz/fuzz_targets/<name>.rs` and `fuzz/corpus/<name>/`) with its check.
pub const TARGETS: &[(&str, Check)] = &[
    ("h1_head", h1_head::check),
    ("hook_response", hook_response::check),
    ("hook_chunked", hook_chunked::check),
    ("ws_frame", ws_frame::check),
    ("payload_v4", payload_v4::check),
    ("payload_v3", payload_v3::check),
    ("payload_v3_binary", payload_v3_binary::check),
    ("sio_packet", sio_packet::check),
    ("legacy_frame", legacy_frame::check),
    ("legacy_message", legacy_message::check),
    ("query", query::check),
    ("forwarded", forwarded::check),
    ("node_message", node_message::check),
];
