#!/usr/bin/env bash
# Reading a French spreadsheet export: N messages (default 1M) written as Excel does in France —
# Windows-1252, `;`, a French header, day-first wall-clock dates, `Entrant`/`Sortant`, no id
# column — read with a mapping (`import --check`: read, decode, map, validate, derive ids; nothing
# stored) on one core, against DuckDB reading the same file into a table on one thread
# (read_csv with the same separator, encoding and date layout). Prints rows/s for both and the
# ratio. Usage: bench/mapped.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
bin=${BAROMETRE_BIN:-target/release/barometre}
[ -n "${BAROMETRE_BIN:-}" ] || cargo build --release -q --bin barometre
mkdir -p bench-out
python3 -m venv bench-out/venv >/dev/null 2>&1 || true
bench-out/venv/bin/pip install -q duckdb
src=bench-out/m$n.csv
[ -f "$src" ] || python3 bench/gen.py "$n" "$src"
fr=bench-out/fr$n.csv
if [ ! -f "$fr" ]; then
  python3 - "$src" "$fr" <<'PY'
import sys
src, dst = sys.argv[1], sys.argv[2]
with open(src) as f, open(dst, "w", encoding="cp1252", newline="") as out:
    next(f)
    out.write("Date;Sens;Canal;Compte;Auteur;Dossier;Robot;Message\r\n")
    for line in f:
        mid, at, d, acc, ch, who, conv, bot = line.rstrip("\n").split(",")
        # 2026-01-31T09:15:00Z → 31/01/2026 09:15:00 (wall-clock, Europe/Paris)
        day = f"{at[8:10]}/{at[5:7]}/{at[0:4]} {at[11:19]}"
        word = "Entrant" if d == "in" else "Sortant"
        out.write(f"{day};{word};{ch};{acc};{who};{conv};{bot};Réponse n°{mid} à la demande\r\n")
PY
fi
cfg=bench-out/mapped.toml
cat >"$cfg" <<'TOML'
[mappings.fr]
date_format = "%d/%m/%Y %H:%M:%S"
timezone = "Europe/Paris"
[mappings.fr.columns]
created_at = "Date"
direction = "Sens"
channel = "Canal"
account = "Compte"
author_id = "Auteur"
conversation_id = "Dossier"
bot = "Robot"
text = "Message"
TOML
t0=$(date +%s.%N)
taskset -c 0 "$bin" import messages "$fr" --check --mapping fr --config "$cfg" --db bench-out/unused.db --lang en 2>bench-out/mapped.err >/dev/null || true
t1=$(date +%s.%N)
tail -1 bench-out/mapped.err | grep -q "rows read" || { cat bench-out/mapped.err | tail -5; exit 1; }
grep "rows read" bench-out/mapped.err
secs_ours=$(python3 -c "print(f'{$t1 - $t0:.2f}')")
duck=$(bench-out/venv/bin/python - "$fr" <<'PY'
import duckdb, sys, time
con = duckdb.connect()
con.execute("SET threads = 1"); con.execute("SET enable_progress_bar = false")
t = time.time()
con.execute(f"""CREATE TABLE m AS SELECT * FROM read_csv('{sys.argv[1]}', delim=';', header=true,
  encoding='latin-1', timestampformat='%d/%m/%Y %H:%M:%S',
  columns={{'Date':'TIMESTAMP','Sens':'VARCHAR','Canal':'VARCHAR','Compte':'VARCHAR','Auteur':'VARCHAR',
           'Dossier':'VARCHAR','Robot':'VARCHAR','Message':'VARCHAR'}})""")
n = con.execute("SELECT count(*) FROM m").fetchone()[0]
print(f"{n} {time.time() - t:.3f}")
PY
)
read -r dn dsecs <<<"$duck"
# The generator writes whole conversations: a few rows past N.
ours=$(python3 -c "print(f'{$dn / ($t1 - $t0):.0f}')")
drate=$(python3 -c "print(f'{$dn / $dsecs:.0f}')")
ratio=$(python3 -c "print(f'{$secs_ours / $dsecs:.2f}')")
echo "Baromètre, mapped French CSV, one core: $secs_ours s, $ours rows/s"
echo "DuckDB read_csv into a table, one thread: $dsecs s, $drate rows/s"
echo "ratio (Baromètre ÷ DuckDB time): $ratio"
