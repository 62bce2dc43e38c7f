#!/usr/bin/env python3
"""run.py: bounded registration load test of sipd, and of Kamailio 5.6 if
Debian's `kamailio` package is installed, in the same run.

  python3 test/load/run.py [--quick] [--build DIR] [--out FILE]
  python3 test/load/run.py --calls [...]     the call load kit (calls.py)

Per server (sipd; kamailio with test/load/kamailio.cfg), over the same users
(gen_tables.py: 3.0 layout for sipd, 5.6 layout for Kamailio):

  idle      RSS/PSS of the process tree just after start (empty location)
  10k       every user registers once (SIPp, reg_auth.xml): RSS/PSS after
  fixed     FIXED_COUNT registrations at FIXED_RATE/s: CPU of the process
            tree per 1,000 authenticated registrations
  ladder    RATE x STEP seconds of registrations per rung; the highest rate
            with zero failed calls and zero retransmissions
  100k      restart on a location table of 100k bindings: start-up time
            (minus the start-up time on an empty table), RSS/PSS, bytes per
            binding, ul.flush time after 10k re-registrations, ul.dump
            time while an OPTIONS probe checks SIP is answered

The servers run one at a time for each measurement (rungs alternate
between them), SIPp shares the machine's cores, and every process is
stopped by its PID. Every SIPp run is bounded by -m, -recv_timeout and
-timeout, every wait by a deadline. Only 127.0.0.1 is used.
CPU = sum over the tree's tasks of /proc/PID/task/TID/schedstat run time
(ns), read before and after; processes are the server's descendants.
Only the Python standard library is used.
"""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.path.abspath(os.path.join(HERE, "..", ".."))
SCENARIO = os.path.join(HERE, "reg_auth.xml")
KAM_CFG = os.path.join(HERE, "kamailio.cfg")
GEN = os.path.join(HERE, "gen_tables.py")

LOG = []            # commands run, printed at the end


def say(*a):
    print("[load]", *a, flush=True)


def run_cmd(cmd, **kw):
    LOG.append(" ".join(cmd))
    return subprocess.run(cmd, **kw)


def free_port(kind):
    """A port of 127.0.0.1 free right now, for a socket of this kind."""
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def free_udp_port():
    return free_port(socket.SOCK_DGRAM)


def free_tcp_port():
    return free_port(socket.SOCK_STREAM)


# ---- /proc: process tree, CPU, memory -------------------------------------

def tree_pids(root):
    """root and all its descendants (one scan of /proc)."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        # comm may hold spaces and parens: fields start after the last ')'
        ppid = int(st[st.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def tree_cpu(root):
    """CPU seconds used so far by the live processes of the tree."""
    return cpu_of(tree_pids(root))


def cpu_of(pids):
    """CPU seconds of these processes' tasks so far (schedstat)."""
    ns = 0
    for pid in pids:
        try:
            tids = os.listdir("/proc/%d/task" % pid)
        except OSError:
            continue
        for tid in tids:
            try:
                with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                    ns += int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                pass
    return ns / 1e9


def tree_mem(root):
    """(RSS, PSS) in kB summed over the tree (smaps_rollup)."""
    rss = pss = 0
    n = 0
    for pid in tree_pids(root):
        try:
            with open("/proc/%d/smaps_rollup" % pid) as f:
                for line in f:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
            n += 1
        except OSError:
            pass
    return rss, pss, n


def udp_rcvbuf_errors():
    """Datagrams the kernel dropped for full socket buffers (whole host:
    the server's and SIPp's sockets alike)."""
    try:
        with open("/proc/net/snmp") as f:
            rows = [ln.split() for ln in f if ln.startswith("Udp:")]
        return int(rows[1][rows[0].index("RcvbufErrors")])
    except (OSError, ValueError, IndexError):
        return None


def udp_port_drops(port):
    """Drops counted on the UDP sockets bound to 127.0.0.1:port
    (/proc/net/udp, last column); None if no such socket."""
    want = "0100007F:%04X" % port
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


# ---- servers --------------------------------------------------------------

class Server:
    name = "?"
    kind = "?"          # which gen_tables.py folder (3.0 or 5.6 layout)
    backend = "text"    # text (DB_TEXT folder) or sqlite (DIR/sipd.db)

    def __init__(self, workdir, children, name=None, backend="text"):
        if name:
            self.name = name
        self.backend = backend
        self.dir = workdir
        self.children = children
        self.port = free_udp_port()
        self.proc = None
        self.logf = None
        os.makedirs(self.dir, exist_ok=True)
        self.log_path = os.path.join(self.dir, self.name + ".log")

    def _spawn(self, cmd):
        self.logf = open(self.log_path, "ab")
        LOG.append(" ".join(cmd))
        t0 = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdout=self.logf,
                                     stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.dir)
        return t0

    def start(self, db, timeout=60.0, expect=0):
        """Starts on the tables in db; returns seconds until ready (and,
        for servers that load after they answer, until expect bindings
        are loaded)."""
        self.expect = expect
        t0 = self._spawn(self.command(db))
        deadline = t0 + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with %d; log %s:\n%s" % (
                    self.name, self.proc.returncode, self.log_path,
                    self.log_tail()))
            if self.ready():
                return time.monotonic() - t0
            time.sleep(0.005)
        self.stop()
        raise RuntimeError("%s not ready in %.0f s" % (self.name, timeout))

    def stop(self, timeout=60.0):
        """SIGTERM by PID; returns seconds until exit (final flush)."""
        if self.proc is None:
            return None
        t0 = time.monotonic()
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                # the tree, by PID, then the master
                for pid in reversed(tree_pids(self.proc.pid)):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
                self.proc.wait(10)
                say("%s did not stop in %.0f s: killed" % (self.name,
                                                          timeout))
        dt = time.monotonic() - t0
        self.logf.close()
        self.proc = None
        return dt

    def log_tail(self, n=20):
        try:
            with open(self.log_path, "rb") as f:
                return b"\n".join(f.read().splitlines()[-n:]).decode(
                    "utf-8", "replace")
        except OSError:
            return ""

    @property
    def pid(self):
        return self.proc.pid

    def rpc(self, *args, timeout=120, stdout=subprocess.PIPE):
        cmd = self.rpc_cmd() + [str(a) for a in args]
        LOG.append(" ".join(cmd))
        try:
            return subprocess.run(cmd, stdout=stdout,
                                  stderr=subprocess.PIPE, text=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def ready(self):
        r = self.rpc("core.uptime", timeout=5)
        return r is not None and r.returncode == 0

    def loaded(self):
        return None

    def db_url(self, db):
        db = os.path.abspath(db)
        if self.backend == "sqlite":
            return "sqlite://" + os.path.join(db, SQLITE_FILE)
        return "text://" + db


SQLITE_FILE = "sipd.db"


class Sipd(Server):
    name = "sipd"
    kind = "sipd"

    def __init__(self, workdir, children, build, extra, name=None,
                 backend="text"):
        super().__init__(workdir, children, name, backend)
        build = os.path.abspath(build)
        self.bin = os.path.join(build, "daemon", "sipd")
        self.mictl = os.path.join(build, "mi", "mictl")
        self.sock = os.path.join(self.dir, "mi.sock")
        self.extra = extra

    def command(self, db):
        cfg = os.path.join(self.dir, "sipd.cfg")
        conf = [
            ("listen", "udp:127.0.0.1:%d" % self.port),
            ("children", str(self.children)),
            ("db_url", self.db_url(db)),
            ("mi.socket", self.sock),
            ("pid_file", os.path.join(self.dir, "sipd.pid")),
            ("log.level", "warning"),
        ] + self.extra
        with open(cfg, "w") as f:
            for k, v in conf:
                f.write("%s = %s\n" % (k, v))
        return [self.bin, "-D", "-E", "-f", cfg]

    def rpc_cmd(self):
        return [self.mictl, "-s", self.sock]

    def flush_cmds(self):
        return [("ul.flush",)]

    def dump(self, out, timeout):
        with open(out, "w") as f:
            r = self.rpc("ul.dump", timeout=timeout, stdout=f)
        if r is None:
            return "timeout"
        return None if r.returncode == 0 else r.stderr.strip()[:200]


class Kamailio(Server):
    name = "kamailio"
    kind = "kamailio"

    def __init__(self, workdir, children, shm_mb, pkg_mb, name=None,
                 backend="text"):
        super().__init__(workdir, children, name, backend)
        self.ctl = "unix:" + os.path.join(self.dir, "kamailio.ctl")
        self.fifo = os.path.join(self.dir, "kamailio_rpc.fifo")
        self.shm_mb, self.pkg_mb = shm_mb, pkg_mb

    def command(self, db):
        return ["kamailio", "-DD", "-E", "-f", KAM_CFG,
                "-m", str(self.shm_mb), "-M", str(self.pkg_mb),
                "-Y", self.dir, "-w", self.dir,
                "-A", "KAM_LISTEN=udp:127.0.0.1:%d" % self.port,
                "-A", "KAM_CHILDREN=%d" % self.children,
                "-A", 'KAM_DB="%s"' % self.db_url(db),
                "-A", 'KAM_CTL="%s"' % self.ctl,
                "-A", 'KAM_FIFO="%s"' % self.fifo,
                "-A", 'KAM_RUNDIR="%s/"' % self.dir] + (
                    ["-A", "KAM_SQLITE"] if self.backend == "sqlite" else [])

    def rpc_cmd(self):
        return ["kamcmd", "-s", self.ctl]

    def db_url(self, db):
        # 5.6 db_sqlite takes the path after "sqlite://" + a host part
        # ("sqlite:///tmp/x.db" opens the relative "tmp/x.db"): an
        # absolute path needs a fourth slash
        if self.backend == "sqlite":
            return "sqlite:///" + os.path.join(os.path.abspath(db),
                                               SQLITE_FILE)
        return super().db_url(db)

    def ready(self):
        # usrloc preloads in the SIP-init child, after ctl answers
        if not super().ready():
            return False
        return not self.expect or (self.loaded() or 0) >= self.expect

    def loaded(self):
        r = self.rpc("stats.get_statistics", "usrloc:", timeout=30)
        if r and r.returncode == 0:
            for ln in r.stdout.splitlines():
                if "location_contacts" in ln:
                    return int(ln.split("=")[-1])
        return None

    # No flush command: with db_mode 2, 5.6 usrloc opens its DB
    # connection only in the timer, main and SIP-init processes, so
    # `kamcmd ul.flush` (run in the ctl process) fails every row with
    # "invalid connection parameter". The comparable figure is the stop
    # time (final usrloc sync + db_text writing its files).
    flush_note = ("n/a: 5.6 ul.flush over RPC has no DB connection with "
                  "db_mode 2; see the stop time")

    def flush_cmds(self):
        return []

    def dump(self, out, timeout):
        """ul.dump through the JSON-RPC FIFO (kamcmd's binrpc refuses
        replies this big). Returns None or an error text."""
        name = "reply-%d" % os.getpid()
        rpath = os.path.join(self.dir, name)
        if os.path.exists(rpath):
            os.unlink(rpath)
        os.mkfifo(rpath, 0o600)
        LOG.append("echo '{\"jsonrpc\":\"2.0\",\"method\":\"ul.dump\","
                   "\"reply_name\":\"%s\",\"id\":1}' > %s; cat %s" % (
                       name, self.fifo, rpath))
        req = ('{"jsonrpc":"2.0","method":"ul.dump","reply_name":"%s",'
               '"id":1}\n' % name).encode()
        err = None
        fd = os.open(rpath, os.O_RDONLY | os.O_NONBLOCK)
        try:
            with open(self.fifo, "wb") as f:
                f.write(req)
            deadline = time.monotonic() + timeout
            n = 0
            got = False
            with open(out, "wb") as o:
                while time.monotonic() < deadline:
                    try:
                        b = os.read(fd, 1 << 20)
                    except BlockingIOError:
                        time.sleep(0.001)
                        continue
                    if b:
                        got = True
                        n += len(b)
                        o.write(b)
                    elif got:
                        break       # writer closed: EOF
                    else:
                        time.sleep(0.001)
                else:
                    err = "timeout"
            if not err:
                with open(out, "rb") as o:
                    head = o.read(200)
                if b'"error"' in head:
                    err = head.decode("utf-8", "replace")
        finally:
            os.close(fd)
            os.unlink(rpath)
        return err


# ---- SIPp -----------------------------------------------------------------

def run_sipp(server, csv, count, rate, sipp_port, workdir, tag,
             recv_timeout_ms=5000):
    """One bounded SIPp run; returns a dict of results and server CPU."""
    stat = os.path.join(workdir, "sipp-%s-%s.csv" % (server.name, tag))
    screen = os.path.join(workdir, "sipp-%s-%s.screen" % (server.name, tag))
    errf = os.path.join(workdir, "sipp-%s-%s.err" % (server.name, tag))
    for p in (stat, screen, errf):
        if os.path.exists(p):
            os.unlink(p)
    # traffic lasts count/rate s; allow as much again plus retransmissions
    limit = int(2 * count / rate + recv_timeout_ms / 1000 + 15)
    cmd = ["sipp", "127.0.0.1:%d" % server.port, "-sf", SCENARIO,
           "-inf", csv, "-m", str(count), "-r", str(rate), "-rp", "1000",
           "-i", "127.0.0.1", "-p", str(sipp_port),
           "-recv_timeout", str(recv_timeout_ms), "-buff_size", "4194304",
           "-timeout", "%ds" % limit, "-timeout_error", "-nd", "-nostdin",
           "-trace_stat", "-stf", stat, "-fd", "1",
           "-trace_screen", "-screen_file", screen,
           "-trace_err", "-error_file", errf]
    LOG.append(" ".join(cmd))
    cpu0 = tree_cpu(server.pid)
    drops0 = udp_rcvbuf_errors()
    sdrops0 = udp_port_drops(server.port)
    t0 = time.monotonic()
    sipp_drops = [None]

    def sample_sipp_drops():
        # SIPp's socket exists only while it runs: read it near the end
        while not sipp_drops_done.is_set():
            v = udp_port_drops(sipp_port)
            if v is not None:
                sipp_drops[0] = v
            sipp_drops_done.wait(0.2)
    sipp_drops_done = threading.Event()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                         cwd=workdir)
    th = threading.Thread(target=sample_sipp_drops, daemon=True)
    th.start()
    rc, ru = wait_bounded(p, limit + 15)
    sipp_drops_done.set()
    th.join(2)
    wall = time.monotonic() - t0
    cpu1 = tree_cpu(server.pid)
    drops1 = udp_rcvbuf_errors()
    sdrops1 = udp_port_drops(server.port)
    res = {"count": count, "rate": rate, "wall": wall,
           "cpu": cpu1 - cpu0, "rc": rc,
           "udp_drops": None if drops0 is None or drops1 is None
           else drops1 - drops0,
           "server_drops": None if sdrops0 is None or sdrops1 is None
           else sdrops1 - sdrops0,
           "sipp_drops": sipp_drops[0],
           "sipp_cpu": (ru.ru_utime + ru.ru_stime) if ru else None}
    res.update(parse_stat(stat))
    if not res.get("ok_parse"):
        res["failed"] = count
        res["ok"] = 0
    return res


def wait_bounded(p, limit):
    """Reaps p (killing it by PID after limit s); (exit code, rusage)."""
    deadline = time.monotonic() + limit
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            say("sipp (pid %d) over its time limit: killed" % p.pid)
            os.kill(p.pid, signal.SIGKILL)
            pid, status, ru = os.wait4(p.pid, 0)
            break
        time.sleep(0.02)
    p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, ru


def parse_stat(path):
    try:
        with open(path) as f:
            lines = [ln.rstrip("\n") for ln in f if ln.strip()]
    except OSError:
        return {}
    if len(lines) < 2:
        return {}
    head = lines[0].rstrip(";").split(";")
    rows = [dict(zip(head, ln.rstrip(";").split(";"))) for ln in lines[1:]]
    row = rows[-1]

    def num(k):
        try:
            return float(row.get(k, "0"))
        except ValueError:
            return 0.0
    cl = row.get("CallLength(C)", "0:0:0:0")
    try:
        h, m, s, us = (int(x) for x in cl.split(":"))
        call_ms = ((h * 60 + m) * 60 + s) * 1000 + us / 1000
    except ValueError:
        call_ms = None
    return {"ok_parse": True,
            "achieved": creation_rate(rows) or num("CallRate(C)"),
            "ok": int(num("SuccessfulCall(C)")),
            "failed": int(num("FailedCall(C)")),
            "created": int(num("OutgoingCall(C)")),
            "retrans": int(num("Retransmissions(C)")),
            "unexpected": int(num("FailedUnexpectedMessage(C)")),
            "recv_timeouts": int(num("FailedTimeoutOnRecv(C)")),
            "max_retrans": int(num("FailedMaxUDPRetrans(C)")),
            "dead": int(num("DeadCallMsgs(C)")),
            "call_ms": call_ms}


def creation_rate(rows):
    """Calls created per second while SIPp was creating them: from the
    start to the (interpolated) moment the last call was created, so the
    drain and any receive timeouts at the end do not count."""
    def epoch(v):
        return float(v.split("\t")[-1])
    try:
        t0 = epoch(rows[0]["StartTime"])
        pts = [(t0, 0)] + [(epoch(r["CurrentTime"]),
                            int(r["OutgoingCall(C)"])) for r in rows]
    except (KeyError, ValueError, IndexError):
        return None
    total = pts[-1][1]
    for (ta, na), (tb, nb) in zip(pts, pts[1:]):
        if nb >= total and nb > na:
            t = ta + (tb - ta) * (total - na) / (nb - na)
            return total / (t - t0) if t > t0 else None
    return None


def clean(res):
    return (res.get("ok") == res["count"] and res.get("failed") == 0
            and res.get("retrans") == 0)


# ---- OPTIONS probe --------------------------------------------------------

class Prober(threading.Thread):
    """Sends OPTIONS to the server every 10 ms, one at a time, and keeps
    the round-trip times; a probe unanswered in 1 s is lost."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.stop_ev = threading.Event()
        self.rtts = []
        self.lost = 0

    def run(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        lport = s.getsockname()[1]
        s.settimeout(1.0)
        n = 0
        while not self.stop_ev.is_set():
            n += 1
            br = "z9hG4bK-probe-%d-%d" % (os.getpid(), n)
            msg = ("OPTIONS sip:127.0.0.1:%d SIP/2.0\r\n"
                   "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=%s\r\n"
                   "Max-Forwards: 70\r\n"
                   "From: <sip:probe@127.0.0.1>;tag=p%d\r\n"
                   "To: <sip:127.0.0.1:%d>\r\n"
                   "Call-ID: probe-%d-%d@127.0.0.1\r\n"
                   "CSeq: %d OPTIONS\r\n"
                   "Content-Length: 0\r\n\r\n" % (
                       self.port, lport, br, n, self.port, os.getpid(), n,
                       n)).encode()
            t0 = time.monotonic()
            s.sendto(msg, ("127.0.0.1", self.port))
            got = False
            while True:
                try:
                    data = s.recv(65535)
                except socket.timeout:
                    break
                if br.encode() in data and data.startswith(b"SIP/2.0 200"):
                    got = True
                    break
            if got:
                self.rtts.append(time.monotonic() - t0)
            else:
                self.lost += 1
            self.stop_ev.wait(0.01)
        s.close()

    def stop(self):
        self.stop_ev.set()
        self.join(5)


# ---- phases ---------------------------------------------------------------

def mem_sample(srv, settle=1.0):
    time.sleep(settle)
    return tree_mem(srv.pid)


def phase_ladder(servers, csv, ladder, step_s, sipp_port, work, results,
                 stop_after=2):
    fails = {s.name: 0 for s in servers}
    for rate in ladder:
        for s in servers:
            if fails[s.name] >= stop_after:
                continue
            count = int(rate * step_s)
            r = run_sipp(s, csv, count, rate, sipp_port, work,
                         "ladder%d" % rate)
            results[s.name]["ladder"].append(r)
            say("%s ladder %d/s: ok %s failed %s retrans %s achieved "
                "%.0f/s cpu %.2f s" % (s.name, rate, r.get("ok"),
                                       r.get("failed"), r.get("retrans"),
                                       r.get("achieved", 0), r["cpu"]))
            if not clean(r):
                fails[s.name] += 1
            time.sleep(1)


def phase_big(srv, db, empty_start, csv, n_rereg, sipp_port, work, res,
              nbind, dump_timeout):
    """100k bindings: load, memory, flush after re-registrations, dump."""
    t = srv.start(db, timeout=120, expect=nbind)
    res["start_big"] = t
    res["load_big"] = t - empty_start
    say("%s started on the big table in %.3f s (empty: %.3f s)" % (
        srv.name, t, empty_start))
    res["mem_big"] = mem_sample(srv, 2.0)
    # how many bindings did it load? (not timed)
    res["big_count"] = count_bindings(srv)
    # dump while probing SIP
    pr = Prober(srv.port)
    pr.start()
    time.sleep(0.5)
    before = len(pr.rtts)
    out = os.path.join(work, "%s-dump.txt" % srv.name)
    t0 = time.monotonic()
    err = srv.dump(out, dump_timeout)
    dt = time.monotonic() - t0
    during = pr.rtts[before:]
    time.sleep(0.3)
    pr.stop()
    if err is None:
        res["dump"] = dt
        res["dump_bytes"] = os.path.getsize(out)
    else:
        res["dump"] = None
        res["dump_err"] = err
    res["probe_n"] = len(during)
    res["probe_max_ms"] = max(during) * 1000 if during else None
    res["probe_lost"] = pr.lost
    os.unlink(out)
    if err is not None:
        # a dump still being built would skew what follows: restart
        srv.stop(timeout=120)
        srv.start(db, timeout=120, expect=nbind)
    # re-register n users (contacts match the loaded ones: updates)
    r = run_sipp(srv, csv, n_rereg, 2000, sipp_port, work, "rereg")
    res["rereg"] = r
    say("%s re-registered %s of %d" % (srv.name, r.get("ok"), n_rereg))
    t0 = time.monotonic()
    ok = bool(srv.flush_cmds())
    if not ok:
        res["flush_err"] = srv.flush_note
    for c in srv.flush_cmds():
        rr = srv.rpc(*c, timeout=120)
        if rr is None or rr.returncode != 0:
            ok = False
            res["flush_err"] = (rr.stderr.strip() if rr else "timeout")[:200]
    res["flush"] = time.monotonic() - t0 if ok else None
    # again, so the stop has changed bindings to write back
    r = run_sipp(srv, csv, n_rereg, 2000, sipp_port, work, "rereg2")
    res["rereg2"] = r
    res["stop_big"] = srv.stop(timeout=120)


def count_bindings(srv):
    n = srv.loaded()
    if n is not None:
        return n
    r = srv.rpc("ul.dump", "brief", timeout=120)
    if r is None or r.returncode != 0:
        return None
    return sum(1 for ln in r.stdout.splitlines()
               if ln.strip().startswith("AoR:"))


# ---- report ---------------------------------------------------------------

def fmt(v, f="%.1f"):
    return "–" if v is None else f % v


def ratio(a, b, f="%.2f"):
    if a is None or b is None or b == 0:
        return "–"
    return ("%.2f" if a / b >= 0.1 else "%.3f") % (a / b) + "×"


def report(results, args, started):
    names = list(results)           # in the order the servers were made
    sipds = [n for n in names if n.startswith("sipd")]
    kams = [n for n in names if n.startswith("kamailio")]
    # ratio columns: every sipd against the better Kamailio of that row
    # (the cheaper one; the faster one on the rate rows); new vs old sipd
    rcols = [n for n in sipds if n != "sipd-old"] if kams else []
    old = "sipd-old" in names and "sipd-text" in names
    rows = []

    def per_k(r):
        if not r or not r.get("ok"):
            return None
        return r["cpu"] / r["ok"] * 1000

    def g(name, *keys):
        v = results.get(name)
        for k in keys:
            if v is None:
                return None
            v = v[k] if isinstance(v, (list, tuple)) else v.get(k)
        return v

    def row(label, vals, f="%.1f", rat=True, target="", higher=False):
        cells = [fmt(v, f) if not isinstance(v, str) else v for v in vals]
        num = rat and not any(isinstance(v, str) for v in vals)
        by = dict(zip(names, vals))
        kv = [by[k] for k in kams if by.get(k) is not None]
        ref = (max(kv) if higher else min(kv)) if kv else None
        for n in rcols:
            cells.append(ratio(by.get(n), ref) if num else "")
        if old:
            cells.append(ratio(by.get("sipd-text"), by.get("sipd-old"))
                         if num else "")
        cells.append(target)
        rows.append("| %s | %s |" % (label, " | ".join(cells)))

    def rr(r):
        return "%s ok / %s failed" % (r.get("ok"), r.get("failed")) \
            if r else "–"

    fx = [g(n, "fixed") for n in names]
    row("CPU-s of the process tree per 1,000 authenticated registrations "
        "(fixed: %d at %d/s)" % (args.fixed_count, args.fixed_rate),
        [per_k(r) for r in fx], "%.3f", target="≤ 0.1× Kamailio")
    row("  = µs per registration", [None if per_k(r) is None else
                                    per_k(r) * 1000 for r in fx], "%.0f")
    row("  fixed run: achieved rate /s (SIPp)",
        [r.get("achieved") if r else None for r in fx], "%.0f", False)
    row("  fixed run: failed calls / retransmissions",
        ["%s / %s" % (r.get("failed"), r.get("retrans")) if r else "–"
         for r in fx])
    row("  SIPp CPU-s per 1,000 (same run, for scale)",
        [r["sipp_cpu"] / r["ok"] * 1000 if r and r.get("ok") and
         r.get("sipp_cpu") else None for r in fx], "%.3f", False)
    best = []
    for n in names:
        ok = [r["rate"] for r in results[n]["ladder"] if clean(r)]
        bad = [r["rate"] for r in results[n]["ladder"] if not clean(r)]
        first_bad = min(bad) if bad else None
        b = max([x for x in ok if first_bad is None or x < first_bad],
                default=None)
        best.append(b)
    row("Highest offered rate with zero failures (ladder, %g s per rung)"
        % args.step_seconds, best, "%.0f", target="≥ 15000", higher=True)
    ach = []
    for n, b in zip(names, best):
        a = [r.get("achieved") for r in results[n]["ladder"]
             if r["rate"] == b]
        ach.append(a[0] if a else None)
    row("  achieved by SIPp at that rung /s", ach, "%.0f", higher=True)
    for label, key in (("idle", "mem_idle"),
                       ("%d bindings" % args.users, "mem_10k"),
                       ("%d bindings" % args.bindings, "mem_big")):
        m = [g(n, key) for n in names]
        row("RSS of the tree, %s (MB)" % label,
            [x[0] / 1024 if x else None for x in m], "%.1f")
        row("PSS of the tree, %s (MB)" % label,
            [x[1] / 1024 if x else None for x in m], "%.1f",
            target="≤ 9" if key == "mem_10k" else "")
    bpb = []
    for n in names:
        a, b = g(n, "mem_big"), g(n, "mem_empty2")
        bpb.append((a[1] - b[1]) * 1024 / args.bindings if a and b else None)
    row("PSS per binding at %d (B; big minus empty start)" % args.bindings,
        bpb, "%.0f", target="≤ 600")
    row("Bindings loaded from the big table", [g(n, "big_count")
                                               for n in names], "%s", False)
    row("Start-up, empty table (s)", [g(n, "start_empty2")
                                      for n in names], "%.3f")
    row("Start-up with %d bindings (s)" % args.bindings,
        [g(n, "start_big") for n in names], "%.3f")
    row("  = load time of %d bindings (s)" % args.bindings,
        [g(n, "load_big") for n in names], "%.3f", target="≤ 1")
    row("Flush after %d re-registrations, %d bindings (s)" % (
        args.users, args.bindings), [g(n, "flush") for n in names], "%.3f",
        target="≤ 1")
    row("  re-registrations of loaded bindings (2 runs)",
        ["%s; %s" % (rr(g(n, "rereg")), rr(g(n, "rereg2")))
         for n in names])
    row("ul.dump of %d bindings (s)" % args.bindings,
        [g(n, "dump") if g(n, "dump") is not None else
         ("> %.0f (timed out)" % args.dump_timeout
          if g(n, "dump_err") == "timeout" else None) for n in names],
        "%.3f", target="≤ 2, SIP answered")
    row("  OPTIONS answered during the dump / lost / max RTT (ms)",
        ["%s / %s / %s" % (g(n, "probe_n"), g(n, "probe_lost"),
                           fmt(g(n, "probe_max_ms"))) for n in names])
    row("Stop with %d bindings, 10k changed (SIGTERM to exit, final "
        "write-back) (s)" %
        args.bindings, [g(n, "stop_big") for n in names], "%.3f")

    hdr = "| Figure | " + " | ".join(names) + " | " + "".join(
        "%s / best Kamailio | " % n for n in rcols) + (
        "sipd-text / sipd-old | " if old else "") + "sipd target |"
    sep = "|---|" + "---|" * (len(names) + len(rcols) + int(old) + 1)
    out = ["## Registration load, %s" % time.strftime(
        "%Y-%m-%d %H:%M", time.localtime(started)), "",
        "Command: `%s`" % " ".join([os.path.relpath(sys.argv[0], SRCDIR)
                                     if sys.argv[0].startswith(SRCDIR)
                                     else sys.argv[0]] + sys.argv[1:]),
        "Machine: %d CPUs, load average before start %s; SIPp %s; "
        "%d workers each" % (os.cpu_count(), args.loadavg,
                             args.sipp_version, args.children), "",
        hdr, sep] + rows + ["", "Ladder (offered rate: ok / failed / "
                                "retrans / achieved rate / avg call ms / "
                                "µs CPU per registration / UDP drops: "
                                "host, server sockets, SIPp socket):", ""]
    out.append("| offered /s | " + " | ".join(names) + " |")
    out.append("|---|" + "---|" * len(names))
    for rate in args.ladder:
        cells = []
        for n in names:
            rs = [r for r in results[n]["ladder"] if r["rate"] == rate]
            if not rs:
                cells.append("not run")
                continue
            r = rs[0]
            us = r["cpu"] / r["ok"] * 1e6 if r.get("ok") else None
            cells.append("%s / %s / %s / %.0f / %s / %s / %s, %s, %s" % (
                r.get("ok"), r.get("failed"), r.get("retrans"),
                r.get("achieved") or 0, fmt(r.get("call_ms")),
                fmt(us, "%.0f"), r.get("udp_drops"),
                r.get("server_drops"), r.get("sipp_drops")))
        out.append("| %d | %s |" % (rate, " | ".join(cells)))
    notes = []
    for n in names:
        for k in ("flush_err", "dump_err", "error"):
            if g(n, k):
                notes.append("- %s %s: %s" % (n, k, g(n, k)))
    if notes:
        out += ["", "Notes:"] + notes
    return "\n".join(out)


# ---- regression check: new vs old sipd ------------------------------------

def regress(servers, args, db_copy, small, csv, sipp_port, work, started):
    """N rounds of sipd-text (args.build) vs sipd-old (--baseline-build),
    both on DB_TEXT, order alternating per round: fresh start on the same
    users, warm-up, every user registers once (PSS of the tree after),
    fixed run (CPU per registration). Returns the markdown table."""
    import statistics
    new = [s for s in servers if s.name == "sipd-text"][0]
    old = [s for s in servers if s.name == "sipd-old"][0]
    per = {new.name: [], old.name: []}
    for rnd in range(args.regress):
        order = [new, old] if rnd % 2 == 0 else [old, new]
        got = {}
        for s in order:
            s.start(db_copy(s, small))
        for s in order:
            run_sipp(s, csv, 100, 100, sipp_port, work, "warmup")
        for s in order:
            r = run_sipp(s, csv, args.users, 2000, sipp_port, work, "fill")
            got[s.name] = {"pss": mem_sample(s, 1.0)[1],
                           "fill_failed": r.get("failed")}
        for s in order:
            r = run_sipp(s, csv, args.fixed_count, args.fixed_rate,
                         sipp_port, work, "fixed")
            got[s.name]["us"] = (r["cpu"] / r["ok"] * 1e6 if r.get("ok")
                                 else None)
            got[s.name]["failed"] = r.get("failed")
            got[s.name]["retrans"] = r.get("retrans")
        for s in order:
            s.stop()
        for n in per:
            per[n].append(got[n])
        say("round %d (%s first): %s" % (
            rnd + 1, order[0].name, "; ".join(
                "%s %.1f µs/reg, PSS %d kB, failed %s" % (
                    n, got[n]["us"] or 0, got[n]["pss"], got[n]["failed"])
                for n in per)))

    def rat(a, b):
        return None if a is None or not b else a / b
    rows = []
    for i in range(args.regress):
        a, b = per[new.name][i], per[old.name][i]
        rows.append("| %d (%s first) | %s | %s | %s | %.2f | %.2f | %s | "
                    "%s / %s |" % (
                        i + 1, "new" if i % 2 == 0 else "old",
                        fmt(a["us"], "%.1f"), fmt(b["us"], "%.1f"),
                        fmt(rat(a["us"], b["us"]), "%.3f"),
                        a["pss"] / 1024, b["pss"] / 1024,
                        fmt(rat(a["pss"], b["pss"]), "%.3f"),
                        a["failed"], b["failed"]))
    us_r = [rat(a["us"], b["us"]) for a, b in zip(per[new.name],
                                                    per[old.name])]
    us_r = [x for x in us_r if x is not None]
    pss_r = [a["pss"] / b["pss"] for a, b in zip(per[new.name],
                                                   per[old.name])]
    med = statistics.median

    def mv(n, k):
        v = [x[k] for x in per[n] if x[k] is not None]
        return med(v) if v else None
    rows.append("| **median** | **%s** | **%s** | **%s** | **%.2f** | "
                "**%.2f** | **%s** | |" % (
                    fmt(mv(new.name, "us"), "%.1f"),
                    fmt(mv(old.name, "us"), "%.1f"),
                    fmt(med(us_r) if us_r else None, "%.3f"),
                    mv(new.name, "pss") / 1024, mv(old.name, "pss") / 1024,
                    fmt(med(pss_r), "%.3f")))
    rows.append("| min–max of the per-round ratios | | | %s | | | %s | |" % (
        "%.3f–%.3f" % (min(us_r), max(us_r)) if us_r else "–",
        "%.3f–%.3f" % (min(pss_r), max(pss_r))))
    verdict = []
    for what, v in (("CPU per registration", med(us_r) if us_r else None),
                    ("PSS with %d bindings" % args.users, med(pss_r))):
        verdict.append("%s new/old median %s: %s" % (
            what, fmt(v, "%.3f"), "–" if v is None else
            ("PASS (≤ 1.05)" if v <= 1.05 else "FAIL (> 1.05)")))
    out = ["## Regression check, %s" % time.strftime(
        "%Y-%m-%d %H:%M", time.localtime(started)), "",
        "Command: `%s`" % " ".join(["test/load/run.py"] + sys.argv[1:]),
        "Machine: %d CPUs, load average before start %s; SIPp %s; "
        "%d workers each; new = %s, old = %s (both DB_TEXT)" % (
            os.cpu_count(), args.loadavg, args.sipp_version, args.children,
            os.path.relpath(os.path.abspath(args.build)),
            os.path.abspath(args.baseline_build)), "",
        "| round | new µs/reg | old µs/reg | new/old | new PSS %dk (MB) | "
        "old PSS %dk (MB) | new/old | fixed-run failed new / old |" % (
            args.users // 1000, args.users // 1000),
        "|---|---:|---:|---:|---:|---:|---:|---|"] + rows + [""] + [
        "- " + v for v in verdict]
    return "\n".join(out)


# ---- main -----------------------------------------------------------------

def finish(table, args, work, title, keys):
    """The end of a run (here and in calls.py): the table, the commands
    run (a command is left out when every key keys(command) gives was
    seen already), --out, and the temp folder kept or removed."""
    print()
    print(table)
    print()
    print(title)
    seen = set()
    for c in LOG:
        ks = keys(c)
        if all(k in seen for k in ks):
            continue
        seen.update(ks)
        print("  " + c)
    if args.out:
        with open(args.out, "w") as f:
            f.write(table + "\n")
    if args.keep:
        say("kept", work)
    else:
        shutil.rmtree(work, ignore_errors=True)


def main():
    if "--calls" in sys.argv[1:]:
        # the call load kit (calls.py) reuses this file's functions
        sys.path.insert(0, HERE)
        import calls
        return calls.main(sys.argv[1:])
    ap = argparse.ArgumentParser(
        description="Bounded SIPp registration load: sipd vs Kamailio 5.6")
    ap.add_argument("--quick", action="store_true",
                    help="short run (a few minutes)")
    ap.add_argument("--build", default=os.path.join(SRCDIR, "build"),
                    help="sipd build dir (default: build)")
    ap.add_argument("--servers", default="sipd,kamailio",
                    help="comma list (kamailio is skipped if not installed)")
    ap.add_argument("--backends", default="text,sqlite",
                    help="comma list of storage backends each server runs "
                    "on: text (DB_TEXT), sqlite (one SQLite file in "
                    "Kamailio 5.6's schema, made by sipd-db convert); "
                    "servers are named sipd-text, kamailio-sqlite, ...")
    ap.add_argument("--baseline-build",
                    help="a second sipd build dir (older code), run as "
                    "sipd-old on DB_TEXT beside the others; the table gets "
                    "a sipd-text / sipd-old column")
    ap.add_argument("--regress", type=int, metavar="N",
                    help="with --baseline-build: only the regression check, "
                    "N rounds of sipd-text vs sipd-old (fresh start, 10k "
                    "registrations, PSS, fixed run), order alternating; "
                    "medians and spread of new/old")
    ap.add_argument("--children", type=int, default=2,
                    help="UDP workers of each server (default 2)")
    ap.add_argument("--users", type=int, default=10000)
    ap.add_argument("--bindings", type=int, default=100000)
    ap.add_argument("--fixed-rate", type=int)
    ap.add_argument("--fixed-count", type=int)
    ap.add_argument("--ladder", help="comma list of rates /s")
    ap.add_argument("--step-seconds", type=float)
    ap.add_argument("--dump-timeout", type=float,
                    help="seconds allowed for one ul.dump (quick: 60, "
                    "else 300)")
    ap.add_argument("--sipd-opt", action="append", default=[],
                    metavar="KEY=VALUE", help="extra sipd config line")
    ap.add_argument("--new-opt", action="append", default=[],
                    metavar="KEY=VALUE", help="extra config line for the "
                    "--build sipds only (not sipd-old: a key the old code "
                    "does not know would stop it)")
    ap.add_argument("--out", help="also write the markdown table here")
    ap.add_argument("--keep", action="store_true",
                    help="keep the temp folder (logs, SIPp stats)")
    args = ap.parse_args()
    if args.quick:
        dflt = dict(fixed_rate=2000, fixed_count=10000,
                    ladder="1000,5000,10000,20000", step_seconds=3.0,
                    dump_timeout=60.0)
    else:
        dflt = dict(fixed_rate=2000, fixed_count=20000,
                    ladder="1000,2500,5000,7500,10000,15000,20000,25000",
                    step_seconds=5.0, dump_timeout=300.0)
    for k, v in dflt.items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    args.ladder = [int(x) for x in str(args.ladder).split(",") if x]
    want = args.servers.split(",")
    backends = [b for b in args.backends.split(",") if b]
    for b in backends:
        if b not in ("text", "sqlite"):
            sys.exit("--backends: text or sqlite, not %r" % b)
    if args.regress:
        if not args.baseline_build:
            sys.exit("--regress needs --baseline-build")
        want, backends = ["sipd"], ["text"]
    if "sqlite" in backends and "kamailio" in want and not os.path.exists(
            "/usr/lib/x86_64-linux-gnu/kamailio/modules/db_sqlite.so"):
        say("db_sqlite not installed: no kamailio-sqlite "
            "(apt-get install -y kamailio-sqlite-modules)")
        kam_backends = [b for b in backends if b != "sqlite"]
    else:
        kam_backends = backends
    if "kamailio" in want and not shutil.which("kamailio"):
        say("kamailio not installed: sipd only "
            "(apt-get install -y kamailio)")
        want.remove("kamailio")
    if not shutil.which("sipp"):
        sys.exit("sipp not found: apt-get install -y sip-tester")
    args.loadavg = open("/proc/loadavg").read().split()[0]
    args.sipp_version = subprocess.run(
        ["sipp", "-v"], capture_output=True, text=True).stdout.split(
        "SIPp ")[-1].split("-")[0].strip() or "?"
    started = time.time()

    work = tempfile.mkdtemp(prefix="sipd-load-")
    say("work dir", work)
    sipp_port = free_udp_port()
    small = os.path.join(work, "small")
    big = os.path.join(work, "big")
    run_cmd([sys.executable, GEN, "--users", str(args.users), "--out",
             small, "--contact-port", str(sipp_port)], check=True)
    run_cmd([sys.executable, GEN, "--users", str(args.users), "--bindings",
             str(args.bindings), "--out", big, "--contact-port",
             str(sipp_port)], check=True)
    csv = os.path.join(small, "users.csv")
    if "sqlite" in backends:
        # one SQLite file per table set, Kamailio 5.6's schema and version
        # rows, converted from sipd's DB_TEXT tables; both servers get
        # copies of it
        sipd_db = os.path.join(os.path.abspath(args.build), "daemon",
                               "store", "sipd-db")
        for d in (small, big):
            os.makedirs(os.path.join(d, "sqlite"))
            run_cmd([sipd_db, "convert", "text://" + os.path.join(d, "sipd"),
                     "sqlite://" + os.path.join(d, "sqlite", SQLITE_FILE)],
                    check=True, stdout=subprocess.DEVNULL)

    extra = [tuple(o.split("=", 1)) for o in args.sipd_opt]
    servers = []
    if "sipd" in want:
        for b in backends:
            n = "sipd-" + b
            servers.append(Sipd(os.path.join(work, n), args.children,
                                args.build, extra + [
                                    tuple(o.split("=", 1))
                                    for o in args.new_opt], n, b))
    if args.baseline_build:
        servers.append(Sipd(os.path.join(work, "sipd-old"), args.children,
                            args.baseline_build, extra, "sipd-old", "text"))
    if "kamailio" in want:
        for b in kam_backends:
            n = "kamailio-" + b
            servers.append(Kamailio(os.path.join(work, n), args.children,
                                    1024, 512, n, b))
    results = {s.name: {"ladder": []} for s in servers}

    def db_copy(srv, which):
        src = os.path.join(which, srv.kind if srv.backend == "text"
                           else "sqlite")
        dst = os.path.join(srv.dir, "db-" + os.path.basename(which))
        if os.path.exists(dst):
            shutil.rmtree(dst)
        shutil.copytree(src, dst)
        return dst

    if args.regress:
        try:
            table = regress(servers, args, db_copy, small, csv, sipp_port,
                            work, started)
        finally:
            for s in servers:
                if s.proc is not None:
                    s.stop()
        finish(table, args, work, "Commands run (first of each kind):",
               lambda c: (c.split()[0] + " " + (c.split(" -sf ")[0]
                          .split()[-1] if " -sf " in c else
                          " ".join(c.split()[1:3])),))
        return

    try:
        # idle, 10k, fixed, ladder: both servers up, measured one at a time
        for s in servers:
            results[s.name]["start_empty"] = s.start(db_copy(s, small))
        for s in servers:
            results[s.name]["mem_idle"] = mem_sample(s, 1.0)
            say("%s idle: RSS %d kB PSS %d kB (%d processes)" % (
                (s.name,) + results[s.name]["mem_idle"]))
        # warm-up: first requests load tables/caches (db_text loads on
        # first use); a slow first second would count as failures
        for s in servers:
            run_sipp(s, csv, 100, 100, sipp_port, work, "warmup")
        for s in servers:
            r = run_sipp(s, csv, args.users, 2000, sipp_port, work, "fill")
            results[s.name]["fill"] = r
            results[s.name]["mem_10k"] = mem_sample(s, 1.0)
            say("%s %d registrations: ok %s failed %s; PSS %d kB" % (
                s.name, args.users, r.get("ok"), r.get("failed"),
                results[s.name]["mem_10k"][1]))
        for s in servers:
            r = run_sipp(s, csv, args.fixed_count, args.fixed_rate,
                         sipp_port, work, "fixed")
            results[s.name]["fixed"] = r
            say("%s fixed: ok %s failed %s retrans %s cpu %.3f s -> "
                "%.0f µs/reg" % (s.name, r.get("ok"), r.get("failed"),
                                 r.get("retrans"), r["cpu"],
                                 r["cpu"] / max(r.get("ok") or 1, 1) * 1e6))
        phase_ladder(servers, csv, args.ladder, args.step_seconds,
                     sipp_port, work, results)
        for s in servers:
            results[s.name]["stop_small"] = s.stop()
        # 100k: an empty start for the baseline, then the big table
        for s in servers:
            res = results[s.name]
            res["start_empty2"] = s.start(db_copy(s, small))
            res["mem_empty2"] = mem_sample(s, 2.0)
            s.stop()
            try:
                phase_big(s, db_copy(s, big), res["start_empty2"], csv,
                          args.users, sipp_port, work, res, args.bindings,
                          args.dump_timeout)
            except RuntimeError as e:
                res["error"] = str(e).splitlines()[0]
                say(str(e))
    finally:
        for s in servers:
            if s.proc is not None:
                s.stop()

    table = report(results, args, started)

    def keys(c):
        k = c.split()[0] + (c.split()[1] if len(c.split()) > 1 else "")
        key = os.path.basename(c.split()[0]) + " " + (
            c.split(" -sf ")[0].split()[-1] if " -sf " in c else
            " ".join(c.split()[1:4]))
        return (k, key)
    finish(table, args, work, "Commands run (in order, first of each kind):",
           keys)


if __name__ == "__main__":
    main()
