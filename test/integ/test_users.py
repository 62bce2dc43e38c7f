"""Live subscriber and trusted tables (SPEC §7): MI edits reach every
worker at once with no worker restarted, are on disk before the reply,
survive a SIGKILL of the master; a broken table keeps the old one and
the error names FILE:LINE (SQLite: table and row id); passwords never
appear in replies or logs. Every test runs on both storage backends."""
import json
import os
import signal
import sqlite3
import time

from sipcli import Client, register
from sipd_helpers import (DOMAIN, GW_NUM, SUBSCRIBER_HEADER, TRUSTED_HEADER,
                          USERS, Call, md5, split_row, sqlite_rows)

BACKENDS = ("text", "sqlite")


def reg(c, user, password):
    return register(c, user, password,
                    contacts=["<sip:%s@127.0.0.1:%d>" % (user, c.port)])[1]


def lines(s, table):
    with open(os.path.join(s.db, table), encoding="latin-1") as f:
        return f.read().splitlines()


def rows(s, table):
    """The table's rows as dicts of text, whatever the backend."""
    if s.backend == "sqlite":
        return [{k: "" if v is None else str(v) for k, v in r.items()}
                for r in sqlite_rows(s.sqlite, table)]
    text = lines(s, table)
    names = [h.split("(")[0] for h in text[0].split(" ")]
    return [dict(zip(names, split_row(ln))) for ln in text[1:]]


def sql(s, statement):
    con = sqlite3.connect(s.sqlite)
    try:
        con.execute(statement)
        con.commit()
    finally:
        con.close()


def mictl_ok(s, *args):
    r = s.mictl(*args)
    assert r.returncode == 0, (args, r.stdout, r.stdout)
    return r.stdout


def test_subscriber_add_passwd_rm_live(reg_users):
    s = reg_users()
    workers = s.worker_pids()
    c = Client(s.port)
    assert reg(c, "dora", "pw-1").code == 401        # not a subscriber yet
    assert mictl_ok(s, "subscriber.add", "dora", "pw-1", DOMAIN) == "OK\n"
    # on disk before the reply: appended with the next id, 3.0 layout
    row = rows(s, "subscriber")[-1]
    assert (row["username"], row["domain"], row["password"], row["ha1"],
            row["ha1b"]) == ("dora", DOMAIN, "pw-1",
                             md5("dora:%s:pw-1" % DOMAIN),
                             md5("dora@%s:%s:pw-1" % (DOMAIN, DOMAIN)))
    if s.backend == "text":
        assert lines(s, "subscriber")[-1] == "8:dora:%s:pw-1:dora@%s:%s:%s:" % (
            DOMAIN, DOMAIN, row["ha1"], row["ha1b"])
    assert reg(c, "dora", "pw-1").code == 200        # at once, any worker
    assert reg(c, "dora", "pw-1").code == 200

    assert mictl_ok(s, "subscriber.passwd", "dora", "pw-2") == "OK\n"
    assert reg(c, "dora", "pw-1").code == 401        # old password refused
    assert reg(c, "dora", "pw-2").code == 200
    assert [r["password"] for r in rows(s, "subscriber")
            if r["username"] == "dora"] == ["pw-2"]

    assert mictl_ok(s, "subscriber.rm", "dora") == "OK\n"
    assert "dora" not in [r["username"] for r in rows(s, "subscriber")]
    assert reg(c, "dora", "pw-2").code == 401        # gone at once
    if s.backend == "text":
        assert lines(s, "subscriber")[0] == SUBSCRIBER_HEADER
    assert s.worker_pids() == workers                # nothing restarted

    log = s.log_text()
    assert "pw-1" not in log and "pw-2" not in log
    assert 'subscriber.add "dora" "********"' in log
    assert "MI change by uid %d pid" % os.getuid() in log
    assert s.stop() == 0
    if s.backend == "sqlite":
        # The edit connection closed at exit: the WAL is folded back, so
        # the .sqlite file alone holds every acknowledged edit.
        assert not os.path.exists(s.sqlite + "-wal")


def test_subscriber_errors_and_views(reg_users):
    s = reg_users()
    r = s.mictl("subscriber.add", "alice", "x")
    assert (r.returncode, r.stdout) == (
        1, "error: 409 - subscriber alice exists\n")
    r = s.mictl("subscriber.add", "a b", "x")
    assert r.stdout.startswith("error: 400 - bad username \"a b\"")
    r = s.mictl("subscriber.rm", "nobody")
    assert r.stdout == "error: 404 - no subscriber nobody\n"
    r = s.mictl("subscriber.passwd", "nobody", "x")
    assert r.stdout == "error: 404 - no subscriber nobody\n"
    r = s.mictl("subscriber.show", "nobody")
    assert r.stdout == "error: 404 - No such subscriber\n"

    show = json.loads(s.mictl("subscriber.show", "alice", json=True).stdout)
    assert show == {"username": "alice", "domain": DOMAIN, "password": "set",
                    "ha1": "set", "ha1b": "set"}
    listed = json.loads(s.mictl("subscriber.list", json=True).stdout)
    assert sorted(u["username"] for u in listed) == sorted(
        u for u, _ in USERS)
    assert "secret-a" not in s.mictl("subscriber.list").stdout
    # default domain: the table's users' domain
    assert mictl_ok(s, "subscriber.add", "erin", "e-pw") == "OK\n"
    assert json.loads(s.mictl("subscriber.show", "erin", json=True)
                      .stdout)["domain"] == DOMAIN


def test_trusted_add_rm_live(px):
    p = px(trusted=())
    trusty = Client(p.s.port)

    def invite():
        call = Call(trusty, "sip:%s@%s" % (GW_NUM, p.me), "trusty")
        trusty.send(call.invite())
        return call

    invite()
    assert p.recv(trusty).code == 407             # not trusted
    out = json.loads(p.s.mictl("trusted.add", "127.0.0.1", "udp",
                               "^sip:trusty@", "lab", json=True).stdout)
    assert out == {"id": 1}
    assert [(r["id"], r["src_ip"], r["proto"], r["from_pattern"], r["tag"])
            for r in rows(p.s, "trusted")] == [
        ("1", "127.0.0.1", "udp", "^sip:trusty@", "lab")]
    if p.s.backend == "text":
        assert lines(p.s, "trusted") == [
            TRUSTED_HEADER, "1:127.0.0.1:udp:^sip\\:trusty@:lab"]
    call = invite()
    p.expect_100(trusty, call)                       # at once, no 407
    assert p.recv(p.gw).method == "INVITE"
    dump = json.loads(p.s.mictl("permissions.trustedDump", json=True).stdout)
    assert dump == [{"id": 1, "src_ip": "127.0.0.1", "proto": "udp",
                     "from_pattern": "^sip:trusty@", "tag": "lab",
                     "priority": 0}]
    assert mictl_ok(p.s, "trusted.rm", "1") == "OK\n"
    assert rows(p.s, "trusted") == []
    invite()
    assert p.recv(trusty).code == 407             # removed at once
    r = p.s.mictl("trusted.rm", "1")
    assert r.stdout == "error: 404 - no such row in the table\n"
    r = p.s.mictl("trusted.add", "127.0.0.01", "udp")
    assert r.stdout.startswith('error: 400 - bad src_ip "127.0.0.01"')
    r = p.s.mictl("trusted.add", "127.0.0.1", "carrier-pigeon")
    assert r.stdout.startswith('error: 400 - bad proto "carrier-pigeon"')
    r = p.s.mictl("trusted.add", "127.0.0.1", "udp", "a[")
    assert r.stdout.startswith("error: 400 - bad from_pattern: ")


def test_broken_table_keeps_the_old_one(reg_users):
    s = reg_users()
    if s.backend == "sqlite":
        sql(s, "INSERT INTO subscriber (id, username, domain, password, "
            "ha1, ha1b) VALUES (9, '%s', 'd', 'p', 'h', 'h')" % ("x" * 65))
        where = "%s: subscriber id 9: " % s.sqlite
    else:
        path = os.path.join(s.db, "subscriber")
        with open(path, "a") as f:
            f.write("9:%s:d:p:e:h:h:\n" % ("x" * 65))
        where = "%s:%d: " % (path, len(lines(s, "subscriber")))
    r = s.mictl("subscriber.reload")
    assert (r.returncode, r.stdout) == (
        1, "error: 500 - %susername longer than 64 bytes\n" % where)
    c = Client(s.port)
    assert reg(c, "alice", "secret-a").code == 200   # old table in use
    if s.backend == "sqlite":
        sql(s, "INSERT INTO trusted (id, src_ip, proto) "
            "VALUES (2, '10.0.0.1', 'pigeon')")
        where = "%s: trusted id 2: " % s.sqlite
    else:
        tpath = os.path.join(s.db, "trusted")
        with open(tpath, "a") as f:
            f.write("2:10.0.0.1:pigeon::\n")
        where = "%s:2: " % tpath
    r = s.mictl("permissions.trustedReload")
    assert r.stdout == ("error: 500 - %scolumn 'proto': unknown protocol "
                        "'pigeon' (any, udp, tcp, tls, sctp or none)\n"
                        % where)
    # SIGHUP: both tables, the same refusal, the old tables stay
    os.kill(s.pid, signal.SIGHUP)
    deadline = time.monotonic() + 5
    while s.log_text().count("reload failed") < 3:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert reg(c, "bob", "secret-b").code == 200


def test_acknowledged_add_survives_sigkill(reg_users):
    s = reg_users()
    assert mictl_ok(s, "subscriber.add", "frida", "f-pw") == "OK\n"
    assert s.stop(signal.SIGKILL) == -signal.SIGKILL
    # workers notice the master is gone and exit; start a new tree
    deadline = time.monotonic() + 5
    while os.path.exists(s.sock) and time.monotonic() < deadline:
        time.sleep(0.05)
    s.start()
    c = Client(s.port)
    assert reg(c, "frida", "f-pw").code == 200
