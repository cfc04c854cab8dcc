#!/usr/bin/env bash
# `make demo`: start an origin (`vexil serve`, SQLite in .demo/origin), load the seed's
# example flags through change requests and approvals, fetch the signed production
# snapshot and evaluate example contexts through the wasm package, then run the edge
# worker on local workerd with simulated visitors and a progressive rollout that
# advances on the metrics they produce. Everything keeps running until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
vexil=target/release/vexil
dir=.demo
port=${VEXIL_DEMO_PORT:-8080}
server="http://127.0.0.1:$port"

# A fresh origin each run.
rm -rf "$dir/origin"
mkdir -p "$dir"
admin=$("$vexil" init --data "$dir/origin" --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).admin_token))')

"$vexil" serve --data "$dir/origin" --listen "127.0.0.1:$port" > "$dir/origin.log" 2>&1 &
origin_pid=$!
trap 'kill $origin_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do
  grep -q "listening on" "$dir/origin.log" 2>/dev/null && break
  kill -0 $origin_pid 2>/dev/null || { cat "$dir/origin.log"; exit 1; }
  sleep 0.1
done

echo "origin: $server (data in $dir/origin)"
echo "loading the seed's flags through change requests:"
node scripts/demo-origin.mjs "$server" "$admin" "$dir"
echo
"$vexil" snapshot verify "$dir/snapshot.json" --keys "$dir/keys.json"
echo
node scripts/demo.mjs "$dir/snapshot.json" "$dir/keys.json" examples/demo-contexts.json

alice=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).alice.token)' "$dir/tokens.json")
cat <<INFO

origin (vexil serve): $server
console: $server/   (sign in with alice's token; she is an editor: $alice)
  $server/api/v1/health
  $server/api/v1/keys                                      (the public keyring edges trust)
  $server/api/v1/environments/production/snapshot          (with the SDK key in $dir/tokens.json)
  export VEXIL_SERVER=$server VEXIL_TOKEN=$admin
  $vexil flag list --env production
  $vexil audit enhanced-order-routing-v2 --env production
  $vexil rollout status new-checkout --env production
  $vexil flag metrics new-checkout --env production
Every token, with its roles, is in $dir/tokens.json (listed above).
INFO
node scripts/demo-edge.mjs "$server" "$dir/tokens.json"
