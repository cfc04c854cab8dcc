#!/usr/bin/env bash
# Installs what building and testing Vexil needs, idempotently and quietly:
# the wasm32 target, wasm-bindgen-cli pinned to Cargo.lock's wasm-bindgen, and the npm
# dev dependencies (Binaryen's wasm-opt among them). Pass `--browser` to also install Chromium,
# `--postgres` Debian's PostgreSQL server (the tests start throwaway clusters of it).
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_BINDGEN_VERSION="${WASM_BINDGEN_VERSION:?set by the Makefile}"
say() { printf 'setup: %s\n' "$*"; }

# The CLI must match the library exactly; the Makefile pin and Cargo.lock must agree.
if [ -f Cargo.lock ]; then
  locked=$(sed -n '/^name = "wasm-bindgen"$/{n;s/^version = "\(.*\)"$/\1/p;}' Cargo.lock | head -1)
  if [ -n "$locked" ] && [ "$locked" != "$WASM_BINDGEN_VERSION" ]; then
    echo "setup: Cargo.lock has wasm-bindgen $locked but the Makefile pins $WASM_BINDGEN_VERSION; update WASM_BINDGEN_VERSION" >&2
    exit 1
  fi
fi

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown >/dev/null
fi

if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (takes a few minutes, once)"
  cargo install --quiet wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

apt_packages=()
for arg in "$@"; do
  case "$arg" in
    --browser) command -v chromium >/dev/null || apt_packages+=(chromium) ;;
    --postgres) ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || apt_packages+=(postgresql) ;;
    *) echo "setup: unknown option $arg (--browser, --postgres)" >&2; exit 2 ;;
  esac
done
if [ ${#apt_packages[@]} -gt 0 ]; then
  say "installing ${apt_packages[*]} (apt)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${apt_packages[@]}" >/dev/null
fi

# npm ci only when the lockfile changed since the last install.
stamp=node_modules/.vexil-installed
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  say "installing npm dev dependencies"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  mkdir -p node_modules && touch "$stamp"
fi
