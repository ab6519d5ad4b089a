#!/usr/bin/env bash
# Browser end-to-end test of the dashboard: demo data, a user, a token, the real server, Chromium.
# Usage: e2e/run.sh [SCREENSHOT_DIR]   (needs /usr/bin/chromium and node; installs playwright-core)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q --bin barometre
(cd e2e && npm install --silent --no-audit --no-fund >/dev/null)
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
bin=target/release/barometre
db="$work/b.db"
today=$(date -u +%Y-%m-%d)
from=$(date -u -d "$today - 7 days" +%Y-%m-%d)
$bin demo --db "$db" --end "$today" 2>/dev/null
BAROMETRE_PASSWORD=dashboard-e2e $bin admin user create julie --db "$db" --role viewer
token=$($bin admin token create --db "$db" --role viewer)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
$bin serve --db "$db" --addr "127.0.0.1:$port" 2>/dev/null &
server=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/api/v1/health" >/dev/null && break; sleep 0.1; done
node e2e/dashboard.mjs "http://127.0.0.1:$port" julie dashboard-e2e "$token" "$from" "$today" "${1:-}"
