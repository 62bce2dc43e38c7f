#!/usr/bin/env python3
"""bigtable.py: what a location table of 1,000,000 bindings costs sipd
when nothing happens on SIP: start-up, idle CPU, flush, stop, memory.

  python3 test/load/bigtable.py [--build DIR] [--bindings N] [--runs R]
        [--idle-seconds S] [--hash-size H] [--label TEXT] [--keep]
        [--backend text|sqlite]

BUILD_DIR (default build-rel) is a meson build dir of sipd, release
build with -Dtests=false. Per run (R runs, default 3; medians printed):

  ready   exec of `sipd -D -E` -> first `mictl core.uptime` answer (sipd
          loads `location` before it serves MI)
  idle    CPU of the whole process tree (master + workers), the sum over
          every task of /proc/PID/task/TID/schedstat run time, over S
          seconds (default 20) of no traffic, as % of one core
  flush   wall time of `mictl ul.flush` (forced: it writes all N rows;
          the generated rows are not named by their AoR, so on SQLite
          too this first flush replaces every row)
          (and the CPU time of the tree meanwhile: on a busy machine
          the wall time grows, the CPU time much less)
  changed wall time of the next `ul.flush` after --changes MI edits over
          one connection (half ul.add of a second contact to an AoR,
          half ul.rm of an AoR): what a periodic flush costs; SQLite
          writes only those AoRs' rows, DB_TEXT the whole file again
  RSS/PSS summed over the tree from /proc/PID/smaps_rollup, while idle
  stop    SIGTERM to the master's PID -> exit (the final flush writes
          nothing: the table did not change since ul.flush)

The tables come from gen_tables.py (N bindings on distinct AoRs, expiry
one day ahead, 1,000 subscribers). sipd gets its own config, MI socket
and pid file in a temp folder, listens on 127.0.0.1 on a free port, has
usrloc.max_contacts = 1100000 and usrloc.hash_size = 65536 (--hash-size;
what a table this size wants: the default 512 puts ~2,000 bindings in a
bucket), and is stopped by its PID; the folder is removed at the end (--keep
keeps it). Every wait has a deadline. Only the standard library is used.
Not part of `meson test`: it takes a few minutes and its figures depend
on the machine.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
from run import free_udp_port, tree_cpu, tree_mem, tree_pids  # noqa: E402

GEN = os.path.join(HERE, "gen_tables.py")


def say(*a):
    print(*a, file=sys.stderr, flush=True)


class Sipd:
    def __init__(self, build, work, db, hash_size, backend="text"):
        self.bin = os.path.join(build, "daemon", "sipd")
        self.mictl = os.path.join(build, "mi", "mictl")
        self.work = work
        self.sock = os.path.join(work, "mi.sock")
        self.cfg = os.path.join(work, "sipd.cfg")
        self.log = os.path.join(work, "sipd.log")
        conf = [
            ("listen", "udp:127.0.0.1:%d" % free_udp_port()),
            ("children", "2"),
            ("db_url", ("sqlite://" if backend == "sqlite" else "text://") +
             db),
            ("mi.socket", self.sock),
            ("pid_file", os.path.join(work, "sipd.pid")),
            ("log.level", "info"),
            ("usrloc.max_contacts", "1100000"),
            ("usrloc.hash_size", str(hash_size)),
            ("usrloc.flush_interval", "0"),
        ]
        with open(self.cfg, "w") as f:
            for k, v in conf:
                f.write("%s = %s\n" % (k, v))
        self.proc = None

    def rpc(self, *args, timeout=120):
        try:
            return subprocess.run([self.mictl, "-s", self.sock] + list(args),
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def start(self, timeout=120.0):
        """Seconds from exec to the first core.uptime answer."""
        logf = open(self.log, "ab")
        t0 = time.monotonic()
        self.proc = subprocess.Popen([self.bin, "-D", "-E", "-f", self.cfg],
                                     stdout=logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.work)
        logf.close()
        deadline = t0 + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("sipd exited with %d; see %s" % (
                    self.proc.returncode, self.log))
            # Until the socket exists mictl can only fail: do not spawn it.
            if os.path.exists(self.sock):
                r = self.rpc("core.uptime", timeout=5)
                if r is not None and r.returncode == 0:
                    return time.monotonic() - t0
            time.sleep(0.005)
        self.stop()
        raise RuntimeError("sipd not ready in %.0f s" % timeout)

    def stop(self, timeout=120.0):
        """SIGTERM by PID; seconds until the master exits."""
        if self.proc is None or self.proc.poll() is not None:
            return None
        t0 = time.monotonic()
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            for pid in reversed(tree_pids(self.proc.pid)):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            self.proc.wait(10)
            say("sipd did not stop in %.0f s: killed" % timeout)
            return None
        return time.monotonic() - t0


def mi_edits(sock_path, n, bindings, seed):
    """n edits pipelined over one MI connection; every reply checked."""
    import random
    sys.path.insert(0, HERE)
    from gen_tables import user
    rnd = random.Random(seed)
    picks = rnd.sample(range(bindings), n)
    lines = []
    for k, i in enumerate(picks):
        if k % 2 == 0:
            params = [user(i), "sip:%s@192.0.2.77:5070" % user(i), 86400]
            method = "ul.add"
        else:
            params, method = [user(i)], "ul.rm"
        lines.append(json.dumps({"jsonrpc": "2.0", "method": method,
                                 "params": params, "id": k}) + "\n")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
        c.settimeout(120)
        c.connect(sock_path)
        c.sendall("".join(lines).encode())
        c.shutdown(socket.SHUT_WR)
        buf = b""
        while True:
            d = c.recv(1 << 16)
            if not d:
                break
            buf += d
    replies = [json.loads(x) for x in buf.splitlines() if x.strip()]
    bad = [r for r in replies if "error" in r]
    if len(replies) != n or bad:
        raise RuntimeError("MI edits: %d replies, %d errors (%s)" % (
            len(replies), len(bad), bad[:1]))


def timed_flush(s, res, key):
    """ul.flush: wall seconds in res[key], the tree's CPU in key_cpu."""
    c0, t0 = tree_cpu(s.proc.pid), time.monotonic()
    r = s.rpc("ul.flush", timeout=120)
    res[key] = time.monotonic() - t0
    res[key + "_cpu"] = tree_cpu(s.proc.pid) - c0
    if r is None or r.returncode != 0:
        raise RuntimeError("ul.flush failed: %s" % (
            "timeout" if r is None else r.stderr.strip()))


def one_run(build, work, db, idle_s, hash_size, backend, changes=0,
            bindings=0, seed=0):
    s = Sipd(build, work, db, hash_size, backend)
    res = {}
    try:
        res["ready"] = s.start()
        time.sleep(2)       # let the workers settle after the fork
        c0, t0 = tree_cpu(s.proc.pid), time.monotonic()
        time.sleep(idle_s)
        c1, t1 = tree_cpu(s.proc.pid), time.monotonic()
        res["idle"] = 100.0 * (c1 - c0) / (t1 - t0)
        rss, pss, _ = tree_mem(s.proc.pid)
        res["rss"], res["pss"] = rss / 1024.0, pss / 1024.0
        timed_flush(s, res, "flush")
        if changes > 0:
            mi_edits(s.sock, changes, bindings, seed)
            timed_flush(s, res, "changed")
        res["stop"] = s.stop()
    finally:
        s.stop()
    return res


ROWS = [
    ("ready", "start-up, exec -> MI answers (s)", "%.2f"),
    ("idle", "idle CPU of the tree (% of a core)", "%.2f"),
    ("flush", "ul.flush of every binding (s)", "%.2f"),
    ("flush_cpu", "  its CPU time, whole tree (s)", "%.2f"),
    ("changed", "ul.flush after --changes edits (s)", "%.2f"),
    ("changed_cpu", "  its CPU time, whole tree (s)", "%.2f"),
    ("stop", "stop, SIGTERM -> exit (s)", "%.2f"),
    ("rss", "RSS of the tree, idle (MiB)", "%.0f"),
    ("pss", "PSS of the tree, idle (MiB)", "%.0f"),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(SRCDIR, "build-rel"))
    ap.add_argument("--bindings", type=int, default=1000000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--hash-size", type=int, default=65536)
    ap.add_argument("--idle-seconds", type=float, default=20.0)
    ap.add_argument("--label", default="")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--changes", type=int, default=10000,
                    help="MI edits before the second flush (0: none)")
    ap.add_argument("--backend", choices=("text", "sqlite"), default="text",
                    help="sqlite: the tables converted with sipd-db")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    for p in ("daemon/sipd", "mi/mictl"):
        if not os.access(os.path.join(build, p), os.X_OK):
            sys.exit("no %s in %s: build it first" % (p, build))

    work = tempfile.mkdtemp(prefix="sipd-bigtable-")
    try:
        say("generating %d bindings in %s" % (args.bindings, work))
        subprocess.run([sys.executable, GEN, "--users", "1000",
                        "--bindings", str(args.bindings), "--out", work,
                        "--sipd-only"], check=True, timeout=600)
        db = os.path.join(work, "sipd")
        loc = os.path.join(db, "location")
        if args.backend == "sqlite":
            sq = os.path.join(work, "sipd.sqlite")
            subprocess.run([os.path.join(build, "daemon", "store", "sipd-db"),
                            "convert", "text://" + db, "sqlite://" + sq],
                           check=True, timeout=600)
            db = loc = sq
        shutil.copyfile(loc, loc + ".gen")
        runs = []
        for i in range(args.runs):
            # Each run starts from the generated file, not the one the
            # last run's flush wrote: that one is in bucket order, which
            # lays each bucket's records out together in shm and makes
            # every walk of the table much cheaper than after real
            # traffic (or after gen_tables.py's AoR order).
            shutil.copyfile(loc + ".gen", loc)
            for wal in (loc + "-wal", loc + "-shm"):
                if os.path.exists(wal):
                    os.unlink(wal)
            r = one_run(build, work, db, args.idle_seconds,
                        args.hash_size, args.backend, args.changes,
                        args.bindings, seed=i)
            say("run %d: %s" % (i + 1, " ".join(
                "%s=%.3f" % (k, v) for k, v in r.items() if v is not None)))
            runs.append(r)
        title = "%s, %s, %d bindings, hash_size %d, %d runs" % (
            args.label or build, args.backend, args.bindings,
            args.hash_size, args.runs)
        print("\n### bigtable: %s\n" % title)
        print("| Figure | median | min | max |")
        print("|---|---:|---:|---:|")
        for k, name, f in ROWS:
            v = [r[k] for r in runs if r.get(k) is not None]
            if not v:
                continue
            print("| %s | %s | %s | %s |" % (name, f % statistics.median(v),
                                              f % min(v), f % max(v)))
    finally:
        if args.keep:
            say("kept %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
