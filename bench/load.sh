#!/usr/bin/env bash
# Load test: 200 concurrent clients on GET /api/v1/report over N stored messages (default 1M),
# asking five different reports, while an analyst imports batches of new messages through the
# API the whole time (each import makes every cached report stale). wrk from Debian's packages.
# Prints wrk's latency distribution, the imports done, and the server's peak memory (VmHWM).
# Usage: bench/load.sh [N] [DURATION] [IMPORTS=on|off]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
duration=${2:-20s}
imports=${3:-on}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
# BAROMETRE_BIN: another build to measure (e.g. the release before a change), same script.
bin=${BAROMETRE_BIN:-target/release/barometre}
[ -n "${BAROMETRE_BIN:-}" ] || cargo build --release -q --bin barometre
mkdir -p bench-out
csv=bench-out/m$n.csv
[ -f "$csv" ] || python3 bench/gen.py "$n" "$csv"
base=bench-out/load$n.db
if [ ! -f "$base" ]; then
  "$bin" import messages "$csv" --db "$base" 2>/dev/null
fi
# Each run starts from the same stored data: the imports below go into a copy.
db=bench-out/load$n-run.db
rm -f "$db" "$db-wal" "$db-shm"
cp "$base" "$db"
viewer=$("$bin" admin token create --db "$db" --role viewer)
analyst=$("$bin" admin token create --db "$db" --role analyst)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" serve --db "$db" --addr "127.0.0.1:$port" 2>bench-out/serve.log &
server=$!
importer=
trap 'kill $server ${importer:-} 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/api/v1/health" >/dev/null && break; sleep 0.1; done
paths=("/api/v1/report?by=channel" "/api/v1/report?by=account" "/api/v1/report?by=day" "/api/v1/report" \
  "/api/v1/report?by=week&metrics=response_rate,first_response_time")
# Each report computed once before the load (a dashboard's first visit); the load then asks again.
for p in "${paths[@]}"; do
  t=$(curl -s -o /dev/null -w "%{time_total}" -H "Authorization: Bearer $viewer" "http://127.0.0.1:$port$p")
  echo "first (uncached) $p: ${t}s"
done
cat >bench-out/paths.lua <<EOF
local paths = {"${paths[0]}", "${paths[1]}", "${paths[2]}", "${paths[3]}", "${paths[4]}"}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1], {["Authorization"] = "Bearer $viewer"})
end
EOF
: >bench-out/imports.txt
if [ "$imports" = on ]; then
  # An analyst posts 5,000 new messages at a time, one batch after the other, for the whole run.
  (
    b=0
    while :; do
      b=$((b + 1))
      python3 - "$b" >bench-out/batch.csv <<'PY'
import sys
b = int(sys.argv[1])
print("message_id,created_at,direction,account,channel,author_id,conversation_id")
for i in range(2500):
    c = f"live{b}-{i}"
    print(f"{c}-q,2026-10-20T10:{i % 60:02d}:00Z,in,acct{i % 20:02d},chat,cust{i},{c}")
    print(f"{c}-a,2026-10-20T11:{i % 60:02d}:00Z,out,acct{i % 20:02d},chat,agent{i % 50},{c}")
PY
      code=$(curl -s -o /dev/null -w "%{http_code}" -X POST -H "Authorization: Bearer $analyst" \
        -H "content-type: text/csv" --data-binary @bench-out/batch.csv "http://127.0.0.1:$port/api/v1/import/messages")
      echo "$code" >>bench-out/imports.txt
    done
  ) &
  importer=$!
fi
wrk -t2 -c200 -d"$duration" --latency -s bench-out/paths.lua "http://127.0.0.1:$port/" | tee bench-out/load.txt
[ -n "$importer" ] && kill "$importer" 2>/dev/null || true
wait "$importer" 2>/dev/null || true
done_ok=$(grep -c '^200$' bench-out/imports.txt || true)
done_bad=$(grep -vc '^200$' bench-out/imports.txt || true)
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$server/status")
p99=$(awk '$1 == "99%" {print $2}' bench-out/load.txt)
non2xx=$(awk '/Non-2xx/ {print $NF}' bench-out/load.txt)
errors=$(awk '/Socket errors/ {print}' bench-out/load.txt)
echo "summary: n=$n imports=$imports ($done_ok batches of 5,000 messages taken, $done_bad refused) p99=$p99 non-2xx=${non2xx:-0} ${errors:-no socket errors} server peak memory=$((hwm / 1024)) MiB"
