"""The live tables under load (issue: operations): while SIPp registers
users and places calls from a trusted source, 1,000 MI operations
(subscriber.add, subscriber.rm, permissions.trustedReload, with
trusted.rm/add among them) each take effect at once -- an added user
registers, a removed one is challenged, a removed trusted source gets
407 -- with no worker restarted, no SIPp failure, and shm use flat."""
import json
import os
import subprocess
import time

from sipcli import Client, register
from sipd_helpers import free_udp_port, write_users

HERE = os.path.dirname(__file__)
REG_SCENARIO = os.path.join(HERE, "scenarios", "reg_auth.xml")
CALL_SCENARIO = os.path.join(HERE, "scenarios", "uac_trusted.xml")
GW_SCENARIO = os.path.join(HERE, "scenarios", "uas_200.xml")
MI_OPS = 1000


def sipp(s, args, name, timeout, port=None):
    cmd = ["sipp", "-nostdin", "-i", "127.0.0.1",
           "-p", str(port or free_udp_port()),
           "-timeout", str(timeout), "-timeout_error", "-trace_stat",
           "-stf", os.path.join(s.dir, name + "-stat.csv"), "-trace_err",
           "-error_file", os.path.join(s.dir, name + "-errors.log")] + args
    return subprocess.Popen(cmd, cwd=s.dir, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def sipp_counts(s, name):
    with open(os.path.join(s.dir, name + "-stat.csv")) as f:
        rows = [ln.rstrip("\n").split(";") for ln in f if ln.strip()]
    head, last = rows[0], rows[-1]
    return (int(last[head.index("SuccessfulCall(C)")]),
            int(last[head.index("FailedCall(C)")]))


def shm_users(s):
    """(entries, bytes used) of the subscriber and trusted shm tables."""
    t = json.loads(s.mictl("core.shmmem", json=True).stdout)["tables"]
    return [(t[k]["entries"], t[k]["used"]) for k in ("subscriber",
                                                      "trusted")]


def master_rss_kb(s):
    with open("/proc/%d/status" % s.pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def message(c, s, user):
    """A MESSAGE from user to an unknown user: trusted -> 404, else 407."""
    c.send(c.request("MESSAGE", "sip:nobody@127.0.0.1:%d" % s.port,
                     user=user))
    r = c.recv(3.0)
    assert r is not None
    return r.code


def test_thousand_mi_operations_under_sipp_load(sipd_factory):
    uas_port = free_udp_port()
    s = sipd_factory(children=2, extra={
        "pstn.gw_ip": '"127.0.0.1"', "pstn.gw_port": str(uas_port),
        "usrloc.flush_interval": "0"})
    csv = write_users(s.db, 200)
    with open(os.path.join(s.db, "trusted"), "a") as f:
        f.write("1:127.0.0.1:udp:^sip\\:sipp@:\n"
                "2:127.0.0.1:udp:^sip\\:probe@:probe\n")
    s.start()
    workers = s.worker_pids()
    shm_before = shm_users(s)

    uas = sipp(s, ["-sf", GW_SCENARIO, "-m", "300"], "uas", 120,
               port=uas_port)
    regs = sipp(s, ["-sf", REG_SCENARIO, "-inf", csv, "-m", "3000",
                    "-r", "150", "-l", "200", "127.0.0.1:%d" % s.port],
                "reg", 60)
    calls = sipp(s, ["-sf", CALL_SCENARIO, "-m", "300",
                     "-r", "20", "-d", "200", "127.0.0.1:%d" % s.port],
                 "uac", 60)
    c = Client(s.port)
    probe_id = 2
    ops = 0
    t0 = time.monotonic()
    rss0 = None
    i = 0
    while ops < MI_OPS:
        assert time.monotonic() - t0 < 120, "MI operations too slow"
        user = "live%04d" % i
        r = s.mictl("subscriber.add", user, "pw" + user)
        assert r.stdout == "OK\n", r.stdout
        ops += 1
        assert register(c, user, "pw" + user)[1].code == 200
        r = s.mictl("subscriber.rm", user)
        assert r.stdout == "OK\n", r.stdout
        ops += 1
        assert register(c, user, "pw" + user)[1].code == 401
        r = s.mictl("permissions.trustedReload")
        assert r.stdout == "OK\n", r.stdout
        ops += 1
        if i % 25 == 0:
            assert message(c, s, "probe") == 404     # trusted
            r = s.mictl("trusted.rm", probe_id)
            assert r.stdout == "OK\n", r.stdout
            assert message(c, s, "probe") == 407     # gone at once
            r = s.mictl("trusted.add", "127.0.0.1", "udp", "^sip:probe@",
                        "probe", json=True)
            probe_id = json.loads(r.stdout)["id"]
            assert message(c, s, "probe") == 404     # back at once
            ops += 2
        if i == 10:
            rss0 = master_rss_kb(s)
        i += 1

    elapsed = time.monotonic() - t0
    # The operations all ran while the load did.
    assert regs.poll() is None and calls.poll() is None
    print("%d MI operations in %.1f s under load" % (ops, elapsed))
    for p in (regs, calls):
        _, err = p.communicate(timeout=150)
        assert p.returncode == 0, err[:3000]
    _, err = uas.communicate(timeout=60)
    assert uas.returncode == 0, err[:3000]
    reg_ok, reg_failed = sipp_counts(s, "reg")
    call_ok, call_failed = sipp_counts(s, "uac")
    assert (reg_ok, reg_failed) == (3000, 0)
    assert (call_ok, call_failed) == (300, 0)
    assert s.worker_pids() == workers                # nothing restarted
    assert shm_users(s) == shm_before
    # The master's own memory does not grow with the edits either.
    assert master_rss_kb(s) - rss0 < 2048
    assert len(json.loads(s.mictl("subscriber.list", json=True).stdout)) \
        == 200
