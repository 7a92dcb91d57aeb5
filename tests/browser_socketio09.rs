//! Socket.IO 0.9 pages in a real browser: headless Chromium loads a page with the 0.9 client's browser build
//! (`socket.io.js` from the npm package, as old IIS apps ship it) that calls `io.connect(gateway, {resource:
//! 'myApp/server.js'})` from another origin, over each transport a browser uses: WebSocket, xhr-polling (CORS
//! with credentials) and jsonp-polling (script tags and form posts into an iframe). What the page saw comes back
//! as a `result` event through the gateway's webhooks. Needs Chromium and `npm ci --prefix tests/clients`.

use crate::common;
use common::browser::{Browser, Site};
use common::sio_backend;
use common::{Backend, Gateway, node};
use serde_json::{Value, json};
use std::time::Duration;

const RESOURCE: &str = "myApp/server.js";

/// The page and the 0.9 client's browser build, served from their own origin.
async fn site() -> Site {
    let clients = node::clients_dir();
    let script = clients.join("node_modules/socket.io-client-v09/dist/socket.io.js");
    let script = std::fs::read(&script).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: run `npm ci --prefix tests/clients` first",
            script.display()
        )
    });
    let page = std::fs::read(clients.join("socketio09/page.html")).expect("page.html");
    Site::start(vec![
        ("/page.html", "text/html; charset=utf-8", page),
        ("/socket.io.js", "application/javascript", script),
    ])
    .await
}

async fn page_scenario(mode: &str) {
    let site = site().await;
    let origin = site.url("");
    let (backend, gateway): (Backend, Gateway) = sio_backend::start(&format!(
        "resource = \"{RESOURCE}\"\ncors_origins = [\"{origin}\"]"
    ))
    .await;
    let name = mode.replace('-', "_");
    let url = site.url(&format!(
        "/page.html?gateway={}&resource={RESOURCE}&mode={mode}&name={name}",
        gateway.url("")
    ));
    let browser = Browser::open(&url);
    let result = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let found = backend
                .hooks_of("event")
                .into_iter()
                .find(|hook| hook.body["event"] == "result");
            if let Some(hook) = found {
                return hook.body;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "the page reported nothing within 30 s; hooks: {:#?}",
            backend.hooks()
        )
    });
    drop(browser);

    let report = &result["args"][0];
    assert_eq!(report["version"], "0.9.17");
    assert_eq!(report["errors"], json!([]), "{report}");
    assert_eq!(report["transport"], mode, "{report}");
    assert_eq!(report["welcome"], json!({"name": name, "namespace": "/"}));
    assert_eq!(report["shout"], json!(["HÉLLO € 😀", 9]));
    assert_eq!(report["add"], 42);
    assert_eq!(
        report["echo"],
        json!(["from the page", {"nested": [1, null]}])
    );

    let connect = backend.hooks_of("connect").remove(0).body;
    assert_eq!(connect["handshake"]["protocol"], 1);
    assert_eq!(connect["auth"], json!({"token": "good", "name": name}));
    let headers = &connect["handshake"]["headers"];
    assert_eq!(
        headers["origin"],
        Value::String(origin),
        "a cross-origin page"
    );
    assert!(
        headers["user-agent"]
            .as_str()
            .is_some_and(|ua| ua.contains("Chrome")),
        "{headers}"
    );
}

#[tokio::test]
async fn a_09_page_in_chromium_over_websocket() {
    page_scenario("websocket").await;
}

#[tokio::test]
async fn a_09_page_in_chromium_over_xhr_polling() {
    page_scenario("xhr-polling").await;
}

#[tokio::test]
async fn a_09_page_in_chromium_over_jsonp_polling() {
    page_scenario("jsonp-polling").await;
}
