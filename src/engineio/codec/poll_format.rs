//! How a polling request's payload is framed: v4 (`\x1e`), v3 text (`len:packet`, `b64=1`), v3 XHR2 binary,
//! or v3 JSONP (`j=N`).

use super::packet::{DecodeError, Incoming, Packet};
use super::{payload_v3, payload_v4};
use crate::engineio::error::EngineError;
use crate::engineio::http::{Body, complete};
use crate::engineio::query::Query;
use crate::engineio::version::EngineVersion;
use bytes::Bytes;
use http::Response;

/// The framing of one polling request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PollFormat {
    /// Engine.IO v4.
    V4,
    /// Engine.IO v3; `binary` when the client takes XHR2 binary framing (no `b64`).
    V3 {
        /// Whether binary packets may be sent with the binary framing.
        binary: bool,
    },
    /// Engine.IO v3 JSONP with callback index `N` (digits only).
    Jsonp(String),
}

impl PollFormat {
    /// The format a request asks for; a JSONP index that is not a number is refused.
    pub(crate) fn from_query(version: EngineVersion, query: &Query) -> Result<Self, EngineError> {
        if version == EngineVersion::V4 {
            return Ok(Self::V4);
        }
        if let Some(index) = query.get("j") {
            if !payload_v3::is_jsonp_index(index) {
                return Err(EngineError::BadRequest);
            }
            return Ok(Self::Jsonp(index.to_string()));
        }
        let b64 = query
            .get("b64")
            .is_some_and(|v| !v.is_empty() && v != "0" && v != "false");
        Ok(Self::V3 { binary: !b64 })
    }

    /// The format with binary framing turned off when the session asked for text at its handshake.
    pub(crate) fn text_only_if(self, base64: bool) -> Self {
        match self {
            Self::V3 { .. } if base64 => Self::V3 { binary: false },
            other => other,
        }
    }

    /// The answer to a GET carrying `packets`.
    pub(crate) fn response(&self, packets: &[Packet]) -> Response<Body> {
        match self {
            Self::V4 => complete(
                200,
                "text/plain; charset=UTF-8",
                payload_v4::encode(packets),
            ),
            Self::V3 { binary: true } if payload_v3::needs_binary(packets) => complete(
                200,
                "application/octet-stream",
                payload_v3::encode_binary(packets),
            ),
            Self::V3 { .. } => complete(
                200,
                "text/plain; charset=UTF-8",
                payload_v3::encode_text(packets),
            ),
            Self::Jsonp(index) => {
                let script = payload_v3::jsonp_wrap(index, &payload_v3::encode_text(packets));
                complete(200, "text/javascript; charset=UTF-8", script)
            }
        }
    }

    /// Decodes a POST body; `octet_stream` tells whether it was sent as `application/octet-stream`.
    pub(crate) fn decode(
        &self,
        body: Bytes,
        octet_stream: bool,
    ) -> Result<Vec<Incoming>, PostError> {
        match self {
            Self::V4 if octet_stream => Err(PostError::BadRequest),
            Self::V4 => payload_v4::decode(body).map_err(PostError::Decode),
            Self::V3 { .. } if octet_stream || body.first().is_some_and(|b| *b <= 1) => {
                payload_v3::decode_binary_payload(&body).map_err(PostError::Decode)
            }
            Self::V3 { .. } => {
                let text =
                    std::str::from_utf8(&body).map_err(|_| PostError::Decode(DecodeError::Utf8))?;
                payload_v3::decode_text_payload(text).map_err(PostError::Decode)
            }
            Self::Jsonp(_) => {
                let text =
                    payload_v3::jsonp_body(&body).ok_or(PostError::Decode(DecodeError::Empty))?;
                payload_v3::decode_text_payload(&text).map_err(PostError::Decode)
            }
        }
    }
}

/// Why a POST body was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PostError {
    /// The request itself is wrong (400, the session stays).
    BadRequest,
    /// The payload is malformed (400, the session closes with `parse error`).
    Decode(DecodeError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engineio::{Message, Text};

    #[test]
    fn formats_follow_protocol_b64_and_j() {
        let q = |s: &str| Query::parse(Some(s));
        assert_eq!(
            PollFormat::from_query(EngineVersion::V4, &q("b64=1&j=0")).unwrap(),
            PollFormat::V4
        );
        assert_eq!(
            PollFormat::from_query(EngineVersion::V3, &q("b64=1")).unwrap(),
            PollFormat::V3 { binary: false }
        );
        assert_eq!(
            PollFormat::from_query(EngineVersion::V3, &q("")).unwrap(),
            PollFormat::V3 { binary: true }
        );
        assert_eq!(
            PollFormat::from_query(EngineVersion::V3, &q("j=12")).unwrap(),
            PollFormat::Jsonp("12".into())
        );
        assert!(PollFormat::from_query(EngineVersion::V3, &q("j=alert(1)")).is_err());
    }

    #[test]
    fn binary_framing_only_when_a_packet_is_binary() {
        let text = [Packet::message(&Message::Text(Text::from("hi")))];
        let response = PollFormat::V3 { binary: true }.response(&text);
        assert_eq!(
            response.headers()["content-type"],
            "text/plain; charset=UTF-8"
        );
        let binary = [Packet::Binary(Bytes::from_static(&[1]))];
        let response = PollFormat::V3 { binary: true }.response(&binary);
        assert_eq!(
            response.headers()["content-type"],
            "application/octet-stream"
        );
        let response = PollFormat::Jsonp("3".into()).response(&binary);
        assert_eq!(
            response.headers()["content-type"],
            "text/javascript; charset=UTF-8"
        );
    }
}
