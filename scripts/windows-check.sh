#!/usr/bin/env bash
# Cross-builds iogate for x86_64 Windows (mingw-w64) and checks that a PE executable comes out.
# The .exe cannot be run here (no Windows, and wine lacks what Rust's std needs), so this checks
# that the code compiles and links for Windows: signals (Ctrl-C / Ctrl-Break), paths, dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-pc-windows-gnu

if ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
  if ! rustup target add "$target"; then
    echo "windows check: SKIPPED: the Rust target $target cannot be installed on this machine"
    exit 0
  fi
fi
if ! command -v x86_64-w64-mingw32-gcc >/dev/null; then
  apt-get update -q
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q gcc-mingw-w64-x86-64; then
    echo "windows check: SKIPPED: the mingw-w64 linker (gcc-mingw-w64-x86-64) cannot be installed here"
    exit 0
  fi
fi

cargo build --target "$target" --bin iogate
exe="target/$target/debug/iogate.exe"
if ! head -c 2 "$exe" | grep -q "MZ"; then
  echo "windows check: FAILED: $exe is not a Windows executable" >&2
  exit 1
fi
echo "windows check: ok: built and linked $exe ($(stat -c %s "$exe") bytes)"
