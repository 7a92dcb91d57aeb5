//! The DevTools harness itself (tests/common/cdp.rs) against a static page: two tabs with their own state, the
//! DOM read back, a bounded wait for something the page does later, an exception reported as an error, and a
//! screenshot written as a PNG. Needs Chromium.

use crate::common;
use common::browser::Site;
use common::cdp::Chromium;
use serde_json::json;
use std::time::Duration;

const PAGE: &str = r#"<!doctype html>
<html><head><title>harness</title></head>
<body style="font: 24px sans-serif; background: #fff">
<h1 id="greeting">Hello</h1>
<p id="later"></p>
<script>
  const tag = new URLSearchParams(location.search).get('tag');
  document.getElementById('greeting').textContent = 'Hello ' + tag;
  setTimeout(() => { document.getElementById('later').textContent = 'ready'; }, 300);
  console.log('page', tag, 'loaded');
</script>
</body></html>"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tabs_evaluate_wait_and_screenshot() {
    let site = Site::start(vec![(
        "/page.html",
        "text/html; charset=utf-8",
        PAGE.as_bytes().to_vec(),
    )])
    .await;
    let chromium = Chromium::start().await;
    let first = chromium.open(&site.url("/page.html?tag=one")).await;
    let second = chromium.open(&site.url("/page.html?tag=two")).await;
    assert!(chromium.tab_count().await >= 2);

    assert_eq!(first.eval("document.title").await, json!("harness"));
    assert_eq!(
        first
            .eval("document.getElementById('greeting').textContent")
            .await,
        json!("Hello one")
    );
    assert_eq!(
        second
            .eval("document.getElementById('greeting').textContent")
            .await,
        json!("Hello two")
    );
    assert_eq!(second.eval("Promise.resolve(40 + 2)").await, json!(42));
    assert_eq!(
        first.eval("({a: [1, null], b: 'x'})").await,
        json!({"a": [1, null], "b": "x"})
    );

    second
        .wait_for(
            "document.getElementById('later').textContent === 'ready'",
            Duration::from_secs(10),
        )
        .await;
    let error = first
        .try_eval("(() => { throw new Error('boom') })()")
        .await
        .expect_err("an exception is an error");
    assert!(error.contains("boom"), "{error}");
    assert!(
        first
            .console()
            .iter()
            .any(|line| line.contains("page one loaded")),
        "{:?}",
        first.console()
    );

    let path = second.screenshot("cdp_harness").await;
    let png = std::fs::read(&path).expect("the screenshot file");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(png.len() > 1000, "an empty screenshot: {} bytes", png.len());
}
