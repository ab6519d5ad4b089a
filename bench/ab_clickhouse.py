#!/usr/bin/env python3
"""Two barometre binaries on the ClickHouse cluster, alternated (issue 13): each run migrates a
fresh database with its binary, imports N generated messages, imports ten late answers
(bench/bench.py's late file), imports the whole file again, and prints the seconds of each step;
then the medians, and whether both binaries' reports (`report --by account --format json`) after
the late answers are the same bytes.

Usage: ab_clickhouse.py OLD_BIN NEW_BIN CLUSTER_URL N RUNS
(the cluster from scripts/clickhouse.sh; bench-out/mN.csv and bench-out/lateN.csv are made when
missing, as bench/run.sh makes them)
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (write_late)

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, "..", "bench-out")


def files(n):
    csv = os.path.join(WORK, f"m{n}.csv")
    if not os.path.exists(csv):
        subprocess.run([sys.executable, os.path.join(HERE, "gen.py"), str(n), csv], check=True)
    late = os.path.join(WORK, f"late{n}.csv")
    if not os.path.exists(late):
        bench.write_late(csv, late, n)
    return csv, late


def sql(node, q):
    subprocess.run(["curl", "-sf", f"http://{node}/", "--data-binary", q], check=False, capture_output=True)


def timed(cmd):
    t = time.perf_counter()
    r = subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t, r.stdout


def main():
    old, new, url, n, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    head, query = url.split("?", 1) if "?" in url else (url, "")
    server = head.rsplit("/", 1)[0]
    nodes = [server.split("://", 1)[1]] + (query.split("nodes=", 1)[1].split("&")[0].split(",") if "nodes=" in query else [])
    csv, late = files(n)
    steps = {"old": {"import": [], "late": [], "again": []}, "new": {"import": [], "late": [], "again": []}}
    reports = {}
    for run in range(runs):
        for name, exe in (("old", old), ("new", new)):
            db = f"bench_ab_{name}"
            for nd in nodes:
                sql(nd, f"DROP DATABASE IF EXISTS {db}")
            store = f"{server}/{db}?{query}" if query else f"{server}/{db}"
            subprocess.run([exe, "migrate", "--store", store], check=True, capture_output=True)
            for step, f in (("import", csv), ("late", late), ("again", csv)):
                secs, _ = timed([exe, "import", "messages", f, "--store", store])
                steps[name][step].append(secs)
                if step == "late":
                    _, reports[name] = timed([exe, "report", "--store", store, "--by", "account", "--format", "json"])
            print(json.dumps({"run": run, "binary": name, **{k: round(v[-1], 2) for k, v in steps[name].items()}}),
                  flush=True)
            for nd in nodes:
                sql(nd, f"DROP DATABASE IF EXISTS {db}")
    med = {b: {k: round(sorted(v)[len(v) // 2], 2) for k, v in s.items()} for b, s in steps.items()}
    print(json.dumps({"messages": n, "runs": runs, "medians": med, "same_report": reports["old"] == reports["new"]}))


if __name__ == "__main__":
    main()
