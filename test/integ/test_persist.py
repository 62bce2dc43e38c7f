"""Persistence of the location table: loaded at start, written back
periodically, on ul.flush and at SIGTERM; a failed write keeps the old
file and every binding; a worker killed under SIPp load loses nothing."""
import os
import signal
import subprocess
import time

import pytest

from sipd_helpers import (LOC_HEADER, dump, free_udp_port, read_table,
                          write_users)

BACKENDS = ("text", "sqlite")   # conftest.py: every test on both

HERE = os.path.dirname(__file__)
SCENARIO = os.path.join(HERE, "scenarios", "reg_auth.xml")


def write_location(db, rows):
    with open(os.path.join(db, "location"), "w") as f:
        f.write(LOC_HEADER + "\n")
        for r in rows:
            f.write(r + "\n")


def run_sipp(s, csv, calls, rate, timeout=60, background=False):
    cmd = ["sipp", "-sf", SCENARIO, "-inf", csv, "-m", str(calls),
           "-r", str(rate), "-l", "500", "-i", "127.0.0.1", "-p", str(free_udp_port()),
           "-nostdin", "-timeout", str(timeout), "-timeout_error",
           "-trace_stat", "-stf", os.path.join(s.dir, "sipp-stat.csv"),
           "127.0.0.1:%d" % s.port]
    if background:
        return subprocess.Popen(cmd, cwd=s.dir, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
    return subprocess.run(cmd, cwd=s.dir, capture_output=True, text=True,
                          timeout=timeout + 30)


def sipp_counts(s):
    """(successful, failed) calls from SIPp's last statistics line."""
    with open(os.path.join(s.dir, "sipp-stat.csv")) as f:
        lines = [l.rstrip("\n").split(";") for l in f if l.strip()]
    head, last = lines[0], lines[-1]
    return (int(last[head.index("SuccessfulCall(C)")]),
            int(last[head.index("FailedCall(C)")]))


def test_location_loaded_and_written_back(sipd_factory):
    s = sipd_factory(extra={"usrloc.flush_interval": "0"})
    now = int(time.time())
    write_location(s.db, [
        "1:3000::sip\\:3000@192.168.16.195:::%d:-1.00:call-a@x:42:%d:0:0:"
        "SJphone/1.65.377a (SJ Labs):udp\\:192.168.16.5\\:5060:" % (
            now + 600, now - 10),
        "2:3001::sip\\:3001@192.168.16.198\\:5060;x=a\\\\b:::0:0.50:"
        "call-b@x:7:%d:0:0:TAU-1:udp\\:192.168.16.5\\:5060:8159" % now,
        "3:3002::sip\\:3002@10.0.0.1:::%d:-1.00:old@x:1:%d:0:0:gone::" % (
            now - 5, now - 100),
    ])
    s.start()
    d = dump(s)
    assert sorted(d) == ["3000", "3001"]
    assert d["3000"][0]["State"] == "CS_SYNC"
    assert 590 <= d["3000"][0]["Expires"] <= 600
    assert d["3001"][0]["Expires"] == "permanent"
    assert d["3001"][0]["Address"] == "sip:3001@192.168.16.198:5060;x=a\\b"
    assert s.stop() == 0
    rows = {r["username"]: r for r in read_table(s, "location")}
    assert sorted(rows) == ["3000", "3001"]
    assert rows["3001"]["contact"] == "sip:3001@192.168.16.198:5060;x=a\\b"
    assert rows["3001"]["q"] == "0.50" and rows["3001"]["expires"] == "0"
    assert rows["3001"]["methods"] == "8159"
    assert rows["3000"]["expires"] == str(now + 600)
    assert rows["3000"]["q"] == "-1.00" and rows["3000"]["methods"] == ""
    assert rows["3000"]["user_agent"] == "SJphone/1.65.377a (SJ Labs)"


def test_1000_sipp_registrations_survive_restart(sipd_factory):
    s = sipd_factory(extra={"usrloc.flush_interval": "0"})
    csv = write_users(s.db, 1000)
    s.start()
    r = run_sipp(s, csv, 1000, 400)
    assert r.returncode == 0, r.stderr[-2000:]
    assert sipp_counts(s) == (1000, 0)
    before = dump(s)
    assert len(before) == 1000
    assert s.stop() == 0
    rows = read_table(s, "location")
    assert len(rows) == 1000
    assert {r["username"] for r in rows} == set(before)
    time.sleep(1.1)       # so that seconds left visibly go down
    s.start()
    after = dump(s)
    assert set(after) == set(before)
    for aor, contacts in after.items():
        assert len(contacts) == 1
        a, b = contacts[0], before[aor][0]
        assert a["Address"] == b["Address"] and a["Call-ID"] == b["Call-ID"]
        assert a["State"] == "CS_SYNC"
        assert 0 < a["Expires"] < b["Expires"]


def test_worker_killed_under_load_loses_nothing(sipd_factory):
    s = sipd_factory(children=2, extra={"usrloc.flush_interval": "0"})
    csv = write_users(s.db, 2000)
    s.start()
    p = run_sipp(s, csv, 2000, 400, background=True)
    time.sleep(1.5)
    victim = s.worker_pids()[0]
    os.kill(victim, signal.SIGKILL)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 0, err[-2000:]
    ok, failed = sipp_counts(s)
    assert (ok, failed) == (2000, 0)
    assert victim not in s.worker_pids()
    assert len(dump(s)) == 2000
    assert s.stop() == 0
    assert len(read_table(s, "location")) == 2000


def test_periodic_flush_visible_while_running(sipd_factory):
    s = sipd_factory(extra={"usrloc.flush_interval": "1"}).start()
    r = s.mictl("ul.add", "3000", "sip:3000@192.0.2.1:5062", "600")
    assert r.returncode == 0, r.stdout + r.stderr
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        rows = read_table(s, "location")
        if rows:
            break
        time.sleep(0.1)
    assert [(r["username"], r["contact"]) for r in rows] == \
        [("3000", "sip:3000@192.0.2.1:5062")]
    assert s.proc.poll() is None
    # Written once: the state goes to CS_SYNC without a restart.
    deadline = time.monotonic() + 3
    while dump(s)["3000"][0]["State"] != "CS_SYNC":
        assert time.monotonic() < deadline
        time.sleep(0.1)


def ro_bind(path):
    r = subprocess.run(["mount", "--bind", path, path], capture_output=True)
    if r.returncode != 0:
        pytest.skip("cannot bind-mount here: %s" % r.stderr.decode())
    r = subprocess.run(["mount", "-o", "remount,ro,bind", path],
                       capture_output=True)
    if r.returncode != 0:
        subprocess.run(["umount", path])
        pytest.skip("cannot remount read-only: %s" % r.stderr.decode())


def test_failed_flush_keeps_old_file_and_bindings(sipd_factory, backend):
    if backend == "sqlite":
        pytest.skip("DB_TEXT files; SQLite: test_sqlite.c "
                    "test_location_atomic")
    s = sipd_factory(extra={"usrloc.flush_interval": "0"}).start()
    assert s.mictl("ul.add", "3000", "sip:3000@192.0.2.1", "600").returncode == 0
    assert s.mictl("ul.flush").returncode == 0
    old = open(os.path.join(s.db, "location"), "rb").read()
    assert b"sip\\:3000@192.0.2.1" in old
    assert s.mictl("ul.add", "3001", "sip:3001@192.0.2.2", "600").returncode == 0
    ro_bind(s.db)
    try:
        r = s.mictl("ul.flush")
        assert r.returncode == 1
        assert r.stdout.startswith("error: ")
        assert "location" in r.stdout or s.db in r.stdout
        assert open(os.path.join(s.db, "location"), "rb").read() == old
        assert sorted(dump(s)) == ["3000", "3001"]
        assert dump(s)["3001"][0]["State"] == "CS_NEW"
    finally:
        subprocess.run(["umount", s.db], check=True)
    assert s.mictl("ul.flush").returncode == 0
    assert sorted(r["username"] for r in read_table(s, "location")) == \
        ["3000", "3001"]
    assert [n for n in os.listdir(s.db) if n not in
            ("version", "subscriber", "trusted", "location")] == []
