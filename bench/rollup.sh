#!/usr/bin/env bash
# Benchmark (issue 13): ClickHouse summaries over whole days read from the daily rollup or from
# every request, on a sparse file (bench/gen.py's defaults: 20 accounts, 5 channels, 50 agents, 300
# days) and on a dense one (one account, one channel, one answering handle, 30 days: a large brand's
# social account), N messages each (default 1,000,000). Usage: bench/rollup.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q --bin barometre
url=$(bash scripts/clickhouse.sh)
python3 bench/rollup.py target/release/barometre "$url" "${1:-1000000}"
