//! `poll_coalesce`: a long-poll that has replies to send waits a bounded time for more while the backend is still
//! answering the client's events, so replies that come close together share one response, and no reply waits longer
//! than the bound.

use crate::common;
use common::sio::{self, SioPolling};
use common::{Backend, Hook, Reply};
use std::time::{Duration, Instant};

/// Answers every event with an ack of its arguments after the delay, in milliseconds, that its first argument
/// names.
fn ack_after_named_delay(hook: &Hook) -> Reply {
    if hook.event != "event" {
        return Reply::ok("");
    }
    let delay = hook.body["args"][0].as_u64().unwrap_or(0);
    Reply::ok(format!(r#"{{"ack":{}}}"#, hook.body["args"])).after(Duration::from_millis(delay))
}

/// A polling socket connected to `/` of a gateway with `poll_coalesce` set to `window`.
async fn connected_client(backend: &Backend, window: &str) -> (common::Gateway, SioPolling) {
    let gateway = sio::gateway(&backend.url(), &format!("poll_coalesce = \"{window}\"")).await;
    let client = SioPolling::open(&gateway).await;
    client.connect("/", None).await;
    (gateway, client)
}

/// The acks (`43...`) among the packets of one poll response.
fn acks(packets: &[String]) -> Vec<&str> {
    packets
        .iter()
        .filter(|packet| packet.starts_with("43"))
        .map(String::as_str)
        .collect()
}

#[tokio::test]
async fn replies_that_come_close_together_share_one_poll_response() {
    let backend = Backend::start(ack_after_named_delay).await;
    let (_gateway, client) = connected_client(&backend, "100ms").await;
    // Three events in one POST; the backend answers each 10 ms after it arrives, one after the other, so the
    // last ack comes about 20 ms after the first: inside the 100 ms window.
    client
        .send(&["421[\"wait\",10]", "422[\"wait\",10]", "423[\"wait\",10]"])
        .await;
    let started = Instant::now();
    let packets = client.poll_raw().await;
    let waited = started.elapsed();
    assert_eq!(
        acks(&packets),
        ["431[10]", "432[10]", "433[10]"],
        "all three acks in the first poll response: {packets:?}"
    );
    assert!(
        waited < Duration::from_millis(1500),
        "the poll waited {waited:?} for three replies 10 ms apart"
    );
}

#[tokio::test]
async fn a_reply_waits_no_longer_than_the_window_for_the_next_one() {
    let backend = Backend::start(ack_after_named_delay).await;
    let (_gateway, client) = connected_client(&backend, "100ms").await;
    // The first event is answered at once, the second 3 s later: the first ack must not wait for it.
    client
        .send(&["421[\"wait\",0]", "422[\"wait\",3000]"])
        .await;
    let started = Instant::now();
    let packets = client.poll_raw().await;
    let waited = started.elapsed();
    assert_eq!(acks(&packets), ["431[0]"], "first response: {packets:?}");
    assert!(
        waited < Duration::from_millis(2000),
        "the first ack waited {waited:?} for a reply 3 s away; the window is 100 ms"
    );
    let packets = client.poll_raw().await;
    assert_eq!(
        acks(&packets),
        ["432[3000]"],
        "second response: {packets:?}"
    );
}

#[tokio::test]
async fn a_zero_window_answers_with_the_first_reply() {
    let backend = Backend::start(ack_after_named_delay).await;
    let (_gateway, client) = connected_client(&backend, "0s").await;
    client
        .send(&["421[\"wait\",300]", "422[\"wait\",300]"])
        .await;
    let packets = client.poll_raw().await;
    assert_eq!(acks(&packets), ["431[300]"], "first response: {packets:?}");
    let packets = client.poll_raw().await;
    assert_eq!(acks(&packets), ["432[300]"], "second response: {packets:?}");
}
