#!/usr/bin/env bash
# Runs every test: installs the real-client test dependencies when missing, then the Rust test suites
# (unit tests, integration tests against a running gateway, and the real-client tests).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -f tests/clients/package-lock.json ] && [ ! -d tests/clients/node_modules/socket.io-client ]; then
  echo "installing the npm test clients (tests/clients)"
  npm ci --prefix tests/clients --no-audit --no-fund
fi
if ! python3 -c "import socketio" 2>/dev/null; then
  echo "installing the python test clients (tests/clients/python/requirements.txt)"
  python3 -m pip install -q -r tests/clients/python/requirements.txt
fi

cargo test --all-targets "$@"
