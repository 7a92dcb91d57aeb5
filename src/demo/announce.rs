//! What `iogate demo` prints once it listens: where the chat is, the push API with its token, and the status page.

use super::settings::{CHAT_PATH, ECHO_PATH};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The addresses and token of a running demo.
pub struct Announcement<'a> {
    /// The public listener.
    pub public: SocketAddr,
    /// The push API listener.
    pub api: SocketAddr,
    /// The push API token.
    pub token: &'a str,
}

impl Announcement<'_> {
    /// The lines printed on stdout; tests read the URLs from the lines starting `chat:`, `api:`, `token:` and
    /// `status:`.
    pub fn text(&self) -> String {
        let public = browsable(self.public);
        let api = browsable(self.api);
        format!(
            "iogate demo: a chat relayed through signed webhooks to a built-in backend\n\
             \n\
             chat:    http://{public}/   (open it in two browser tabs)\n\
             status:  http://{api}/status?token={token}\n\
             api:     http://{api}\n\
             token:   {token}\n\
             \n\
             Socket.IO clients connect to http://{public}{CHAT_PATH}/ and Engine.IO clients to \
             http://{public}{ECHO_PATH}/.\n\
             Try the push API: curl -H \"Authorization: Bearer {token}\" http://{api}/v1/rooms?endpoint={CHAT_PATH}\n\
             Press Ctrl-C to stop.\n",
            token = self.token,
        )
    }
}

/// `address` as a browser can reach it: an unspecified address (listening everywhere) is shown as loopback.
fn browsable(address: SocketAddr) -> SocketAddr {
    if address.ip().is_unspecified() {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), address.port())
    } else {
        address
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_urls_are_printed_on_lines_of_their_own() {
        let text = Announcement {
            public: "0.0.0.0:8080".parse().unwrap(),
            api: "127.0.0.1:4001".parse().unwrap(),
            token: "abc",
        }
        .text();
        let line = |prefix: &str| {
            text.lines()
                .find_map(|line| line.strip_prefix(prefix))
                .map(str::trim)
                .unwrap()
                .to_string()
        };
        assert!(line("chat:").starts_with("http://127.0.0.1:8080/ "));
        assert_eq!(line("status:"), "http://127.0.0.1:4001/status?token=abc");
        assert_eq!(line("api:"), "http://127.0.0.1:4001");
        assert_eq!(line("token:"), "abc");
    }
}
