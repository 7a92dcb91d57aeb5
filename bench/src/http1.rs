//! The HTTP/1.1 the load generator's polling client and the webhook backend share: a TCP stream with one reusable
//! read buffer, message heads parsed with `httparse`, and bodies framed by `Content-Length`, chunked transfer coding
//! or (responses only) the end of the connection. One message at a time per connection; nothing is allocated per
//! message beyond what grows the buffer.

use crate::Res;
use std::io;
use std::ops::Range;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// Most headers a message head may have.
pub const MAX_HEADERS: usize = 48;

/// Largest message head accepted, in bytes.
const MAX_HEAD: usize = 64 * 1024;

/// How a message's body ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// No body.
    Empty,
    /// `Content-Length` bytes.
    Length(usize),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Everything until the peer closes (responses without a length).
    UntilClose,
}

/// What the head's headers say about the body and the connection.
#[derive(Clone, Copy, Debug)]
pub struct BodyInfo {
    /// How the body ends.
    pub framing: Framing,
    /// `Connection: close` was asked for (or the message is HTTP/1.0 without `keep-alive`).
    pub close: bool,
}

/// Reads [`BodyInfo`] from a parsed head's headers; `default` is the framing when neither `Content-Length` nor
/// `Transfer-Encoding` is present. `http10` is true for HTTP/1.0 messages (not kept alive unless they ask).
pub fn body_info(
    headers: &[httparse::Header<'_>],
    default: Framing,
    http10: bool,
) -> Res<BodyInfo> {
    let mut length = None;
    let mut chunked = false;
    let mut close = http10;
    for header in headers {
        let name = header.name;
        if name.eq_ignore_ascii_case("content-length") {
            let value = std::str::from_utf8(header.value)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .ok_or("bad content-length")?;
            if length.is_some_and(|l| l != value) {
                return Err("conflicting content-length headers".into());
            }
            length = Some(value);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            // Only `chunked` is understood; it must be the last coding.
            let last = header.value.rsplit(|&b| b == b',').next().unwrap_or(b"");
            if !last.trim_ascii().eq_ignore_ascii_case(b"chunked") {
                return Err("unsupported transfer-encoding".into());
            }
            chunked = true;
        } else if name.eq_ignore_ascii_case("connection") {
            for token in header.value.split(|&b| b == b',') {
                let token = token.trim_ascii();
                if token.eq_ignore_ascii_case(b"close") {
                    close = true;
                } else if token.eq_ignore_ascii_case(b"keep-alive") {
                    close = false;
                }
            }
        }
    }
    let framing = if chunked {
        // Transfer-Encoding overrides Content-Length (RFC 9112, 6.3).
        Framing::Chunked
    } else {
        match length {
            Some(0) => Framing::Empty,
            Some(n) => Framing::Length(n),
            None => default,
        }
    };
    Ok(BodyInfo { framing, close })
}

/// Parses the request head at the start of `bytes` and hands it to `read`: None while the head is incomplete, else
/// the head's length and what `read` made of it.
pub fn parse_request<T>(
    bytes: &[u8],
    read: impl FnOnce(&httparse::Request<'_, '_>) -> Res<T>,
) -> Res<Option<(usize, T)>> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(bytes)? {
        httparse::Status::Complete(len) => Ok(Some((len, read(&request)?))),
        httparse::Status::Partial => Ok(None),
    }
}

/// A TCP stream with its read buffer. Bytes of the message being read live in `buf[..filled]`; a message that was
/// handed out is dropped from the front when the next one is read ([`Stream::start_message`]).
pub struct Stream {
    /// The connection.
    pub stream: TcpStream,
    buf: Vec<u8>,
    filled: usize,
    consumed: usize,
}

impl Stream {
    /// Wraps `stream` with a read buffer of `capacity` bytes (it grows for larger messages).
    pub fn new(stream: TcpStream, capacity: usize) -> Self {
        Self {
            stream,
            buf: vec![0; capacity],
            filled: 0,
            consumed: 0,
        }
    }

    /// Forgets the bytes of the previous message (moving what followed it to the front).
    pub fn start_message(&mut self) {
        if self.consumed > 0 {
            self.buf.copy_within(self.consumed..self.filled, 0);
            self.filled -= self.consumed;
            self.consumed = 0;
        }
    }

    /// The buffered bytes not yet consumed.
    pub fn buffered(&self) -> &[u8] {
        &self.buf[self.consumed..self.filled]
    }

    /// The bytes in `range` of the buffer (ranges come from [`Stream::read_body`]).
    pub fn slice(&self, range: Range<usize>) -> &[u8] {
        &self.buf[range]
    }

    /// Where the unconsumed bytes start in the buffer.
    pub fn consumed_at(&self) -> usize {
        self.consumed
    }

    /// Marks `n` more buffered bytes as consumed.
    pub fn consume(&mut self, n: usize) {
        self.consumed = (self.consumed + n).min(self.filled);
    }

    /// Makes room at the end of the buffer without growing it: drops the consumed bytes when everything is consumed
    /// (no copy) or when the buffer is full (moving the rest to the front). Ranges handed out before are invalid
    /// afterwards.
    pub fn compact(&mut self) {
        if self.consumed > 0 && (self.consumed == self.filled || self.filled == self.buf.len()) {
            self.start_message();
        }
    }

    /// Whether no bytes are buffered beyond the consumed ones.
    pub fn is_drained(&self) -> bool {
        self.consumed == self.filled
    }

    /// Reads more bytes into the buffer (growing it when full); `Ok(0)` at the end of the stream.
    pub async fn fill(&mut self) -> io::Result<usize> {
        if self.filled == self.buf.len() {
            let grown = (self.buf.len() * 2).max(1024);
            self.buf.resize(grown, 0);
        }
        let n = self.stream.read(&mut self.buf[self.filled..]).await?;
        self.filled += n;
        Ok(n)
    }

    /// Reads until `parse` (given the unconsumed bytes) returns the length of a complete head, and consumes it.
    /// `Ok(None)` if the stream ended cleanly before any byte of a head.
    pub async fn read_head<T>(
        &mut self,
        mut parse: impl FnMut(&[u8]) -> Res<Option<(usize, T)>>,
    ) -> Res<Option<T>> {
        loop {
            if self.consumed < self.filled {
                if let Some((len, value)) = parse(&self.buf[self.consumed..self.filled])? {
                    self.consumed += len;
                    return Ok(Some(value));
                }
                if self.filled - self.consumed > MAX_HEAD {
                    return Err("message head too large".into());
                }
            }
            if self.fill().await? == 0 {
                if self.consumed == self.filled {
                    return Ok(None);
                }
                return Err("connection closed in a message head".into());
            }
        }
    }

    /// Reads the body that follows the consumed head, consumes it, and returns where it is in the buffer
    /// ([`Stream::slice`]); a chunked body is decoded in place.
    pub async fn read_body(&mut self, framing: Framing) -> Res<Range<usize>> {
        let start = self.consumed;
        match framing {
            Framing::Empty => Ok(start..start),
            Framing::Length(n) => {
                while self.filled - start < n {
                    if self.buf.len() < start + n {
                        self.buf.resize(start + n, 0);
                    }
                    if self.fill().await? == 0 {
                        return Err("connection closed in a body".into());
                    }
                }
                self.consumed = start + n;
                Ok(start..start + n)
            }
            Framing::UntilClose => {
                while self.fill().await? > 0 {}
                self.consumed = self.filled;
                Ok(start..self.filled)
            }
            Framing::Chunked => self.read_chunked(start).await,
        }
    }

    /// Index of the next CRLF at or after `from`, reading more as needed.
    async fn line_end(&mut self, from: usize) -> Res<usize> {
        loop {
            if let Some(at) = self.buf[from..self.filled]
                .windows(2)
                .position(|w| w == b"\r\n")
            {
                return Ok(from + at);
            }
            if self.filled - from > MAX_HEAD {
                return Err("chunk line too long".into());
            }
            if self.fill().await? == 0 {
                return Err("connection closed in a chunked body".into());
            }
        }
    }

    async fn read_chunked(&mut self, start: usize) -> Res<Range<usize>> {
        // Decoded bytes are moved down to `write`; `read` is where the next chunk line starts. write <= read.
        let mut write = start;
        let mut read = start;
        loop {
            let end = self.line_end(read).await?;
            let line = &self.buf[read..end];
            let hex = line
                .split(|&b| b == b';')
                .next()
                .unwrap_or(b"")
                .trim_ascii();
            let size = std::str::from_utf8(hex)
                .ok()
                .and_then(|h| usize::from_str_radix(h, 16).ok())
                .ok_or("bad chunk size")?;
            read = end + 2;
            if size == 0 {
                // Trailer fields, then an empty line.
                loop {
                    let end = self.line_end(read).await?;
                    let empty = end == read;
                    read = end + 2;
                    if empty {
                        break;
                    }
                }
                self.consumed = read;
                return Ok(start..write);
            }
            while self.filled < read + size + 2 {
                if self.buf.len() < read + size + 2 {
                    self.buf.resize(read + size + 2, 0);
                }
                if self.fill().await? == 0 {
                    return Err("connection closed in a chunk".into());
                }
            }
            self.buf.copy_within(read..read + size, write);
            write += size;
            read += size;
            if &self.buf[read..read + 2] != b"\r\n" {
                return Err("chunk not followed by CRLF".into());
            }
            read += 2;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    async fn pair() -> (TcpStream, TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (a, b) = tokio::join!(TcpStream::connect(addr), listener.accept());
        (a.unwrap(), b.unwrap().0)
    }

    fn head(bytes: &[u8]) -> Res<Option<(usize, BodyInfo)>> {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut response = httparse::Response::new(&mut headers);
        match response.parse(bytes)? {
            httparse::Status::Complete(len) => Ok(Some((
                len,
                body_info(response.headers, Framing::UntilClose, false)?,
            ))),
            httparse::Status::Partial => Ok(None),
        }
    }

    #[tokio::test]
    async fn reads_chunked_and_length_bodies_in_pieces() {
        let (mut server, client) = pair().await;
        let mut stream = Stream::new(client, 16);
        let writer = tokio::spawn(async move {
            let parts: [&[u8]; 6] = [
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=1\r\nhel",
                b"lo\r\n7\r\n, world\r\n0\r\n",
                b"Trailer: y\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 30\r\n\r\n",
                b"0123456789",
                b"0123456789012345678",
                b"9HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n",
            ];
            for part in parts {
                server.write_all(part).await.unwrap();
                server.flush().await.unwrap();
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        });
        stream.start_message();
        let info = stream.read_head(head).await.unwrap().unwrap();
        assert_eq!(info.framing, Framing::Chunked);
        let body = stream.read_body(info.framing).await.unwrap();
        assert_eq!(stream.slice(body), b"hello, world");
        stream.start_message();
        let info = stream.read_head(head).await.unwrap().unwrap();
        assert_eq!(info.framing, Framing::Length(30));
        let body = stream.read_body(info.framing).await.unwrap();
        assert_eq!(stream.slice(body), b"012345678901234567890123456789");
        stream.start_message();
        let info = stream.read_head(head).await.unwrap().unwrap();
        assert!(info.close);
        writer.await.unwrap();
    }
}
