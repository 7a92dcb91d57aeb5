//! `{"$binary":"<base64>"}`: how binary data travels inside webhook JSON, both ways. One encoding for every
//! protocol: the Socket.IO layer's, which also turns it into attachments.

pub use crate::socketio::binary::{BinaryJson, binary_json as to_json};
