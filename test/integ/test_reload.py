"""SIGHUP reloads subscriber and trusted without restarting anything: new
users can register at once (no worker restarts), bindings in shm stay; a broken table keeps the old one
and logs FILE:LINE."""
import os
import signal
import time

from sipcli import Client, register
from sipd_helpers import dump, write_users


def reg(c, user):
    return register(c, user, "pw-" + user,
                    contacts=["<sip:%s@127.0.0.1:%d>" % (user, c.port)])[1]


def wait_for(cond, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return False


def test_sighup_adds_users_and_keeps_bindings(sipd_factory):
    s = sipd_factory()
    write_users(s.db, 1)                 # u0000 only
    s.start()
    c = Client(s.port)
    r = reg(c, "u0000")
    assert r.code == 200
    r = reg(c, "u0001")
    assert r.code == 401                 # not a subscriber yet
    workers = s.worker_pids()
    write_users(s.db, 2)                 # adds u0001
    os.kill(s.pid, signal.SIGHUP)
    assert wait_for(lambda: "subscriber: 2 users" in s.log_text())
    r = reg(c, "u0001")
    assert r.code == 200
    assert sorted(dump(s)) == ["u0000", "u0001"]
    assert s.worker_pids() == workers    # the tables are in shm


def test_sighup_with_broken_table_keeps_the_old_one(sipd_factory):
    s = sipd_factory()
    write_users(s.db, 1)
    s.start()
    path = os.path.join(s.db, "subscriber")
    with open(path, "a") as f:
        f.write("2:broken\n")
    nlines = sum(1 for _ in open(path))
    workers = s.worker_pids()
    os.kill(s.pid, signal.SIGHUP)
    assert wait_for(lambda: "%s:%d:" % (path, nlines) in s.log_text())
    assert "reload failed" in s.log_text()
    assert s.worker_pids() == workers    # nothing restarted
    c = Client(s.port)
    r = reg(c, "u0000")
    assert r.code == 200
