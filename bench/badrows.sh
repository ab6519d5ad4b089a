#!/usr/bin/env bash
# Hostile import: MB megabytes (default 300) of rows whose dates lack an offset, every one refused,
# posted to POST /api/v1/import/messages by an analyst. Prints the answer's size, the refused count
# and the server's peak memory (VmHWM), which must stay under 512 MiB.
# Usage: bench/badrows.sh [MB]
set -euo pipefail
cd "$(dirname "$0")/.."
mb=${1:-300}
# BAROMETRE_BIN: another build to measure (e.g. the release before a change), same script.
bin=${BAROMETRE_BIN:-target/release/barometre}
[ -n "${BAROMETRE_BIN:-}" ] || cargo build --release -q --bin barometre
mkdir -p bench-out
body=bench-out/bad$mb.csv
if [ ! -f "$body" ]; then
  python3 - "$mb" "$body" <<'PY'
import sys
mb, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w", buffering=1 << 20) as out:
    out.write("message_id,created_at,direction,account,channel,author_id,conversation_id,text\n")
    i = 0
    while out.tell() < mb * 1_000_000:
        out.write(f"bad{i},2026-04-09 10:{i % 60:02d}:00,in,acme,chat,u{i % 9973},k{i},une date sans fuseau\n")
        i += 1
PY
fi
db=bench-out/badrows.db
rm -f "$db" "$db-wal" "$db-shm"
"$bin" admin workspace create default --db "$db" 2>/dev/null
# A run stops past 4 GiB of server memory (the release before the fix kept every refused row).
limit_kb=$((4 * 1024 * 1024))
analyst=$("$bin" admin token create --db "$db" --role analyst)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" serve --db "$db" --addr "127.0.0.1:$port" 2>bench-out/serve-bad.log &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/api/v1/health" >/dev/null && break; sleep 0.1; done
# Watchdog: the server's peak memory, sampled; past the limit it is stopped (and said so).
(
  while kill -0 "$server" 2>/dev/null; do
    r=$(awk '/VmRSS/ {print $2}' "/proc/$server/status" 2>/dev/null || echo 0)
    if [ "${r:-0}" -gt "$limit_kb" ]; then echo "server stopped at $((r / 1024)) MiB" >bench-out/bad-watchdog.txt; kill "$server"; fi
    sleep 0.2
  done
) &
: >bench-out/bad-watchdog.txt
start=$(date +%s.%N)
code=$(curl -s -o bench-out/bad-answer.json -w "%{http_code}" -X POST -H "Authorization: Bearer $analyst" \
  -H "content-type: text/csv" --data-binary @"$body" "http://127.0.0.1:$port/api/v1/import/messages" || true)
end=$(date +%s.%N)
if [ -s bench-out/bad-watchdog.txt ]; then
  echo "summary: body=$(($(stat -c %s "$body") / 1000000)) MB status=$code $(cat bench-out/bad-watchdog.txt) (limit $((limit_kb / 1024)) MiB)"
  exit 1
fi
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$server/status")
rss=$(awk '/VmRSS/ {print $2}' "/proc/$server/status")
refused=$(python3 -c 'import json; a = json.load(open("bench-out/bad-answer.json")); print(a.get("rejected_count", len(a.get("rejected", []))))' 2>/dev/null || echo "?")
echo "summary: body=$(($(stat -c %s "$body") / 1000000)) MB status=$code refused=$refused answer=$(($(stat -c %s bench-out/bad-answer.json) / 1000)) kB time=$(python3 -c "print(round($end - $start, 1))")s server peak memory=$((hwm / 1024)) MiB, after=$((rss / 1024)) MiB"
[ "$hwm" -lt $((512 * 1024)) ] || { echo "over 512 MiB" >&2; exit 1; }
