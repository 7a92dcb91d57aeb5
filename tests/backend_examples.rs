//! The backend examples of `examples/` (Flask in `examples/python`, Express in `examples/node`), each run as a
//! real process behind the real iogate binary, with a real socket.io-client: the example verifies the webhook
//! signature (and refuses a request without a valid one), accepts the connect (`welcome`), answers a `chat` event
//! with an ack and an emit, and broadcasts an `announcement` through iogate's push API when its own
//! `POST /announce` is called.

use crate::common;
use common::iogate_process::{IogateProcess, capture_output};
use common::{node, scratch};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SECRET: &str = "example-webhook-secret";
const TOKEN: &str = "example-api-token";

/// An example backend running as a child process, killed when dropped.
struct ExampleBackend {
    child: Child,
    output: Arc<Mutex<Vec<u8>>>,
    port: u16,
}

impl Drop for ExampleBackend {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ExampleBackend {
    /// Runs `program script` with the environment the example's README names; waits until its port accepts.
    async fn start(program: &str, script: &Path, api_port: u16) -> Self {
        let port = scratch::free_port();
        let mut child = Command::new(program)
            .arg(script)
            .current_dir(script.parent().expect("the example's folder"))
            .env("PORT", port.to_string())
            .env("IOGATE_WEBHOOK_SECRET", SECRET)
            .env("IOGATE_API", format!("http://127.0.0.1:{api_port}"))
            .env("IOGATE_API_TOKEN", TOKEN)
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program} {}: {e}", script.display()));
        let output = capture_output(&mut child);
        let mut backend = Self {
            child,
            output,
            port,
        };
        backend.wait_listening(program, script).await;
        backend
    }

    async fn wait_listening(&mut self, program: &str, script: &Path) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .is_err()
        {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{program} {} exited ({status}):\n{}",
                    script.display(),
                    self.output()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{program} {} did not listen on {}:\n{}",
                script.display(),
                self.port,
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn output(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap()).into_owned()
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

fn example(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(path)
}

/// Starts iogate in front of the backend `program script` and checks the whole round trip with a real
/// socket.io-client in `mode`.
async fn round_trip(program: &str, script: &Path, mode: &str) {
    let api_port = scratch::free_port();
    let backend = ExampleBackend::start(program, script, api_port).await;
    let config = format!(
        "[api]\nlisten = \"127.0.0.1:{api_port}\"\ntoken = \"{TOKEN}\"\n\
         [[endpoint]]\npath = \"/socket.io\"\nwebhook = \"{}\"\nsecret = \"{SECRET}\"\n",
        backend.url("/iogate")
    );
    let iogate = IogateProcess::start(&config, &[]).await;
    let http = common::eio::http();

    // Unsigned and wrongly signed hooks are refused by the example.
    let body = r#"{"type":"connect","endpoint":"/socket.io","namespace":"/","sid":"x","data":null,"rooms":[],"auth":{}}"#;
    for signature in [None, Some("t=1,v1=00"), Some("garbage")] {
        let mut request = http.post(backend.url("/iogate")).body(body);
        if let Some(signature) = signature {
            request = request.header("x-iogate-signature", signature);
        }
        let answer = request.send().await.expect("the example answers");
        assert_eq!(
            answer.status(),
            401,
            "signature {signature:?}: {}",
            backend.output()
        );
    }

    let url = format!("http://127.0.0.1:{}/socket.io/", iogate.port);
    let mut client = node::spawn("socketio/example_backend.js", &[&url, mode]);
    client
        .line_starting("READY ", Duration::from_secs(20))
        .await;
    let announced = http
        .post(backend.url("/announce"))
        .header("content-type", "application/json")
        .body(json!({"text": "news for the lobby"}).to_string())
        .send()
        .await
        .expect("the example's /announce answers");
    assert_eq!(announced.status(), 200, "{}", backend.output());
    let announced: Value =
        serde_json::from_str(&announced.text().await.expect("a body")).expect("JSON");
    assert_eq!(announced, json!({"sockets": 1}), "{}", backend.output());
    let run = client.finish(Duration::from_secs(20)).await;
    if run.code != Some(0) {
        panic!(
            "client failed: {run:?}\n--- backend\n{}\n--- iogate\n{}",
            backend.output(),
            iogate.text()
        );
    }
    let result = run.result();
    assert_eq!(result["welcome"], json!(["hello ada"]), "{result}");
    assert_eq!(result["ack"], json!(["received"]), "{result}");
    assert_eq!(result["chat"], json!(["ada", "hi"]), "{result}");
    assert_eq!(
        result["announcement"],
        json!(["news for the lobby"]),
        "{result}"
    );
    if mode == "upgrade" {
        assert_eq!(result["transport"], "websocket", "{result}");
    }
}

/// Fails, naming the command that installs it, unless Flask can be imported by `python3`.
fn assert_flask_installed() {
    let probe = Command::new(common::python::PYTHON)
        .args(["-c", "import flask"])
        .output()
        .expect("python3 runs");
    assert!(
        probe.status.success(),
        "Flask is not installed: run `python3 -m pip install -r examples/python/requirements.txt` ({})",
        String::from_utf8_lossy(&probe.stderr).trim()
    );
}

#[tokio::test]
async fn the_flask_example_verifies_accepts_answers_and_pushes() {
    assert_flask_installed();
    round_trip(common::python::PYTHON, &example("python/app.py"), "upgrade").await;
}

#[tokio::test]
async fn the_express_example_verifies_accepts_answers_and_pushes() {
    let modules = example("node/node_modules");
    assert!(
        modules.join("express").is_dir(),
        "{} is missing: run `npm ci --prefix examples/node` first",
        modules.display()
    );
    round_trip("node", &example("node/app.js"), "polling").await;
}
