#!/usr/bin/env python3
"""The same messages in SQLite and on the 2-shard ClickHouse cluster (issue 13): import time with
1, 2 and 4 import workers, report and summary times on both, and DuckDB's stored clock query as the
peer, in one run. Checks that both stores give the same bytes and that the per-account figures agree
with DuckDB's.

Usage: cluster.py BAROMETRE_BIN STORE_URL N [WORKERS ...]   (run through bench/cluster.sh)
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (peak_mib, duck, CLOCK_SQL, RUNS)

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = bench.WORK


def ch(url, sql):
    """Runs SQL on the node of a clickhouse:// URL (its HTTP port), for cleaning up."""
    hostport = url.split("://", 1)[1].split("/", 1)[0]
    subprocess.run(["curl", "-sf", f"http://{hostport}/", "--data-binary", sql], check=False, capture_output=True)


def main():
    exe, url, n = os.path.abspath(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    workers = [int(w) for w in sys.argv[4:]] or [1, 2, 4]
    head, query = url.split("?", 1) if "?" in url else (url, "")
    server = head.rsplit("/", 1)[0]
    nodes = [server.split("://", 1)[1]] + (query.split("nodes=", 1)[1].split("&")[0].split(",") if "nodes=" in query else [])
    os.makedirs(WORK, exist_ok=True)
    csv = os.path.join(WORK, f"m{n}.csv")
    if not os.path.exists(csv):
        subprocess.run([sys.executable, os.path.join(HERE, "gen.py"), str(n), csv], check=True)
    accounts = os.path.join(WORK, f"cluster-accounts-{n}.db")
    row = {"messages": n, "shards": len(nodes)}

    # SQLite, the embedded default.
    db = os.path.join(WORK, f"cluster-sqlite-{n}.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    mem, secs, _ = bench.peak_mib([exe, "import", "messages", csv, "--db", db])
    row.update(sqlite_import_s=round(secs, 2), sqlite_import_peak_mib=round(mem))
    sq = ["--store", f"sqlite:{db}"]

    # The cluster, one database per worker count.
    stores = {}
    for w in workers:
        name = f"bench_{n}_w{w}"
        for node in nodes:
            ch(f"clickhouse://{node}/", f"DROP DATABASE IF EXISTS {name}")
        store = f"{server}/{name}?{query}" if query else f"{server}/{name}"
        subprocess.run([exe, "migrate", "--store", store], check=True, capture_output=True)
        plain = f"{server}/{name}"
        mem, secs, _ = bench.peak_mib([exe, "import", "messages", csv, "--store", plain, "--db", accounts,
                                       "--workers", str(w)])
        row[f"clickhouse_import_w{w}_s"] = round(secs, 2)
        row[f"clickhouse_import_w{w}_rows_per_s"] = round(n / secs)
        row[f"clickhouse_import_w{w}_peak_mib"] = round(mem)
        stores[w] = plain
    ck = ["--store", stores[workers[0]], "--db", accounts]

    def both(args, key):
        m1, s1, o1 = bench.peak_mib([exe] + args + sq, bench.RUNS)
        m2, s2, o2 = bench.peak_mib([exe] + args + ck, bench.RUNS)
        row[f"sqlite_{key}_s"], row[f"clickhouse_{key}_s"] = round(s1, 2), round(s2, 2)
        row[f"sqlite_{key}_peak_mib"], row[f"clickhouse_{key}_peak_mib"] = round(m1), round(m2)
        row[f"{key}_same_bytes"] = o1 == o2 and len(o1) > 0
        return o1

    rep = both(["report", "--by", "account", "--format", "json"], "report")
    both(["report", "--by", "account", "--format", "json", "--metrics", "response_rate,response_time"], "report_selected")
    summ = both(["summary", "--by", "account", "--format", "json"], "summary")
    both(["summary", "--by", "day", "--format", "json"], "summary_by_day")
    ours = {g["key"]: g["metrics"] for g in json.loads(rep)["groups"]}
    pushed = {g["group"]: g for g in json.loads(summ)}
    # The per-account clock in DuckDB (the peer), over the same CSV loaded in its database.
    ddb = os.path.join(WORK, f"cluster-d{n}.duckdb")
    if os.path.exists(ddb):
        os.remove(ddb)
    src = f"read_csv('{csv}', header=true, timestampformat='%Y-%m-%dT%H:%M:%SZ', types={{'bot': 'BOOLEAN'}})"
    d = bench.duck(f"""
con = duckdb.connect({ddb!r}); con.execute("SET enable_progress_bar = false")
t = time.perf_counter(); con.execute("CREATE TABLE messages AS SELECT * FROM {src}"); load = time.perf_counter() - t
ts = []
for _ in range({bench.RUNS}):
    t = time.perf_counter(); rows = con.execute('''{bench.CLOCK_SQL.format(src='messages')}''').fetchall(); ts.append(time.perf_counter() - t)
print(json.dumps({{"load": load, "stored": sorted(ts)[len(ts) // 2], "rows": rows}}))
""", n)
    off = 0
    for acc, req, ans, mean, med, p90 in d["rows"]:
        rr, rt = ours.get(acc, {}).get("response_rate", {}), ours.get(acc, {}).get("response_time", {})
        p = pushed.get(acc, {})
        same = (rr.get("denominator") == req and rr.get("numerator") == ans
                and abs((rt.get("median") or 0) - (med or 0)) < 1e-6 and abs((rt.get("p90") or 0) - (p90 or 0)) < 1e-6
                and p.get("response_rate") == rr and p.get("response_time") == rt)
        off += not same
    row.update(duckdb_load_s=round(d["load"], 2), duckdb_stored_s=round(d["stored"], 2), accounts_disagreeing=off)
    for k in ("report", "report_selected", "summary"):
        row[f"clickhouse_{k}_vs_sqlite"] = round(row[f"clickhouse_{k}_s"] / row[f"sqlite_{k}_s"], 2)
    row["clickhouse_summary_vs_duckdb_stored"] = round(row["clickhouse_summary_s"] / d["stored"], 2)
    row["sqlite_import_vs_duckdb_load"] = round(row["sqlite_import_s"] / d["load"], 2)
    print(json.dumps(row), flush=True)
    with open(os.path.join(WORK, f"cluster-{n}.json"), "w") as f:
        json.dump(row, f, indent=1)
    # The cluster's databases are gigabytes at 10 M: not left behind.
    for w in workers:
        for node in nodes:
            ch(f"clickhouse://{node}/", f"DROP DATABASE IF EXISTS bench_{n}_w{w}")


if __name__ == "__main__":
    main()
