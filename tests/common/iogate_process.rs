//! The real `iogate` binary as a child process, as an operator runs it: a config file, `--listen` on a free port,
//! and everything it writes to stdout and stderr collected (raw bytes, so escape codes would show) through pipes,
//! as a service manager, `docker logs` or IIS's stdout log file would take it.

use super::scratch;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running iogate, killed when dropped.
pub struct IogateProcess {
    child: Child,
    output: Arc<Mutex<Vec<u8>>>,
    /// The port of the public listener.
    pub port: u16,
    /// Its directory (the config file is there).
    pub dir: PathBuf,
}

impl IogateProcess {
    /// Starts iogate with `config` (TOML; `--listen` picks the port), `env` added to the environment (`RUST_LOG`
    /// and `NO_COLOR` removed first), and waits until `/healthz` answers.
    pub async fn start(config: &str, env: &[(&str, &str)]) -> Self {
        let dir = scratch::fresh_dir("iogate-process");
        let config_path = dir.join("iogate.toml");
        std::fs::write(&config_path, config).expect("write the config");
        let port = scratch::free_port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_iogate"));
        command
            .arg("--config")
            .arg(&config_path)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .env_remove("RUST_LOG")
            .env_remove("NO_COLOR")
            .env_remove("PORT")
            .env_remove("ASPNETCORE_PORT")
            .env_remove("HTTP_PLATFORM_PORT")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("iogate starts");
        let output = capture_output(&mut child);
        let mut process = Self {
            child,
            output,
            port,
            dir,
        };
        process.wait_healthy().await;
        process
    }

    async fn wait_healthy(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        let url = format!("http://127.0.0.1:{}/healthz", self.port);
        loop {
            if reqwest::get(&url).await.is_ok_and(|r| r.status() == 200) {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("iogate exited ({status}): {}", self.text());
            }
            assert!(
                Instant::now() < deadline,
                "iogate did not start: {}",
                self.text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Every byte written so far to stdout and stderr.
    pub fn bytes(&self) -> Vec<u8> {
        self.output.lock().unwrap().clone()
    }

    /// The output so far as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes()).into_owned()
    }

    /// The lines written so far.
    pub fn lines(&self) -> Vec<String> {
        self.text().lines().map(str::to_string).collect()
    }

    /// Waits up to `limit` for a line holding `marker`; returns every line so far.
    pub async fn wait_for_line(&self, marker: &str, limit: Duration) -> Vec<String> {
        let deadline = Instant::now() + limit;
        loop {
            let lines = self.lines();
            if lines.iter().any(|line| line.contains(marker)) {
                return lines;
            }
            assert!(
                Instant::now() < deadline,
                "no line with {marker:?} within {limit:?}: {lines:#?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for IogateProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Collects everything `child` writes to its stdout and stderr (both piped) into one buffer, from reader
/// threads that end with the pipes.
pub fn capture_output(child: &mut Child) -> Arc<Mutex<Vec<u8>>> {
    let output = Arc::new(Mutex::new(Vec::new()));
    let stdout = child
        .stdout
        .take()
        .map(|p| Box::new(p) as Box<dyn Read + Send>);
    let stderr = child
        .stderr
        .take()
        .map(|p| Box::new(p) as Box<dyn Read + Send>);
    for mut pipe in [stdout, stderr].into_iter().flatten() {
        let sink = output.clone();
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(read) = pipe.read(&mut buffer) {
                if read == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buffer[..read]);
            }
        });
    }
    output
}
