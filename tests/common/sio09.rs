//! Socket.IO 0.9 over raw HTTP for tests: the handshake at `/{resource}/1/` and an xhr-polling or jsonp-polling
//! client that sends and receives 0.9 messages (`5:1+::{"name":...}`) as written on the wire.

use super::eio::{self, Answer};
use super::gateway::Gateway;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

/// The separator of multi-message payloads.
pub const SEP: char = '\u{fffd}';

/// The messages of a 0.9 payload (one unframed message, or `\u{fffd}len\u{fffd}msg...`).
pub fn split_payload(text: &str) -> Vec<String> {
    let Some(mut rest) = text.strip_prefix(SEP) else {
        return vec![text.to_string()];
    };
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (len, after) = rest.split_once(SEP).expect("frame length");
        let units: usize = len.parse().expect("frame length is a number");
        let mut taken = 0;
        let mut end = 0;
        for (index, ch) in after.char_indices() {
            if taken == units {
                end = index;
                break;
            }
            taken += ch.len_utf16();
            end = index + ch.len_utf8();
        }
        out.push(after[..end].to_string());
        rest = after[end..].strip_prefix(SEP).unwrap_or(&after[end..]);
    }
    out
}

/// A 0.9 client over long-polling.
pub struct Sio09Client {
    /// `http://ADDR/{resource}/1`.
    pub base: String,
    /// The session id from the handshake.
    pub sid: String,
    /// The handshake answer's fields: sid, heartbeat timeout, close timeout, transports.
    pub handshake: Vec<String>,
    /// `Some(i)` for jsonp-polling with callback index `i`.
    pub jsonp: Option<u32>,
    /// Messages received but not yet returned by [`Sio09Client::next`].
    pub pending: Mutex<VecDeque<String>>,
}

impl Sio09Client {
    /// Handshakes at `/{resource}/1/` with an extra query (e.g. `token=a`), over xhr-polling.
    pub async fn connect(gateway: &Gateway, resource: &str, query: &str) -> Self {
        let base = gateway.url(&format!("/{resource}/1"));
        let answer = eio::get(&format!("{base}/?t=1&{query}")).await;
        assert_eq!(answer.status, 200, "0.9 handshake failed: {}", answer.text);
        let handshake: Vec<String> = answer.text.split(':').map(str::to_string).collect();
        assert_eq!(handshake.len(), 4, "handshake answer: {:?}", answer.text);
        Self {
            base,
            sid: handshake[0].clone(),
            handshake,
            jsonp: None,
            pending: Mutex::default(),
        }
    }

    /// The transport URL of this session.
    pub fn url(&self) -> String {
        match self.jsonp {
            Some(index) => format!("{}/jsonp-polling/{}?t=2&i={index}", self.base, self.sid),
            None => format!("{}/xhr-polling/{}?t=2", self.base, self.sid),
        }
    }

    /// One GET: the messages it carried.
    pub async fn poll(&self) -> Vec<String> {
        let answer = tokio::time::timeout(Duration::from_secs(10), eio::get(&self.url()))
            .await
            .expect("a poll answered within 10 s");
        assert_eq!(answer.status, 200, "poll failed: {}", answer.text);
        split_payload(&self.unwrap_jsonp(&answer))
    }

    fn unwrap_jsonp(&self, answer: &Answer) -> String {
        match self.jsonp {
            None => answer.text.clone(),
            Some(index) => {
                let prefix = format!("io.j[{index}](");
                let literal = answer
                    .text
                    .strip_prefix(&prefix)
                    .and_then(|rest| rest.strip_suffix(");"))
                    .unwrap_or_else(|| panic!("not a JSONP answer: {:?}", answer.text));
                serde_json::from_str(literal).expect("a JSON string literal")
            }
        }
    }

    /// Polls until a message other than heartbeats and noops arrives (answering heartbeats), and returns it.
    pub async fn next(&self) -> String {
        loop {
            let queued = self.pending.lock().unwrap().pop_front();
            match queued {
                Some(message) if message == "2::" => self.send(&["2::"]).await,
                Some(message) if message == "8::" => {}
                Some(message) => return message,
                None => {
                    let messages = self.poll().await;
                    self.pending.lock().unwrap().extend(messages);
                }
            }
        }
    }

    /// POSTs messages in one payload; asserts the `1` answer.
    pub async fn send(&self, messages: &[&str]) {
        let answer = self.post_payload(messages).await;
        assert_eq!(answer.status, 200, "POST failed: {}", answer.text);
        assert_eq!(answer.text, "1");
    }

    /// POSTs messages in one payload and returns the answer.
    pub async fn post_payload(&self, messages: &[&str]) -> Answer {
        let payload = if messages.len() == 1 {
            messages[0].to_string()
        } else {
            messages
                .iter()
                .map(|m| format!("{SEP}{}{SEP}{m}", m.encode_utf16().count()))
                .collect()
        };
        match self.jsonp {
            None => eio::post(&self.url(), payload).await,
            Some(_) => {
                let literal = serde_json::to_string(&payload).unwrap();
                let form: String = form_urlencoded::Serializer::new(String::new())
                    .append_pair("d", &literal)
                    .finish();
                eio::answer(
                    eio::http()
                        .post(self.url())
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(form)
                        .send()
                        .await
                        .expect("POST"),
                )
                .await
            }
        }
    }
}
