//! Logs: `--log-format json` writes one JSON object per line, and each request's log line carries the session id
//! and IIS's `X-ARR-LOG-ID` (at debug level, chosen with `RUST_LOG`).

mod common;

use common::Backend;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Gateway(Child);

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn json_logs_carry_the_session_id_and_the_arr_log_id() {
    let backend = Backend::echo().await;
    let port = free_port();
    let config = std::env::temp_dir().join(format!("iogate-logging-{}.toml", std::process::id()));
    std::fs::write(
        &config,
        format!(
            "[[endpoint]]\npath = \"/engine.io\"\nprotocol = \"engine.io\"\nwebhook = \"{}\"\n",
            backend.url()
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_iogate"))
        .args([
            "--config",
            config.to_str().unwrap(),
            "--log-format",
            "json",
            "--listen",
        ])
        .arg(format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "iogate=debug")
        .stderr(Stdio::piped())
        .spawn()
        .expect("iogate starts");
    let stderr = child.stderr.take().unwrap();
    let _gateway = Gateway(child);
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    let base = format!("http://127.0.0.1:{port}/engine.io/");
    let started = Instant::now();
    let (sid, _) = loop {
        if reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
            .await
            .is_ok()
        {
            break common::eio::handshake(&base).await;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "iogate did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let answer = common::eio::http()
        .post(common::eio::poll_url(&base, &sid))
        .header("x-arr-log-id", "7f3c9a2e-0000-4000-8000-000000000001")
        .body("4hello")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let found = lines
            .lock()
            .unwrap()
            .iter()
            .find(|line| line.contains("request served") && line.contains("7f3c9a2e"))
            .cloned();
        if let Some(line) = found {
            let entry: serde_json::Value =
                serde_json::from_str(&line).expect("each log line is JSON");
            let span = &entry["span"];
            assert_eq!(span["sid"], sid.as_str(), "{line}");
            assert_eq!(
                span["arr_log_id"], "7f3c9a2e-0000-4000-8000-000000000001",
                "{line}"
            );
            assert_eq!(entry["fields"]["status"], 200, "{line}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no request log line: {:?}",
            lines.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        lines
            .lock()
            .unwrap()
            .iter()
            .all(|line| serde_json::from_str::<serde_json::Value>(line).is_ok())
    );
    let _ = std::fs::remove_file(config);
}
