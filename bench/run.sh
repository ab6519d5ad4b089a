#!/usr/bin/env bash
# Benchmark: Baromètre vs DuckDB on generated messages. Usage: bench/run.sh [N ...] (default 1000000)
# DuckDB is installed into a private virtual environment here only, never for the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q --bin barometre
python3 -m venv bench-out/venv >/dev/null 2>&1 || python3 -m venv bench-out/venv
bench-out/venv/bin/pip install -q duckdb
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000)
bench-out/venv/bin/python bench/bench.py target/release/barometre "${sizes[@]}"
