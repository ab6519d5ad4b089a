#!/usr/bin/env bash
# Rewrites the README's metric tables from the code's registry (`barometre metrics`).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --bin barometre
for lang in fr en; do
  target/debug/barometre metrics --lang "$lang" > "/tmp/metrics.$lang.md"
done
python3 - <<'PY'
import re
s = open("README.md").read()
for lang in ("fr", "en"):
    body = open(f"/tmp/metrics.{lang}.md").read()
    s = re.sub(rf"(<!-- metrics:{lang} -->\n).*?(<!-- /metrics:{lang} -->)", lambda m: m.group(1) + body + m.group(2), s, flags=re.S)
open("README.md", "w").write(s)
PY
