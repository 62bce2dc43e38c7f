#!/usr/bin/env python3
"""soak.py: does sipd's shared memory stay flat under a long call load?

  python3 test/load/soak.py [--build DIR] [--minutes 10] [--rate 1000]
                            [--path gw-ua] [--sample 30]

One sipd (calls.py's set-up: 10,000 users whose bindings point at a SIPp
UAS, the gateway on 127.0.0.2) carries calls at a fixed rate for the
given minutes (one bounded SIPp run of rate x seconds calls). Every
--sample seconds it records the transaction table (stats.get_statistics
tm: cells and chunks in use) and the PSS/RSS of the process tree. After
the run it waits for the finished transactions to be freed (5 s wait
state) and records once more.

Verdict ("soak: PASS" / "soak: FAIL ..."), on the last line:
  - no call failed;
  - the busiest sample of the second half is not above the busiest of
    the first half by more than 10 % (cells, chunks) or 2 MB (PSS):
    nothing grows with time at a steady rate;
  - after the drain, 0 transactions and 0 chunks are in use (no leak).
Bounded: SIPp by -m, -timeout and a wall-clock kill; sipd stopped by PID.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import calls  # noqa: E402
import run  # noqa: E402
from run import say  # noqa: E402


def tm_usage(server):
    r = server.rpc("-j", "stats.get_statistics", "tm:", timeout=10)
    if r is None or r.returncode != 0:
        return None
    st = json.loads(r.stdout)
    return st.get("tm:current"), st.get("tm:shm_chunks_used")


def sample(server, t0, rows, label=""):
    u = tm_usage(server)
    rss, pss, _ = run.tree_mem(server.pid)
    rows.append({"t": time.monotonic() - t0, "cells": u and u[0],
                 "chunks": u and u[1], "pss": pss, "rss": rss,
                 "label": label})
    r = rows[-1]
    say("soak t=%4.0fs cells %s chunks %s PSS %d kB RSS %d kB %s" % (
        r["t"], r["cells"], r["chunks"], pss, rss, label))


def main():
    ap = argparse.ArgumentParser(description="sipd shm soak under calls")
    ap.add_argument("--build", default=os.path.join(run.SRCDIR, "build"))
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--rate", type=int, default=1000)
    ap.add_argument("--path", default="gw-ua", choices=calls.PATHS)
    ap.add_argument("--sample", type=float, default=30.0)
    ap.add_argument("--users", type=int, default=10000)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    if not shutil.which("sipp"):
        sys.exit("sipp not found: apt-get install -y sip-tester")

    work = tempfile.mkdtemp(prefix="sipd-soak-")
    csv = os.path.join(work, "calls.csv")
    calls.write_csv(csv, args.users)
    ports = calls.Ports()
    s = calls.SipdCalls(os.path.join(work, "sipd"), 2, args.build, [],
                        ports.gw)
    s.ports = ports
    tables = os.path.join(work, "tables")
    run.run_cmd([sys.executable, run.GEN, "--users", str(args.users),
                 "--bindings", str(args.users), "--out", tables,
                 "--contact-host", calls.UA_IP, "--contact-port",
                 str(ports.phones)], check=True)
    db = os.path.join(s.dir, "db")
    shutil.copytree(os.path.join(tables, "sipd"), db)
    rows = []
    result = {}
    ok = False
    try:
        s.start(db, expect=args.users)
        count = int(args.rate * args.minutes * 60)
        say("soak: %d calls (%s) at %d/s" % (count, args.path, args.rate))
        t0 = time.monotonic()
        th = threading.Thread(target=lambda: result.update(calls.run_calls(
            s, args.path, csv, count, args.rate, work, "soak")))
        th.start()
        sample(s, t0, rows, "start")
        limit = t0 + args.minutes * 60 + 120
        while th.is_alive() and time.monotonic() < limit:
            th.join(args.sample)
            if th.is_alive():
                sample(s, t0, rows)
        th.join(30)
        time.sleep(7)           # the 5 s wait state of the last calls
        sample(s, t0, rows, "drained")
        busy = [r for r in rows[1:-1] if r["cells"] is not None]
        half = len(busy) // 2
        first, second = busy[:half], busy[half:]
        verdict = []
        if result.get("failed") or result.get("ok") != count:
            verdict.append("%s of %d calls failed" % (
                result.get("failed"), count))
        if first and second:
            for key, slack in (("cells", 1.10), ("chunks", 1.10)):
                a = max(r[key] for r in first)
                b = max(r[key] for r in second)
                if b > a * slack:
                    verdict.append("%s grew %d -> %d" % (key, a, b))
            a = max(r["pss"] for r in first)
            b = max(r["pss"] for r in second)
            if b > a + 2048:
                verdict.append("PSS grew %d -> %d kB" % (a, b))
        else:
            verdict.append("too few samples (run at least 2 x --sample)")
        last = rows[-1]
        if last["cells"] != 0 or last["chunks"] != 0:
            verdict.append("after the drain %s cells, %s chunks in use" % (
                last["cells"], last["chunks"]))
        ok = not verdict
        print()
        print("| t (s) | transactions | chunks | PSS (kB) | RSS (kB) |")
        print("|---|---|---|---|---|")
        for r in rows:
            print("| %.0f %s | %s | %s | %d | %d |" % (
                r["t"], r["label"], r["cells"], r["chunks"], r["pss"],
                r["rss"]))
        print()
        print("calls ok %s failed %s retrans %s, sipd CPU %.1f s" % (
            result.get("ok"), result.get("failed"), result.get("retrans"),
            result.get("cpu") or 0))
        print("soak: PASS" if ok else "soak: FAIL " + "; ".join(verdict))
    finally:
        if s.proc is not None:
            s.stop()
        if args.keep:
            say("kept", work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
