//! Reading API requests: bodies with a size limit, JSON decoded with the failing field named, query strings.

use super::error::ApiError;
use crate::engineio::Query;
use crate::engineio::http::{BodyError, RequestBody};
use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Limited};
use serde::de::DeserializeOwned;

/// Largest API request body, in bytes.
pub const MAX_BODY: usize = 4 * 1024 * 1024;

/// Reads the body (413 past [`MAX_BODY`], 408 when it does not arrive within the listener's `body_timeout`).
pub async fn body(req: Request<RequestBody>) -> Result<Bytes, ApiError> {
    match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            Err(ApiError::too_large(MAX_BODY))
        }
        Err(error) if BodyError::is_timeout(&*error) => Err(ApiError::body_timeout()),
        Err(error) => Err(ApiError::invalid(format!("cannot read the body: {error}"))),
    }
}

/// Decodes a JSON object body; errors name the field at fault.
pub fn json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    // Derived structs would also take a positional array; only an object names its fields.
    if body.trim_ascii_start().first() != Some(&b'{') {
        return Err(ApiError::invalid("invalid JSON body: expected an object"));
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if path == "." || path.is_empty() {
            ApiError::invalid(format!("invalid JSON body: {inner}"))
        } else {
            ApiError::invalid(format!("field `{path}`: {inner}"))
        }
    })?;
    de.end()
        .map_err(|e| ApiError::invalid(format!("invalid JSON body: {e}")))?;
    Ok(value)
}

/// The query string, decoded (`Query::get` finds a parameter's first value).
pub fn query(req: &Request<RequestBody>) -> Query {
    Query::parse(req.uri().query())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Probe {
        event: String,
        to: Option<Inner>,
    }

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        rooms: Vec<String>,
    }

    #[test]
    fn errors_name_the_field() {
        let err = json::<Probe>(br#"{"event":"e","to":{"rooms":[1]}}"#).unwrap_err();
        assert!(err.message.contains("to.rooms[0]"), "{}", err.message);
        let err = json::<Probe>(br#"{"event":"e","evnt":1}"#).unwrap_err();
        assert!(err.message.contains("evnt"), "{}", err.message);
        let err = json::<Probe>(b"not json").unwrap_err();
        assert_eq!(err.status, 400);
        assert!(json::<Probe>(br#"["e",null]"#).is_err());
        assert!(json::<Probe>(br#" {"event":"e"}"#).is_ok());
        assert!(json::<Probe>(br#"{"event":"e"} trailing"#).is_err());
    }
}
