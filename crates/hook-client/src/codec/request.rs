//! The request head of a webhook POST (pure): the part every request to a URL shares is written once, when the
//! target is built; each request only appends its own headers.

use reqwest::Url;
use std::io::Write;

/// The start of every request head to one `http://` URL: request line, `host`, and the fixed headers.
#[derive(Debug, Clone)]
pub struct HeadPrefix(Box<[u8]>);

impl HeadPrefix {
    /// The prefix for `url` (`http://` only: the path and query are sent as the URL holds them, already
    /// percent-encoded; `host` carries the port unless it is 80; credentials in the URL become
    /// `authorization: Basic`, as reqwest sends them), sent as `user_agent`. `None` for a URL without a host.
    pub fn new(url: &Url, user_agent: &str) -> Option<Self> {
        let host = url.host_str()?;
        let mut head = Vec::with_capacity(160);
        head.extend_from_slice(b"POST ");
        head.extend_from_slice(url.path().as_bytes());
        if let Some(query) = url.query() {
            head.push(b'?');
            head.extend_from_slice(query.as_bytes());
        }
        head.extend_from_slice(b" HTTP/1.1\r\nhost: ");
        head.extend_from_slice(host.as_bytes());
        if let Some(port) = url.port() {
            // `Url::port` is `None` for the scheme's default port, as hyper leaves it out of `host`.
            let _ = write!(head, ":{port}");
        }
        head.extend_from_slice(b"\r\ncontent-type: application/json\r\nuser-agent: ");
        head.extend_from_slice(user_agent.as_bytes());
        head.extend_from_slice(b"\r\naccept: */*\r\n");
        if let Some(credentials) = basic_credentials(url) {
            head.extend_from_slice(b"authorization: Basic ");
            head.extend_from_slice(credentials.as_bytes());
            head.extend_from_slice(b"\r\n");
        }
        Some(Self(head.into_boxed_slice()))
    }

    /// Writes the whole head of one request into `out` (cleared first): the prefix, the request's own headers in
    /// order, `content-length`, and the blank line.
    pub fn write(&self, out: &mut Vec<u8>, headers: &[(&str, &str)], content_length: usize) {
        out.clear();
        out.extend_from_slice(&self.0);
        for (name, value) in headers {
            debug_assert!(
                !value.contains(['\r', '\n']),
                "header {name} holds a line break"
            );
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        // Writing to a Vec cannot fail.
        let _ = write!(out, "content-length: {content_length}\r\n\r\n");
    }
}

/// `user:password` from the URL, percent-decoded, in base64; `None` without credentials (or with ones that are not
/// UTF-8 once decoded, which reqwest leaves out as well).
fn basic_credentials(url: &Url) -> Option<String> {
    use base64::Engine;
    if url.username().is_empty() && url.password().is_none() {
        return None;
    }
    let mut plain = percent_decode(url.username())?;
    plain.push(':');
    if let Some(password) = url.password() {
        plain.push_str(&percent_decode(password)?);
    }
    Some(base64::engine::general_purpose::STANDARD.encode(plain))
}

/// `%XX` escapes decoded; `None` if the result is not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let escaped = (bytes[at] == b'%')
            .then(|| bytes.get(at + 1..at + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                at += 3;
            }
            None => {
                out.push(bytes[at]);
                at += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(url: &str, headers: &[(&str, &str)], length: usize) -> String {
        let url = Url::parse(url).unwrap();
        let prefix = HeadPrefix::new(&url, "agent/1").unwrap();
        let mut out = b"left over".to_vec();
        prefix.write(&mut out, headers, length);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_head_is_the_prefix_then_the_request_headers_in_order() {
        let headers = [("x-a", "1"), ("x-b", "two")];
        assert_eq!(
            head("http://h/p/a%20b?q=1", &headers, 12),
            "POST /p/a%20b?q=1 HTTP/1.1\r\nhost: h\r\ncontent-type: application/json\r\nuser-agent: agent/1\r\n\
             accept: */*\r\nx-a: 1\r\nx-b: two\r\ncontent-length: 12\r\n\r\n"
        );
        assert_eq!(
            head("http://h:8080/", &[], 0),
            "POST / HTTP/1.1\r\nhost: h:8080\r\ncontent-type: application/json\r\nuser-agent: agent/1\r\n\
             accept: */*\r\ncontent-length: 0\r\n\r\n"
        );
    }

    #[test]
    fn url_credentials_become_basic_authorization() {
        let written = head("http://us%20er:p%3Ass@h:80/", &[], 0);
        // "us er:p:ss" in base64; the default port is left out of `host`.
        assert!(
            written.contains("host: h\r\n")
                && written.contains("authorization: Basic dXMgZXI6cDpzcw==\r\n"),
            "{written}"
        );
    }
}
