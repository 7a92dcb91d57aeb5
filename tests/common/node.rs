//! Runs the real-client scripts of `tests/clients/` with Node, without blocking the test's runtime.

use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
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

/// Starts `<program> <script> <args...>` in `dir` with stdout and stderr piped and `stdin` as given; returns its
/// command line (for messages) and the child.
fn start(
    program: &str,
    dir: &Path,
    script: &Path,
    args: &[String],
    stdin: Stdio,
) -> (String, Child) {
    let command = format!("{program} {} {}", script.display(), args.join(" "));
    let child = Command::new(program)
        .arg(script)
        .args(args)
        .current_dir(dir)
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `{command}` (is {program} installed?): {e}"));
    (command, child)
}

/// Runs `<program> <script> <args...>` in `dir`, blocking, killing it after `limit`.
pub fn run_program(
    program: &str,
    dir: &Path,
    script: &Path,
    args: &[String],
    limit: Duration,
) -> NodeRun {
    let (command, mut child) = start(program, dir, script, args, Stdio::null());
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

/// A client script still running, whose stdout is read line by line while the test drives the gateway; the test
/// may write lines to its stdin.
pub struct Spawned {
    command: String,
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    lines: tokio::sync::mpsc::UnboundedReceiver<String>,
    stdout: Option<std::thread::JoinHandle<String>>,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Spawned {
    /// The rest of the first stdout line starting with `prefix`, waiting at most `limit`; panics (killing the
    /// script and showing what it printed) when the script ends or the time runs out first.
    pub async fn line_starting(&mut self, prefix: &str, limit: Duration) -> String {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            match tokio::time::timeout_at(deadline, self.lines.recv()).await {
                Ok(Some(line)) => {
                    if let Some(rest) = line.strip_prefix(prefix) {
                        return rest.to_string();
                    }
                }
                ended => {
                    let what = match ended {
                        Ok(_) => "before its stdout closed".to_string(),
                        Err(_) => format!("within {limit:?}"),
                    };
                    let run = self.finish(Duration::from_secs(1)).await;
                    panic!(
                        "`{}` printed no {prefix:?} line {what} (exit {:?}):\n--- stdout\n{}\n--- stderr\n{}",
                        run.command, run.code, run.stdout, run.stderr
                    );
                }
            }
        }
    }

    /// The next stdout line, waiting at most `limit`; `None` when the time runs out or stdout has closed.
    pub async fn next_line(&mut self, limit: Duration) -> Option<String> {
        tokio::time::timeout(limit, self.lines.recv())
            .await
            .ok()
            .flatten()
    }

    /// Writes `line` and a newline to the script's stdin; panics when the script no longer reads it.
    pub fn send_line(&mut self, line: &str) {
        use std::io::Write;
        let stdin = self
            .stdin
            .as_mut()
            .unwrap_or_else(|| panic!("`{}`: stdin already closed", self.command));
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .and_then(|()| stdin.flush())
            .unwrap_or_else(|e| panic!("`{}`: cannot write to its stdin: {e}", self.command));
    }

    /// Closes the script's stdin (it sees end of file).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Whether the script is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits for the script to end, killing it after `limit`; returns how it ended and all it printed.
    pub async fn finish(&mut self, limit: Duration) -> NodeRun {
        let deadline = Instant::now() + limit;
        let (code, timed_out) = loop {
            if let Some(status) = self.child.try_wait().expect("wait for the script") {
                break (status.code(), false);
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break (None, true);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let join = |handle: Option<std::thread::JoinHandle<String>>| async move {
            match handle {
                Some(handle) => {
                    tokio::task::spawn_blocking(move || handle.join().unwrap_or_default())
                        .await
                        .unwrap_or_default()
                }
                None => String::new(),
            }
        };
        NodeRun {
            command: self.command.clone(),
            code,
            timed_out,
            stdout: join(self.stdout.take()).await,
            stderr: join(self.stderr.take()).await,
        }
    }
}

impl Drop for Spawned {
    /// A test that panics mid-way leaves no script behind.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Starts `<program> <script> <args...>` in `dir` without waiting for it: its stdout lines are kept (for
/// [`NodeRun::stdout`]) and handed to [`Spawned::line_starting`] as they come; its stdin is a pipe the test may
/// write to ([`Spawned::send_line`]).
pub fn spawn_program(program: &str, dir: &Path, script: &Path, args: &[String]) -> Spawned {
    use std::io::BufRead;
    let (command, mut child) = start(program, dir, script, args, Stdio::piped());
    let stdin = child.stdin.take();
    let (sender, lines) = tokio::sync::mpsc::unbounded_channel();
    let pipe = child.stdout.take().expect("piped stdout");
    let stdout = std::thread::spawn(move || {
        let mut text = String::new();
        for line in std::io::BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            text.push_str(&line);
            text.push('\n');
            let _ = sender.send(line);
        }
        text
    });
    let stderr = drain(child.stderr.take());
    Spawned {
        command,
        child,
        stdin,
        lines,
        stdout: Some(stdout),
        stderr: Some(stderr),
    }
}

/// Starts `node tests/clients/<script> <args...>` without waiting for it.
pub fn spawn(script: &str, args: &[&str]) -> Spawned {
    let dir = clients_dir();
    let path = dir.join(script);
    assert!(path.is_file(), "no such client script: {}", path.display());
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    spawn_program("node", &dir, &path, &args)
}
