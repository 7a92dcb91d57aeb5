//! The demo's chat page in headless Chromium: two tabs of `iogate demo` (a real process), each upgrading from
//! long-polling to WebSocket with the page's own Socket.IO client; a message typed in one shows in the other,
//! a room switch reaches the other tab, the backend's webhook log fills, pings are answered, and a dropped
//! connection comes back recovered. Screenshots go to `target/screenshots/demo.png` (and `demo_second_tab.png`).
//! Needs Chromium.

use crate::common;
use common::cdp::{Chromium, Tab};
use common::demo::Demo;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(15);

/// `#id`'s text as a JavaScript expression.
fn text_of(id: &str) -> String {
    format!("document.getElementById('{id}').textContent")
}

/// Types `text` into the message box of `tab` and sends it.
async fn say(tab: &Tab, text: &str) {
    tab.eval(&format!(
        "document.getElementById('text').value = {text:?}; document.getElementById('send-form').requestSubmit()"
    ))
    .await;
}

/// Waits until a chat line holding `text` shows in `tab`.
async fn shows_line(tab: &Tab, text: &str) {
    tab.wait_for(
        &format!(
            "[...document.querySelectorAll('#messages .chat .text')].some((span) => span.textContent === {text:?})"
        ),
        WAIT,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tabs_chat_over_websocket_after_the_upgrade() {
    let demo = Demo::start();
    let chromium = Chromium::start().await;
    let alice = chromium
        .open(&format!("{}?name=alice", demo.chat_url))
        .await;
    let bob = chromium.open(&format!("{}?name=bob", demo.chat_url)).await;

    for tab in [&alice, &bob] {
        tab.wait_for(&format!("{} === 'connected'", text_of("state")), WAIT)
            .await;
        tab.wait_for(&format!("{} === 'websocket'", text_of("transport")), WAIT)
            .await;
        tab.wait_for(&format!("{}.startsWith('lobby')", text_of("room")), WAIT)
            .await;
    }
    assert_eq!(
        alice.eval(&text_of("transport-history")).await,
        "transport: polling → websocket",
        "the page shows the upgrade"
    );

    say(&alice, "hello from the first tab").await;
    shows_line(&bob, "hello from the first tab").await;
    shows_line(&alice, "hello from the first tab").await;
    bob.wait_for(
        "[...document.querySelectorAll('#log .event .summary')].some((span) => span.textContent.includes('hello from the first tab'))",
        WAIT,
    )
    .await;
    alice
        .wait_for(
            "[...document.querySelectorAll('#log .connect .summary')].some((span) => span.textContent.startsWith('bob connects to /'))",
            WAIT,
        )
        .await;

    bob.eval("document.querySelector('#room-buttons [data-room=\"rust\"]').click()")
        .await;
    bob.wait_for(&format!("{} === 'rust (1 here)'", text_of("room")), WAIT)
        .await;
    alice
        .eval("document.querySelector('#room-buttons [data-room=\"rust\"]').click()")
        .await;
    alice
        .wait_for(&format!("{} === 'rust (2 here)'", text_of("room")), WAIT)
        .await;
    bob.wait_for(
        "[...document.querySelectorAll('#messages .notice')].some((li) => li.textContent.includes('alice joined rust'))",
        WAIT,
    )
    .await;
    say(&bob, "rust is quieter").await;
    shows_line(&alice, "rust is quieter").await;

    // The demo pings every 5 s and closes a session whose pong has not come 5 s later: still the same socket
    // after 12 s means the page's client answered its pings.
    let sid = alice.eval("demoSocket.id").await;
    tokio::time::sleep(Duration::from_secs(12)).await;
    assert_eq!(alice.eval("demoSocket.id").await, sid);
    assert_eq!(alice.eval(&text_of("state")).await, "connected");
    assert_eq!(alice.eval(&text_of("transport")).await, "websocket");

    // A dropped WebSocket: the page reconnects and the socket is recovered (same id, still in its room), and
    // what is said meanwhile reaches it.
    alice.eval("demoSocket.session.socket.close()").await;
    say(&bob, "said while alice was away").await;
    alice
        .wait_for(&format!("{} === 'recovered'", text_of("state")), WAIT)
        .await;
    assert_eq!(alice.eval("demoSocket.id").await, sid);
    shows_line(&alice, "said while alice was away").await;
    alice
        .wait_for(&format!("{} === 'websocket'", text_of("transport")), WAIT)
        .await;
    say(&bob, "welcome back").await;
    shows_line(&alice, "welcome back").await;

    for tab in [&alice, &bob] {
        let uncaught: Vec<String> = tab
            .console()
            .into_iter()
            .filter(|line| line.starts_with("uncaught"))
            .collect();
        assert!(uncaught.is_empty(), "{uncaught:?}");
    }
    alice.screenshot("demo").await;
    bob.screenshot("demo_second_tab").await;
}
