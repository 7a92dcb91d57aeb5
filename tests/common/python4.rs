//! Runs the python-socketio 4.x client scripts of `tests/clients/python4/` with the interpreter of their own virtual
//! environment (`tests/clients/python4/.venv`: python-socketio 4 and python-engineio 3 conflict with the 5.x of
//! `tests/clients/python/`), without blocking the test's runtime. A missing or wrong venv fails the test with the
//! commands that create it.

use crate::common::node::{NodeRun, run_program};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

const INSTALL: &str = "python3 -m venv tests/clients/python4/.venv && \
     tests/clients/python4/.venv/bin/pip install -r tests/clients/python4/requirements.txt";

/// `tests/clients/python4/`.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/python4")
}

/// The venv's interpreter, checked to have python-socketio 4.x and python-engineio 3.x.
pub fn interpreter() -> PathBuf {
    static CHECKED: OnceLock<Result<(), String>> = OnceLock::new();
    let python = dir().join(".venv/bin/python");
    if let Err(problem) = CHECKED.get_or_init(|| check_installed(&python)) {
        panic!(
            "{problem}: run `{INSTALL}` (or scripts/test.sh, which does it) first; the python-socketio 4.x tests need it"
        );
    }
    python
}

fn check_installed(python: &Path) -> Result<(), String> {
    if !python.exists() {
        return Err(format!("{} is missing", python.display()));
    }
    let probe = "import importlib.metadata as m, socketio, engineio, requests, websocket; \
                 print(m.version('python-socketio'), m.version('python-engineio'))";
    let output = Command::new(python)
        .args(["-c", probe])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    if !output.status.success() {
        return Err(format!(
            "python-socketio 4 is not installed in {} ({})",
            python.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let versions = String::from_utf8_lossy(&output.stdout).trim().to_string();
    let mut parts = versions.split_whitespace();
    let (socketio, engineio) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if !socketio.starts_with("4.") || !engineio.starts_with("3.") {
        return Err(format!(
            "python-socketio {socketio} and python-engineio {engineio} are installed; 4.x and 3.x are needed"
        ));
    }
    Ok(())
}

/// Runs `.venv/bin/python tests/clients/python4/<script> <args...>`, killing it after `limit`.
pub async fn run(script: &str, args: &[&str], limit: Duration) -> NodeRun {
    let python = interpreter();
    let dir = dir();
    let path = dir.join(script);
    assert!(path.is_file(), "no such client script: {}", path.display());
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        run_program(&python.to_string_lossy(), &dir, &path, &args, limit)
    })
    .await
    .expect("python runner thread")
}
