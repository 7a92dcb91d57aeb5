//! Runs the python-socketio client scripts of `tests/clients/python/` with `python3`, without blocking the test's
//! runtime. A missing python-socketio 5 fails the test with the command that installs it.

use super::node::{NodeRun, run_program};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

/// The interpreter the scripts run with.
pub const PYTHON: &str = "python3";

const INSTALL: &str = "pip install -r tests/clients/python/requirements.txt";

/// `tests/clients/python/`, checked to be runnable: python3 with python-socketio 5.x installed.
pub fn clients_dir() -> PathBuf {
    static CHECKED: OnceLock<Result<(), String>> = OnceLock::new();
    if let Err(problem) = CHECKED.get_or_init(check_installed) {
        panic!("{problem}: run `{INSTALL}` first (the python-socketio client tests need it)");
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/python")
}

fn check_installed() -> Result<(), String> {
    let probe = "import importlib.metadata as m, socketio, engineio, requests, websocket; \
                 print(m.version('python-socketio'))";
    let output = Command::new(PYTHON)
        .args(["-c", probe])
        .output()
        .map_err(|e| format!("cannot run {PYTHON}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "python-socketio[client] is not installed for {PYTHON} ({})",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let version = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if !version.starts_with("5.") {
        return Err(format!(
            "python-socketio {version} is installed, 5.x is needed"
        ));
    }
    Ok(())
}

/// Runs `python3 tests/clients/python/<script> <args...>`, killing it after `limit`.
pub async fn run(script: &str, args: &[&str], limit: Duration) -> NodeRun {
    let dir = clients_dir();
    let path = dir.join(script);
    assert!(path.is_file(), "no such client script: {}", path.display());
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || run_program(PYTHON, &dir, &path, &args, limit))
        .await
        .expect("python runner thread")
}

/// Starts `python3 tests/clients/python/<script> <args...>` without waiting for it; its stdout is read line by
/// line (see [`super::node::Spawned`]), so the script must flush each line it means the test to see.
pub fn spawn(script: &str, args: &[&str]) -> super::node::Spawned {
    let dir = clients_dir();
    let path = dir.join(script);
    assert!(path.is_file(), "no such client script: {}", path.display());
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    super::node::spawn_program(PYTHON, &dir, &path, &args)
}
