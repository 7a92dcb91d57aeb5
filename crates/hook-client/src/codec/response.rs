//! Parsing the head of a webhook response (pure: bytes in, a decision out).
//!
//! The head says the status, how the body is delimited (RFC 9112 section 6.3) and whether the connection may carry
//! another request afterwards. Anything a backend sends is either a head, "not complete yet", or an error: nothing
//! here panics or allocates.

/// The largest response head taken (status line and headers, interim `1xx` heads each on their own); a larger
/// one fails the call.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// The most header lines a response head may have (hyper's default).
pub const MAX_HEADERS: usize = 100;

/// How the body of a response is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body: `1xx`, `204` and `304` answers.
    Empty,
    /// Exactly this many bytes (`Content-Length`).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Everything until the backend closes the connection (no length given, or a transfer coding other than
    /// `chunked` last).
    UntilClose,
}

/// A complete response head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseHead {
    /// The status code.
    pub status: u16,
    /// How many bytes the head took, its blank line included.
    pub len: usize,
    /// How the body that follows is delimited.
    pub framing: Framing,
    /// Whether the connection may carry another request once the body is read.
    pub keep_alive: bool,
}

impl ResponseHead {
    /// An interim answer (`100 Continue`, `102`, `103`): skipped, the final answer follows on the same connection.
    pub fn is_interim(&self) -> bool {
        (100..200).contains(&self.status)
    }
}

/// Why a response head is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeadError {
    /// The head did not end within [`MAX_HEAD_BYTES`].
    #[error("response head larger than the limit of {MAX_HEAD_BYTES} bytes")]
    TooLarge,
    /// More than [`MAX_HEADERS`] header lines.
    #[error("response head has more than the limit of {MAX_HEADERS} headers")]
    TooManyHeaders,
    /// Not an HTTP/1.x response head.
    #[error("malformed HTTP response head ({0})")]
    Malformed(httparse::Error),
    /// A `Content-Length` that is not one decimal number.
    #[error("invalid Content-Length in the response")]
    BadLength,
    /// `101 Switching Protocols`, which iogate never asks for.
    #[error("unexpected 101 Switching Protocols response")]
    Upgrade,
}

/// Parses the response head at the start of `buf`: `Ok(None)` while it is incomplete.
pub fn parse(buf: &[u8]) -> Result<Option<ResponseHead>, HeadError> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut slots);
    let len = match response.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() >= MAX_HEAD_BYTES => {
            return Err(HeadError::TooLarge);
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(HeadError::TooManyHeaders),
        Err(error) => return Err(HeadError::Malformed(error)),
    };
    if len > MAX_HEAD_BYTES {
        return Err(HeadError::TooLarge);
    }
    let (Some(status), Some(minor)) = (response.code, response.version) else {
        return Err(HeadError::Malformed(httparse::Error::Status));
    };
    if status == 101 {
        return Err(HeadError::Upgrade);
    }
    let mut close = false;
    let mut keep_alive_token = false;
    let mut length: Option<u64> = None;
    let mut transfer_encoding = false;
    let mut chunked_last = false;
    for header in response.headers.iter() {
        let name = header.name.as_bytes();
        if name.eq_ignore_ascii_case(b"connection") {
            let (says_close, says_keep_alive) = connection_options(header.value);
            close |= says_close;
            keep_alive_token |= says_keep_alive;
        } else if name.eq_ignore_ascii_case(b"content-length") {
            let value = parse_length(header.value)?;
            if length.is_some_and(|seen| seen != value) {
                return Err(HeadError::BadLength);
            }
            length = Some(value);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            transfer_encoding = true;
            if let Some(last) = header
                .value
                .split(|&b| b == b',')
                .map(<[u8]>::trim_ascii)
                .next_back()
            {
                chunked_last = last.eq_ignore_ascii_case(b"chunked");
            }
        }
    }
    let mut keep_alive = if minor == 1 {
        !close
    } else {
        keep_alive_token && !close
    };
    let framing = if (100..200).contains(&status) || status == 204 || status == 304 {
        Framing::Empty
    } else if transfer_encoding {
        // Both framings at once is how request smuggling starts: use the transfer coding, then close.
        if length.is_some() || !chunked_last {
            keep_alive = false;
        }
        if chunked_last {
            Framing::Chunked
        } else {
            Framing::UntilClose
        }
    } else if let Some(length) = length {
        Framing::Length(length)
    } else {
        keep_alive = false;
        Framing::UntilClose
    };
    Ok(Some(ResponseHead {
        status,
        len,
        framing,
        keep_alive,
    }))
}

/// Whether a `Connection` value lists the `close` option, and whether it lists `keep-alive` (options are
/// comma-separated, compared without case), in one pass over its options.
fn connection_options(value: &[u8]) -> (bool, bool) {
    let mut options = (false, false);
    for option in value.split(|&b| b == b',').map(<[u8]>::trim_ascii) {
        if option.eq_ignore_ascii_case(b"close") {
            options.0 = true;
        } else if option.eq_ignore_ascii_case(b"keep-alive") {
            options.1 = true;
        }
    }
    options
}

/// A `Content-Length` value: one decimal number, or the same number repeated in a comma-separated list.
fn parse_length(value: &[u8]) -> Result<u64, HeadError> {
    let mut found = None;
    for part in value.split(|&b| b == b',') {
        let part = part.trim_ascii();
        if part.is_empty() || part.len() > 19 || !part.iter().all(u8::is_ascii_digit) {
            return Err(HeadError::BadLength);
        }
        let number = part
            .iter()
            .fold(0u64, |n, &digit| n * 10 + u64::from(digit - b'0'));
        if found.is_some_and(|seen| seen != number) {
            return Err(HeadError::BadLength);
        }
        found = Some(number);
    }
    found.ok_or(HeadError::BadLength)
}

#[cfg(test)]
#[path = "response_tests.rs"]
mod tests;
