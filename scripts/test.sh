#!/usr/bin/env bash
# Runs every test: installs the real-client test dependencies when missing, then the Rust test suites
# (unit tests, integration tests against a running gateway, and the real-client tests).
set -euo pipefail
cd "$(dirname "$0")/.."

# npm records what it installed in node_modules/.package-lock.json: install again when the lockfile is newer.
installed=tests/clients/node_modules/.package-lock.json
if [ -f tests/clients/package-lock.json ] && { [ ! -f "$installed" ] ||
  [ tests/clients/package-lock.json -nt "$installed" ]; }; then
  echo "installing the npm test clients (tests/clients)"
  npm ci --prefix tests/clients --no-audit --no-fund
fi
if ! python3 -c "import socketio" 2>/dev/null; then
  echo "installing the python test clients (tests/clients/python/requirements.txt)"
  python3 -m pip install -q -r tests/clients/python/requirements.txt
fi
# python-socketio 4.x / python-engineio 3.x conflict with the 5.x above: they get a venv of their own.
if ! tests/clients/python4/.venv/bin/python -c "import socketio, engineio" 2>/dev/null; then
  echo "installing the python-socketio 4 test clients (tests/clients/python4/.venv)"
  python3 -m venv tests/clients/python4/.venv
  tests/clients/python4/.venv/bin/python -m pip install -q -r tests/clients/python4/requirements.txt
fi

# The backend examples (examples/python, examples/node), run behind iogate by tests/backend_examples.rs.
if ! python3 -c "import flask" 2>/dev/null; then
  echo "installing the Flask example's packages (examples/python/requirements.txt)"
  python3 -m pip install -q -r examples/python/requirements.txt
fi
installed=examples/node/node_modules/.package-lock.json
if [ ! -f "$installed" ] || [ examples/node/package-lock.json -nt "$installed" ]; then
  echo "installing the Express example's packages (examples/node)"
  npm ci --prefix examples/node --no-audit --no-fund
fi

# The gateway and its wire-code crates (crates/); the benchmark tools have their own check in .ci/run.
cargo test --workspace --exclude iogate-bench --all-targets "$@"
