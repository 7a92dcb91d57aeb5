//! Long-lived room members: the `member` scripts of `tests/clients/` (socket.io-client 4.x, 2.x, python-socketio
//! 5.x) stay connected while a test drives a deployment, reconnect by themselves, and report on stdout what happens
//! to them (`READY`, `EVENT`, `DISCONNECT`, `ACK`, `RESULT` lines, see `tests/clients/member.js`). A [`Member`]
//! keeps every line it has read, so a test can wait for one and count them afterwards.

use super::node::{self, NodeRun, Spawned};
use super::python;
use serde_json::{Value, json};
use std::time::Duration;

/// Which real client drives a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    /// socket.io-client 4.x (Engine.IO v4, Socket.IO v5).
    Socketio4,
    /// socket.io-client 2.x (Engine.IO v3, Socket.IO v4).
    Socketio2,
    /// python-socketio 5.x.
    Python,
}

/// One line a member printed: its first word and the JSON after it.
#[derive(Debug, Clone)]
pub struct Line {
    /// `READY`, `EVENT`, `DISCONNECT`, `ACK` or `RESULT`.
    pub word: String,
    /// The JSON after the word.
    pub value: Value,
}

/// A running member script.
pub struct Member {
    /// The name it connected as (the backend joins it to `user:<name>`).
    pub name: String,
    spawned: Spawned,
    lines: Vec<Line>,
}

impl Member {
    /// Starts `client` at `url` (e.g. `http://127.0.0.1:PORT/socket.io/`) in `mode` (`polling`, `upgrade` or
    /// `websocket`) as `name`, joining `room`.
    pub fn start(client: Client, url: &str, mode: &str, name: &str, room: &str) -> Self {
        let args = [url, mode, name, room];
        let spawned = match client {
            Client::Socketio4 => node::spawn("socketio/member.js", &args),
            Client::Socketio2 => node::spawn("socketio2/member.js", &args),
            Client::Python => python::spawn("member.py", &args),
        };
        Self {
            name: name.to_string(),
            spawned,
            lines: Vec::new(),
        }
    }

    /// Every line read so far.
    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    /// The values of the lines read so far that start with `word` and satisfy `matches`.
    pub fn matching(&self, word: &str, matches: impl Fn(&Value) -> bool) -> Vec<Value> {
        self.lines
            .iter()
            .filter(|line| line.word == word && matches(&line.value))
            .map(|line| line.value.clone())
            .collect()
    }

    /// The args of every `event` received so far.
    pub fn events(&self, event: &str) -> Vec<Value> {
        self.matching("EVENT", |value| value["event"] == event)
            .into_iter()
            .map(|value| value["args"].clone())
            .collect()
    }

    /// The reasons of every disconnect so far.
    pub fn disconnects(&self) -> Vec<Value> {
        self.matching("DISCONNECT", |_| true)
    }

    /// The socket id of the latest `READY`; panics before the first.
    pub fn sid(&self) -> String {
        let ready = self.matching("READY", |_| true);
        let last = ready
            .last()
            .unwrap_or_else(|| panic!("{} is not ready yet", self.name));
        last["sid"]
            .as_str()
            .unwrap_or_else(|| panic!("{}: READY without sid: {last}", self.name))
            .to_string()
    }

    /// Reads lines until `count` lines start with `word` and satisfy `matches`; returns their values. Panics after
    /// `limit` (or when the script ends first) with `what`, the lines so far and the script's output.
    pub async fn wait_for(
        &mut self,
        what: &str,
        word: &str,
        count: usize,
        limit: Duration,
        matches: impl Fn(&Value) -> bool,
    ) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let found = self.matching(word, &matches);
            if found.len() >= count {
                return found;
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.spawned.next_line(left).await {
                Some(line) => self.keep(&line),
                None => {
                    self.fail(&format!(
                        "{}: {what}: {} of {count} {word} line(s) within {limit:?}",
                        self.name,
                        found.len()
                    ))
                    .await
                }
            }
        }
    }

    /// Waits for the `n`th `READY` (1 = the first connect); returns it.
    pub async fn ready(&mut self, n: usize, limit: Duration) -> Value {
        let what = format!("connected (#{n})");
        let ready = self.wait_for(&what, "READY", n, limit, |_| true).await;
        ready[n - 1].clone()
    }

    /// Waits until `count` `event`s have arrived; returns the args of all of them.
    pub async fn wait_events(&mut self, event: &str, count: usize, limit: Duration) -> Vec<Value> {
        let what = format!("receiving {event:?}");
        self.wait_for(&what, "EVENT", count, limit, |value| {
            value["event"] == event
        })
        .await
        .into_iter()
        .map(|value| value["args"].clone())
        .collect()
    }

    /// Reads whatever the script prints during `quiet` (to count it afterwards).
    pub async fn read_for(&mut self, quiet: Duration) {
        let deadline = tokio::time::Instant::now() + quiet;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return;
            }
            match self.spawned.next_line(left).await {
                Some(line) => self.keep(&line),
                None => return,
            }
        }
    }

    /// Reads the lines the script has printed so far, without waiting for more.
    pub async fn drain(&mut self) {
        while let Some(line) = self.spawned.next_line(Duration::ZERO).await {
            self.keep(&line);
        }
    }

    /// Emits `event` with `args` (a JSON array) and an ack; returns the ack's args.
    pub async fn call(&mut self, event: &str, args: Value, limit: Duration) -> Value {
        let before = self.matching("ACK", |_| true).len();
        self.spawned
            .send_line(&json!({"emit": event, "args": args}).to_string());
        let what = format!("the ack of {event:?}");
        let acks = self
            .wait_for(&what, "ACK", before + 1, limit, |_| true)
            .await;
        acks[before]["args"].clone()
    }

    /// Closes its stdin: it disconnects on purpose and exits. Returns its `RESULT`; panics unless it exits 0.
    pub async fn finish(mut self) -> Value {
        self.spawned.close_stdin();
        // Its stdout closes when it exits.
        self.read_for(Duration::from_secs(5)).await;
        let run = self.spawned.finish(Duration::from_secs(1)).await;
        run.assert_success();
        self.matching("RESULT", |_| true)
            .pop()
            .unwrap_or_else(|| panic!("{} printed no RESULT:\n{}", self.name, run.stdout))
    }

    /// Panics with `message`, the lines read so far and the script's output (killing it).
    pub async fn fail(&mut self, message: &str) -> ! {
        let run: NodeRun = self.spawned.finish(Duration::from_millis(500)).await;
        let lines: Vec<String> = self
            .lines
            .iter()
            .map(|line| format!("{} {}", line.word, line.value))
            .collect();
        panic!(
            "{message}\n--- lines read\n{}\n--- rest of stdout\n{}\n--- stderr of `{}` (exit {:?})\n{}",
            lines.join("\n"),
            run.stdout,
            run.command,
            run.code,
            run.stderr
        );
    }

    fn keep(&mut self, line: &str) {
        let (word, rest) = line.split_once(' ').unwrap_or((line, "null"));
        if !matches!(word, "READY" | "EVENT" | "DISCONNECT" | "ACK" | "RESULT") {
            return;
        }
        let value = serde_json::from_str(rest).unwrap_or_else(|_| json!(rest));
        self.lines.push(Line {
            word: word.to_string(),
            value,
        });
    }
}
