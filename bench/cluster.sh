#!/usr/bin/env bash
# Benchmark (issue 13): N generated messages (default 10,000,000) in SQLite and on the 2-shard
# ClickHouse cluster scripts/clickhouse.sh starts: import with 1, 2 and 4 workers, report and
# summary on both, DuckDB's stored clock query as the peer. Usage: bench/cluster.sh [N] [WORKERS ...]
# DuckDB is installed into a private virtual environment here only, never for the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q --bin barometre
python3 -m venv bench-out/venv >/dev/null 2>&1 || python3 -m venv bench-out/venv
bench-out/venv/bin/pip install -q duckdb
url=$(bash scripts/clickhouse.sh)
n=${1:-10000000}
shift || true
bench-out/venv/bin/python bench/cluster.py target/release/barometre "$url" "$n" "$@"
