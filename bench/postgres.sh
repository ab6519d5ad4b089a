#!/usr/bin/env bash
# Rows and facts on PostgreSQL (`--store postgres://…`) against the embedded SQLite store, on the
# same generated messages: a first import, the same file again, ten late answers, and a report
# (all indicators, and the response figures by account), each store's output compared byte for
# byte. Starts the loopback server of scripts/postgres.sh. Usage: bench/postgres.sh [N] (1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
bin=${BAROMETRE_BIN:-target/release/barometre}
[ -n "${BAROMETRE_BIN:-}" ] || cargo build --release -q --bin barometre
mkdir -p bench-out
csv=bench-out/m$n.csv
[ -f "$csv" ] || python3 bench/gen.py "$n" "$csv"
late=bench-out/late10.csv
# Ten answers to conversations spread over the file, as `bench.py` writes them.
python3 - "$n" "$late" <<'PY'
import sys
n, out = int(sys.argv[1]), sys.argv[2]
convs = max(1, n // 20)
with open(out, "w") as f:
    f.write("message_id,created_at,direction,account,channel,author_id,conversation_id,bot\n")
    for k in range(10):
        c = 1 + (k * 7919) % convs
        f.write(f"pglate{k},2026-04-{1 + k:02d}T12:00:00Z,out,acct03,facebook_messenger,agent-late,c{c},\n")
PY
url=$(bash scripts/postgres.sh | tail -1)
schema=bench_$$
psql "$url" -qc "CREATE SCHEMA $schema"
trap 'psql "$url" -qc "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true' EXIT
pg="$url?options=-c%20search_path%3D$schema"
db=bench-out/pg-cmp$n.db
rm -f "$db" "$db-wal" "$db-shm"
# Seconds (to the millisecond) and peak memory of one command.
timed() {
  local what=$1; shift
  /usr/bin/time -f "%e %M" -o bench-out/pg-time "$@" >/dev/null 2>bench-out/pg-err || { cat bench-out/pg-err >&2; exit 1; }
  read -r s kib < bench-out/pg-time
  printf "%-34s %8.2f s %6d MiB\n" "$what" "$s" $((kib / 1024))
}
for store in "sqlite:$db" "$pg"; do
  name=${store%%:*}
  timed "$name: first import" "$bin" import messages "$csv" --store "$store"
  timed "$name: the same file again" "$bin" import messages "$csv" --store "$store"
  timed "$name: ten late answers" "$bin" import messages "$late" --store "$store"
  timed "$name: report, all indicators" "$bin" report --format json --store "$store"
  timed "$name: report, response by account" "$bin" report --format json --by account \
    --metrics response_rate,response_time --store "$store"
done
for args in "--format json" "--format json --by account" "--format json --by week"; do
  # shellcheck disable=SC2086
  a=$("$bin" report $args --store "sqlite:$db" | md5sum)
  # shellcheck disable=SC2086
  b=$("$bin" report $args --store "$pg" | md5sum)
  [ "$a" = "$b" ] && echo "same bytes: report $args" || { echo "DIFFERENT: report $args"; exit 1; }
done
