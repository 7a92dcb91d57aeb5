//! The subscription connection: one Redis pub/sub connection per node that subscribes to every registered channel
//! and pattern, hands each message to the receiver registered for it, and reconnects (with backoff, subscribing
//! again) whenever Redis goes away. A slow receiver slows the reading, so Redis, not this process, holds the
//! backlog (and drops the connection past its `client-output-buffer-limit`, after which this one reconnects).

use super::redis_link::{CALL_TIMEOUT, RedisLink};
use bytes::Bytes;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// Messages one receiver may have waiting before the reading waits for it.
const RECEIVER_CAPACITY: usize = 4096;

/// How often an idle subscription connection is checked with a PING.
const PING_EVERY: Duration = Duration::from_secs(5);

/// The longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// What to subscribe to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Topic {
    /// One channel (SUBSCRIBE).
    Channel(String),
    /// Every channel matching a glob pattern (PSUBSCRIBE).
    Pattern(String),
}

/// One published message.
#[derive(Debug, Clone)]
pub struct Message {
    /// The channel it was published on.
    pub channel: String,
    /// Its payload.
    pub payload: Bytes,
}

type Routes = Arc<Mutex<HashMap<Topic, mpsc::Sender<Message>>>>;

/// The registered topics and the connection task's inbox for new ones.
#[derive(Clone)]
pub struct Subscriptions {
    routes: Routes,
    added: mpsc::UnboundedSender<Topic>,
}

impl Subscriptions {
    /// Starts the subscription connection of `link`; it runs until the process ends.
    pub fn start(link: RedisLink) -> Self {
        let routes: Routes = Arc::default();
        let (added, inbox) = mpsc::unbounded_channel();
        tokio::spawn(run(link, routes.clone(), inbox));
        Self { routes, added }
    }

    /// Subscribes to `topic` (now, and again after every reconnection); its messages arrive on the receiver. A
    /// topic registered twice sends to the newer receiver only.
    pub fn subscribe(&self, topic: Topic) -> mpsc::Receiver<Message> {
        let (sender, receiver) = mpsc::channel(RECEIVER_CAPACITY);
        if let Ok(mut routes) = self.routes.lock() {
            routes.insert(topic.clone(), sender);
        }
        let _ = self.added.send(topic);
        receiver
    }
}

async fn run(link: RedisLink, routes: Routes, mut inbox: mpsc::UnboundedReceiver<Topic>) {
    let mut backoff = Duration::from_millis(100);
    loop {
        match serve_one_connection(&link, &routes, &mut inbox).await {
            Ok(()) => return,
            Err(why) => {
                if link.set_subscriptions_up(false) {
                    tracing::debug!(error = %why, "cluster: the Redis subscription connection is lost");
                }
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
        // Topics registered meanwhile are subscribed by the next connection anyway.
        while inbox.try_recv().is_ok() {}
    }
}

/// Serves one connection until it fails; `Ok` only when the node is going away (no registry left).
async fn serve_one_connection(
    link: &RedisLink,
    routes: &Routes,
    inbox: &mut mpsc::UnboundedReceiver<Topic>,
) -> Result<(), String> {
    let pubsub = tokio::time::timeout(CALL_TIMEOUT, link.client().get_async_pubsub())
        .await
        .map_err(|_| "connecting timed out".to_string())?
        .map_err(|e| e.to_string())?;
    let (mut sink, mut stream) = pubsub.split();
    let topics: Vec<Topic> = routes
        .lock()
        .map(|routes| routes.keys().cloned().collect())
        .unwrap_or_default();
    for topic in &topics {
        subscribe(&mut sink, topic).await?;
    }
    if link.set_subscriptions_up(true) {
        tracing::debug!("cluster: subscribed to Redis");
    }
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.reset();
    loop {
        tokio::select! {
            message = stream.next() => {
                let Some(message) = message else {
                    return Err("Redis closed the subscription connection".into());
                };
                deliver(routes, message).await;
            }
            topic = inbox.recv() => {
                let Some(topic) = topic else { return Ok(()) };
                subscribe(&mut sink, &topic).await?;
            }
            _ = ping.tick() => {
                tokio::time::timeout(CALL_TIMEOUT, sink.ping::<()>())
                    .await
                    .map_err(|_| "PING timed out".to_string())?
                    .map_err(|e| e.to_string())?;
            }
        }
    }
}

async fn subscribe(sink: &mut redis::aio::PubSubSink, topic: &Topic) -> Result<(), String> {
    let call = async {
        match topic {
            Topic::Channel(name) => sink.subscribe(name).await,
            Topic::Pattern(pattern) => sink.psubscribe(pattern).await,
        }
    };
    tokio::time::timeout(CALL_TIMEOUT, call)
        .await
        .map_err(|_| "SUBSCRIBE timed out".to_string())?
        .map_err(|e| e.to_string())
}

/// Hands `message` to the receiver of its pattern, else of its channel; waits while that receiver is full.
async fn deliver(routes: &Routes, message: redis::Msg) {
    let topic = match message.get_pattern::<Option<String>>() {
        Ok(Some(pattern)) => Topic::Pattern(pattern),
        _ => Topic::Channel(message.get_channel_name().to_string()),
    };
    let sender = routes
        .lock()
        .ok()
        .and_then(|routes| routes.get(&topic).cloned());
    if let Some(sender) = sender {
        let _ = sender
            .send(Message {
                channel: message.get_channel_name().to_string(),
                payload: Bytes::copy_from_slice(message.get_payload_bytes()),
            })
            .await;
    }
}
