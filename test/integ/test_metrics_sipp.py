"""/metrics while SIPp runs (issue 11, "Tests that must exist").

SIPp plays every party: phones registering with digest auth, a UA calling
out through the PSTN gateway (407 first, then with credentials), the
gateway calling registered users, and the called sides (the gateway and
the phones). The gateway is recognised by its address alone (127.0.0.2,
pstn.match_port = no), so its calling and called SIPp use two ports; the
UAs and the phones are on 127.0.0.1.

While they run, /metrics is scraped every SCRAPE_EVERY seconds: each
scrape passes promtool (and the strict parser of sipd_helpers) and no
counter ever goes down. When SIPp is done, the counters have grown by
exactly what the SIPp instances counted with -trace_counts (every
message sent, retransmitted and received) and -trace_stat (calls that
succeeded): requests by method, registrations by code, challenges, calls
by path and outcome, replies by code.

Bounded: fixed call counts at fixed rates, -timeout on every SIPp, a
wall-clock limit on every wait, SIPp and sipd stopped by PID.
"""
import glob
import os
import re
import shutil
import socket
import subprocess
import threading
import time

from sipd_helpers import (PROMTOOL, SRCDIR, free_tcp_port, http_get,
                          metrics_total, parse_metrics, promtool_check,
                          write_users)

HERE = os.path.dirname(os.path.abspath(__file__))
LOAD = os.path.join(SRCDIR, "test", "load")
REG_XML = os.path.join(HERE, "scenarios", "reg_auth.xml")
OUT_XML = os.path.join(LOAD, "call_ua_gw.xml")      # UA -> gateway, 407
IN_XML = os.path.join(LOAD, "call_gw_ua.xml")       # gateway -> phone
UAS_XML = os.path.join(LOAD, "call_uas.xml")        # gateway, phones

UA_IP = "127.0.0.1"
GW_IP = "127.0.0.2"
USERS = 200             # u0000-u0099 register and call out; u0100- called
N_REG, REG_RATE = 300, 60
N_OUT, OUT_RATE = 100, 20
N_IN, IN_RATE = 100, 20
SCRAPE_EVERY = 0.2
SIPP_LIMIT = 60         # s: -timeout of every SIPp, and our wait


def free_port(ip):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Sipp:
    """One SIPp instance in its own folder (-trace_counts names its file
    after the scenario and its PID, in the working directory)."""

    def __init__(self, top, name, xml, ip, port, args, server=None):
        self.name = name
        self.dir = os.path.join(top, name)
        os.mkdir(self.dir)
        self.port = port
        cmd = ["sipp"] + ([server] if server else []) + [
            "-sf", xml, "-i", ip, "-p", str(port), "-nostdin", "-nd",
            "-timeout", "%ds" % SIPP_LIMIT, "-timeout_error",
            "-recv_timeout", "10000", "-trace_counts", "-trace_stat",
            "-stf", "stat.csv", "-trace_err", "-error_file", "errors.log"]
        self.proc = subprocess.Popen(cmd + args, cwd=self.dir,
                                     stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)

    def wait(self, limit):
        try:
            _, err = self.proc.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            raise AssertionError("%s: SIPp still running after %d s" %
                                 (self.name, limit))
        assert self.proc.returncode == 0, "%s: exit %d: %s %s" % (
            self.name, self.proc.returncode, err.decode()[:2000],
            self.errors())

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def errors(self):
        try:
            with open(os.path.join(self.dir, "errors.log")) as f:
                return f.read()[:2000]
        except OSError:
            return ""

    def counts(self):
        """The last line of the -trace_counts file: {column: number}."""
        files = glob.glob(os.path.join(self.dir, "*_counts.csv"))
        assert len(files) == 1, files
        with open(files[0]) as f:
            rows = [ln.rstrip("\n").rstrip(";").split(";") for ln in f
                    if ln.strip()]
        head, last = rows[0], rows[-1]
        return {h: int(v) for h, v in zip(head[2:], last[2:])}

    def calls(self):
        """(successful, failed) calls from the -trace_stat file."""
        with open(os.path.join(self.dir, "stat.csv")) as f:
            rows = [ln.rstrip("\n").split(";") for ln in f if ln.strip()]
        head, last = rows[0], rows[-1]
        return (int(last[head.index("SuccessfulCall(C)")]),
                int(last[head.index("FailedCall(C)")]))


def messages(counts, name, what=("Sent", "Retrans")):
    """How many times message `name` (a method, or a reply code) went or
    came, summed over its steps in the scenario: "3_REGISTER_Sent"."""
    n = 0
    for col, v in counts.items():
        m = re.match(r"^\d+_([A-Za-z0-9]+)_([A-Za-z]+)$", col)
        if m and m.group(1) == name and m.group(2) in what:
            n += v
    return n


class Scraper(threading.Thread):
    """GET /metrics every SCRAPE_EVERY s until stopped: every scrape is
    promtool-checked and parsed, and no counter ever goes down."""

    def __init__(self, s):
        super().__init__(daemon=True)
        self.s = s
        self.stop = threading.Event()
        self.samples = []
        self.error = None

    def run(self):
        prev = None
        try:
            while not self.stop.is_set():
                code, _, text = http_get(self.s, "/metrics")
                assert code == 200
                promtool_check(text)
                m = parse_metrics(text)
                if prev is not None:
                    for k, v in prev.items():
                        fam = k.partition("{")[0]
                        if fam.endswith("_total"):
                            assert m[k] >= v, (k, v, m[k])
                prev = m
                self.samples.append(m)
                self.stop.wait(SCRAPE_EVERY)
        except BaseException as e:      # re-raised by the test
            self.error = e


def settled(s):
    """A scrape once two in a row 0.3 s apart agree on every counter
    (the last replies may still be in flight when SIPp exits)."""
    deadline = time.monotonic() + 10
    prev = None
    while True:
        code, _, text = http_get(s, "/metrics")
        assert code == 200
        promtool_check(text)
        m = parse_metrics(text)
        cur = {k: v for k, v in m.items()
               if k.partition("{")[0].endswith("_total") and
               not k.startswith("sipd_process_cpu")}
        if cur == prev or time.monotonic() > deadline:
            return m
        prev = cur
        time.sleep(0.3)


def csv_rows(path, rows):
    with open(path, "w") as f:
        f.write("SEQUENTIAL\n")
        for r in rows:
            f.write(";".join(r) + "\n")


def test_metrics_count_what_sipp_counted(sipd_factory, tmp_path):
    assert shutil.which("sipp"), "SIPp (sip-tester) is needed"
    assert PROMTOOL, "promtool (prometheus) is needed"
    gw_port = free_port(GW_IP)
    phones = free_port(UA_IP)
    http = free_tcp_port()
    s = sipd_factory(children=2, extra={
        "http.listen": "127.0.0.1:%d" % http,
        "pstn.gw_ip": '"%s"' % GW_IP, "pstn.gw_port": str(gw_port),
        "pstn.match_port": "no", "log.level": "info"})
    reg_csv = write_users(s.db, USERS)
    s.start()
    s.http = "http://127.0.0.1:%d" % http
    # The called users' bindings point at the phones' SIPp.
    for i in range(100, USERS):
        u = "u%04d" % i
        r = s.mictl("ul.add", u, "sip:%s@%s:%d" % (u, UA_IP, phones), 3600)
        assert r.returncode == 0, r.stderr
    users = [("u%04d" % i, "pw-u%04d" % i) for i in range(USERS)]
    out_csv = os.path.join(s.dir, "out.csv")
    csv_rows(out_csv, [(u, p, "004930%06d" % i,
                        "[authentication username=%s password=%s]" % (u, p))
                       for i, (u, p) in enumerate(users[:100])])
    in_csv = os.path.join(s.dir, "in.csv")
    csv_rows(in_csv, [("4930%06d" % i, "-", users[100 + i][0], "-")
                      for i in range(USERS - 100)])
    # reg_auth.xml: the first 100 users (write_users' CSV has them all).
    with open(reg_csv) as f:
        lines = f.read().splitlines()
    with open(reg_csv, "w") as f:
        f.write("\n".join(lines[:101]) + "\n")

    before = settled(s)
    top = str(tmp_path / "sipp")
    os.mkdir(top)
    server = "%s:%d" % (UA_IP, s.port)
    scraper = Scraper(s)
    sipps = []
    try:
        gw = Sipp(top, "gateway", UAS_XML, GW_IP, gw_port,
                  ["-m", str(N_OUT)])
        ph = Sipp(top, "phones", UAS_XML, UA_IP, phones, ["-m", str(N_IN)])
        sipps += [gw, ph]
        time.sleep(0.3)         # the called sides listen
        scraper.start()
        reg = Sipp(top, "register", REG_XML, UA_IP, free_port(UA_IP),
                   ["-inf", reg_csv, "-m", str(N_REG), "-r", str(REG_RATE)],
                   server)
        out = Sipp(top, "ua-gw", OUT_XML, UA_IP, free_port(UA_IP),
                   ["-inf", out_csv, "-m", str(N_OUT), "-r", str(OUT_RATE),
                    "-d", "100"], server)
        inc = Sipp(top, "gw-ua", IN_XML, GW_IP, free_port(GW_IP),
                   ["-inf", in_csv, "-m", str(N_IN), "-r", str(IN_RATE),
                    "-d", "100"], server)
        sipps += [reg, out, inc]
        for p in (reg, out, inc, gw, ph):
            p.wait(SIPP_LIMIT + 15)
    finally:
        scraper.stop.set()
        for p in sipps:
            p.kill()
    scraper.join(30)
    assert not scraper.is_alive()
    if scraper.error is not None:
        raise scraper.error
    after = settled(s)

    # SIPp's side: every call went through.
    assert reg.calls() == (N_REG, 0), reg.errors()
    assert out.calls() == (N_OUT, 0), out.errors()
    assert inc.calls() == (N_IN, 0), inc.errors()
    assert gw.calls() == (N_OUT, 0), gw.errors()
    assert ph.calls() == (N_IN, 0), ph.errors()
    c = {p.name: p.counts() for p in (reg, out, inc, gw, ph)}

    # Scraped while the load ran: parser-valid every time (above), and
    # some scrapes saw the registrations half done.
    ok = 'sipd_registrations_total{outcome="ok",code="200"}'
    assert len(scraper.samples) >= 10, len(scraper.samples)
    assert any(before[ok] < m[ok] < after[ok] for m in scraper.samples)

    def delta(name, **labels):
        return metrics_total(after, name, **labels) - \
            metrics_total(before, name, **labels)

    # Requests by method: every request a SIPp sent (retransmissions
    # too) was received once; the called sides send replies only.
    for method in ("REGISTER", "INVITE", "ACK", "BYE", "CANCEL",
                   "OPTIONS", "other"):
        want = sum(messages(x, method) for x in c.values())
        assert delta("sipd_sip_requests_received_total",
                     method=method) == want, method
    assert delta("sipd_sip_requests_received_total", method="REGISTER") \
        >= 2 * N_REG
    assert delta("sipd_sip_requests_received_total") == sum(
        messages(x, m) for x in c.values()
        for m in ("REGISTER", "INVITE", "ACK", "BYE"))

    # Registrations: each one a 401, then a 200.
    n401 = messages(c["register"], "401", ("Recv", "Retrans"))
    assert n401 >= N_REG
    assert delta("sipd_registrations_total", outcome="ok",
                 code="200") == N_REG
    assert delta("sipd_registrations_total", outcome="challenged",
                 code="401") == n401
    assert delta("sipd_registrations_total", outcome="rejected") == 0
    assert delta("sipd_registrations_total") == N_REG + n401

    # Calls: out with a 407 first, in unchallenged; all answered.
    n407 = messages(c["ua-gw"], "407", ("Recv", "Retrans"))
    assert n407 >= N_OUT
    assert delta("sipd_calls_total", path="ua_gw",
                 outcome="answered") == N_OUT
    assert delta("sipd_calls_total", path="ua_gw",
                 outcome="challenged") == n407
    assert delta("sipd_calls_total", path="gw_ua",
                 outcome="answered") == N_IN
    assert delta("sipd_calls_total") == N_OUT + n407 + N_IN

    # Digest: the challenges SIPp got, one success per authorized request.
    assert delta("sipd_auth_total", result="challenge") == n401 + n407
    assert delta("sipd_auth_total", result="success") == N_REG + N_OUT
    assert delta("sipd_auth_total", result="failure") == 0
    assert delta("sipd_auth_failures_total") == 0

    # Replies sipd made: the challenges, a 100 per INVITE transaction
    # opened (one per call), the REGISTERs' 200s; nothing else.
    sent = "sipd_sip_replies_sent_total"
    assert delta(sent, code="401") == n401
    assert delta(sent, code="407") == n407
    assert delta(sent, code="100") == N_OUT + N_IN
    assert delta(sent, code="200") == N_REG
    assert delta(sent) == n401 + n407 + N_OUT + N_IN + N_REG
    # Replies passed on: what the called SIPps sent (retransmitted 200s
    # of an INVITE too) went up once each.
    fwd = "sipd_sip_replies_forwarded_total"
    called = (c["gateway"], c["phones"])
    assert delta(fwd, code="180") == sum(messages(x, "180")
                                         for x in called)
    assert delta(fwd, code="200") == sum(messages(x, "200")
                                         for x in called)
    assert delta("sipd_dropped_datagrams_total") == 0
