//! `iogate demo`: the real binary with its built-in backend, driven by real socket.io-client users; the chat page
//! is served by the demo only.

use crate::common;
use common::demo::Demo;
use common::node;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_crosses_rooms_switch_and_the_webhook_log_arrives() {
    let mut demo = Demo::start();
    for mode in ["upgrade", "polling", "websocket"] {
        let url = demo.socketio_url();
        let run = node::run(
            "socketio/demo_chat.js",
            &[&url, mode],
            Duration::from_secs(30),
        )
        .await;
        run.assert_success();
        let result = run.result();
        let expected_transport = if mode == "polling" {
            "polling"
        } else {
            "websocket"
        };
        assert_eq!(result["transport"], expected_transport, "{mode}: {result}");
        for kinds in [&result["aliceLogKinds"], &result["bobLogKinds"]] {
            assert!(
                kinds.as_array().is_some_and(|kinds| ["connect", "event"]
                    .iter()
                    .all(|kind| kinds.iter().any(|k| k == kind))),
                "{mode}: {result}"
            );
        }
        assert!(
            result["aliceLogKinds"]
                .as_array()
                .is_some_and(|kinds| kinds.iter().any(|k| k == "disconnect")),
            "{mode}: {result}"
        );
        assert_eq!(result["signatures"], serde_json::json!(["verified"]));
    }
    assert!(demo.stop(), "the demo exits 0 on SIGTERM");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_printed_api_token_and_status_url_belong_to_the_run() {
    let demo = Demo::start();
    let client = reqwest::Client::new();
    let rooms = format!("{}/v1/rooms?endpoint=/socket.io", demo.api_url);
    let authorized = client
        .get(&rooms)
        .bearer_auth(&demo.token)
        .send()
        .await
        .expect("API answers");
    assert_eq!(authorized.status(), 200);
    let refused = client.get(&rooms).send().await.expect("API answers");
    assert_eq!(refused.status(), 401);
    assert_eq!(
        demo.status_url,
        format!("{}/status?token={}", demo.api_url, demo.token)
    );
    // The printed status URL opens the status page: it trades the token for a cookie and redirects.
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let opened = no_redirects
        .get(&demo.status_url)
        .send()
        .await
        .expect("status answers");
    assert!(opened.status().is_redirection(), "{}", opened.status());
    assert!(opened.headers().contains_key("set-cookie"));
    let snapshot = no_redirects
        .get(format!("{}/status.json", demo.api_url))
        .bearer_auth(&demo.token)
        .send()
        .await
        .expect("status.json answers")
        .text()
        .await
        .expect("status body");
    let snapshot: serde_json::Value = serde_json::from_str(&snapshot).expect("status JSON");
    assert!(snapshot["sessions"]["total"].is_u64(), "{snapshot}");
    assert_eq!(demo.token.len(), 32, "{}", demo.printed);
    assert_ne!(Demo::start().token, demo.token, "a token is made per run");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_is_served_by_the_demo_and_never_by_a_normal_run() {
    let demo = Demo::start();
    let page = reqwest::get(&demo.chat_url).await.expect("page answers");
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("/demo/client.js"), "{html}");
    let script = reqwest::get(format!("{}demo/client.js", demo.chat_url))
        .await
        .expect("script answers");
    assert_eq!(script.status(), 200);

    let gateway = common::Gateway::start(
        "[[endpoint]]\npath = \"/socket.io\"\nwebhook = \"http://127.0.0.1:9/hook\"\n",
    )
    .await;
    for path in ["/", "/demo/client.js"] {
        let answer = reqwest::get(gateway.url(path))
            .await
            .expect("gateway answers");
        assert_eq!(answer.status(), 404, "{path}");
    }
}
