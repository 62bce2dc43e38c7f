#!/usr/bin/env python3
"""scrape_cost.py: what a Prometheus scrape of /metrics costs sipd (issue
11, "Speed"), measured in one run on one server.

  python3 test/load/scrape_cost.py --build build-load [--rounds 8]
      [--screenshot test/load/status-page.png] [--out FILE]

sipd (2 UDP workers, http.listen on) starts on a location table of
--bindings bindings (gen_tables.py), then:

  rounds    --rounds rounds; in each, for every interval of --every, a
            pair of fixed registration runs (SIPp reg_auth.xml, --count at
            --rate/s; each one authenticated re-registration, 2 requests):
            one with a GET /metrics every that many seconds, one without,
            the order alternating round by round. CPU per registration of
            the workers (the SIP CPU) and of the whole tree (master
            included: it serves the scrapes), from
            /proc/PID/task/TID/schedstat read before and after each run.
            The figure is the median of the per-round ratios with/without.
            The default --every 1,0.05 adds 20 scrapes a second: a cost
            too small to see at one a second shows 20 times larger there.
  scrapes   the wall time of one scrape (connect, GET, read the whole
            reply) as a client sees it: every scrape made during the runs
            above, then --idle-scrapes back to back with the table idle.
  page      with --screenshot: registrations and calls (a UA calling the
            gateway, 407 first; SIPp plays the gateway on 127.0.0.2) for
            --page-seconds, then headless Chromium's screenshot of the
            status page, taken while the traffic still runs (--rounds 0:
            only this).

Bounded: fixed counts, SIPp -timeout, a wall-clock limit on every wait,
every process stopped by its PID; only 127.0.0.1 and 127.0.0.2. Reuses
run.py (servers, /proc) and calls.py's scenarios.
"""
import argparse
import http.client
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run  # noqa: E402
from run import LOG, cpu_of, free_tcp_port, say  # noqa: E402

GW_IP = "127.0.0.2"


def scrape_once(port):
    """Wall seconds of one scrape (new connection, whole reply), bytes."""
    t0 = time.perf_counter()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request("GET", "/metrics")
    r = c.getresponse()
    body = r.read()
    c.close()
    dt = time.perf_counter() - t0
    if r.status != 200:
        raise RuntimeError("GET /metrics: %d" % r.status)
    return dt, len(body)


class Scraper(threading.Thread):
    """A GET /metrics every `every` s (as Prometheus would), timed."""

    def __init__(self, port, every):
        super().__init__(daemon=True)
        self.port, self.every = port, every
        self.halt = threading.Event()
        self.times = []

    def run(self):
        nxt = time.monotonic()
        while not self.halt.is_set():
            self.times.append(scrape_once(self.port)[0])
            nxt += self.every
            self.halt.wait(max(0.0, nxt - time.monotonic()))

    def stop(self):
        self.halt.set()
        self.join(10)


def fixed_run(srv, csv, count, rate, sipp_port, work, tag, every):
    """One fixed registration run; CPU of workers and tree per success."""
    master = srv.pid
    workers = [p for p in run.tree_pids(master) if p != master]
    sc = Scraper(srv.http_port, every) if every else None
    w0, t0 = cpu_of(workers), run.tree_cpu(master)
    if sc:
        sc.start()
    try:
        res = run.run_sipp(srv, csv, count, rate, sipp_port, work, tag)
    finally:
        if sc:
            sc.stop()
    w1, t1 = cpu_of(workers), run.tree_cpu(master)
    ok = res.get("ok") or 0
    return {"ok": ok, "failed": res.get("failed"),
            "retrans": res.get("retrans"),
            "workers": (w1 - w0) / ok if ok else None,
            "tree": (t1 - t0) / ok if ok else None,
            "scrapes": sc.times if sc else []}


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else None


def ms(v):
    return "–" if v is None else "%.2f ms" % (v * 1000)


def page(srv, users_csv, work, seconds, out_png, gw_port, reg_port):
    """Registrations and calls for `seconds`, then the screenshot."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        say("chromium not installed: no screenshot")
        return None
    n_calls = int(seconds * 50)
    n_regs = int(seconds * 200)
    base = ["-nd", "-nostdin", "-timeout", "%ds" % (seconds + 60),
            "-timeout_error", "-recv_timeout", "10000"]
    procs = []
    try:
        gw = ["sipp", "-sf", os.path.join(HERE, "call_uas.xml"), "-i", GW_IP,
              "-p", str(gw_port), "-m", str(n_calls)] + base
        ua = ["sipp", "127.0.0.1:%d" % srv.port, "-sf",
              os.path.join(HERE, "call_ua_gw.xml"), "-inf", users_csv,
              "-i", "127.0.0.1", "-p", str(run.free_udp_port()), "-m",
              str(n_calls), "-r", "50", "-d", "2000"] + base
        reg = ["sipp", "127.0.0.1:%d" % srv.port, "-sf", run.SCENARIO,
               "-inf", users_csv, "-i", "127.0.0.1", "-p", str(reg_port),
               "-m", str(n_regs), "-r", "200"] + base
        for cmd in (gw, ua, reg):
            LOG.append(" ".join(cmd))
            procs.append(subprocess.Popen(cmd, cwd=work,
                                          stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL,
                                          stdin=subprocess.DEVNULL))
            time.sleep(0.3)
        time.sleep(seconds - 5)
        url = "http://127.0.0.1:%d/" % srv.http_port
        cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-dev-shm-usage", "--no-first-run",
               "--virtual-time-budget=4000", "--window-size=1280,1000",
               "--screenshot=" + os.path.abspath(out_png), url]
        LOG.append(" ".join(cmd))
        subprocess.run(cmd, capture_output=True, timeout=90)
        for p in procs:
            run.wait_bounded(p, seconds + 90)
    finally:
        for p in procs:
            if p.poll() is None:
                os.kill(p.pid, signal.SIGKILL)
                p.wait(10)
    return out_png if os.path.exists(out_png) else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(run.SRCDIR, "build"))
    ap.add_argument("--users", type=int, default=10000)
    ap.add_argument("--bindings", type=int, default=100000)
    ap.add_argument("--count", type=int, default=20000)
    ap.add_argument("--rate", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--every", default="1,0.05",
                    help="comma list of seconds between scrapes "
                    "(default 1,0.05)")
    ap.add_argument("--idle-scrapes", type=int, default=200)
    ap.add_argument("--screenshot", help="PNG of the status page under load")
    ap.add_argument("--page-seconds", type=int, default=60)
    ap.add_argument("--out", help="also write the report here")
    args = ap.parse_args()
    everies = [float(x) for x in args.every.split(",") if x]
    if not shutil.which("sipp"):
        sys.exit("sipp not found: apt-get install -y sip-tester")
    loadavg = open("/proc/loadavg").read().split()[0]
    started = time.time()
    work = tempfile.mkdtemp(prefix="sipd-scrape-")
    sipp_port = run.free_udp_port()
    tables = os.path.join(work, "tables")
    run.run_cmd([sys.executable, run.GEN, "--users", str(args.users),
                 "--bindings", str(args.bindings), "--out", tables,
                 "--contact-port", str(sipp_port), "--sipd-only"],
                check=True)
    csv = os.path.join(tables, "users.csv")
    http_port = free_tcp_port()
    gw_port = run.free_udp_port()
    srv = run.Sipd(os.path.join(work, "sipd"), 2, args.build, [
        ("http.listen", "127.0.0.1:%d" % http_port),
        ("pstn.gw_ip", GW_IP), ("pstn.gw_port", str(gw_port)),
        ("pstn.match_port", "no")])
    srv.http_port = http_port
    rounds = []
    idle = []
    first = None
    try:
        srv.start(os.path.join(tables, "sipd"), timeout=120)
        first = scrape_once(http_port)
        say("sipd up on %d bindings; a scrape is %d bytes" % (
            args.bindings, first[1]))
        run.run_sipp(srv, csv, 2000, args.rate, sipp_port, work, "warm")
        for i in range(args.rounds):
            order = (True, False) if i % 2 == 0 else (False, True)
            for every in everies:
                r = {"every": every}
                for scraped in order:
                    r[scraped] = fixed_run(
                        srv, csv, args.count, args.rate, sipp_port, work,
                        "r%d-%g%s" % (i, every, "s" if scraped else ""),
                        every if scraped else 0)
                rounds.append(r)
                say("round %d, a scrape every %g s: workers %.2f / %.2f µs "
                    "per registration (with / without), tree %.2f / %.2f; "
                    "failed %s/%s, retrans %s/%s" % (
                        i + 1, every, r[True]["workers"] * 1e6,
                        r[False]["workers"] * 1e6, r[True]["tree"] * 1e6,
                        r[False]["tree"] * 1e6, r[True]["failed"],
                        r[False]["failed"], r[True]["retrans"],
                        r[False]["retrans"]))
        for _ in range(args.idle_scrapes):
            idle.append(scrape_once(http_port)[0])
        shot = None
        if args.screenshot:
            shot = page(srv, csv, work, args.page_seconds, args.screenshot,
                        gw_port, sipp_port)
    finally:
        srv.stop()
    if not rounds:      # --rounds 0: only the screenshot
        say("screenshot: %s" % (shot or "not taken"))
        return
    med = statistics.median

    def rows(every):
        rs = [r for r in rounds if r["every"] == every]
        out = []
        for key, what in (("workers", "workers' CPU per registration "
                           "(SIP)"), ("tree", "whole tree (the master "
                                      "serves the scrapes)")):
            q = [r[True][key] / r[False][key] for r in rs]
            out.append("| %s, a scrape every %g s | %.2f µs | %.2f µs | "
                       "%.3f (%.3f–%.3f) |" % (
                           what, every,
                           med([r[True][key] for r in rs]) * 1e6,
                           med([r[False][key] for r in rs]) * 1e6,
                           med(q), min(q), max(q)))
        return out
    during = [t for r in rounds if r["every"] == everies[0]
              for t in r[True]["scrapes"]]
    busy = [t for r in rounds for t in r[True]["scrapes"]]
    lines = [
        "## Cost of scraping, %s" % time.strftime(
            "%Y-%m-%d %H:%M", time.localtime(started)), "",
        "Command: `python3 test/load/scrape_cost.py %s`" % " ".join(
            sys.argv[1:]),
        "Machine: %d CPUs, load average before start %s; 2 workers; %d "
        "bindings loaded; %d rounds, each with a pair of runs of %d "
        "registrations at %d/s per scrape interval (%s s): with scrapes / "
        "without" % (
            os.cpu_count(), loadavg, args.bindings, args.rounds, args.count,
            args.rate, args.every), "",
        "| Figure | with scrapes | without | with / without: median "
        "(min–max) |",
        "|---|---|---|---|"] + [x for e in everies for x in rows(e)] + [
        "| failed registrations / retransmissions | %d / %d | %d / %d | |" % (
            sum(r[True]["failed"] or 0 for r in rounds),
            sum(r[True]["retrans"] or 0 for r in rounds),
            sum(r[False]["failed"] or 0 for r in rounds),
            sum(r[False]["retrans"] or 0 for r in rounds)),
        "",
        "| One scrape, %d bindings (client wall time) | median | p99 | max "
        "| n | over 2 ms |" % args.bindings,
        "|---|---|---|---|---|---|",
        "| during the runs, one a %g s | %s | %s | %s | %d | %d |" % (
            everies[0], ms(med(during)), ms(pct(during, 0.99)),
            ms(max(during)), len(during),
            sum(1 for t in during if t > 0.002)),
        "| during the runs, all intervals | %s | %s | %s | %d | %d |" % (
            ms(med(busy)), ms(pct(busy, 0.99)), ms(max(busy)), len(busy),
            sum(1 for t in busy if t > 0.002)),
        "| idle, back to back | %s | %s | %s | %d | %d |" % (
            ms(med(idle)), ms(pct(idle, 0.99)), ms(max(idle)), len(idle),
            sum(1 for t in idle if t > 0.002)),
        "", "Reply size: %d bytes." % first[1]]
    if args.screenshot:
        lines.append("Screenshot: %s" % (shot or "not taken"))
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    say("commands:\n  " + "\n  ".join(LOG[-6:]))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
