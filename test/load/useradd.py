#!/usr/bin/env python3
"""useradd.py: bounded benchmark of `subscriber.add` of N users one by one
over one MI connection, on DB_TEXT and on SQLite.

  python3 test/load/useradd.py --build build-load [--users 10000]
                               [--backends text,sqlite] [--runs 3]

Per backend and run: a temp folder with empty tables (gen_tables.py
--users 0; for SQLite the converter `sipd-db` makes the file from them),
sipd with its own config (127.0.0.1, its own MI socket and pid file,
`auth.max_subscribers` = 2 x N, at least 20000, 1 worker), one connection
to the MI UNIX socket, then N requests
  {"jsonrpc":"2.0","method":"subscriber.add",
   "params":["uNNNNN","pw","127.0.0.1"],"id":N}
each sent after the reply to the one before. Measured: wall time from the
first request sent to the last reply read. Checked: every reply's result
is "OK"; afterwards the table holds N rows (DB_TEXT: lines of the
`subscriber` file after its header; SQLite: `SELECT count(*)` with the
Python sqlite3 module, read-only, while sipd still runs). sipd is stopped
by SIGTERM to its PID (SIGKILL to the PID after 30 s); the temp folder is
removed unless --keep.

Bounds: every reply is awaited at most 10 s (socket timeout), the whole
run at most --limit seconds (default 120); start-up waits at most 20 s.
Only the Python standard library is used. Exit status 1 if a check fails.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.path.abspath(os.path.join(HERE, "..", ".."))
GEN = os.path.join(HERE, "gen_tables.py")


def say(*a):
    print("[useradd]", *a, flush=True)


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def one_run(build, backend, users, limit, work):
    sipd = os.path.join(build, "daemon", "sipd")
    sipd_db = os.path.join(build, "daemon", "store", "sipd-db")
    os.makedirs(work)
    gen = os.path.join(work, "gen")
    subprocess.run([sys.executable, GEN, "--users", "0", "--out", gen],
                   check=True, stdout=subprocess.DEVNULL)
    db = os.path.join(work, "db")
    if backend == "text":
        shutil.copytree(os.path.join(gen, "sipd"), db)
        url = "text://" + db
        table = os.path.join(db, "subscriber")
    else:
        os.makedirs(db)
        table = os.path.join(db, "sipd.db")
        subprocess.run([sipd_db, "convert", "text://" +
                        os.path.join(gen, "sipd"), "sqlite://" + table],
                       check=True, stdout=subprocess.DEVNULL)
        url = "sqlite://" + table
    sock = os.path.join(work, "mi.sock")
    cfg = os.path.join(work, "sipd.cfg")
    with open(cfg, "w") as f:
        f.write("listen = udp:127.0.0.1:%d\n" % free_udp_port())
        f.write("children = 1\n")
        f.write("db_url = %s\n" % url)
        f.write("mi.socket = %s\n" % sock)
        f.write("pid_file = %s\n" % os.path.join(work, "sipd.pid"))
        f.write("auth.max_subscribers = %d\n" % max(20000, 2 * users))
        f.write("log.level = warning\n")
    log = open(os.path.join(work, "sipd.log"), "wb")
    p = subprocess.Popen([sipd, "-D", "-E", "-f", cfg], stdout=log,
                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    res = {"backend": backend}
    try:
        deadline = time.monotonic() + 20
        s = None
        while time.monotonic() < deadline:
            if p.poll() is not None:
                raise RuntimeError("sipd exited with %d" % p.returncode)
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(sock)
                break
            except OSError:
                s.close()
                s = None
                time.sleep(0.01)
        if s is None:
            raise RuntimeError("MI socket not up in 20 s")
        s.settimeout(10)
        f = s.makefile("rb")
        bad = 0
        first_bad = None
        t0 = time.monotonic()
        stop_at = t0 + limit
        n = 0
        for i in range(users):
            if time.monotonic() > stop_at:
                res["error"] = "time limit %d s reached after %d" % (limit, i)
                break
            req = {"jsonrpc": "2.0", "method": "subscriber.add",
                   "params": ["u%05d" % i, "pw", "127.0.0.1"], "id": i + 1}
            s.sendall(json.dumps(req, separators=(",", ":")).encode()
                      + b"\n")
            line = f.readline()
            if not line:
                res["error"] = "connection closed after %d" % i
                break
            n += 1
            try:
                rep = json.loads(line)
                ok = rep.get("result") == "OK" and rep.get("id") == i + 1
            except ValueError:
                ok = False
            if not ok:
                bad += 1
                if first_bad is None:
                    first_bad = line[:200].decode("utf-8", "replace")
        res["wall"] = time.monotonic() - t0
        s.close()
        res["sent"] = n
        res["bad"] = bad
        res["first_bad"] = first_bad
        if backend == "text":
            with open(table) as tf:
                res["rows"] = sum(1 for ln in tf if ln.strip()) - 1
        else:
            c = sqlite3.connect("file:%s?mode=ro" % table, uri=True,
                                timeout=5)
            res["rows"] = c.execute(
                "SELECT count(*) FROM subscriber").fetchone()[0]
            c.close()
        res["size"] = os.path.getsize(table)
    finally:
        t1 = time.monotonic()
        if p.poll() is None:
            os.kill(p.pid, signal.SIGTERM)
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGKILL)
                p.wait(10)
        res["stop"] = time.monotonic() - t1
        log.close()
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(SRCDIR, "build"))
    ap.add_argument("--users", type=int, default=10000)
    ap.add_argument("--backends", default="text,sqlite")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--limit", type=float, default=120.0,
                    help="seconds allowed for one run's adds")
    ap.add_argument("--target", type=float, default=5.0,
                    help="seconds the median run should stay within "
                    "(reported, not an exit status)")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    top = tempfile.mkdtemp(prefix="sipd-useradd-")
    backends = [b for b in args.backends.split(",") if b]
    results = {b: [] for b in backends}
    failed = False
    try:
        for r in range(args.runs):
            # alternate the order so both backends see the same weather
            order = backends if r % 2 == 0 else list(reversed(backends))
            for b in order:
                res = one_run(build, b, args.users, args.limit,
                              os.path.join(top, "%s-%d" % (b, r)))
                ok = (res.get("bad") == 0 and res.get("sent") == args.users
                      and res.get("rows") == args.users
                      and not res.get("error"))
                failed |= not ok
                res["ok"] = ok
                results[b].append(res)
                say("%s run %d: %d adds in %.3f s (%.0f µs each), %s not "
                    "OK, %s rows, stop %.3f s%s" % (
                        b, r + 1, res.get("sent", 0), res.get("wall", 0),
                        res.get("wall", 0) / max(res.get("sent", 1), 1)
                        * 1e6, res.get("bad"), res.get("rows"),
                        res["stop"], "" if ok else
                        "  CHECK FAILED %s %s" % (res.get("error"),
                                                  res.get("first_bad"))))
    finally:
        if args.keep:
            say("kept", top)
        else:
            shutil.rmtree(top, ignore_errors=True)
    print()
    print("| %d × `subscriber.add`, one MI connection | %s |" % (
        args.users, " | ".join(backends)))
    print("|---|" + "---:|" * len(backends))

    def cell(b, f):
        v = [f(x) for x in results[b] if x.get("wall") is not None]
        if not v:
            return "–"
        return "%.2f (%.2f–%.2f)" % (statistics.median(v), min(v), max(v))
    print("| wall time, median (min–max) of %d runs (s) | %s |" % (
        args.runs, " | ".join(cell(b, lambda x: x["wall"])
                              for b in backends)))
    print("| = µs per add (median) | %s |" % " | ".join(
        "%.0f" % statistics.median(x["wall"] / max(x["sent"], 1) * 1e6
                                   for x in results[b])
        for b in backends))
    print("| replies \"OK\" / rows in the table afterwards | %s |" % (
        " | ".join("; ".join("%d / %s" % (x.get("sent", 0) - (x.get("bad")
                                                              or 0),
                                          x.get("rows"))
                             for x in results[b]) for b in backends)))
    print("| table size afterwards (kB) | %s |" % " | ".join(
        "%.0f" % (results[b][-1].get("size", 0) / 1024) for b in backends))
    print("| target | %s |" % " | ".join(
        "≤ %g s: %s" % (args.target, "met" if results[b] and
                        statistics.median(x.get("wall", 1e9)
                                          for x in results[b])
                        <= args.target else "NOT met")
        for b in backends))
    print()
    print("useradd checks (every reply OK, %d rows): %s" % (
        args.users, "FAIL" if failed else "PASS"))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
