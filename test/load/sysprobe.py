#!/usr/bin/env python3
"""sysprobe.py: user/kernel share of sipd's CPU and syscalls per call,
under the call kit's fixed load (default 20,000 calls at 1,000/s), for
the UA -> GW and GW -> UA paths.

  python3 test/load/sysprobe.py BUILD_DIR [--label before] [--out FILE]
        [--kit DIR] [--paths ua-gw,gw-ua] [--rate 1000] [--count 20000]
        [--raw DIR] [--no-perf] [--no-strace]

BUILD_DIR is a meson build dir of sipd (release build, -Dtests=false).
The load kit (test/load/calls.py + run.py) is taken from that build's
source tree (meson-info), or from --kit DIR.

One sipd is set up exactly as the call kit does it (calls.SipdCalls,
2 workers, 10,000 users whose bindings point at the phones' SIPp UAS,
the gateway on 127.0.0.2), warmed up with 200 calls per path at 200/s.
Then, per path, three bounded runs of COUNT calls at RATE/s
(calls.run_calls, the kit's own runner):

  plain   no tool attached: CPU µs/call of the sipd tree (schedstat, as
          the kit) and the user/kernel split from utime/stime of every
          task of the tree (/proc/PID/task/TID/stat, deltas)
  perf    `perf record -e cpu-clock -F 999 -p PIDS` (report --sort dso:
          the kernel's share of the samples; perf's own sampling
          overhead lands in the kernel share, see its µs/call)
  sysstat `perf stat -e 'syscalls:sys_enter_*' -p PIDS` (syscalls per
          call by name, from tracepoints)
  strace  `strace -c -f -p PID ...` (syscalls per call by name; ptrace
          slows sipd, failures/retransmissions of that run are shown)

Every tool is attached before the caller starts and stopped with SIGINT
(by its PID) after every SIPp instance of the run has ended, so the
window holds exactly the run's calls; per call = / successful calls.
Everything is bounded (SIPp by the kit; tools by SIGINT then SIGKILL;
sipd SIGTERM by PID). Only 127.0.0.1 / 127.0.0.2 are used.
"""
import argparse
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time


def find_kit(build, kit):
    if kit:
        return os.path.abspath(kit)
    with open(os.path.join(build, "meson-info", "meson-info.json")) as f:
        src = json.load(f)["directories"]["source"]
    return os.path.join(src, "test", "load")


def tasks(pids):
    out = []
    for p in pids:
        try:
            out += [(p, int(t)) for t in os.listdir("/proc/%d/task" % p)]
        except OSError:
            pass
    return out


def ticks(pids):
    """{(pid, tid): (utime, stime)} in clock ticks."""
    d = {}
    for p, t in tasks(pids):
        try:
            with open("/proc/%d/task/%d/stat" % (p, t)) as f:
                st = f.read()
        except OSError:
            continue
        rest = st[st.rindex(")") + 2:].split()
        d[(p, t)] = (int(rest[11]), int(rest[12]))
    return d


def comm(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode().strip()[:60]
    except OSError:
        return "?"


def stop_tool(p, name):
    if p is None or p.poll() is not None:
        return
    os.kill(p.pid, signal.SIGINT)
    try:
        p.wait(60)
    except subprocess.TimeoutExpired:
        os.kill(p.pid, signal.SIGKILL)
        p.wait(10)
        print("[probe] %s (pid %d) did not stop on SIGINT: killed"
              % (name, p.pid), flush=True)


def wait_attached(errfile, n, timeout=15.0):
    """strace prints 'Process N attached' per task on stderr."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(errfile) as f:
                k = f.read().count(" attached")
        except OSError:
            k = 0
        if k >= n:
            return True
        time.sleep(0.05)
    return False


def parse_strace(path):
    """{syscall: calls} from strace -c output."""
    out = {}
    with open(path) as f:
        for ln in f:
            w = ln.split()
            if len(w) in (5, 6) and re.match(r"^[0-9.]+$", w[0]) \
                    and w[-1] != "total":
                try:
                    out[w[-1]] = int(w[3])
                except ValueError:
                    pass
    return out


def parse_perf_stat(path):
    """{syscall: count} from perf stat -x, output of sys_enter_* events."""
    out = {}
    with open(path) as f:
        for ln in f:
            c = ln.strip().split(",")
            if len(c) >= 3 and c[2].startswith("syscalls:sys_enter_"):
                try:
                    n = int(c[0])
                except ValueError:
                    continue
                if n:
                    out[c[2][len("syscalls:sys_enter_"):]] = n
    return out


def parse_perf_dso(path):
    """[(share %, dso)] from perf report --sort dso --stdio."""
    out = []
    with open(path) as f:
        for ln in f:
            m = re.match(r"^\s+([0-9.]+)%\s+(\S.*)$", ln)
            if m:
                out.append((float(m.group(1)), m.group(2).strip()))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build")
    ap.add_argument("--kit", help="test/load dir (default: the build's "
                    "source tree)")
    ap.add_argument("--label", default=None)
    ap.add_argument("--paths", default="ua-gw,gw-ua")
    ap.add_argument("--rate", type=int, default=1000)
    ap.add_argument("--count", type=int, default=20000)
    ap.add_argument("--users", type=int, default=10000)
    ap.add_argument("--children", type=int, default=2)
    ap.add_argument("--raw", help="dir for raw tool outputs "
                    "(default $TMPDIR/sipd-sysprobe-LABEL)")
    ap.add_argument("--out", help="also write the markdown here")
    ap.add_argument("--no-perf", action="store_true")
    ap.add_argument("--no-strace", action="store_true")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    label = args.label or os.path.basename(build.rstrip("/"))
    raw = os.path.abspath(args.raw or os.path.join(
        tempfile.gettempdir(), "sipd-sysprobe-%s" % label))
    os.makedirs(raw, exist_ok=True)
    kit = find_kit(build, args.kit)
    sys.path.insert(0, kit)
    import calls  # noqa: E402
    import run  # noqa: E402

    # perf stat opens one fd per event per task
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    hz = os.sysconf("SC_CLK_TCK")
    load0 = open("/proc/loadavg").read().strip()
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    sipd_bin = os.path.join(build, "daemon", "sipd")
    rev = subprocess.run(["git", "-C", kit, "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True).stdout.strip()

    work = tempfile.mkdtemp(prefix="sipd-probe-")
    csv = os.path.join(work, "calls.csv")
    calls.write_csv(csv, args.users)
    ports = calls.Ports()
    s = calls.SipdCalls(os.path.join(work, "sipd"), args.children, build,
                        [], ports.gw)
    s.ports = ports
    tables = os.path.join(work, "tables")
    run.run_cmd([sys.executable, run.GEN, "--users", str(args.users),
                 "--bindings", str(args.users), "--out", tables,
                 "--contact-host", calls.UA_IP, "--contact-port",
                 str(ports.phones)], check=True, stdout=subprocess.DEVNULL)
    db = os.path.join(s.dir, "db")
    shutil.copytree(os.path.join(tables, "sipd"), db)
    paths = [p for p in args.paths.split(",") if p]
    res = {}
    tools = []
    try:
        s.start(db, expect=args.users)
        pids = run.tree_pids(s.pid)
        print("[probe] sipd %s up on port %d; tree: %s" % (
            sipd_bin, s.port, "; ".join("%d %s" % (p, comm(p))
                                        for p in pids)), flush=True)
        for path in paths:
            r = calls.run_calls(s, path, csv, 200, 200, work, "warmup")
            print("[probe] %s warm-up: ok %s failed %s" % (
                path, r.get("ok"), r.get("failed")), flush=True)
        time.sleep(6)
        for path in paths:
            res[path] = {}
            modes = ["plain"] + ([] if args.no_perf
                                 else ["perf", "sysstat"]) + \
                ([] if args.no_strace else ["strace"])
            for mode in modes:
                pids = run.tree_pids(s.pid)
                tag = "%s-%s" % (path, mode)
                tools = []
                if mode == "strace":
                    out = os.path.join(raw, "strace-%s.txt" % path)
                    err = os.path.join(work, "strace-%s.err" % path)
                    cmd = ["strace", "-c", "-f", "-o", out]
                    for p in pids:
                        cmd += ["-p", str(p)]
                    ef = open(err, "w")
                    tools.append(("strace", subprocess.Popen(
                        cmd, stdout=subprocess.DEVNULL, stderr=ef,
                        stdin=subprocess.DEVNULL)))
                    if not wait_attached(err, len(tasks(pids))):
                        print("[probe] strace: not every task attached",
                              flush=True)
                    time.sleep(0.5)
                elif mode == "perf":
                    plist = ",".join(str(p) for p in pids)
                    pdata = os.path.join(work, "perf-%s.data" % path)
                    tools.append(("perf record", subprocess.Popen(
                        ["perf", "record", "-q", "-e", "cpu-clock",
                         "-F", "999", "-p", plist, "-o", pdata],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                        stdin=subprocess.DEVNULL)))
                    time.sleep(1.0)
                elif mode == "sysstat":
                    plist = ",".join(str(p) for p in pids)
                    pstat = os.path.join(raw, "perfstat-%s.csv" % path)
                    tools.append(("perf stat", subprocess.Popen(
                        ["perf", "stat", "-x,", "-o", pstat, "-e",
                         "syscalls:sys_enter_*", "-p", plist],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                        stdin=subprocess.DEVNULL)))
                    time.sleep(2.0)     # attach (hundreds of tracepoints)
                t0 = ticks(pids)
                c0 = run.tree_cpu(s.pid)
                r = calls.run_calls(s, path, csv, args.count, args.rate,
                                    work, tag)
                c1 = run.tree_cpu(s.pid)
                t1 = ticks(pids)
                for name, p in tools:
                    stop_tool(p, name)
                tools = []
                ut = sum(t1[k][0] - t0[k][0] for k in t1 if k in t0)
                stt = sum(t1[k][1] - t0[k][1] for k in t1 if k in t0)
                per_task = {"%d/%d" % k: ((t1[k][0] - t0[k][0]) / hz,
                                          (t1[k][1] - t0[k][1]) / hz)
                            for k in t1 if k in t0}
                ok = r.get("ok") or 0
                m = {"ok": ok, "failed": r.get("failed"),
                     "retrans": r.get("retrans"),
                     "achieved": r.get("achieved"),
                     "cpu_us": (r["cpu"] / ok * 1e6)
                     if ok and r.get("cpu") is not None else None,
                     "cpu_us_window": (c1 - c0) / ok * 1e6 if ok else None,
                     "utime_s": ut / hz, "stime_s": stt / hz,
                     "user_share": ut / (ut + stt) if ut + stt else None,
                     "per_task": per_task}
                if mode == "strace":
                    m["sys"] = parse_strace(out)
                elif mode == "perf":
                    rep = os.path.join(raw, "perf-dso-%s.txt" % path)
                    with open(rep, "w") as f:
                        subprocess.run(["perf", "report", "-i", pdata,
                                        "--sort", "dso", "--stdio"],
                                       stdout=f, stderr=subprocess.DEVNULL,
                                       timeout=300)
                    rep2 = os.path.join(raw, "perf-sym-%s.txt" % path)
                    with open(rep2, "w") as f:
                        subprocess.run(["perf", "report", "-i", pdata,
                                        "--sort", "dso,sym", "--stdio"],
                                       stdout=f, stderr=subprocess.DEVNULL,
                                       timeout=300)
                    os.unlink(pdata)
                    m["dso"] = parse_perf_dso(rep)
                elif mode == "sysstat":
                    m["sys"] = parse_perf_stat(pstat)
                res[path][mode] = m
                print("[probe] %s %s: ok %s failed %s retrans %s achieved "
                      "%.0f/s; sipd %s µs/call; utime %.2f s stime %.2f s "
                      "(user %.0f %%)" % (
                          path, mode, ok, m["failed"], m["retrans"],
                          m["achieved"] or 0, run.fmt(m["cpu_us"], "%.0f"),
                          m["utime_s"], m["stime_s"],
                          100 * (m["user_share"] or 0)), flush=True)
                time.sleep(6)   # finished transactions drain (5 s)
    finally:
        for name, p in tools:
            stop_tool(p, name)
        if s.proc is not None:
            s.stop()
        shutil.rmtree(work, ignore_errors=True)

    load1 = open("/proc/loadavg").read().strip()
    L = []
    L.append("## sipd syscall / kernel-share probe: %s (%s)" % (label,
                                                                started))
    L.append("")
    L.append("Command: `python3 %s %s`" % (os.path.abspath(__file__),
                                           " ".join(sys.argv[1:])))
    L.append("sipd: %s (kit %s, git %s); %d workers; %d users; "
             "%d calls at %d/s per run" % (sipd_bin, kit, rev or "?",
                                           args.children, args.users,
                                           args.count, args.rate))
    L.append("loadavg before: %s; after: %s" % (load0, load1))
    L.append("")
    L.append("| path / run | ok / failed / retrans | achieved /s | "
             "sipd µs/call (schedstat) | user s / kernel s (utime/stime) "
             "| user share | kernel share |")
    L.append("|---|---|---|---|---|---|---|")
    for path in paths:
        for mode, m in res.get(path, {}).items():
            us = m["user_share"]
            L.append("| %s %s | %s / %s / %s | %.0f | %s | %.2f / %.2f | "
                     "%s | %s |" % (
                         path, mode, m["ok"], m["failed"], m["retrans"],
                         m["achieved"] or 0, run.fmt(m["cpu_us"], "%.0f"),
                         m["utime_s"], m["stime_s"],
                         "-" if us is None else "%.0f %%" % (100 * us),
                         "-" if us is None else "%.0f %%" % (100 - 100 * us)))
    L.append("")
    for path in paths:
        pm = res.get(path, {}).get("perf")
        if pm and pm.get("dso"):
            L.append("perf record cpu-clock samples by DSO, %s: %s" % (
                path, ", ".join("%s %.1f %%" % (d, v)
                                for v, d in pm["dso"][:6])))
    L.append("")
    L.append("Syscalls per call (count in the window / successful calls):")
    L.append("")
    for path in paths:
        srcs = [(mode, res[path][mode]) for mode in ("sysstat", "strace")
                if mode in res.get(path, {})]
        if not srcs:
            continue
        names = set()
        for _, m in srcs:
            names |= set(m.get("sys", {}))
        names = sorted(names, key=lambda n: -max(
            m.get("sys", {}).get(n, 0) for _, m in srcs))
        L.append("%s:" % path)
        L.append("")
        L.append("| syscall | " + " | ".join(
            "%s (per call)" % ("perf stat tracepoints" if mo == "sysstat"
                               else "strace -c") for mo, _ in srcs) + " |")
        L.append("|---|" + "---|" * len(srcs))
        for n in names:
            cells = []
            for _, m in srcs:
                c = m.get("sys", {}).get(n, 0)
                cells.append("%.2f" % (c / m["ok"]) if m["ok"] else "-")
            L.append("| %s | %s |" % (n, " | ".join(cells)))
        cells = []
        for _, m in srcs:
            tot = sum(m.get("sys", {}).values())
            cells.append("%.2f" % (tot / m["ok"]) if m["ok"] else "-")
        L.append("| **total** | %s |" % " | ".join(cells))
        L.append("")
    L.append("Per task CPU (plain runs, utime s / stime s):")
    for path in paths:
        pm = res.get(path, {}).get("plain")
        if pm:
            L.append("  %s: %s" % (path, "; ".join(
                "%s %.2f/%.2f" % (k, u, st)
                for k, (u, st) in sorted(pm["per_task"].items())
                if u or st)))
    text = "\n".join(L) + "\n"
    print()
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    with open(os.path.join(raw, "result.json"), "w") as f:
        json.dump(res, f, indent=1, default=str)


if __name__ == "__main__":
    main()
