#!/usr/bin/env python3
"""ClickHouse summaries from the daily rollup against the same from every request (issue 13).

For a sparse and a dense generated file: imports it into a fresh database of the cluster, counts
the requests and the rollup's rows, then times `barometre summary` (total, by account, by day) with
the rollup read and with `BAROMETRE_CLICKHOUSE_ROLLUPS=off`, alternated, median of 7, and checks
that both print the same bytes. Prints one JSON object per file and by.

Usage: rollup.py BAROMETRE_BIN CLUSTER_URL N   (run through bench/rollup.sh)
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import ch  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, "..", "bench-out")
RUNS = 7
FILES = {
    "sparse": {},
    "dense": {"GEN_ACCOUNTS": "1", "GEN_CHANNELS": "1", "GEN_AGENTS": "1", "GEN_DAYS": "30"},
}


def scalar(node, sql):
    r = subprocess.run(["curl", "-sf", f"http://{node}/", "--data-binary", sql], check=True, capture_output=True,
                       text=True)
    return r.stdout.strip()


def main():
    exe, url, n = os.path.abspath(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    head, query = url.split("?", 1) if "?" in url else (url, "")
    server = head.rsplit("/", 1)[0]
    node = server.split("://", 1)[1]
    nodes = [node] + (query.split("nodes=", 1)[1].split("&")[0].split(",") if "nodes=" in query else [])
    os.makedirs(WORK, exist_ok=True)
    for name, env in FILES.items():
        csv = os.path.join(WORK, f"rollup-{name}-{n}.csv")
        if not os.path.exists(csv):
            subprocess.run([sys.executable, os.path.join(HERE, "gen.py"), str(n), csv], check=True,
                           env={**os.environ, **env})
        db = f"bench_rollup_{name}"
        for nd in nodes:
            ch(f"clickhouse://{nd}/", f"DROP DATABASE IF EXISTS {db}")
        store = f"{server}/{db}?{query}" if query else f"{server}/{db}"
        subprocess.run([exe, "migrate", "--store", store], check=True, capture_output=True)
        t = time.perf_counter()
        subprocess.run([exe, "import", "messages", csv, "--store", store], check=True, capture_output=True)
        import_s = time.perf_counter() - t
        requests = int(scalar(node, f"SELECT count() FROM {db}.requests"))
        rows = int(scalar(node, f"SELECT count() FROM {db}.requests_daily"))
        for by in [[], ["--by", "account"], ["--by", "day"]]:
            times = {"on": [], "off": []}
            out = {}
            for _ in range(RUNS):
                for mode in ("on", "off"):
                    t = time.perf_counter()
                    r = subprocess.run([exe, "summary", "--store", store, "--format", "json"] + by, check=True,
                                       capture_output=True, env={**os.environ, "BAROMETRE_CLICKHOUSE_ROLLUPS": mode})
                    times[mode].append(time.perf_counter() - t)
                    out[mode] = r.stdout
            med = {m: sorted(v)[len(v) // 2] for m, v in times.items()}
            print(json.dumps({
                "file": name, "messages": n, "import_s": round(import_s, 1), "requests": requests,
                "rollup_rows": rows, "requests_per_row": round(requests / max(rows, 1), 2),
                "by": by[1] if by else "total", "rollup_s": round(med["on"], 3), "requests_s": round(med["off"], 3),
                "ratio": round(med["on"] / med["off"], 2), "same_bytes": out["on"] == out["off"],
            }), flush=True)
        for nd in nodes:
            ch(f"clickhouse://{nd}/", f"DROP DATABASE IF EXISTS {db}")


if __name__ == "__main__":
    main()
