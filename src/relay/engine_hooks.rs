//! The webhook relay for `protocol = "engine.io"` endpoints: `open`, `message` and `close`.

use super::binary::BinaryJson;
use super::queue::{Limits, OrderedQueue, Pushed, backpressure};
use super::reply::{parse_reply, to_json};
use super::retry::RetryPolicy;
use super::started::start_worker;
use super::webhook::{BusyGuard, Delivery, HookClient, HookTarget};
use crate::cluster::{Entry, SocketRegistry};
use crate::engineio::{
    CloseReason, Handler, Handshake, Message, Opened, Packet, Refusal, Session, Sid, Text, Wait,
};
use crate::log_escape::Escaped;
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Settings of the relay for one engine.io endpoint.
#[derive(Debug, Clone)]
pub struct EngineRelayConfig {
    /// The endpoint path, sent in every body.
    pub endpoint: String,
    /// Where hooks go.
    pub target: HookTarget,
    /// Whether `open` is sent (otherwise every session is accepted).
    pub open_hook: bool,
    /// Whether `close` is sent.
    pub close_hook: bool,
    /// What may wait per session before the client is no longer read: hooks (`max_pending_hooks`) and the bytes
    /// of their messages (the endpoint's `max_buffer`).
    pub pending: Limits,
    /// How `close` deliveries are retried.
    pub retry: RetryPolicy,
    /// The endpoint's metric handles.
    pub metrics: crate::metrics::EndpointMetrics,
    /// This node's session registry, in a cluster: sessions are reported to it as they open and close.
    pub registry: Option<SocketRegistry>,
}

/// Relays raw Engine.IO sessions to a backend.
pub struct EngineRelay {
    shared: Arc<Shared>,
}

struct Shared {
    config: EngineRelayConfig,
    client: HookClient,
}

/// Per-session state: the ordered queue of hooks to send.
#[derive(Default)]
pub struct EngineSessionState {
    hooks: OrderedQueue<Job>,
    /// Set when the worker takes the session's `Close` job: messages queued after it are dropped, so the
    /// backend never hears of a session after its `close`.
    closed: AtomicBool,
    /// Set when another node has already reported this session gone: its `close` hook is not sent again.
    silenced: AtomicBool,
}

impl EngineSessionState {
    /// Marks the session as already reported gone (by the survivor of this node's declared departure): its
    /// `close` hook is not sent.
    pub fn silence(&self) {
        self.silenced.store(true, Ordering::Release);
    }
}

enum Job {
    Message(Message),
    Close(CloseReason),
}

impl EngineRelay {
    /// A relay sending through `client`.
    pub fn new(config: EngineRelayConfig, client: HookClient) -> Self {
        Self {
            shared: Arc::new(Shared { config, client }),
        }
    }

    /// Sends the `close` hook of a session a departed node held (reason `transport close`), retried as any close
    /// hook; resolves when it is delivered or given up. False when this endpoint sends no close hooks or `sid` is
    /// not a session id.
    pub fn departed_close(
        &self,
        sid: String,
    ) -> impl std::future::Future<Output = bool> + Send + 'static {
        let shared = self.shared.clone();
        async move {
            let config = &shared.config;
            let Some(sid) = Sid::parse(&sid) else {
                return false;
            };
            if !config.close_hook {
                return false;
            }
            let body = CloseBody {
                kind: "close",
                endpoint: &config.endpoint,
                sid,
                reason: CloseReason::TransportClose.as_str(),
            };
            let delivery = Delivery::new("close", to_json(&body));
            let _busy = shared.client.busy();
            shared
                .client
                .send_with_retries(&config.target, &delivery, config.retry, &sid)
                .await;
            true
        }
    }

    fn enqueue(&self, session: &Arc<Session<EngineSessionState>>, job: Job) -> Pushed {
        let (bytes, from_client) = match &job {
            Job::Message(Message::Text(text)) => (text.len(), true),
            Job::Message(Message::Binary(data)) => (data.len(), true),
            Job::Close(_) => (0, false),
        };
        let pushed = session.state().hooks.push(job, bytes);
        if pushed.start_worker {
            // Counted before the spawn, so a shutdown that begins now waits for this worker.
            let busy = self.shared.client.busy();
            start_worker(
                drain(self.shared.clone(), session.clone(), busy),
                from_client,
            );
        }
        pushed
    }
}

#[derive(Serialize)]
struct OpenBody<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    endpoint: &'a str,
    sid: Sid,
    handshake: &'a Handshake,
}

#[derive(Serialize)]
struct MessageBody<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    endpoint: &'a str,
    sid: Sid,
    data: MessageJson<'a>,
}

#[derive(Serialize)]
struct CloseBody<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    endpoint: &'a str,
    sid: Sid,
    reason: &'static str,
}

/// A message as webhook JSON: a string, or `{"$binary": ...}`.
struct MessageJson<'a>(&'a Message);

impl Serialize for MessageJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Message::Text(text) => serializer.serialize_str(text.as_str()),
            Message::Binary(data) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("$binary", &base64_of(data))?;
                map.end()
            }
        }
    }
}

fn base64_of(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// A message a backend asks to send: a string or `{"$binary": ...}`.
#[derive(Deserialize)]
#[serde(untagged)]
enum OutMessage {
    Text(String),
    Binary(BinaryJson),
}

impl OutMessage {
    fn into_message(self) -> Result<Message, String> {
        match self {
            OutMessage::Text(text) => Ok(Message::Text(Text::from(text))),
            OutMessage::Binary(binary) => binary.decode().map(Message::Binary),
        }
    }
}

#[derive(Deserialize, Default)]
struct OpenReply {
    reject: Option<Box<RawValue>>,
    #[serde(default)]
    send: Vec<OutMessage>,
}

#[derive(Deserialize, Default)]
struct MessageReply {
    #[serde(default)]
    send: Vec<OutMessage>,
    #[serde(default)]
    close: bool,
}

fn decode_messages(send: Vec<OutMessage>) -> Result<Vec<Message>, String> {
    send.into_iter().map(OutMessage::into_message).collect()
}

impl Handler for EngineRelay {
    type State = EngineSessionState;

    async fn open(&self, sid: Sid, handshake: Handshake) -> Result<Opened<Self::State>, Refusal> {
        let state = EngineSessionState::default();
        let config = &self.shared.config;
        if !config.open_hook {
            return Ok(Opened {
                state,
                messages: Vec::new(),
            });
        }
        let body = OpenBody {
            kind: "open",
            endpoint: &config.endpoint,
            sid,
            handshake: &handshake,
        };
        let delivery = Delivery::new("open", to_json(&body));
        let reply = match self.shared.client.send(&config.target, &delivery).await {
            Ok(reply) => reply,
            Err(error) => {
                tracing::debug!(%sid, endpoint = %config.endpoint, error = %Escaped(&error), "open webhook failed; refusing session");
                return Err(Refusal::Unavailable);
            }
        };
        let reply: OpenReply = parse_reply(&reply).map_err(|error| {
            tracing::warn!(%sid, endpoint = %config.endpoint, error = %Escaped(&error), "open webhook reply unusable; refusing session");
            Refusal::Unavailable
        })?;
        if let Some(reject) = reply.reject {
            return Err(Refusal::Rejected {
                context: Some(reject.get().to_string()),
            });
        }
        let messages = decode_messages(reply.send).map_err(|error| {
            tracing::warn!(%sid, endpoint = %config.endpoint, error = %Escaped(&error), "open webhook reply unusable; refusing session");
            Refusal::Unavailable
        })?;
        Ok(Opened { state, messages })
    }

    fn message(&self, session: &Arc<Session<Self::State>>, message: Message) -> Option<Wait> {
        let pushed = self.enqueue(session, Job::Message(message));
        let config = &self.shared.config;
        backpressure(
            session,
            |s| &s.state().hooks,
            pushed,
            config.pending,
            &config.metrics.hook_overflows,
        )
    }

    fn busy(&self, session: &Arc<Session<Self::State>>) -> bool {
        session.state().hooks.awaits_answers()
    }

    fn opened(&self, session: &Arc<Session<Self::State>>) {
        if let Some(registry) = &self.shared.config.registry {
            registry.put(&Entry {
                endpoint: self.shared.config.endpoint.clone(),
                namespace: None,
                sid: session.id().as_str().to_string(),
                data: None,
                parked: None,
            });
        }
    }

    fn closed(&self, session: &Arc<Session<Self::State>>, reason: CloseReason) {
        if let Some(registry) = &self.shared.config.registry {
            registry.remove(&self.shared.config.endpoint, session.id().as_str());
        }
        // Queued even without a close hook: it marks where the session's messages end.
        self.enqueue(session, Job::Close(reason));
    }
}

/// Sends a session's hooks one after another, in order, then exits; `_busy` marks it running until then.
async fn drain(shared: Arc<Shared>, session: Arc<Session<EngineSessionState>>, _busy: BusyGuard) {
    let state = session.state();
    while let Some(job) = state.hooks.next() {
        match job {
            Job::Message(_) if state.closed.load(Ordering::Acquire) => {
                tracing::debug!(sid = %session.id(), "message after close not relayed");
            }
            Job::Message(message) => send_message(&shared, &session, &message).await,
            Job::Close(reason) => {
                state.closed.store(true, Ordering::Release);
                if shared.config.close_hook && !state.silenced.load(Ordering::Acquire) {
                    send_close(&shared, &session, reason).await;
                }
            }
        }
    }
    // Polls holding packets while this session was busy can answer now.
    session.wake();
}

/// Sends one `message` hook and acts on the reply.
async fn send_message(
    shared: &Shared,
    session: &Arc<Session<EngineSessionState>>,
    message: &Message,
) {
    let config = &shared.config;
    let body = MessageBody {
        kind: "message",
        endpoint: &config.endpoint,
        sid: session.id(),
        data: MessageJson(message),
    };
    let delivery = Delivery::new("message", to_json(&body));
    let sent = shared.client.send(&config.target, &delivery).await;
    // What the reply brings is queued for the client below: nothing more is on its way for this job.
    session.state().hooks.answered();
    match sent {
        Ok(reply) => apply_message_reply(session, &reply),
        Err(error) => {
            tracing::debug!(sid = %session.id(), endpoint = %config.endpoint, error = %Escaped(&error), "message webhook failed")
        }
    }
}

/// Sends the `close` hook, retrying until it is delivered, refused for good, or given up.
async fn send_close(
    shared: &Shared,
    session: &Arc<Session<EngineSessionState>>,
    reason: CloseReason,
) {
    let config = &shared.config;
    let body = CloseBody {
        kind: "close",
        endpoint: &config.endpoint,
        sid: session.id(),
        reason: reason.as_str(),
    };
    let delivery = Delivery::new("close", to_json(&body));
    shared
        .client
        .send_with_retries(&config.target, &delivery, config.retry, &session.id())
        .await;
}

fn apply_message_reply(session: &Arc<Session<EngineSessionState>>, reply: &[u8]) {
    let outcome = parse_reply::<MessageReply>(reply)
        .and_then(|reply| Ok((decode_messages(reply.send)?, reply.close)));
    match outcome {
        Ok((messages, close)) => {
            if !messages.is_empty() {
                session.send_all(messages.iter().map(Packet::message));
            }
            if close {
                session.close(CloseReason::ForcedClose);
            }
        }
        Err(error) => {
            tracing::warn!(sid = %session.id(), error = %Escaped(&error), "message webhook reply ignored")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_json_is_a_string_or_binary_object() {
        let text = Message::Text(Text::from("hé \"x\""));
        assert_eq!(
            serde_json::to_string(&MessageJson(&text)).unwrap(),
            r#""hé \"x\"""#
        );
        let bin = Message::Binary(bytes::Bytes::from_static(&[1, 2, 3]));
        assert_eq!(
            serde_json::to_string(&MessageJson(&bin)).unwrap(),
            super::super::binary::to_json(&[1, 2, 3])
        );
    }

    #[test]
    fn replies_parse_leniently_but_reject_garbage() {
        let reply: MessageReply = parse_reply(b"").unwrap();
        assert!(reply.send.is_empty() && !reply.close);
        let reply: MessageReply =
            parse_reply(br#"{"send":["a",{"$binary":"AQ=="}],"close":true,"extra":1}"#).unwrap();
        let messages = decode_messages(reply.send).unwrap();
        assert_eq!(
            messages[1],
            Message::Binary(bytes::Bytes::from_static(&[1]))
        );
        assert!(reply.close);
        assert!(parse_reply::<MessageReply>(b"<html>").is_err());
        assert!(parse_reply::<MessageReply>(br#"{"send":[42]}"#).is_err());
        let open: OpenReply = parse_reply(br#"{"reject":{"message":"no"}}"#).unwrap();
        assert_eq!(open.reject.unwrap().get(), r#"{"message":"no"}"#);
    }
}
