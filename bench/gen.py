#!/usr/bin/env python3
"""Writes N synthetic messages as a Baromètre messages CSV (streaming, seeded).

Conversations carry a conversation_id; each holds 1-3 requests of 1-2 customer messages, most
answered by a human after a log-normal delay, some first by a bot. Usage: gen.py N OUT.csv
The environment may change the spread (the defaults give the benchmarks' files): GEN_ACCOUNTS (20),
GEN_CHANNELS (5), GEN_AGENTS (50), GEN_DAYS (300).
"""
import os
import random
import sys
from datetime import datetime, timedelta, timezone

n = int(sys.argv[1])
out = open(sys.argv[2], "w", buffering=1 << 20)
rnd = random.Random(42)
out.write("message_id,created_at,direction,account,channel,author_id,conversation_id,bot\n")
accounts = int(os.environ.get("GEN_ACCOUNTS", 20))
agents = int(os.environ.get("GEN_AGENTS", 50))
channels = ["facebook_wall", "facebook_messenger", "twitter", "email", "chat"][: int(os.environ.get("GEN_CHANNELS", 5))]
t0 = datetime(2026, 1, 1, tzinfo=timezone.utc).timestamp()
span = int(os.environ.get("GEN_DAYS", 300)) * 86400
i = c = 0
fmt = lambda ts: datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
while i < n:
    c += 1
    acc = f"acct{rnd.randrange(accounts):02d}"
    ch = channels[rnd.randrange(len(channels))]
    cust = f"u{rnd.randrange(1_000_000)}"
    t = t0 + rnd.random() * span
    for _ in range(1 + (rnd.random() < 0.4) + (rnd.random() < 0.1)):
        for _ in range(1 + (rnd.random() < 0.3)):
            out.write(f"m{i},{fmt(t)},in,{acc},{ch},{cust},c{c},\n"); i += 1
            t += rnd.randrange(5, 300)
        if rnd.random() < 0.2:
            out.write(f"m{i},{fmt(t + 2)},out,{acc},{ch},bot,c{c},true\n"); i += 1
        if rnd.random() < 0.88:
            t += int(rnd.lognormvariate(7, 1.3)) + 1
            out.write(f"m{i},{fmt(t)},out,{acc},{ch},agent{rnd.randrange(agents)},c{c},false\n"); i += 1
            t += rnd.randrange(60, 7200)
out.close()
