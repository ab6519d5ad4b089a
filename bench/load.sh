#!/usr/bin/env bash
# Load test: 200 concurrent clients on GET /api/v1/report over N stored messages (default 1M),
# with wrk from Debian's packages. Prints wrk's latency distribution and a summary line.
# Usage: bench/load.sh [N] [DURATION]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
duration=${2:-20s}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release -q --bin barometre
mkdir -p bench-out
csv=bench-out/m$n.csv
[ -f "$csv" ] || python3 bench/gen.py "$n" "$csv"
db=bench-out/load$n.db
if [ ! -f "$db" ]; then
  target/release/barometre import messages "$csv" --db "$db" 2>/dev/null
fi
token=$(target/release/barometre admin token create --db "$db" --role viewer)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
target/release/barometre serve --db "$db" --addr "127.0.0.1:$port" 2>/dev/null &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/api/v1/health" >/dev/null && break; sleep 0.1; done
url="http://127.0.0.1:$port/api/v1/report?by=channel"
# The first request computes the report; the load then reads what every client asks again.
cold=$(curl -s -o /dev/null -w "%{time_total}" -H "Authorization: Bearer $token" "$url")
echo "first (uncached) request: ${cold}s"
wrk -t2 -c200 -d"$duration" --latency -H "Authorization: Bearer $token" "$url" | tee bench-out/load.txt
