//! Runs the real-client scripts of `tests/clients/` with Node, without blocking the test's runtime.

use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How a Node script ended.
#[derive(Debug)]
pub struct NodeRun {
    /// The command line, for messages.
    pub command: String,
    /// The exit code (`None` when killed by a signal or the time limit).
    pub code: Option<i32>,
    /// Whether it was killed for running past its time limit.
    pub timed_out: bool,
    /// Everything it printed on stdout.
    pub stdout: String,
    /// Everything it printed on stderr.
    pub stderr: String,
}

impl NodeRun {
    /// Panics with the script's output unless it exited 0.
    pub fn assert_success(&self) {
        assert!(
            !self.timed_out && self.code == Some(0),
            "`{}` failed (exit {:?}{}):\n--- stdout\n{}\n--- stderr\n{}",
            self.command,
            self.code,
            if self.timed_out {
                ", killed after its time limit"
            } else {
                ""
            },
            self.stdout,
            self.stderr
        );
    }

    /// The JSON of the script's `RESULT {...}` line.
    pub fn result(&self) -> Value {
        let line = self
            .stdout
            .lines()
            .find_map(|line| line.strip_prefix("RESULT "))
            .unwrap_or_else(|| {
                panic!(
                    "`{}` printed no RESULT line:\n{}",
                    self.command, self.stdout
                )
            });
        serde_json::from_str(line).unwrap_or_else(|e| panic!("bad RESULT line {line:?}: {e}"))
    }
}

/// `tests/clients/`, checked to hold its installed packages: a missing install fails the test, never skips it.
pub fn clients_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients");
    assert!(
        dir.join("node_modules").is_dir(),
        "{} is missing: run `npm ci --prefix tests/clients` first (the real-client tests need it)",
        dir.join("node_modules").display()
    );
    dir
}

/// Runs `node tests/clients/<script> <args...>`, killing it after `limit`.
pub async fn run(script: &str, args: &[&str], limit: Duration) -> NodeRun {
    let dir = clients_dir();
    let path = dir.join(script);
    assert!(path.is_file(), "no such client script: {}", path.display());
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || run_program("node", &dir, &path, &args, limit))
        .await
        .expect("node runner thread")
}

/// Runs `<program> <script> <args...>` in `dir`, blocking, killing it after `limit`.
pub fn run_program(
    program: &str,
    dir: &Path,
    script: &Path,
    args: &[String],
    limit: Duration,
) -> NodeRun {
    let command = format!("{program} {} {}", script.display(), args.join(" "));
    let mut child = Command::new(program)
        .arg(script)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `{command}` (is {program} installed?): {e}"));
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let deadline = Instant::now() + limit;
    let (code, timed_out) = loop {
        if let Some(status) = child.try_wait().expect("wait for node") {
            break (status.code(), false);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break (None, true);
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    NodeRun {
        command,
        code,
        timed_out,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

/// Reads a pipe to its end on a thread, so a chatty child never blocks on a full pipe.
fn drain(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_string(&mut text);
        }
        text
    })
}
