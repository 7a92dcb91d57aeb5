//! The subscription connection: one Redis pub/sub connection per node that subscribes to every registered channel
//! and pattern, hands each message to the receiver registered for it, and reconnects (with backoff, subscribing
//! again) whenever Redis goes away. Each receiver holds at most [`RECEIVER_CAPACITY`] messages; a message for a
//! receiver that is full is dropped and counted (`iogate_cluster_messages_dropped_total`), so one slow receiver
//! never stops the reading for the others and nothing grows without bound. A burst of drops is logged twice: a
//! warning when it starts, and how many were dropped when that receiver takes a message again.

use super::redis_link::{CALL_TIMEOUT, RedisLink};
use crate::metrics::ClusterMetrics;
use bytes::Bytes;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// Messages one receiver may have waiting; past it, its messages are dropped until it takes some.
pub const RECEIVER_CAPACITY: usize = 4096;

/// How often an idle subscription connection is checked with a PING.
const PING_EVERY: Duration = Duration::from_secs(5);

/// The wait before the first reconnection attempt after a loss.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

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
    link: RedisLink,
    capacity: usize,
}

impl Subscriptions {
    /// Starts the subscription connection of `link`; it runs until the process ends. Dropped messages count in
    /// `metrics`.
    pub fn start(link: RedisLink, metrics: ClusterMetrics) -> Self {
        Self::with_capacity(link, metrics, RECEIVER_CAPACITY)
    }

    /// The same, with receivers of `capacity` messages.
    fn with_capacity(link: RedisLink, metrics: ClusterMetrics, capacity: usize) -> Self {
        let routes: Routes = Arc::default();
        let (added, inbox) = mpsc::unbounded_channel();
        tokio::spawn(run(link.clone(), routes.clone(), inbox, metrics));
        Self {
            routes,
            added,
            link,
            capacity,
        }
    }

    /// Subscribes to `topic` (now, and again after every reconnection); its messages arrive on the receiver. A
    /// topic registered twice sends to the newer receiver only. The link is not up (`/readyz` not ready) until
    /// Redis has answered the topic's SUBSCRIBE: a node that reports itself ready receives what is published.
    pub fn subscribe(&self, topic: Topic) -> mpsc::Receiver<Message> {
        let (sender, receiver) = mpsc::channel(self.capacity);
        if let Ok(mut routes) = self.routes.lock() {
            routes.insert(topic.clone(), sender);
        }
        self.link.topic_registered();
        let _ = self.added.send(topic);
        receiver
    }
}

/// Receivers that are full, each with the messages dropped for it since it filled up.
#[derive(Default)]
struct Behind {
    dropped: HashMap<Topic, u64>,
}

impl Behind {
    /// Counts a message dropped for the full receiver of `topic`; the first of a burst is logged.
    fn dropped(&mut self, topic: &Topic, metrics: &ClusterMetrics) {
        metrics.messages_dropped.inc();
        let dropped = self.dropped.entry(topic.clone()).or_insert(0);
        if *dropped == 0 {
            tracing::warn!(
                ?topic,
                "cluster: a Redis subscriber is behind; its messages are dropped until it catches up"
            );
        }
        *dropped += 1;
    }

    /// The receiver of `topic` took a message: a burst of drops, if any, ends and is logged.
    fn caught_up(&mut self, topic: &Topic) {
        if let Some(dropped) = self.dropped.remove(topic) {
            tracing::warn!(
                ?topic,
                dropped,
                "cluster: a Redis subscriber caught up; messages were dropped meanwhile"
            );
        }
    }
}

async fn run(
    link: RedisLink,
    routes: Routes,
    mut inbox: mpsc::UnboundedReceiver<Topic>,
    metrics: ClusterMetrics,
) {
    let mut backoff = FIRST_BACKOFF;
    let mut behind = Behind::default();
    loop {
        let served = serve_one_connection(&link, &routes, &mut inbox, &mut behind, &metrics).await;
        match served {
            Ok(()) => return,
            Err(why) => {
                if link.set_subscriptions_up(false) {
                    // Redis keeps no pub/sub message for a subscriber that is away: say so once per loss.
                    tracing::warn!(
                        error = %why,
                        "cluster: the Redis subscription connection is lost; what is published until it is back \
                         does not reach this node"
                    );
                    // It had served: a new loss starts the backoff over, so it is never stuck at its longest.
                    backoff = FIRST_BACKOFF;
                }
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
        // Topics registered meanwhile are subscribed by the next connection anyway, before it reports itself up.
        while inbox.try_recv().is_ok() {
            link.topic_handled();
        }
    }
}

/// Serves one connection until it fails; `Ok` only when the node is going away (no registry left).
async fn serve_one_connection(
    link: &RedisLink,
    routes: &Routes,
    inbox: &mut mpsc::UnboundedReceiver<Topic>,
    behind: &mut Behind,
    metrics: &ClusterMetrics,
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
                deliver(routes, message, behind, metrics);
            }
            topic = inbox.recv() => {
                let Some(topic) = topic else { return Ok(()) };
                let subscribed = subscribe(&mut sink, &topic).await;
                // Subscribed, or it is in the routes the next connection subscribes before it reports itself up.
                link.topic_handled();
                subscribed?;
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

/// Hands `message` to the receiver of its pattern, else of its channel; drops it when that receiver is full.
fn deliver(routes: &Routes, message: redis::Msg, behind: &mut Behind, metrics: &ClusterMetrics) {
    let topic = match message.get_pattern::<Option<String>>() {
        Ok(Some(pattern)) => Topic::Pattern(pattern),
        _ => Topic::Channel(message.get_channel_name().to_string()),
    };
    let sender = routes
        .lock()
        .ok()
        .and_then(|routes| routes.get(&topic).cloned());
    let Some(sender) = sender else { return };
    let sent = sender.try_send(Message {
        channel: message.get_channel_name().to_string(),
        payload: Bytes::copy_from_slice(message.get_payload_bytes()),
    });
    match sent {
        Ok(()) => behind.caught_up(&topic),
        Err(mpsc::error::TrySendError::Full(_)) => behind.dropped(&topic, metrics),
        // The receiver is gone (its user stopped): nothing to count.
        Err(mpsc::error::TrySendError::Closed(_)) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::test_redis::TestRedis;

    async fn publish(redis: &mut redis::aio::MultiplexedConnection, channel: &str, text: &str) {
        let _: usize = redis::cmd("PUBLISH")
            .arg(channel)
            .arg(text)
            .query_async(redis)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_full_receiver_loses_its_messages_counted_and_the_others_still_get_theirs() {
        let redis = TestRedis::start();
        let link = RedisLink::new(&redis.url()).unwrap();
        let metrics = ClusterMetrics::default();
        let subscriptions = Subscriptions::with_capacity(link, metrics.clone(), 4);
        let mut slow = subscriptions.subscribe(Topic::Channel("slow".into()));
        let mut fast = subscriptions.subscribe(Topic::Channel("fast".into()));
        let mut commands = redis.connection().await;
        for _ in 0..500 {
            let counts: Vec<(String, usize)> = redis::cmd("PUBSUB")
                .arg("NUMSUB")
                .arg("slow")
                .arg("fast")
                .query_async(&mut commands)
                .await
                .unwrap();
            if counts.iter().all(|(_, n)| *n == 1) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }

        for n in 0..10 {
            publish(&mut commands, "slow", &n.to_string()).await;
        }
        publish(&mut commands, "fast", "still read").await;
        let payload = next_payload(&mut fast, "the reading goes on past a full receiver").await;
        assert_eq!(&payload[..], b"still read");
        assert_eq!(metrics.messages_dropped.get(), 6, "10 sent, 4 held");

        let mut held = Vec::new();
        while let Ok(message) = slow.try_recv() {
            held.push(String::from_utf8(message.payload.to_vec()).unwrap());
        }
        assert_eq!(held, ["0", "1", "2", "3"], "the first ones wait, in order");
        publish(&mut commands, "slow", "again").await;
        let payload = next_payload(&mut slow, "a message after catching up").await;
        assert_eq!(
            &payload[..],
            b"again",
            "a receiver that caught up gets new ones"
        );
        assert_eq!(metrics.messages_dropped.get(), 6);
    }

    /// The payload of the next message on `receiver` (within 2 s; `what` names it when none comes).
    async fn next_payload(receiver: &mut mpsc::Receiver<Message>, what: &str) -> Bytes {
        tokio::time::timeout(Duration::from_secs(2), receiver.recv())
            .await
            .unwrap_or_else(|_| panic!("no message within 2 s: {what}"))
            .expect("the subscriptions still run")
            .payload
    }

    /// How many subscribers Redis counts on `channel`.
    async fn subscribers(redis: &mut redis::aio::MultiplexedConnection, channel: &str) -> usize {
        let counts: Vec<(String, usize)> = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(channel)
            .query_async(redis)
            .await
            .unwrap();
        counts.first().map_or(0, |(_, n)| *n)
    }

    /// Waits (up to 5 s) until `link` reports every registered topic subscribed.
    async fn until_subscribed(link: &RedisLink) {
        let started = tokio::time::Instant::now();
        while !link.is_subscribed() {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "not subscribed within 5 s"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// A fresh Redis, and subscriptions to it that are up with `channel` subscribed (its receiver kept open).
    async fn subscribed_to(
        channel: &str,
    ) -> (TestRedis, RedisLink, Subscriptions, mpsc::Receiver<Message>) {
        let redis = TestRedis::start();
        let link = RedisLink::new(&redis.url()).unwrap();
        let subscriptions = Subscriptions::start(link.clone(), ClusterMetrics::default());
        let receiver = subscriptions.subscribe(Topic::Channel(channel.into()));
        until_subscribed(&link).await;
        (redis, link, subscriptions, receiver)
    }

    #[tokio::test]
    async fn a_topic_registered_later_holds_readiness_until_redis_answers_its_subscribe() {
        let (redis, link, subscriptions, _first) = subscribed_to("first").await;

        let mut later = subscriptions.subscribe(Topic::Channel("later".into()));
        assert!(
            !link.is_subscribed(),
            "a topic not yet subscribed keeps the link from reporting itself up"
        );
        until_subscribed(&link).await;
        // Ready means subscribed: what is published now arrives.
        let mut commands = redis.connection().await;
        assert_eq!(subscribers(&mut commands, "later").await, 1);
        publish(&mut commands, "later", "arrives").await;
        let payload = next_payload(&mut later, "a message published once the link is up").await;
        assert_eq!(&payload[..], b"arrives");
    }

    #[tokio::test]
    async fn every_loss_of_a_connection_that_served_is_followed_by_a_prompt_reconnection() {
        let (redis, link, _subscriptions, _news) = subscribed_to("news").await;
        let mut commands = redis.connection().await;
        // Each loss would double the wait before reconnecting (0.1, 0.2, 0.4, 0.8, 1.6, 3.2 s) if the backoff
        // never started over after a connection had served.
        for loss in 1..=6 {
            let killed: usize = redis::cmd("CLIENT")
                .arg("KILL")
                .arg("TYPE")
                .arg("pubsub")
                .query_async(&mut commands)
                .await
                .unwrap();
            assert_eq!(killed, 1, "loss {loss}: the subscription connection");
            let started = tokio::time::Instant::now();
            while subscribers(&mut commands, "news").await == 0 {
                assert!(
                    started.elapsed() < Duration::from_millis(900),
                    "loss {loss}: not subscribed again within 0.9 s"
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            until_subscribed(&link).await;
        }
    }
}
