//! `iogate demo` as a real process: started on a free port, its printed URLs read from stdout, stopped with
//! SIGTERM by [`Demo::stop`], killed when dropped.

use super::scratch::free_port;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A running `iogate demo`.
pub struct Demo {
    child: Child,
    /// The chat page's URL, `http://ADDR/`.
    pub chat_url: String,
    /// The push API's base URL, `http://ADDR`.
    pub api_url: String,
    /// The push API's token for this run.
    pub token: String,
    /// The status page's URL with the token.
    pub status_url: String,
    /// Everything printed on stdout.
    pub printed: String,
}

impl Demo {
    /// Starts `iogate demo --listen 127.0.0.1:<free port>` and waits (at most 20 s) for it to print its URLs.
    pub fn start() -> Self {
        let port = free_port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_iogate"))
            .args(["demo", "--listen", &format!("127.0.0.1:{port}")])
            // Warnings and errors only: they show beside a failing test's output.
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("iogate demo starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (lines, received) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut printed = String::new();
        while !printed.contains("Press Ctrl-C") {
            let left = deadline.saturating_duration_since(Instant::now());
            match received.recv_timeout(left) {
                Ok(line) => {
                    printed.push_str(&line);
                    printed.push('\n');
                }
                Err(_) => {
                    let _ = child.kill();
                    panic!("iogate demo printed no URLs in time; it printed:\n{printed}");
                }
            }
        }
        let value = |prefix: &str| {
            printed
                .lines()
                .find_map(|line| line.strip_prefix(prefix))
                .and_then(|rest| rest.split_whitespace().next())
                .unwrap_or_else(|| panic!("no {prefix:?} line in:\n{printed}"))
                .to_string()
        };
        Self {
            chat_url: value("chat:"),
            api_url: value("api:"),
            token: value("token:"),
            status_url: value("status:"),
            printed,
            child,
        }
    }

    /// The Socket.IO endpoint's URL, `http://ADDR/socket.io/`.
    pub fn socketio_url(&self) -> String {
        format!("{}socket.io/", self.chat_url)
    }

    /// Stops the demo with SIGTERM and returns whether it exited 0 within 10 s.
    pub fn stop(&mut self) -> bool {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
