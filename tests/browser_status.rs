//! The status page in a real browser: headless Chromium loads `/status?token=...` from the API listener (the
//! token is traded for a cookie and leaves the URL), the page's event stream fills it while test clients are
//! connected and emitting, and a screenshot is written to `target/screenshots/status.png`. Needs Chromium.

use crate::common;
use common::api::{API_TABLE, Client, TOKEN, Transport};
use common::cdp::Chromium;
use common::sio_backend;
use std::time::Duration;

fn auth(name: &str) -> String {
    format!(r#"{{"token":"good","name":"{name}"}}"#)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_shows_live_numbers() {
    let (_backend, gateway) = sio_backend::start(API_TABLE).await;
    let (mut ann, _) = Client::connected(&gateway, Transport::Ws, "/", Some(&auth("ann"))).await;
    let (mut bob, _) =
        Client::connected(&gateway, Transport::Polling, "/chat", Some(&auth("bob"))).await;
    let (mut cid, _) = Client::connected(&gateway, Transport::Ws, "/", Some(&auth("cid"))).await;
    ann.send(r#"42["join","lobby"]"#).await;
    cid.send(r#"42["join","lobby"]"#).await;
    bob.send(r#"42/chat,["join","lobby"]"#).await;
    let emitting = tokio::spawn(async move {
        for i in 0..3000 {
            ann.send(&format!(r#"42["seq",{i}]"#)).await;
            if i % 4 == 0 {
                cid.send(&format!(r#"42["seq",{i}]"#)).await;
            }
            tokio::time::sleep(Duration::from_millis(15)).await;
        }
    });

    let chromium = Chromium::start().await;
    let tab = chromium
        .open(&gateway.api_url(&format!("/status?token={TOKEN}")))
        .await;
    assert_eq!(
        tab.eval("location.pathname + location.search").await,
        "/status",
        "the token left the URL"
    );
    tab.wait_for(
        "Number(document.getElementById('sessions-total').textContent) >= 3",
        Duration::from_secs(20),
    )
    .await;
    tab.wait_for(
        "Number(document.getElementById('rate-events').textContent) > 0",
        Duration::from_secs(20),
    )
    .await;
    let first = tab
        .eval("document.getElementById('rate-events').textContent")
        .await;
    // The figure is live: it changes while the clients emit (rates vary from second to second).
    tab.wait_for(
        &format!(
            "document.getElementById('rate-events').textContent !== {first} && \
             Number(document.getElementById('rate-events').textContent) > 0"
        ),
        Duration::from_secs(20),
    )
    .await;
    assert_eq!(
        tab.eval("document.getElementById('live').textContent")
            .await,
        "live"
    );
    let webhook = tab
        .eval("document.querySelector('#webhooks tbody td.url')?.textContent ?? ''")
        .await;
    assert!(
        webhook
            .as_str()
            .is_some_and(|url| url.starts_with("http://127.0.0.1:")),
        "{webhook}"
    );
    let rooms = tab.eval("document.getElementById('rooms').innerText").await;
    assert!(
        rooms.as_str().is_some_and(|text| text.contains("lobby")),
        "{rooms}"
    );
    // Let a few seconds of history draw in the plots before the picture is taken.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let path = tab.screenshot("status").await;
    assert!(std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) > 10_000);
    assert!(
        tab.console()
            .iter()
            .all(|line| !line.starts_with("uncaught")),
        "{:?}",
        tab.console()
    );
    emitting.abort();
    drop(bob);
}
