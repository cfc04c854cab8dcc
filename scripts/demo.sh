#!/usr/bin/env bash
# `make demo`: generate a signing key, sign the seed's example flags into a snapshot,
# verify it with the CLI, and evaluate example contexts through the wasm package.
set -euo pipefail
cd "$(dirname "$0")/.."
vexil=target/release/vexil
dir=.demo
mkdir -p "$dir"

if [ ! -f "$dir/signing-key.json" ]; then
  "$vexil" keys generate --id demo-1 --out-private "$dir/signing-key.json" --out-public "$dir/keys.json"
fi
# A fresh version each run: snapshots only move forward.
version=$(date +%s)
"$vexil" snapshot build examples/finance-flags.json examples/healthcare-flags.json \
  --env production --version "$version" --expires-in 24h \
  --key "$dir/signing-key.json" --out "$dir/snapshot.json"
"$vexil" snapshot verify "$dir/snapshot.json" --keys "$dir/keys.json"
echo
node scripts/demo.mjs "$dir/snapshot.json" "$dir/keys.json" examples/demo-contexts.json
