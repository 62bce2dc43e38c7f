#!/usr/bin/env python3
"""flood.py: authenticated calls during an unauthenticated INVITE flood
(issue 10 defect 1), a bounded run for the README's "Reliability" figures.

  python3 test/load/flood.py [--build DIR] [--seconds S] [--flood-rate R]
                             [--call-rate C]

sipd runs as calls.py sets it up (gateway SIPp UAS on 127.0.0.2). For S
seconds (default 60) SIPp places authenticated UA -> gateway calls at C/s
(default 100; INVITE, 407, INVITE with credentials, 180, 200, ACK, BYE),
while this script sends R/s (default 2500) small INVITEs without
credentials from 127.0.0.3, never ACKing their 407. Printed: the share of
SIPp's calls that succeeded, the 407s the flood got, and sipd's
transaction table as MI saw it every 0.5 s (tm:current, the most cells
one source held, the per-source budget). Bounded: SIPp by -m, -timeout
and a wall-clock kill (calls.run_calls); the flooder by S; sipd stopped
by PID. Loopback only.
"""
import argparse
import os
import socket
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import calls  # noqa: E402
import run  # noqa: E402

FLOOD_IP = "127.0.0.3"


def flooder(port, rate, seconds, stop, out):
    """rate INVITEs/s without credentials for seconds; counts 407s."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((FLOOD_IP, 0))
    s.setblocking(False)
    me = s.getsockname()[1]
    sent = got = 0
    t0 = time.monotonic()
    while not stop.is_set() and time.monotonic() - t0 < seconds:
        due = int((time.monotonic() - t0) * rate)
        while sent < due:
            msg = ("INVITE sip:0049301234@127.0.0.1:%d SIP/2.0\r\n"
                   "Via: SIP/2.0/UDP %s:%d;branch=z9hG4bKfl%d\r\n"
                   "Max-Forwards: 70\r\n"
                   "From: <sip:u00001@127.0.0.1>;tag=f%d\r\n"
                   "To: <sip:0049301234@127.0.0.1>\r\n"
                   "Call-ID: flood%d@%s\r\nCSeq: 1 INVITE\r\n"
                   "Contact: <sip:x@%s:%d>\r\nContent-Length: 0\r\n\r\n"
                   % (port, FLOOD_IP, me, sent, sent, sent, FLOOD_IP,
                      FLOOD_IP, me))
            try:
                s.sendto(msg.encode(), ("127.0.0.1", port))
            except BlockingIOError:
                pass
            sent += 1
        while True:
            try:
                data = s.recv(65535)
            except BlockingIOError:
                break
            got += data.startswith(b"SIP/2.0 407 ")
        time.sleep(0.001)
    out.update(sent=sent, got407=got, seconds=time.monotonic() - t0)
    s.close()


def sampler(srv, stop, out):
    while not stop.is_set():
        r = run.run_cmd(srv.rpc_cmd() + ["-j", "stats.get_statistics",
                                         "tm:"], capture_output=True,
                        text=True, timeout=10)
        if r.returncode == 0:
            import json
            v = json.loads(r.stdout)
            for k, n in v.items():
                k = k.split(":")[-1]
                out.setdefault(k, []).append(int(n))
        stop.wait(0.5)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(run.SRCDIR, "build"))
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--flood-rate", type=int, default=2500)
    ap.add_argument("--call-rate", type=int, default=100)
    ap.add_argument("--users", type=int, default=1000)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="sipd-flood-")
    csv = os.path.join(work, "calls.csv")
    calls.write_csv(csv, args.users)
    ports = calls.Ports()
    srv = calls.SipdCalls(os.path.join(work, "sipd"), 2, args.build, [],
                          ports.gw)
    srv.ports = ports
    tables = os.path.join(work, "tables")
    run.run_cmd([sys.executable, run.GEN, "--users", str(args.users),
                 "--bindings", str(args.users), "--out", tables,
                 "--contact-host", calls.UA_IP, "--contact-port",
                 str(ports.phones)], check=True)
    db = os.path.join(work, "db")
    import shutil
    shutil.copytree(os.path.join(tables, "sipd"), db)
    srv.start(db, expect=args.users)
    stop = threading.Event()
    fl, tm = {}, {}
    try:
        tf = threading.Thread(target=flooder, args=(
            srv.port, args.flood_rate, args.seconds + 5, stop, fl))
        ts = threading.Thread(target=sampler, args=(srv, stop, tm))
        tf.start()
        ts.start()
        time.sleep(2)       # the flood is on before the calls start
        count = args.call_rate * args.seconds
        res = calls.run_calls(srv, "ua-gw", csv, count, args.call_rate,
                              work, "flood")
        stop.set()
        tf.join(args.seconds + 30)
        ts.join(30)
    finally:
        stop.set()
        srv.stop()
    ok = res.get("ok", 0)
    print("calls: %d of %d succeeded (%.1f %%), %d failed, %d retrans" % (
        ok, count, 100.0 * ok / count, res.get("failed", 0),
        res.get("retrans", 0)))
    print("flood: %d INVITEs in %.0f s (%.0f/s), %d answered 407" % (
        fl.get("sent", 0), fl.get("seconds", 0),
        fl.get("sent", 0) / max(fl.get("seconds", 1), 1),
        fl.get("got407", 0)))
    print("tm: current max %d, one source max %d, budget %s, "
          "refused %s" % (max(tm.get("current", [0])),
                          max(tm.get("source_max_cells", [0])),
                          (tm.get("source_budget") or ["?"])[-1],
                          (tm.get("source_budget_refused") or ["?"])[-1]))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
