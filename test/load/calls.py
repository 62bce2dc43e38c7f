#!/usr/bin/env python3
"""calls.py: bounded call load test of sipd, and of Kamailio 5.6 if
Debian's `kamailio` package is installed, in the same run (the call half
of the load kit; run.py is the registration half and is reused here).

  python3 test/load/calls.py [--quick] [--build DIR] [--out FILE]
  python3 test/load/run.py --calls [...]      (the same)

Three call paths (SPEC §5, seed "Calls"), each a SIPp caller and SIPp
callee(s) on the loopback, the proxy in the middle:

  ua-gw     a UA (127.0.0.1) calls out: INVITE -> 407 -> ACK -> INVITE
            with credentials -> the gateway (SIPp UAS on 127.0.0.2:GW)
  gw-ua     the gateway (SIPp UAC on 127.0.0.2, not challenged) calls a
            registered user: lookup -> the phones (SIPp UAS on 127.0.0.1)
  ua-gw-ua  a UA calls a registered user through the gateway: as ua-gw,
            then the gateway (two SIPp instances in 3PCC on 127.0.0.2)
            places a new call back through the proxy to the phones

Every call: INVITE, (100), 180, 200, ACK, pause (--pause-ms), BYE, 200;
ACK and BYE follow the proxy's Record-Route. The gateway is recognised by
its IP (127.0.0.2; sipd pstn.match_port = no, the Kamailio config
likewise), so the gateway's incoming and outgoing SIPp instances can use
two ports. Every user's binding (gen_tables.py --bindings) points at the
phones' SIPp UAS.

Per server and path:
  fixed     FIXED_COUNT calls at FIXED_RATE/s: CPU-s of the server's
            process tree per 1,000 calls (tree_cpu() from run.py), SIPp's
            own CPU (all instances), failed calls and retransmissions
  ladder    RATE x STEP seconds per rung; the highest rate with zero failed
            calls and zero retransmissions (on any SIPp instance)

Servers run one at a time for each measurement, rungs alternate between
them. Every SIPp run is bounded by -m, -recv_timeout and -timeout, and by
a wall-clock limit after which it is killed by PID; servers are stopped by
PID. Only loopback addresses (127.0.0.1, 127.0.0.2) are used.
"""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run  # noqa: E402  (the registration kit: servers, /proc, SIPp stats)
from run import LOG, say, tree_cpu, parse_stat, wait_bounded  # noqa: E402

SRCDIR = run.SRCDIR
KAM_CALLS_CFG = os.path.join(HERE, "kamailio-calls.cfg")
SC = {n: os.path.join(HERE, "call_%s.xml" % n)
      for n in ("ua_gw", "gw_ua", "uas", "gw_in", "gw_out")}

UA_IP = "127.0.0.1"      # the proxy, the UAs, the phones
GW_IP = "127.0.0.2"      # the PSTN gateway (both its SIPp instances)

PATHS = ("ua-gw", "gw-ua", "ua-gw-ua")
PATH_LABEL = {
    "ua-gw": "UA -> GW (407, then with credentials)",
    "gw-ua": "GW -> UA (registered user)",
    "ua-gw-ua": "UA1 -> GW -> UA2 (two calls through the proxy)",
}
RATE_TARGET = {"ua-gw": "≥ 2000", "gw-ua": "≥ 3500", "ua-gw-ua": ""}


_TAKEN = set()


def free_port(ip, kind=socket.SOCK_DGRAM):
    """A port free now on ip, never handed out before in this run."""
    for _ in range(100):
        s = socket.socket(socket.AF_INET, kind)
        s.bind((ip, 0))
        port = s.getsockname()[1]
        s.close()
        if port not in _TAKEN:
            _TAKEN.add(port)
            return port
    raise RuntimeError("no free port")


def port_drops(ip, port):
    """Drops on the UDP sockets bound to ip:port (/proc/net/udp)."""
    a = ip.split(".")
    want = "%02X%02X%02X%02X:%04X" % (int(a[3]), int(a[2]), int(a[1]),
                                      int(a[0]), port)
    n = None
    try:
        with open("/proc/net/udp") as f:
            next(f)
            for ln in f:
                c = ln.split()
                if c[1] == want:
                    n = (n or 0) + int(c[-1])
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    return n


def tcp_listening(ip, port):
    a = ip.split(".")
    want = "%02X%02X%02X%02X:%04X" % (int(a[3]), int(a[2]), int(a[1]),
                                      int(a[0]), port)
    try:
        with open("/proc/net/tcp") as f:
            next(f)
            return any(ln.split()[1] == want and ln.split()[3] == "0A"
                       for ln in f)
    except (OSError, IndexError, StopIteration):
        return False


def udp_bound(ip, port):
    return port_drops(ip, port) is not None


# ---- servers --------------------------------------------------------------

class SipdCalls(run.Sipd):
    def __init__(self, workdir, children, build, extra, gw_port):
        pstn = [("pstn.gw_ip", GW_IP), ("pstn.gw_port", str(gw_port)),
                ("pstn.match_port", "no")]
        super().__init__(workdir, children, build, pstn + extra)


class KamailioCalls(run.Kamailio):
    def __init__(self, workdir, children, gw_port):
        # shm: tm keeps every transaction 5 s after its final reply
        # (wait timer); 256 MB ran out at 1,000 calls/s on ua-gw-ua and
        # the worker crashed. Untouched pages cost nothing.
        super().__init__(workdir, children, 1024, 16)
        self.gw_port = gw_port

    def command(self, db):
        return ["kamailio", "-DD", "-E", "-f", KAM_CALLS_CFG,
                "-m", str(self.shm_mb), "-M", str(self.pkg_mb),
                "-Y", self.dir, "-w", self.dir,
                "-A", "KAM_LISTEN=udp:%s:%d" % (UA_IP, self.port),
                "-A", "KAM_CHILDREN=%d" % self.children,
                "-A", 'KAM_DB="text://%s"' % os.path.abspath(db),
                "-A", 'KAM_CTL="%s"' % self.ctl,
                "-A", 'KAM_FIFO="%s"' % self.fifo,
                "-A", 'KAM_RUNDIR="%s/"' % self.dir,
                "-A", 'KAM_GW_IP="%s"' % GW_IP,
                "-A", "KAM_GW_PORT=%d" % self.gw_port]


# ---- SIPp -----------------------------------------------------------------

class Ports:
    def __init__(self):
        self.gw = free_port(GW_IP)          # gateway UAS / 3PCC incoming
        self.gw_out = free_port(GW_IP)      # gateway UAC / 3PCC outgoing
        self.phones = free_port(UA_IP)      # every user's binding
        self.ua = free_port(UA_IP)          # calling UA
        self.twin = free_port(UA_IP, socket.SOCK_STREAM)   # 3PCC commands


def instances(path, ports):
    """(role, scenario, ip, port, kind) in start order; kind: "uas"
    (waits for calls), "twin-b" (3PCC, listens for commands), "twin-a"
    (3PCC, connects), "uac" (makes the calls at the rate; started last)."""
    if path == "ua-gw":
        return [("gw", "uas", GW_IP, ports.gw, "uas"),
                ("ua", "ua_gw", UA_IP, ports.ua, "uac")]
    if path == "gw-ua":
        return [("phones", "uas", UA_IP, ports.phones, "uas"),
                ("gw", "gw_ua", GW_IP, ports.gw_out, "uac")]
    return [("phones", "uas", UA_IP, ports.phones, "uas"),
            ("gw-out", "gw_out", GW_IP, ports.gw_out, "twin-b"),
            ("gw-in", "gw_in", GW_IP, ports.gw, "twin-a"),
            ("ua", "ua_gw", UA_IP, ports.ua, "uac")]


def run_calls(server, path, csv, count, rate, workdir, tag,
              pause_ms=0, recv_timeout_ms=5000, trace_msg=False):
    """One bounded run of `count` calls on `path`; returns a dict: the
    caller's figures (ok, failed, retrans, achieved, call_ms), failures
    and retransmissions summed over every SIPp instance, server CPU-s,
    SIPp CPU-s (all instances), UDP drops."""
    ports = server.ports
    limit = int(2 * count / rate + recv_timeout_ms / 1000 + 20)
    base = "%s-%s-%s" % (server.name, path, tag)
    procs = []
    stats = {}
    res = {"count": count, "rate": rate, "path": path}
    drops0 = run.udp_rcvbuf_errors()
    sdrops0 = port_drops(UA_IP, server.port)
    cpu0 = None
    t0 = time.monotonic()
    try:
        for role, scen, ip, port, kind in instances(path, ports):
            pre = os.path.join(workdir, "%s-%s" % (base, role))
            for suf in (".csv", ".err", ".msg", ".screen"):
                if os.path.exists(pre + suf):
                    os.unlink(pre + suf)
            cmd = ["sipp"]
            if kind in ("uac", "twin-b"):
                cmd.append("%s:%d" % (UA_IP, server.port))
            cmd += ["-sf", SC[scen], "-i", ip, "-p", str(port),
                    "-m", str(count), "-recv_timeout", str(recv_timeout_ms),
                    "-buff_size", "4194304", "-timeout", "%ds" % limit,
                    "-nd", "-nostdin", "-trace_stat", "-stf", pre + ".csv",
                    "-fd", "1", "-trace_err", "-error_file", pre + ".err",
                    "-trace_screen", "-screen_file", pre + ".screen"]
            if kind == "uac":
                cmd += ["-inf", csv, "-r", str(rate), "-rp", "1000",
                        "-d", str(pause_ms), "-timeout_error"]
            if kind.startswith("twin"):
                cmd += ["-3pcc", "%s:%d" % (UA_IP, ports.twin)]
            if trace_msg == "all" or (trace_msg and kind == "uac"):
                cmd += ["-trace_msg", "-message_file", pre + ".msg"]
            LOG.append(" ".join(cmd))
            if kind == "uac":
                cpu0 = tree_cpu(server.pid)
                t0 = time.monotonic()
            p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL,
                                 stdin=subprocess.DEVNULL, cwd=workdir)
            procs.append((role, kind, p, pre, ip, port))
            if kind != "uac":
                # wait until it listens (bounded)
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline and p.poll() is None:
                    if (tcp_listening(UA_IP, ports.twin)
                            if kind == "twin-b" else udp_bound(ip, port)):
                        break
                    time.sleep(0.02)
                if kind == "twin-a":
                    time.sleep(0.2)     # connected to its twin
        # the caller first (bounded), then the callees: they end by
        # themselves after -m calls; a lost call keeps them waiting, so
        # they get recv_timeout and a few seconds more, then are killed
        sipp_cpu = 0.0
        rcs = {}
        for role, kind, p, pre, ip, port in reversed(procs):
            lim = limit + 15 if kind == "uac" else recv_timeout_ms / 1000 + 5
            rc, ru = wait_bounded(p, lim)
            rcs[role] = rc
            if ru:
                sipp_cpu += ru.ru_utime + ru.ru_stime
        wall = time.monotonic() - t0
        cpu1 = tree_cpu(server.pid)
        if server.proc.poll() is not None:
            res["died"] = True      # its processes' CPU is gone with them
            cpu1 = None
    finally:
        for role, kind, p, pre, ip, port in procs:
            if p.poll() is None:
                os.kill(p.pid, signal.SIGKILL)
                p.wait(10)
    drops1 = run.udp_rcvbuf_errors()
    sdrops1 = port_drops(UA_IP, server.port)
    failed = retrans = 0
    for role, kind, p, pre, ip, port in procs:
        st = parse_stat(pre + ".csv")
        stats[role] = st
        failed += st.get("failed", 0)
        retrans += st.get("retrans", 0)
    uac = stats[procs[-1][0]]
    res.update({
        "wall": wall, "cpu": None if cpu1 is None else cpu1 - cpu0,
        "rc": rcs, "sipp_cpu": sipp_cpu,
        "ok": uac.get("ok", 0) if uac.get("ok_parse") else 0,
        "achieved": uac.get("achieved"), "call_ms": uac.get("call_ms"),
        "created": uac.get("created"),
        # a call lost in the middle may fail on one side only
        "failed": max(failed, count - (uac.get("ok") or 0)),
        "retrans": retrans,
        "per_role": {r: (s.get("ok"), s.get("failed"), s.get("retrans"))
                     for r, s in stats.items()},
        "udp_drops": None if drops0 is None or drops1 is None
        else drops1 - drops0,
        "server_drops": None if sdrops0 is None or sdrops1 is None
        else sdrops1 - sdrops0})
    if trace_msg:
        try:
            with open(procs[-1][3] + ".msg", "rb") as f:
                msgs = f.read()
            res["saw_100"] = b"SIP/2.0 100 " in msgs
        except OSError:
            res["saw_100"] = None
    return res


def clean(r):
    return (r.get("ok") == r["count"] and r.get("failed") == 0
            and r.get("retrans") == 0)


def cpu_per_call(r):
    """server CPU-s per call, or None"""
    if not r or not r.get("ok") or r.get("cpu") is None:
        return None
    return r["cpu"] / r["ok"]


def show(s, r, what):
    us = cpu_per_call(r)
    say("%s %s %s: ok %s failed %s retrans %s achieved %.0f/s cpu %s s "
        "-> %s µs/call; per instance (ok, failed, retrans) %s%s" % (
            s.name, r["path"], what, r.get("ok"), r.get("failed"),
            r.get("retrans"), r.get("achieved") or 0,
            run.fmt(r.get("cpu"), "%.2f"),
            run.fmt(None if us is None else us * 1e6, "%.0f"),
            r.get("per_role"), "; SERVER EXITED" if r.get("died") else ""))


def ensure_up(s, db, expect, results, what):
    """Restarts a server that exited (a crash) and notes it."""
    if s.proc is not None and s.proc.poll() is None:
        return
    rc = s.proc.returncode if s.proc is not None else None
    tail = [ln for ln in s.log_tail(200).splitlines()
            if "ERROR" in ln or "ALERT" in ln or "CRIT" in ln]
    note = "exited (%s) during %s; restarted. Log: %s" % (
        rc, what, " / ".join(x.strip() for x in tail[-3:])[:400])
    say("%s %s" % (s.name, note))
    results[s.name].setdefault("notes", []).append(note)
    if s.proc is not None:
        s.stop()
    s.start(db, expect=expect)


def write_csv(path, n):
    """caller;password;callee;[authentication ...]: caller i calls user
    i + n/2 (a registered user whose binding is the phones' SIPp)."""
    with open(path, "w") as f:
        f.write("SEQUENTIAL\n")
        for i in range(n):
            u, p = run_user(i), "pw%05d" % i
            f.write("%s;%s;%s;[authentication username=%s password=%s]\n"
                    % (u, p, run_user((i + n // 2) % n), u, p))


def run_user(i):
    return "u%05d" % i


# ---- report ---------------------------------------------------------------

def best_rate(ladder):
    ok = [r["rate"] for r in ladder if clean(r)]
    bad = [r["rate"] for r in ladder if not clean(r)]
    first_bad = min(bad) if bad else None
    return max([x for x in ok if first_bad is None or x < first_bad],
               default=None)


def report(results, args, started):
    names = [n for n in ("sipd", "kamailio") if n in results]
    two = len(names) == 2
    rows = []

    def row(label, vals, f="%.1f", rat=True, target=""):
        cells = [run.fmt(v, f) if not isinstance(v, str) else v
                 for v in vals]
        if two:
            cells.append(run.ratio(vals[0], vals[1])
                         if rat and not any(isinstance(v, str)
                                            for v in vals) else "")
        cells.append(target)
        rows.append("| %s | %s |" % (label, " | ".join(cells)))

    def per_k(r):
        c = cpu_per_call(r)
        return None if c is None else c * 1000

    for path in args.paths:
        fx = [results[n]["fixed"].get(path) for n in names]
        row("**%s**: CPU-s of the process tree per 1,000 calls (fixed: %d "
            "at %d/s)" % (PATH_LABEL[path], args.fixed_count,
                          args.fixed_rate),
            [per_k(r) for r in fx], "%.3f", target="≤ 0.2× Kamailio")
        row("  = µs per call", [None if per_k(r) is None else
                                per_k(r) * 1000 for r in fx], "%.0f")
        row("  fixed run: achieved rate /s (SIPp)",
            [r.get("achieved") if r else None for r in fx], "%.0f", False)
        row("  fixed run: failed calls / retransmissions",
            ["%s / %s" % (r.get("failed"), r.get("retrans")) if r else "–"
             for r in fx])
        row("  SIPp CPU-s per 1,000 calls (all instances, for scale)",
            [r["sipp_cpu"] / r["ok"] * 1000 if r and r.get("ok") else None
             for r in fx], "%.3f", False)
        if path in args.ladder_paths:
            lad = [[r for r in results[n]["ladder"] if r["path"] == path]
                   for n in names]
            best = [best_rate(x) for x in lad]
            top = max(args.ladder)
            row("  highest offered rate with zero failures (ladder, %g s "
                "per rung)" % args.step_seconds,
                [b if b is not None and b != top else
                 "none" if b is None else "≥ %d (top rung)" % b
                 for b in best], "%.0f", target=RATE_TARGET[path])
            ach = []
            for x, b in zip(lad, best):
                a = [r.get("achieved") for r in x if r["rate"] == b]
                ach.append(a[0] if a else None)
            row("  achieved by SIPp at that rung /s", ach, "%.0f")
    s100 = [results[n].get("saw_100") for n in names]
    row("100 Trying sent for INVITE", ["yes" if v else "no" if v is False
                                       else "?" for v in s100], rat=False)

    hdr = "| Figure | " + " | ".join(names) + \
        (" | sipd / Kamailio |" if two else " |") + " sipd target |"
    sep = "|---|" + "---|" * (len(names) + (2 if two else 1))
    out = ["## Call load, %s" % time.strftime(
        "%Y-%m-%d %H:%M", time.localtime(started)), "",
        "Command: `%s`" % " ".join(
            ["test/load/run.py" if "--calls" in sys.argv[1:] else
             "test/load/calls.py"] + sys.argv[1:]),
        "Machine: %d CPUs, load average before start %s; SIPp %s; %d "
        "workers each; %d users; pause between ACK and BYE %d ms" % (
            os.cpu_count(), args.loadavg, args.sipp_version, args.children,
            args.users, args.pause_ms), "", hdr, sep] + rows
    for path in args.ladder_paths:
        out += ["", "Ladder, %s (offered rate: ok / failed / retrans / "
                "achieved rate / avg call ms / µs CPU per call / UDP drops: "
                "host, server socket):" % PATH_LABEL[path], ""]
        out.append("| offered /s | " + " | ".join(names) + " |")
        out.append("|---|" + "---|" * len(names))
        for rate in args.ladder:
            cells = []
            for n in names:
                rs = [r for r in results[n]["ladder"]
                      if r["rate"] == rate and r["path"] == path]
                if not rs:
                    cells.append("not run")
                    continue
                r = rs[0]
                us = cpu_per_call(r)
                us = None if us is None else us * 1e6
                cells.append("%s / %s / %s / %.0f / %s / %s / %s, %s" % (
                    r.get("ok"), r.get("failed"), r.get("retrans"),
                    r.get("achieved") or 0, run.fmt(r.get("call_ms")),
                    run.fmt(us, "%.0f"), r.get("udp_drops"),
                    r.get("server_drops")))
            out.append("| %d | %s |" % (rate, " | ".join(cells)))
    notes = ["- %s: %s" % (n, results[n]["error"]) for n in names
             if results[n].get("error")]
    notes += ["- %s %s" % (n, x) for n in names
              for x in results[n].get("notes", [])]
    if notes:
        out += ["", "Notes:"] + notes
    return "\n".join(out)


# ---- main -----------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Bounded SIPp call load: sipd vs Kamailio 5.6")
    ap.add_argument("--calls", action="store_true",
                    help=argparse.SUPPRESS)     # run.py --calls passes it on
    ap.add_argument("--quick", action="store_true",
                    help="short run (about 5 minutes)")
    ap.add_argument("--build", default=os.path.join(SRCDIR, "build"),
                    help="sipd build dir (default: build)")
    ap.add_argument("--servers", default="sipd,kamailio")
    ap.add_argument("--children", type=int, default=2,
                    help="UDP workers of each server (default 2)")
    ap.add_argument("--users", type=int, default=10000)
    ap.add_argument("--paths", default=",".join(PATHS),
                    help="comma list of %s" % ", ".join(PATHS))
    ap.add_argument("--ladder-paths", default="ua-gw,gw-ua",
                    help="paths that get a rate ladder")
    ap.add_argument("--fixed-rate", type=int)
    ap.add_argument("--fixed-count", type=int)
    ap.add_argument("--ladder", help="comma list of rates /s")
    ap.add_argument("--step-seconds", type=float,
                    help="seconds per rung (quick 8, full 10: longer than "
                    "the ~5 s a stateful proxy keeps a finished "
                    "transaction, so the table is at its steady size)")
    ap.add_argument("--pause-ms", type=int, default=0,
                    help="pause between ACK and BYE (default 0)")
    ap.add_argument("--sipd-opt", action="append", default=[],
                    metavar="KEY=VALUE", help="extra sipd config line")
    ap.add_argument("--out", help="also write the markdown table here")
    ap.add_argument("--trace", action="store_true",
                    help="SIPp message trace of every instance in every "
                    "run (debugging; large files, implies --keep)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the temp folder (logs, SIPp stats)")
    args = ap.parse_args(argv)
    args.keep = args.keep or args.trace
    if args.quick:
        dflt = dict(fixed_rate=1000, fixed_count=10000,
                    ladder="1000,2000,3500,5000", step_seconds=8.0)
    else:
        dflt = dict(fixed_rate=1000, fixed_count=20000,
                    ladder="1000,2000,3500,5000,7000,10000",
                    step_seconds=10.0)
    for k, v in dflt.items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    args.ladder = [int(x) for x in str(args.ladder).split(",") if x]
    args.paths = [p for p in args.paths.split(",") if p]
    for p in args.paths:
        if p not in PATHS:
            sys.exit("unknown path %s" % p)
    args.ladder_paths = [p for p in args.ladder_paths.split(",")
                         if p in args.paths]
    want = args.servers.split(",")
    if "kamailio" in want and not shutil.which("kamailio"):
        say("kamailio not installed: sipd only")
        want.remove("kamailio")
    if not shutil.which("sipp"):
        sys.exit("sipp not found: apt-get install -y sip-tester")
    args.loadavg = open("/proc/loadavg").read().split()[0]
    args.sipp_version = subprocess.run(
        ["sipp", "-v"], capture_output=True, text=True).stdout.split(
        "SIPp ")[-1].split("-")[0].strip() or "?"
    started = time.time()

    work = tempfile.mkdtemp(prefix="sipd-calls-")
    say("work dir", work)
    csv = os.path.join(work, "calls.csv")
    write_csv(csv, args.users)

    extra = [tuple(o.split("=", 1)) for o in args.sipd_opt]
    servers = []
    # Each server gets its own ports (gateway, phones, UA, 3PCC), so what
    # one server still sends after a run (a stateful proxy retransmits
    # for 30 s or more after an overloaded rung) cannot reach the SIPp
    # instances of the other server's next run.
    if "sipd" in want:
        ports = Ports()
        servers.append(SipdCalls(os.path.join(work, "sipd"), args.children,
                                 args.build, extra, ports.gw))
        servers[-1].ports = ports
    if "kamailio" in want:
        ports = Ports()
        servers.append(KamailioCalls(os.path.join(work, "kamailio"),
                                     args.children, ports.gw))
        servers[-1].ports = ports
    for s in servers:
        # every user's binding points at this server's phones
        tables = os.path.join(work, "tables-" + s.name)
        run.run_cmd([sys.executable, run.GEN, "--users", str(args.users),
                     "--bindings", str(args.users), "--out", tables,
                     "--contact-host", UA_IP, "--contact-port",
                     str(s.ports.phones)], check=True)
        s.tables = os.path.join(tables, s.name)
    results = {s.name: {"fixed": {}, "ladder": []} for s in servers}
    try:
        for s in servers:
            db = os.path.join(s.dir, "db")
            shutil.copytree(s.tables, db)
            s.db = db
            s.start(db, expect=args.users)
            say("%s up on port %d" % (s.name, s.port))
        # warm-up (db_text loads on first use; caches): 200 calls per
        # path at 200/s, with a message trace to see whether 100 is sent
        for path in args.paths:
            for s in servers:
                ensure_up(s, s.db, args.users, results, path + " warm-up")
                r = run_calls(s, path, csv, 200, 200, work, "warmup",
                              args.pause_ms, trace_msg=True)
                show(s, r, "warm-up")
                if path == "ua-gw":
                    results[s.name]["saw_100"] = r.get("saw_100")
        for path in args.paths:
            for s in servers:
                ensure_up(s, s.db, args.users, results, path + " fixed")
                r = run_calls(s, path, csv, args.fixed_count,
                              args.fixed_rate, work, "fixed",
                              args.pause_ms, trace_msg=args.trace and "all")
                results[s.name]["fixed"][path] = r
                show(s, r, "fixed")
                time.sleep(1)
        for path in args.ladder_paths:
            fails = {s.name: 0 for s in servers}
            for rate in args.ladder:
                for s in servers:
                    if fails[s.name] >= 2:
                        continue
                    ensure_up(s, s.db, args.users, results,
                              "%s ladder %d/s" % (path, rate))
                    r = run_calls(s, path, csv, int(rate * args.step_seconds),
                                  rate, work, "ladder%d" % rate,
                                  args.pause_ms, trace_msg=args.trace and "all")
                    results[s.name]["ladder"].append(r)
                    show(s, r, "ladder %d/s" % rate)
                    if not clean(r):
                        fails[s.name] += 1
                        time.sleep(3)   # let an overloaded server drain
                    time.sleep(1)
    except RuntimeError as e:
        say(str(e))
        for s in servers:
            results[s.name].setdefault("error", str(e).splitlines()[0])
    finally:
        for s in servers:
            if s.proc is not None:
                s.stop()

    table = report(results, args, started)

    def keys(c):
        w = c.split()
        return ((os.path.basename(w[0]), c.split(" -sf ")[1].split()[0]
                 if " -sf " in c else " ".join(w[1:3])),)
    run.finish(table, args, work, "Commands run (first of each kind):", keys)


if __name__ == "__main__":
    main()
