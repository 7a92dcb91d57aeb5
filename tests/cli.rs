//! The `iogate` binary: `example-config`, `check`, running with `--listen` or `run`, config errors, SIGTERM.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_iogate");

/// A config that is valid as long as the listen line is.
const VALID: &str = "[[endpoint]]\npath = \"/engine.io\"\nprotocol = \"engine.io\"\nwebhook = \"http://127.0.0.1:5000/hook\"\n";

/// Writes `text` to a fresh file named after `name` and returns its path.
fn write_config(name: &str, text: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(format!("{name}-{}.toml", std::process::id()));
    std::fs::write(&path, text).expect("write config");
    path
}

fn iogate(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("iogate runs")
}

/// A loopback port that was free a moment ago.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

/// A running iogate process, killed if the test ends without stopping it.
struct Gateway {
    child: Child,
    port: u16,
}

impl Gateway {
    fn spawn(args: &[&str], port: u16) -> Self {
        let child = Command::new(BIN)
            .args(args)
            .env_remove("RUST_LOG")
            .env_remove("PORT")
            .env_remove("ASPNETCORE_PORT")
            .env_remove("HTTP_PLATFORM_PORT")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("iogate starts");
        Self { child, port }
    }

    /// `GET path` over a fresh connection; `None` while nothing answers.
    fn get(&self, path: &str) -> Option<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        Some(response)
    }

    /// Waits until `GET /healthz` answers `200 ok`; panics after 10 s or if the process exits.
    fn wait_healthy(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(response) = self.get("/healthz") {
                assert!(response.starts_with("HTTP/1.1 200"), "{response}");
                assert!(response.ends_with("\r\n\r\nok"), "{response}");
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("iogate exited early with {status}");
            }
            assert!(Instant::now() < deadline, "iogate never became healthy");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends SIGTERM and waits up to 5 s for the exit.
    fn terminate(&mut self) -> ExitStatus {
        let sent = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "iogate still running 5 s after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[test]
fn example_config_passes_check() {
    let printed = iogate(&["example-config"]);
    assert!(printed.status.success());
    let text = String::from_utf8(printed.stdout).expect("UTF-8");
    assert!(text.contains("[[endpoint]]"), "{text}");
    let path = write_config("example", &text);
    let checked = iogate(&["check", "--config", path.to_str().unwrap()]);
    assert_eq!(
        checked.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    assert!(checked.stderr.is_empty());
}

/// Runs `check` and the default command on a bad config; each exits 2 with one stderr line holding every `needle`.
fn assert_rejected(path: &Path, needles: &[&str]) {
    let file = path.to_str().unwrap();
    for args in [
        vec!["check", "--config", file],
        vec!["--config", file],
        vec!["run", "--config", file],
    ] {
        let output = iogate(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{args:?}: exactly one line: {stderr:?}");
        assert!(
            lines[0].contains(file),
            "{args:?}: names the file: {stderr}"
        );
        for needle in needles {
            assert!(
                lines[0].contains(needle),
                "{args:?}: names {needle}: {stderr}"
            );
        }
    }
}

#[test]
fn unknown_key_exits_2_naming_file_and_key() {
    let path = write_config("unknown-key", &format!("{VALID}pingg_interval = \"1s\"\n"));
    assert_rejected(&path, &["endpoint[0].pingg_interval"]);
}

#[test]
fn bad_duration_exits_2_naming_file_and_key() {
    let path = write_config(
        "bad-duration",
        &format!("{VALID}ping_interval = \"often\"\n"),
    );
    assert_rejected(&path, &["endpoint[0].ping_interval", "often"]);
}

#[test]
fn missing_environment_variable_exits_2_naming_file_key_and_variable() {
    let path = write_config(
        "missing-var",
        &format!("{VALID}secret = \"${{IOGATE_CLI_TEST_SURELY_UNSET}}\"\n"),
    );
    assert_rejected(
        &path,
        &["endpoint[0].secret", "IOGATE_CLI_TEST_SURELY_UNSET"],
    );
}

#[test]
fn toml_syntax_error_exits_2_naming_file_and_line() {
    let path = write_config("syntax", &format!("{VALID}[server\nlisten = 1\n"));
    assert_rejected(&path, &["line 5"]);
}

#[test]
fn invalid_value_exits_2_naming_file_and_key() {
    let path = write_config(
        "bad-webhook",
        "[[endpoint]]\npath = \"/e\"\nprotocol = \"engine.io\"\nwebhook = \"ftp://x\"\n",
    );
    assert_rejected(&path, &["endpoint[0].webhook"]);
}

#[test]
fn missing_file_exits_2_naming_the_file() {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli/does-not-exist.toml");
    assert_rejected(&path, &["cannot read"]);
}

#[test]
fn listen_flag_overrides_the_file_and_sigterm_exits_0() {
    let printed = iogate(&["example-config"]);
    let path = write_config("listen-flag", &String::from_utf8_lossy(&printed.stdout));
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut gateway = Gateway::spawn(
        &["--config", path.to_str().unwrap(), "--listen", &listen],
        port,
    );
    gateway.wait_healthy();
    let ready = gateway.get("/readyz").expect("readyz answers");
    assert!(ready.starts_with("HTTP/1.1 200"), "{ready}");
    let status = gateway.terminate();
    assert_eq!(status.code(), Some(0), "{status}");
}

#[test]
fn run_subcommand_listens_where_the_file_says_and_sigterm_exits_0() {
    let port = free_port();
    let path = write_config(
        "run",
        &format!("[server]\nlisten = \"127.0.0.1:{port}\"\nshutdown_timeout = \"2s\"\n{VALID}"),
    );
    let mut gateway = Gateway::spawn(&["run", "--config", path.to_str().unwrap()], port);
    gateway.wait_healthy();
    let started = Instant::now();
    let status = gateway.terminate();
    assert_eq!(status.code(), Some(0), "{status}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn sigterm_with_open_sessions_exits_0_within_the_shutdown_limit() {
    let port = free_port();
    // The webhook points at a port nothing listens on: sessions need no backend when hooks are off.
    let path = write_config(
        "sessions",
        &format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\nshutdown_timeout = \"2s\"\n{VALID}\
             hooks = {{ connect = false, disconnect = false }}\n"
        ),
    );
    let mut gateway = Gateway::spawn(&["--config", path.to_str().unwrap()], port);
    gateway.wait_healthy();
    let open = gateway
        .get("/engine.io/?EIO=4&transport=polling")
        .expect("handshake answers");
    assert!(open.starts_with("HTTP/1.1 200"), "{open}");
    assert!(open.contains("\r\n\r\n0{\"sid\""), "{open}");
    let started = Instant::now();
    let status = gateway.terminate();
    assert_eq!(status.code(), Some(0), "{status}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn sigterm_gives_undeliverable_close_hooks_until_the_shutdown_limit_then_exits_0() {
    let port = free_port();
    let dead = free_port();
    let path = write_config(
        "undeliverable",
        &format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\nshutdown_timeout = \"1s\"\n\
             [[endpoint]]\npath = \"/engine.io\"\nprotocol = \"engine.io\"\n\
             webhook = \"http://127.0.0.1:{dead}/hook\"\nhooks = {{ connect = false }}\n"
        ),
    );
    let mut gateway = Gateway::spawn(&["--config", path.to_str().unwrap()], port);
    gateway.wait_healthy();
    let open = gateway
        .get("/engine.io/?EIO=4&transport=polling")
        .expect("handshake answers");
    assert!(open.starts_with("HTTP/1.1 200"), "{open}");
    let started = Instant::now();
    let status = gateway.terminate();
    let took = started.elapsed();
    assert_eq!(status.code(), Some(0), "{status}");
    assert!(
        took >= Duration::from_millis(800),
        "the close hook was given up at once ({took:?})"
    );
    assert!(took < Duration::from_secs(3), "shutdown took {took:?}");
}
