#!/usr/bin/env python3
"""Several nodes through Redis (issue 13, Speed): bounded benchmarks.

1. Registration visible on another node: a trusted REGISTER (no digest)
   on node 1; from the moment its 200 arrives, the gateway sends OPTIONS
   (routed as an INVITE is, without a dialog to end) for that AoR
   through node 2 until one reaches the phone (a 480 means not yet: the
   next probe goes at once). The time from the 200 to the sending of
   the successful probe, p50/p99 over --samples AoRs.
2. REGISTER throughput, SIPp reg_auth.xml (401 + 200) at fixed rates:
   one node without cluster.redis, one node with, and three nodes with
   one SIPp each at the same time. Per run: REGISTERs completed per
   second, failures, and CPU per REGISTER of the sipd trees and of
   redis-server (schedstat, as run.py measures).
   Then "share": what another node's REGISTER costs a node. Three
   nodes, SIPp on the first only: CPU per REGISTER of the loaded node
   (c_own: its workers and its sync process reading its own events) and
   of each listening node (c_other: its sync process applying the
   events). With every node on cores of its own, N nodes register
   N * c_own / (c_own + (N - 1) * c_other) times what one does, until
   redis-server's core is full; on this 2-core box three nodes cannot
   run side by side, so this is the figure the issue's "three nodes
   together >= 2.5x one" is checked on.
3. Start to "loaded" with --aors AoRs in Redis.
4. CPU per GW -> UA call (calls.py's gw-ua path: SIPp as the gateway on
   127.0.0.2 calls registered users, SIPp as the phones answers): one
   node without cluster.redis and one node with it (its sync process and
   heartbeat included; redis-server's CPU shown beside), --call-count
   calls at --call-rate, the two alternated --call-rounds times in the
   same run, each with its own ports and tables (10,000 users, every
   binding at the phones' SIPp).

Everything runs on 127.0.0.1, each SIPp run bounded by -m and a wall
clock limit, servers stopped by PID. Figures are noisy on a shared box:
compare within one run. Usage:
  python3 test/load/cluster_bench.py --build build-load [--quick]
      [--only vis,reg,share,start,calls]
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
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integ"))
import run  # noqa: E402
import calls  # noqa: E402
from sipcli import Client, Request, rand_token  # noqa: E402
from sipd_helpers import fill_redis  # noqa: E402


class Redis:
    def __init__(self, d):
        os.makedirs(d, exist_ok=True)
        self.port = run.free_tcp_port()
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", d,
             "--logfile", os.path.join(d, "redis.log")])
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if self.cmd("PING") == b"+PONG\r\n":
                return
            time.sleep(0.02)
        raise RuntimeError("redis-server not ready")

    def cmd(self, *args):
        try:
            with socket.create_connection(("127.0.0.1", self.port), 2) as s:
                out = b"*%d\r\n" % len(args)
                for a in args:
                    a = str(a).encode()
                    out += b"$%d\r\n%s\r\n" % (len(a), a)
                s.sendall(out)
                return s.recv(65536)
        except OSError:
            return None

    def flush(self):
        self.cmd("FLUSHALL")

    def commandstats(self):
        """[(command, calls, usec_per_call)], busiest first."""
        out = []
        for ln in (self.cmd("INFO", "commandstats") or b"").decode(
                errors="replace").splitlines():
            if not ln.startswith("cmdstat_"):
                continue
            name, _, kv = ln[8:].partition(":")
            f = dict(x.split("=", 1) for x in kv.split(",") if "=" in x)
            if name in ("info", "config", "flushall", "ping"):
                continue
            out.append((name, int(f.get("calls", 0)),
                        float(f.get("usec_per_call", 0))))
        return sorted(out, key=lambda x: -x[1] * x[2])

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


STARTED = []     # every server started, stopped by PID at the end


def start_node(work, name, build, db, children, extra):
    """A node on its own copy of the tables as generated (no bindings):
    on the shared folder, each run would start with the bindings the run
    before flushed, and a cluster node would replay them into the empty
    Redis while SIPp runs (10,000 extra scripts in the figures)."""
    srv = run.Sipd(os.path.join(work, name), children, build, extra,
                   name=name)
    STARTED.append(srv)
    own = os.path.join(work, name, "db")
    shutil.rmtree(own, ignore_errors=True)
    shutil.copytree(db, own)
    srv.start(own)
    if any(k == "cluster.redis" for k, _ in extra):
        deadline = time.monotonic() + 30
        while cluster_status(srv).get("full_loads", 0) < 1:
            if time.monotonic() > deadline:
                raise RuntimeError(name + ": no cluster load in 30 s")
            time.sleep(0.005)
    return srv


def cluster_status(srv):
    r = subprocess.run([srv.mictl, "-s", srv.sock, "-j", "cluster.status"],
                       capture_output=True, text=True, timeout=10)
    try:
        return json.loads(r.stdout) if r.returncode == 0 else {}
    except ValueError:
        return {}


def trusted_register(c, node_port, user, contact, call_id, cseq=1):
    """contact: a URI, or a whole Contact header value ("<...>...")."""
    if not contact.startswith("<"):
        contact = "<%s>" % contact
    lines = ["REGISTER sip:127.0.0.1 SIP/2.0",
             "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%s;rport" % (
                 c.port, rand_token()),
             "Max-Forwards: 70",
             "From: <sip:trusty@127.0.0.1>;tag=%s" % rand_token(6),
             "To: <sip:%s@127.0.0.1>" % user,
             "Call-ID: " + call_id, "CSeq: %d REGISTER" % cseq,
             "Contact: " + contact, "Expires: 3600",
             "Content-Length: 0"]
    c.sock.sendto(("\r\n".join(lines) + "\r\n\r\n").encode(),
                  ("127.0.0.1", node_port))


def register_ok(c, n1, user, contact, call_id, cseq=1):
    trusted_register(c, n1.port, user, contact, call_id, cseq)
    r = c.recv(2.0)
    if r is None or r.code != 200:
        raise RuntimeError("REGISTER %s: %r" % (user, r))


def register_then_probe(c, n1, n2, gw, user, contact, call_id, ph,
                        cseq=1, stale=None):
    """REGISTER on n1, then probes through n2 from the 200 on until one
    reaches ph: ms from the 200 to the sending of that probe."""
    register_ok(c, n1, user, contact, call_id, cseq)
    t200 = time.monotonic()
    deadline = t200 + 2.0
    while True:
        sent = time.monotonic()
        cid = "probe-%s@gw" % rand_token(10)
        gw.sock.sendto(probe_invite(gw, user, n2.port, cid),
                       ("127.0.0.1", n2.port))
        if wait_probe(gw, ph, cid, deadline, stale=stale):
            return (sent - t200) * 1000
        if time.monotonic() > deadline:
            raise RuntimeError("%s never reached through node 2" % user)


def visibility(n1, n2, gw, users, samples):
    """ms from the 200 on n1 until an INVITE through n2 reaches the phone."""
    ph = Client(n1.port)
    c = Client(n1.port)
    out = [register_then_probe(c, n1, n2, gw, user,
                               "sip:%s@127.0.0.1:%d" % (user, ph.port),
                               "vis-%d" % i, ph)
           for i, user in enumerate(users[:samples])]
    ph.close()
    c.close()
    return out


def visibility_moved(n1, n2, gw, users, samples, work, load=None):
    """ms from the 200 on n1 for a REGISTER that moves a phone (its old
    contact removed, a new one added) until a probe through n2 reaches
    the new one. n2 already holds the old contact, so no lookup misses:
    this is the stream alone. load: (csv, rate), SIPp REGISTERs of other
    users on n1 meanwhile (the sync process then reads in batches)."""
    old, new, c = Client(n1.port), Client(n1.port), Client(n1.port)
    mine = users[:samples]
    for i, user in enumerate(mine):
        register_ok(c, n1, user, "sip:%s@127.0.0.1:%d" % (user, old.port),
                    "mv-%d" % i)
    deadline = time.monotonic() + 10
    while cluster_status(n2).get("applied", 0) < len(mine):
        if time.monotonic() > deadline:
            raise RuntimeError("node 2 did not learn the phones")
        time.sleep(0.05)
    th = None
    if load is not None:
        csv, rate = load
        th = threading.Thread(target=run.run_sipp, args=(
            n1, csv, int(rate * 4), rate,
            run.free_udp_port(), work, "moved-load"))
        th.start()
        time.sleep(1.0)     # SIPp under way
    out = [register_then_probe(
        c, n1, n2, gw, user, "<sip:%s@127.0.0.1:%d>;expires=0, "
        "<sip:%s@127.0.0.1:%d>" % (user, old.port, user, new.port),
        "mv-%d" % i, new, cseq=2, stale=old) for i, user in enumerate(mine)]
    if th is not None:
        th.join()
    for cl in (old, new, c):
        cl.close()
    return out


def probe_invite(gw, user, port, cid):
    lines = ["OPTIONS sip:%s@127.0.0.1:%d SIP/2.0" % (user, port),
             "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%s;rport" % (
                 gw.port, rand_token()),
             "Max-Forwards: 70",
             "From: <sip:004930123456@127.0.0.1>;tag=%s" % rand_token(6),
             "To: <sip:%s@127.0.0.1>" % user,
             "Call-ID: " + cid, "CSeq: 1 OPTIONS",
             "Contact: <sip:gw@127.0.0.1:%d>" % gw.port,
             "Content-Length: 0"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def wait_probe(gw, ph, cid, deadline, stale=None):
    """True when the phone got the OPTIONS (answered 200), False on 480,
    when the stale phone got it (answered 480: not moved yet) or when
    nothing came for 200 ms (a lost datagram: probe again)."""
    deadline = min(deadline, time.monotonic() + 0.2)
    while time.monotonic() < deadline:
        if stale is not None:
            stale.sock.settimeout(0)
            try:
                data, addr = stale.sock.recvfrom(65535)
                req = Request(data)
                if req.method == "OPTIONS" and req.get("Call-ID") == cid:
                    stale.sock.sendto(run_answer(req, 480), addr)
                    return False
            except (BlockingIOError, ValueError):
                pass
        ph.sock.settimeout(0)
        try:
            data, addr = ph.sock.recvfrom(65535)
            req = Request(data)
            if req.method == "OPTIONS" and req.get("Call-ID") == cid:
                ph.sock.sendto(run_answer(req), addr)
                return True
        except (BlockingIOError, ValueError):
            pass
        gw.sock.settimeout(0)
        try:
            data = gw.sock.recv(65535)
            if b"Call-ID: " + cid.encode() in data and \
                    data.startswith(b"SIP/2.0 480"):
                return False
        except BlockingIOError:
            pass
        time.sleep(0.0001)
    return False


REASONS = {200: "OK", 480: "Temporarily Unavailable"}


def run_answer(req, code=200):
    hdrs = ["Via: " + v for v in req.all("Via")]
    hdrs += ["From: " + req.get("From"),
             "To: " + req.get("To") + ";tag=" + rand_token(6),
             "Call-ID: " + req.get("Call-ID"), "CSeq: " + req.get("CSeq"),
             "Content-Length: 0"]
    return ("SIP/2.0 %d %s\r\n" % (code, REASONS[code]) +
            "\r\n".join(hdrs) + "\r\n\r\n").encode()


def node_csvs(csv, n):
    """users.csv split in n disjoint parts, one per node's SIPp: phones
    register on one node each. With the same list, the n SIPps went
    through the same users in step, so every AoR changed on all nodes
    at once and each node refetched it after each other node."""
    if n == 1:
        return [csv]
    with open(csv) as f:
        head, *rows = f.read().splitlines()
    out = []
    for i in range(n):
        part = "%s.%dof%d" % (csv, i + 1, n)
        with open(part, "w") as f:
            f.write("\n".join([head] + rows[i::n]) + "\n")
        out.append(part)
    return out


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def sipp_runs(nodes, csvs, count, rate, work, tag, redis_pid):
    """One SIPp per node at once; totals."""
    results = [None] * len(nodes)
    cpu0 = run.tree_cpu(redis_pid) if redis_pid else 0

    def one(i):
        results[i] = run.run_sipp(nodes[i], csvs[i], count, rate,
                                  run.free_udp_port(), work, tag)
    th = [threading.Thread(target=one, args=(i,)) for i in range(len(nodes))]
    t0 = time.monotonic()
    for t in th:
        t.start()
    for t in th:
        t.join()
    wall = time.monotonic() - t0
    rcpu = (run.tree_cpu(redis_pid) - cpu0) if redis_pid else 0
    ok = sum(r.get("ok", 0) for r in results)
    failed = sum(r.get("failed", 0) for r in results)
    cpu = sum(r.get("cpu", 0) for r in results)
    # REGISTER transactions with a 200 per second of traffic
    span = max(r.get("wall", wall) for r in results)
    scpu = sum(r.get("sipp_cpu") or 0 for r in results)
    # cores busy during the run: sipd trees, redis-server, SIPp
    return {"ok": ok, "failed": failed,
            "rate": sum(r.get("achieved", 0) or 0 for r in results),
            "cpu_us": cpu / max(ok, 1) * 1e6,
            "redis_us": rcpu / max(ok, 1) * 1e6, "wall": span,
            "cores": (cpu / span, rcpu / span, scpu / span)}


def share_cost(args, work, db, cl, redis):
    """Section 2, "share": c_own and c_other per rate (see the
    docstring)."""
    csv = os.path.join(work, "users.csv")
    rows = []
    for rate in [int(x) for x in args.rates.split(",")]:
        count = int(rate * args.seconds)
        redis.flush()
        ns = [start_node(work, "s%d" % i, args.build, db, 2,
                         cl + [("cluster.node_id", "s%d" % i)])
              for i in range(3)]
        listeners = [run.tree_cpu(n.pid) for n in ns[1:]]
        r = sipp_runs(ns[:1], [csv], count, rate, work, "share-%d" % rate,
                      redis.proc.pid)
        # the listeners' last batch: at most SYNC_GATHER_MS behind
        time.sleep(0.3)
        other = [(run.tree_cpu(n.pid) - c0) / max(r["ok"], 1) * 1e6
                 for n, c0 in zip(ns[1:], listeners)]
        applied = [cluster_status(n).get("applied", 0) for n in ns[1:]]
        for n in ns:
            n.stop()
        rows.append((rate, r, other, applied))
    print()
    print("| REGISTERs/s on one node of 3 | 200s | c_own us/reg. | c_other "
          "us/reg. (each listener) | AoRs applied (each listener) | "
          "redis us/reg. | 3 nodes / 1 node, own cores |")
    print("|---|---|---|---|---|---|---|")
    for rate, r, other, applied in rows:
        c_own, c_other = r["cpu_us"], statistics.mean(other)
        print("| %d | %d | %.1f | %s | %s | %.1f | %.2f |" % (
            rate, r["ok"], c_own, ", ".join("%.1f" % x for x in other),
            ", ".join(str(a) for a in applied), r["redis_us"],
            3 * c_own / (c_own + 2 * c_other)))


def call_cpu(args, work, redis):
    """Section 4: CPU per GW -> UA call, one node without and one with
    cluster.redis, alternated in the same run (see the docstring)."""
    users = 10000
    # an empty Redis: the cluster node seeds it with its own table (with
    # AoRs already there, its bindings would be dropped at the first load)
    redis.flush()
    csv = os.path.join(work, "calls.csv")
    calls.write_csv(csv, users)
    servers = []
    for name, cl in (("single", []), ("cluster", [
            ("cluster.redis", "redis://127.0.0.1:%d" % redis.port),
            ("cluster.node_id", "c1")])):
        ports = calls.Ports()
        s = calls.SipdCalls(os.path.join(work, "calls-" + name), 2,
                            args.build, cl, ports.gw)
        s.name = name
        s.ports = ports
        tables = os.path.join(work, "tables-" + name)
        run.run_cmd([sys.executable, run.GEN, "--users", str(users),
                     "--bindings", str(users), "--out", tables,
                     "--contact-host", calls.UA_IP, "--contact-port",
                     str(ports.phones)], check=True)
        db = os.path.join(s.dir, "db")
        shutil.copytree(os.path.join(tables, "sipd"), db)
        STARTED.append(s)
        s.start(db, expect=users)
        if cl:
            deadline = time.monotonic() + 30
            while cluster_status(s).get("full_loads", 0) < 1:
                if time.monotonic() > deadline:
                    raise RuntimeError("cluster node: no load in 30 s")
                time.sleep(0.01)
        servers.append(s)
    # warm-up, then the rounds alternating
    for s in servers:
        calls.run_calls(s, "gw-ua", csv, 200, 200, work, "warm")
    per = {s.name: [] for s in servers}
    rcpu = []
    for i in range(args.call_rounds):
        for s in servers:
            r0 = run.tree_cpu(redis.proc.pid)
            r = calls.run_calls(s, "gw-ua", csv, args.call_count,
                                args.call_rate, work, "r%d" % i)
            us = calls.cpu_per_call(r)
            per[s.name].append((us * 1e6 if us else None, r))
            if s.name == "cluster":
                rcpu.append((run.tree_cpu(redis.proc.pid) - r0) /
                            max(r.get("ok") or 1, 1) * 1e6)
    for s in servers:
        s.stop()
    print()
    print("CPU per GW -> UA call (%d calls at %d/s per run, SIPp gw_ua + "
          "uas, 10,000 users):" % (args.call_count, args.call_rate))
    print("| round | single node us/call | cluster node us/call | "
          "ratio | redis-server us/call | failed (single, cluster) |")
    print("|---|---|---|---|---|---|")
    for i in range(args.call_rounds):
        a, ra = per["single"][i]
        b, rb = per["cluster"][i]
        print("| %d | %s | %s | %s | %.1f | %s, %s |" % (
            i + 1, run.fmt(a, "%.1f"), run.fmt(b, "%.1f"),
            "%.3f" % (b / a) if a and b else "-", rcpu[i],
            ra.get("failed"), rb.get("failed")))
    sa = [x for x, _ in per["single"] if x]
    sb = [x for x, _ in per["cluster"] if x]
    if sa and sb:
        print("all rounds: single %.1f, cluster %.1f us/call, ratio %.3f" % (
            sum(sa) / len(sa), sum(sb) / len(sb),
            (sum(sb) / len(sb)) / (sum(sa) / len(sa))))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(run.SRCDIR, "build"))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--samples", type=int, default=500)
    ap.add_argument("--rates", default="1000,2000,4000")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--aors", type=int, default=100000)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--only", default="vis,reg,share,start,calls",
                    help="sections to run (comma list)")
    ap.add_argument("--configs", default="1 node, no Redis;1 node, Redis;"
                    "3 nodes, Redis", help="throughput runs (; list)")
    ap.add_argument("--call-count", type=int, default=5000)
    ap.add_argument("--call-rate", type=int, default=1000)
    ap.add_argument("--call-rounds", type=int, default=2)
    args = ap.parse_args()
    args.only = set(args.only.split(","))
    args.configs = args.configs.split(";")
    if args.quick:
        args.samples, args.seconds, args.aors = 200, 3.0, 20000
    for tool in ("sipp", "redis-server"):
        if shutil.which(tool) is None:
            sys.exit("%s is not installed" % tool)
    work = tempfile.mkdtemp(prefix="sipd-cluster-bench-")
    nodes = []
    redis = Redis(os.path.join(work, "redis"))
    try:
        users = 10000
        subprocess.run([sys.executable, run.GEN, "--users", str(users),
                        "--out", work, "--sipd-only"], check=True)
        db = os.path.join(work, "sipd")
        with open(os.path.join(db, "trusted"), "a") as f:
            f.write("1:127.0.0.1:udp:^sip.trusty@:\n")
        gw = Client(0)
        base = [("pstn.gw_ip", '"127.0.0.1"'), ("pstn.gw_port", str(gw.port)),
                ("usrloc.max_contacts", "200000"),
                ("usrloc.hash_size", "65536")]
        cl = base + [("cluster.redis", "redis://127.0.0.1:%d" % redis.port)]
        with open(os.path.join(work, "users.csv")) as f:
            names = [ln.split(";")[0] for ln in f.read().splitlines()[1:]]

        print("## cluster bench (%s), %s" % (args.build, time.strftime(
            "%Y-%m-%d %H:%M UTC", time.gmtime())))
        if "vis" in args.only:
            # 1. visibility
            n1 = start_node(work, "v1", args.build, db, 2,
                            cl + [("cluster.node_id", "v1")])
            n2 = start_node(work, "v2", args.build, db, 2,
                            cl + [("cluster.node_id", "v2")])
            nodes += [n1, n2]
            vis = visibility(n1, n2, gw, names, args.samples)
            first = sum(1 for v in vis if v < 0.05)
            print("visible on node 2 after the 200 on node 1 (%d AoRs): "
                  "p50 %.2f ms, p99 %.2f ms, max %.2f ms; the first probe "
                  "(sent as the 200 arrived) found it for %d" % (
                      len(vis), statistics.median(vis), pct(vis, 99),
                      max(vis), first))
            csvs = node_csvs(os.path.join(work, "users.csv"), 2)
            for rate in (0, 8000):
                # users of neither section 1 nor SIPp (odd rows)
                mv = visibility_moved(n1, n2, gw, [
                    u for i, u in enumerate(names)
                    if i >= args.samples and i % 2],
                                      args.samples, work,
                                      (csvs[0], rate) if rate else None)
                print("a moved phone (old contact removed, new added) "
                      "routed to the new one through node 2, %s: p50 "
                      "%.2f ms, p99 %.2f ms, max %.2f ms (%d AoRs)" % (
                          "while node 1 takes %d REGISTERs/s of other "
                          "users" % rate if rate else "no other load",
                          statistics.median(mv), pct(mv, 99), max(mv),
                          len(mv)))
            for n in (n1, n2):
                n.stop()
            nodes = []
        if "reg" in args.only:
            # 2. throughput
            rows = []
            csv = os.path.join(work, "users.csv")
            for rate in [int(x) for x in args.rates.split(",")]:
                count = int(rate * args.seconds)
                for label, cfgs in [x for x in (
                        ("1 node, no Redis", [base]),
                        ("1 node, Redis", [cl]),
                        ("3 nodes, Redis", [cl, cl, cl]))
                        if x[0] in args.configs]:
                    redis.flush()
                    redis.cmd("CONFIG", "RESETSTAT")
                    ns = [start_node(work, "t%d" % i, args.build, db, 2,
                                     c + ([("cluster.node_id", "t%d" % i)]
                                          if c is cl else []))
                          for i, c in enumerate(cfgs)]
                    nodes = ns
                    r = sipp_runs(ns, node_csvs(csv, len(ns)), count, rate,
                                  work,
                                  "%s-%d" % (label[0], rate),
                                  redis.proc.pid if cfgs[0] is cl else None)
                    for n in ns:
                        n.stop()
                    nodes = []
                    r["redis_cmds"] = redis.commandstats()
                    rows.append((label, rate * len(ns), r))
            print()
            # SIPp's "achieved": the rate it really started registrations
            # at (below -r when SIPp itself runs out of CPU)
            print("| servers | asked /s | SIPp sent /s | 200s | failed | "
                  "sipd CPU us/reg. | redis CPU us/reg. | "
                  "cores busy: sipd, redis, SIPp |")
            print("|---|---|---|---|---|---|---|---|")
            for label, offered, r in rows:
                print("| %s | %d | %.0f | %d | %d | %.1f | %.1f | "
                      "%.2f, %.2f, %.2f |" % (
                          label, offered, r["rate"], r["ok"], r["failed"],
                          r["cpu_us"], r["redis_us"], *r["cores"]))
            print()
            print("redis-server per command (INFO commandstats; calls, "
                  "us per call, counting the script's own commands):")
            for label, offered, r in rows:
                if r["redis_cmds"]:
                    print("- %s, %d/s: %s" % (label, offered, ", ".join(
                        "%s %d x %.1f us" % (c, n, us) for c, n, us in
                        r["redis_cmds"])))
        if "share" in args.only:
            share_cost(args, work, db, cl, redis)
        if "start" in args.only:
            # 3. start with AoRs in Redis
            redis.flush()
            fill_redis(redis.port, args.aors, int(time.time()),
                       prefix="b", node="bench")
            t0 = time.monotonic()
            n = start_node(work, "r1", args.build, db, 2,
                           cl + [("cluster.node_id", "r1")])
            took = time.monotonic() - t0
            nodes = [n]
            print()
            print("start with %d AoRs in Redis: %.2f s from exec to every AoR "
                  "in shm (cluster.status full_loads 1, polled every 5 ms)" % (
                      args.aors, took))
            n.stop()
            nodes = []
        if "calls" in args.only:
            call_cpu(args, work, redis)
        gw.close()
    finally:
        for n in nodes + STARTED:
            if n.proc is not None:
                n.stop()
        redis.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print("kept", work)


if __name__ == "__main__":
    main()
