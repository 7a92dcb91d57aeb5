//! Engine.IO request errors and their wire form: HTTP status plus `{"code":N,"message":"..."}`.

/// Why an Engine.IO request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// Code 0: the transport is not known or not enabled.
    #[error("Transport unknown")]
    TransportUnknown,
    /// Code 1: no session has this id.
    #[error("Session ID unknown")]
    SessionUnknown,
    /// Code 2: a handshake must be a GET.
    #[error("Bad handshake method")]
    BadHandshakeMethod,
    /// Code 3: anything else wrong with the request.
    #[error("Bad request")]
    BadRequest,
    /// Code 4: the backend refused the session; `context` is its reason, if any.
    #[error("Forbidden")]
    Forbidden {
        /// HTTP status: 403 for a refusal, 502 when the backend could not be asked.
        status: u16,
        /// The backend's reason as JSON text, when it gave one.
        context: Option<String>,
    },
    /// Code 5: the EIO version is not supported.
    #[error("Unsupported protocol version")]
    UnsupportedProtocolVersion,
    /// The body was larger than `max_payload` (HTTP 413).
    #[error("Payload Too Large")]
    PayloadTooLarge,
    /// The body did not arrive within the listener's `body_timeout` (HTTP 408; the connection closes).
    #[error("Request Timeout")]
    RequestTimeout,
}

impl EngineError {
    /// The Engine.IO error code, if the error has one.
    pub fn code(&self) -> Option<u8> {
        Some(match self {
            Self::TransportUnknown => 0,
            Self::SessionUnknown => 1,
            Self::BadHandshakeMethod => 2,
            Self::BadRequest => 3,
            Self::Forbidden { .. } => 4,
            Self::UnsupportedProtocolVersion => 5,
            Self::PayloadTooLarge | Self::RequestTimeout => return None,
        })
    }

    /// The HTTP status to answer with.
    pub fn status(&self) -> u16 {
        match self {
            Self::Forbidden { status, .. } => *status,
            Self::PayloadTooLarge => 413,
            Self::RequestTimeout => 408,
            _ => 400,
        }
    }

    /// The response body: the Engine.IO JSON error, or plain text for 408 and 413.
    pub fn body(&self) -> String {
        match (self.code(), self) {
            (
                Some(code),
                Self::Forbidden {
                    context: Some(context),
                    ..
                },
            ) => {
                format!("{{\"code\":{code},\"message\":\"{self}\",\"context\":{context}}}")
            }
            (Some(code), _) => format!("{{\"code\":{code},\"message\":\"{self}\"}}"),
            (None, _) => self.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_match_the_reference_server() {
        assert_eq!(
            EngineError::SessionUnknown.body(),
            r#"{"code":1,"message":"Session ID unknown"}"#
        );
        assert_eq!(
            EngineError::UnsupportedProtocolVersion.body(),
            r#"{"code":5,"message":"Unsupported protocol version"}"#
        );
        let forbidden = EngineError::Forbidden {
            status: 403,
            context: Some(r#"{"message":"no"}"#.into()),
        };
        assert_eq!(forbidden.status(), 403);
        assert_eq!(
            forbidden.body(),
            r#"{"code":4,"message":"Forbidden","context":{"message":"no"}}"#
        );
        assert_eq!(EngineError::PayloadTooLarge.status(), 413);
        assert_eq!(EngineError::RequestTimeout.status(), 408);
        assert_eq!(EngineError::RequestTimeout.body(), "Request Timeout");
    }
}
