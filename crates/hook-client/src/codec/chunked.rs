//! Decoding a `Transfer-Encoding: chunked` response body in place (pure).
//!
//! The decoder works on the connection's read buffer: the body decoded so far sits at the start of the body
//! region, the raw bytes not yet decoded right after it, so memory holds about the body and one unfinished chunk,
//! never the chunk framing. Chunk extensions are skipped, trailer fields read and ignored (RFC 9112 section 7.1).
//! Every length is checked against the caller's limit before the bytes it announces are awaited.

/// The longest chunk-size line (with its extensions) or trailer line taken.
pub const MAX_LINE_BYTES: usize = 4096;

/// The most bytes of trailer fields taken after the last chunk.
pub const MAX_TRAILER_BYTES: usize = super::response::MAX_HEAD_BYTES;

/// Where the decoder is within the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Expecting a chunk-size line.
    Size,
    /// Inside a chunk's data, with this many bytes still to come.
    Data(u64),
    /// After a chunk's data, expecting its CRLF.
    DataEnd,
    /// After the last chunk, reading trailer lines until an empty one.
    Trailer,
    /// The body is complete.
    Done,
}

/// How far a call to [`Chunked::decode`] got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// More bytes are needed.
    NeedMore,
    /// The body is complete: `buf[start..start + len]` holds it, and any bytes after it were sent past its end.
    Done {
        /// The decoded body's length.
        len: usize,
    },
}

/// Why a chunked body is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkedError {
    /// A chunk-size line that is not a hexadecimal number (optionally followed by extensions).
    #[error("malformed chunk size in the response body")]
    BadSize,
    /// A chunk's data not followed by CRLF.
    #[error("malformed chunk end in the response body")]
    BadChunkEnd,
    /// A chunk-size or trailer line longer than [`MAX_LINE_BYTES`], or trailers over [`MAX_TRAILER_BYTES`].
    #[error(
        "chunk framing or trailers of the response over the limit of {MAX_LINE_BYTES} bytes a line, {MAX_TRAILER_BYTES} in all"
    )]
    LineTooLong,
    /// The decoded body would exceed the caller's limit (in bytes).
    #[error("response body larger than the limit of {0} bytes")]
    TooLarge(usize),
}

/// A chunked body decoder; one per response.
#[derive(Debug, Clone)]
pub struct Chunked {
    state: State,
    len: usize,
    trailer_bytes: usize,
    limit: usize,
}

impl Chunked {
    /// A decoder for a body of at most `limit` decoded bytes.
    pub fn new(limit: usize) -> Self {
        Self {
            state: State::Size,
            len: 0,
            trailer_bytes: 0,
            limit,
        }
    }

    /// Decodes what `buf[start..]` holds past the body decoded so far, moving chunk data down over the framing;
    /// `buf` is shortened accordingly. Call again with the same `start` once more bytes were appended.
    pub fn decode(&mut self, buf: &mut Vec<u8>, start: usize) -> Result<Progress, ChunkedError> {
        let mut write = start.saturating_add(self.len).min(buf.len());
        let mut read = write;
        let outcome = loop {
            match self.state {
                State::Size => {
                    let Some(line) = take_line(buf, &mut read)? else {
                        break Ok(Progress::NeedMore);
                    };
                    let size = parse_size(line)?;
                    if size > (self.limit - self.len) as u64 {
                        break Err(ChunkedError::TooLarge(self.limit));
                    }
                    self.state = if size == 0 {
                        State::Trailer
                    } else {
                        State::Data(size)
                    };
                }
                State::Data(remaining) => {
                    let available = buf.len() - read;
                    if available == 0 {
                        break Ok(Progress::NeedMore);
                    }
                    let take = usize::try_from(remaining).map_or(available, |r| r.min(available));
                    buf.copy_within(read..read + take, write);
                    read += take;
                    write += take;
                    self.len += take;
                    let remaining = remaining - take as u64;
                    self.state = if remaining == 0 {
                        State::DataEnd
                    } else {
                        State::Data(remaining)
                    };
                }
                State::DataEnd => match buf.get(read..).unwrap_or_default() {
                    [] | [b'\r'] => break Ok(Progress::NeedMore),
                    [b'\r', b'\n', ..] => {
                        read += 2;
                        self.state = State::Size;
                    }
                    [b'\n', ..] => {
                        read += 1;
                        self.state = State::Size;
                    }
                    _ => break Err(ChunkedError::BadChunkEnd),
                },
                State::Trailer => {
                    let before = read;
                    let Some(line) = take_line(buf, &mut read)? else {
                        break Ok(Progress::NeedMore);
                    };
                    if line.is_empty() {
                        self.state = State::Done;
                    } else {
                        self.trailer_bytes += read - before;
                        if self.trailer_bytes > MAX_TRAILER_BYTES {
                            break Err(ChunkedError::LineTooLong);
                        }
                    }
                }
                State::Done => break Ok(Progress::Done { len: self.len }),
            }
        };
        // Drop the framing consumed: what is not decoded yet moves down to right after the body.
        buf.copy_within(read.., write);
        buf.truncate(write + (buf.len() - read));
        outcome
    }
}

/// The line starting at `*at` without its CRLF (or bare LF), advancing `*at` past it; `None` while incomplete.
fn take_line<'a>(buf: &'a [u8], at: &mut usize) -> Result<Option<&'a [u8]>, ChunkedError> {
    let rest = buf.get(*at..).unwrap_or_default();
    let Some(end) = rest.iter().position(|&b| b == b'\n') else {
        return if rest.len() > MAX_LINE_BYTES {
            Err(ChunkedError::LineTooLong)
        } else {
            Ok(None)
        };
    };
    if end > MAX_LINE_BYTES {
        return Err(ChunkedError::LineTooLong);
    }
    *at += end + 1;
    let line = &rest[..end];
    Ok(Some(line.strip_suffix(b"\r").unwrap_or(line)))
}

/// A chunk-size line: hexadecimal digits, then optional whitespace and `;extensions`, which are ignored.
fn parse_size(line: &[u8]) -> Result<u64, ChunkedError> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 || digits > 16 {
        return Err(ChunkedError::BadSize);
    }
    let rest = line[digits..].trim_ascii_start();
    if !rest.is_empty() && rest[0] != b';' {
        return Err(ChunkedError::BadSize);
    }
    let size = line[..digits].iter().fold(0u64, |size, &b| {
        let digit = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            _ => b - b'A' + 10,
        };
        (size << 4) | u64::from(digit)
    });
    Ok(size)
}

#[cfg(test)]
#[path = "chunked_tests.rs"]
mod tests;
