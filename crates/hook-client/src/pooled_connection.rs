//! One keep-alive connection of the HTTP/1.1 client: writes a request, reads its response.
//!
//! The request head and body go out in one vectored write. The response is read into a buffer the connection
//! owns, which starts small, grows only as far as a response needs (bounded by [`MAX_BODY_BYTES`] and the head
//! limits), and is given back after an unusually large response so that an idle connection holds little memory.

use crate::MAX_BODY_BYTES;
use crate::codec::chunked::{Chunked, ChunkedError, MAX_LINE_BYTES, Progress};
use crate::codec::request::HeadPrefix;
use crate::codec::response::{self, Framing, HeadError, MAX_HEAD_BYTES, ResponseHead};
use crate::transport::{ErrorClass, SendError};
use bytes::Bytes;
use std::io::{self, ErrorKind, IoSlice};
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What the read buffer starts at (most webhook answers fit), and the most it keeps between requests.
const INITIAL_READ: usize = 1024;
const KEPT_READ: usize = 16 * 1024;

/// The least free space offered to one `read`.
const MIN_READ: usize = 512;

/// A response that arrived whole.
#[derive(Debug)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The body (empty for a non-2xx answer, which is not read beyond what already arrived).
    pub body: Bytes,
    /// Whether the connection can carry the next request.
    pub reusable: bool,
}

/// Why an exchange failed.
#[derive(Debug)]
pub enum ExchangeError {
    /// The connection was closed or reset before any byte of the response arrived: on a reused connection, the
    /// backend closed it while it was idle, and the request can go again on a new one.
    Closed(io::Error),
    /// Anything else: I/O error, malformed or oversized response (the message does not name the URL yet).
    Failed(SendError),
}

/// What an idle connection turned out to hold, checked without waiting ([`PooledConnection::idle_state`]).
#[derive(Debug)]
pub enum Idle {
    /// Nothing arrived since the last response: the connection can carry the next request.
    Quiet,
    /// The backend closed the connection (end of stream, or an error such as a reset), said how.
    Closed(String),
    /// The backend sent bytes no request asked for (a `408` before closing, a second response, garbage): their
    /// start, for the log.
    Stray(String),
}

/// One connection to a webhook backend.
#[derive(Debug)]
pub struct PooledConnection {
    stream: TcpStream,
    /// Bytes read and not yet consumed.
    read: Vec<u8>,
    /// The request head being written.
    head: Vec<u8>,
}

impl PooledConnection {
    /// Connects to the first of `addrs` that accepts, with `TCP_NODELAY`.
    pub async fn connect(addrs: &[SocketAddr]) -> io::Result<Self> {
        let stream = TcpStream::connect(addrs).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            read: Vec::new(),
            head: Vec::new(),
        })
    }

    /// Checks, without waiting, that nothing arrived since the last response. Bytes a backend sends on an idle
    /// connection would otherwise be read as the answer to the next request, and acted on. Costs no system call
    /// while the runtime has seen nothing arrive (it read the last response to the end of what was there).
    pub fn idle_state(&self) -> Idle {
        let mut peek = [0u8; 32];
        match self.stream.try_read(&mut peek) {
            Err(error) if error.kind() == ErrorKind::WouldBlock => Idle::Quiet,
            Ok(0) => Idle::Closed("end of stream".into()),
            Ok(n) => Idle::Stray(format!(
                "bytes starting {:?}",
                String::from_utf8_lossy(&peek[..n])
            )),
            Err(error) => Idle::Closed(error.to_string()),
        }
    }

    /// Sends one POST and reads its response. A non-2xx response's body is not waited for: the connection is kept
    /// only if all of it had already arrived.
    pub async fn exchange(
        &mut self,
        prefix: &HeadPrefix,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Answer, ExchangeError> {
        prefix.write(&mut self.head, headers, body.len());
        self.write_request(body).await.map_err(before_answer)?;
        self.read.clear();
        let head = self.read_head().await?;
        let success = (200..300).contains(&head.status);
        let body = self.read_body(head, success).await;
        let answer = match body {
            Ok(Some((range, complete))) => Answer {
                status: head.status,
                body: if success && !range.is_empty() {
                    Bytes::copy_from_slice(&self.read[range])
                } else {
                    Bytes::new()
                },
                reusable: head.keep_alive && complete,
            },
            Ok(None) => Answer {
                status: head.status,
                body: Bytes::new(),
                reusable: false,
            },
            Err(error) if success => return Err(error),
            Err(_) => Answer {
                status: head.status,
                body: Bytes::new(),
                reusable: false,
            },
        };
        self.read.clear();
        if self.read.capacity() > KEPT_READ {
            self.read = Vec::new();
        }
        if self.head.capacity() > KEPT_READ {
            self.head = Vec::new();
        }
        Ok(answer)
    }

    /// Writes the head in `self.head` and `body` with vectored writes (one system call unless the socket is full).
    async fn write_request(&mut self, body: &[u8]) -> io::Result<()> {
        let mut slices = [IoSlice::new(&self.head), IoSlice::new(body)];
        let mut slices: &mut [IoSlice<'_>] = &mut slices;
        while !slices.is_empty() {
            let written = self.stream.write_vectored(slices).await?;
            if written == 0 {
                return Err(ErrorKind::WriteZero.into());
            }
            IoSlice::advance_slices(&mut slices, written);
        }
        Ok(())
    }

    /// Reads until a final response head is complete, skipping interim `1xx` heads; `self.read` then starts with it.
    async fn read_head(&mut self) -> Result<ResponseHead, ExchangeError> {
        let mut received = false;
        loop {
            match response::parse(&self.read) {
                Ok(Some(head)) if head.is_interim() => {
                    self.read.drain(..head.len);
                    continue;
                }
                Ok(Some(head)) => return Ok(head),
                Ok(None) => {}
                Err(error) => return Err(bad_head(error)),
            }
            let read = self.read_more(MAX_HEAD_BYTES).await;
            match read {
                Ok(0) if !received => {
                    return Err(ExchangeError::Closed(ErrorKind::UnexpectedEof.into()));
                }
                Ok(0) => {
                    return Err(interrupted(
                        "connection closed in the middle of the response head".into(),
                    ));
                }
                Ok(_) => received = true,
                Err(error) if !received => return Err(before_answer(error)),
                Err(error) => return Err(failed(error)),
            }
        }
    }

    /// Reads the body after `head`; returns where it lies in `self.read` and whether the connection is left at a
    /// clean end (no bytes after the body). With `wait` false only what already arrived is used: `None` when the
    /// body is not complete.
    async fn read_body(
        &mut self,
        head: ResponseHead,
        wait: bool,
    ) -> Result<Option<(std::ops::Range<usize>, bool)>, ExchangeError> {
        let start = head.len;
        let end = match head.framing {
            Framing::Empty => start,
            Framing::Length(length) => {
                let length = usize::try_from(length)
                    .ok()
                    .filter(|&length| length <= MAX_BODY_BYTES)
                    .ok_or_else(|| too_large(Some(length)))?;
                let end = start + length;
                while self.read.len() < end {
                    if !wait {
                        return Ok(None);
                    }
                    if self.read_more(end).await.map_err(failed)? == 0 {
                        return Err(interrupted(format!(
                            "connection closed after {} of the {length} bytes of the response body",
                            self.read.len() - start
                        )));
                    }
                }
                end
            }
            Framing::Chunked => {
                let mut chunked = Chunked::new(MAX_BODY_BYTES);
                loop {
                    match chunked.decode(&mut self.read, start) {
                        Ok(Progress::Done { len }) => break start + len,
                        Ok(Progress::NeedMore) if !wait => return Ok(None),
                        Ok(Progress::NeedMore) => {}
                        Err(error) => return Err(bad_chunks(error)),
                    }
                    // The decoded body, at most one unfinished framing line, and a read's worth.
                    let want = start + MAX_BODY_BYTES + 2 * MAX_LINE_BYTES;
                    if self.read_more(want).await.map_err(failed)? == 0 {
                        return Err(interrupted(
                            "connection closed before the end of the chunked response body".into(),
                        ));
                    }
                }
            }
            Framing::UntilClose => {
                if !wait {
                    return Ok(None);
                }
                loop {
                    if self.read.len() - start > MAX_BODY_BYTES {
                        return Err(too_large(None));
                    }
                    let want = start + MAX_BODY_BYTES + 1;
                    if self.read_more(want).await.map_err(failed)? == 0 {
                        break self.read.len();
                    }
                }
            }
        };
        Ok(Some((start..end, self.read.len() == end)))
    }

    /// Reads once into the free space of `self.read`, first making room: the buffer doubles from
    /// [`INITIAL_READ`], up to `want` bytes in all (at least [`MIN_READ`] free). `Ok(0)` is end of stream.
    async fn read_more(&mut self, want: usize) -> io::Result<usize> {
        let free = self.read.capacity() - self.read.len();
        if free < MIN_READ {
            let grown = self.read.capacity().max(INITIAL_READ / 2) * 2;
            let target = grown.min(want.max(self.read.len() + MIN_READ));
            self.read
                .reserve_exact(target.saturating_sub(self.read.len()));
        }
        self.stream.read_buf(&mut self.read).await
    }
}

/// An error of a request whose response had not started: the connection was closed (retryable on a new one if
/// it was reused) or something else failed.
fn before_answer(error: io::Error) -> ExchangeError {
    match error.kind() {
        ErrorKind::BrokenPipe
        | ErrorKind::ConnectionReset
        | ErrorKind::ConnectionAborted
        | ErrorKind::NotConnected
        | ErrorKind::UnexpectedEof => ExchangeError::Closed(error),
        _ => failed(error),
    }
}

/// An I/O error once the exchange is under way.
fn failed(error: io::Error) -> ExchangeError {
    interrupted(error.to_string())
}

fn interrupted(message: String) -> ExchangeError {
    ExchangeError::Failed(SendError::new(ErrorClass::Interrupted, message))
}

fn bad_head(error: HeadError) -> ExchangeError {
    let class = match error {
        HeadError::TooLarge | HeadError::TooManyHeaders => ErrorClass::TooLarge,
        HeadError::Malformed(_) | HeadError::BadLength | HeadError::Upgrade => {
            ErrorClass::Malformed
        }
    };
    ExchangeError::Failed(SendError::new(class, error.to_string()))
}

fn bad_chunks(error: ChunkedError) -> ExchangeError {
    let class = match error {
        ChunkedError::LineTooLong | ChunkedError::TooLarge(_) => ErrorClass::TooLarge,
        ChunkedError::BadSize | ChunkedError::BadChunkEnd => ErrorClass::Malformed,
    };
    ExchangeError::Failed(SendError::new(class, error.to_string()))
}

fn too_large(announced: Option<u64>) -> ExchangeError {
    let announced = announced.map_or(String::new(), |n| format!(" ({n} bytes announced)"));
    ExchangeError::Failed(SendError::new(
        ErrorClass::TooLarge,
        format!(
            "response body larger than the limit of {} MiB{announced}",
            MAX_BODY_BYTES / (1024 * 1024)
        ),
    ))
}
