"""SQLite storage (db_url = sqlite://FILE): the sipd-db converter, `sipd -c`
on good and bad files, and a sipd that registers a user into the SQLite
`location` table (read with Python's sqlite3 while sipd runs and after
SIGTERM). The registrar/proxy/persistence tests run on SQLite too
(BACKENDS in those modules)."""
import os
import shutil
import sqlite3
import subprocess

import pytest

from sipcli import Client, register
from sipd_helpers import (SIPD, SIPD_DB, SRCDIR, USERS, contact_of, dump,
                          have_sqlite, jd_to_time, ruid_of, sqlite_rows,
                          write_tables)

pytestmark = pytest.mark.skipif(not have_sqlite(),
                                reason="built without SQLite")

CONF_DB = os.path.join(SRCDIR, "conf", "db")


def sipd_db(*args):
    return subprocess.run([SIPD_DB] + list(args), capture_output=True,
                          text=True, timeout=60)


def check(tmp_path, db_url):
    cfg = tmp_path / "check.cfg"
    cfg.write_text("listen = udp:127.0.0.1:5060\ndb_url = %s\n" % db_url)
    return subprocess.run([SIPD, "-c", "-f", str(cfg)], capture_output=True,
                          text=True, timeout=30)


def test_convert_round_trip_is_byte_identical(tmp_path):
    db = str(tmp_path / "t.sqlite")
    back = str(tmp_path / "back")
    r = sipd_db("convert", "text://" + CONF_DB, "sqlite://" + db)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "%s -> %s: 2 subscriber, 1 trusted, 0 location " \
        "rows\n" % (CONF_DB, db)
    # Kamailio 5.6's versions and columns in the SQLite file.
    assert [(v["table_name"], v["table_version"])
            for v in sqlite_rows(db, "version")] == \
        [("version", 1), ("location", 9), ("subscriber", 7), ("trusted", 6)]
    sub = sqlite_rows(db, "subscriber")
    assert [(s["id"], s["username"], s["domain"], s["password"])
            for s in sub] == [(1, "3000", "192.168.16.5", "secret3000"),
                              (2, "3001", "192.168.16.5", "secret3001")]
    assert sqlite_rows(db, "trusted") == [{
        "id": 1, "src_ip": "192.168.16.5", "proto": "any",
        "from_pattern": None, "ruri_pattern": None, "tag": "pstn-gw",
        "priority": 0}]
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    con.close()
    r = sipd_db("convert", "sqlite://" + db, "text://" + back)
    assert r.returncode == 0, r.stderr
    for t in ("version", "subscriber", "trusted", "location"):
        with open(os.path.join(CONF_DB, t), "rb") as a, \
                open(os.path.join(back, t), "rb") as b:
            assert a.read() == b.read(), t


def test_convert_location_and_refusals(tmp_path):
    src = str(tmp_path / "src")
    shutil.copytree(CONF_DB, src)
    with open(os.path.join(src, "location"), "a") as f:
        f.write("1:3000::sip\\:3000@192.168.16.195:::1900000000:0.50:"
                "c1@x:42:1800000000:0:0:UA\\:1:udp\\:192.168.16.5\\:5060:"
                "8159\n")
    db = str(tmp_path / "t.sqlite")
    assert sipd_db("convert", "text://" + src, "sqlite://" + db) \
        .returncode == 0
    loc = sqlite_rows(db, "location")
    assert len(loc) == 1
    assert jd_to_time(loc[0]["expires"]) == 1900000000
    assert jd_to_time(loc[0]["last_modified"]) == 1800000000
    assert (loc[0]["contact"], loc[0]["q"], loc[0]["user_agent"],
            loc[0]["methods"], loc[0]["ruid"]) == \
        ("sip:3000@192.168.16.195", 0.5, "UA:1", 8159, "sipd-0000000001")
    # Existing tables are kept unless -f.
    r = sipd_db("convert", "text://" + src, "sqlite://" + db)
    assert r.returncode == 1
    assert "%s: table 'subscriber' exists (-f replaces it)\n" % db in \
        r.stderr
    assert sipd_db("convert", "-f", "text://" + src, "sqlite://" +
                   db).returncode == 0
    back = str(tmp_path / "back")
    assert sipd_db("convert", "sqlite://" + db, "text://" + back) \
        .returncode == 0
    with open(os.path.join(src, "location")) as a, \
            open(os.path.join(back, "location")) as b:
        assert a.read() == b.read()
    r = sipd_db("convert", "sqlite://" + db, "text://" + back)
    assert r.returncode == 1
    assert "%s/version: exists (-f replaces it)\n" % back in r.stderr
    # Usage errors: 2.
    assert sipd_db("convert", "text://" + src).returncode == 2
    assert sipd_db("convert", "mysql://x", "text://y").returncode == 2
    assert sipd_db().returncode == 2
    # A bad source: FILE:LINE, 1.
    with open(os.path.join(src, "trusted"), "a") as f:
        f.write("2:1.2.3.4:carrier-pigeon::\n")
    r = sipd_db("convert", "-f", "text://" + src, "sqlite://" + db)
    assert r.returncode == 1
    assert r.stderr == "%s/trusted:3: column 'proto': unknown protocol " \
        "'carrier-pigeon' (any, udp, tcp, tls, sctp or none)\n" % src


def test_check_good_and_bad(tmp_path):
    db = str(tmp_path / "t.sqlite")
    assert sipd_db("convert", "text://" + CONF_DB, "sqlite://" +
                   db).returncode == 0
    r = check(tmp_path, "sqlite://t.sqlite")
    assert (r.returncode, r.stderr) == (0, ""), r.stderr
    # The shm budget (test_board.py), then the verdict.
    lines = r.stdout.splitlines()
    assert all(line.startswith("shm: ") for line in lines[:-1]), r.stdout
    assert lines[-1] == "%s: configuration and tables OK" % \
        (tmp_path / "check.cfg")
    con = sqlite3.connect(db)
    con.executescript("""
        UPDATE version SET table_version = 1004 WHERE table_name = 'location';
        INSERT INTO trusted (src_ip, proto, from_pattern)
            VALUES ('192.0.2.1', 'udp', '^sip:(');
        INSERT INTO subscriber (username, domain) VALUES ('', 'x');
        DROP TABLE trusted;
    """)
    con.close()
    r = check(tmp_path, "sqlite://t.sqlite")
    assert r.returncode == 1
    assert r.stderr == (
        "%(db)s: table 'location': version 1004, expected 9\n"
        "%(db)s: subscriber id 3: column 'username' is empty\n"
        "warning: %(db)s: table 'trusted' is missing: sipd creates it at "
        "start\n") % {"db": db}
    con = sqlite3.connect(db)
    con.executescript("""
        UPDATE version SET table_version = 9 WHERE table_name = 'location';
        DELETE FROM subscriber WHERE username = '';
        CREATE TABLE trusted (id INTEGER PRIMARY KEY NOT NULL,
            src_ip VARCHAR(50) NOT NULL, proto VARCHAR(4) NOT NULL,
            from_pattern VARCHAR(64) DEFAULT NULL,
            ruri_pattern VARCHAR(64) DEFAULT NULL, tag VARCHAR(64),
            priority INTEGER DEFAULT 0 NOT NULL);
        INSERT INTO trusted (id, src_ip, proto, from_pattern)
            VALUES (7, '192.0.2.1', 'udp', '^sip:\\(');
    """)
    con.close()
    r = check(tmp_path, "sqlite://t.sqlite")
    assert r.returncode == 1
    assert r.stderr == "%s: trusted id 7: column 'from_pattern': bad " \
        "regular expression: Unmatched ( or \\(\n" % db


def test_register_lands_in_sqlite(sipd_factory):
    s = sipd_factory(backend="sqlite",
                     extra={"usrloc.flush_interval": "0"})
    write_tables(s, USERS)
    s.start()
    c = Client(s.port)
    _, r = register(c, "alice", "secret-a", contacts=["<%s>" %
                                                       contact_of(c)])
    assert r is not None and r.code == 200, r
    assert list(dump(s)) == ["alice"]
    # WAL: a reader while sipd runs (and holds nothing open).
    assert s.mictl("ul.flush").returncode == 0
    rows = sqlite_rows(s.sqlite, "location")
    assert [(x["username"], x["contact"]) for x in rows] == \
        [("alice", contact_of(c))]
    c.close()
    assert s.stop() == 0
    rows = sqlite_rows(s.sqlite, "location")
    assert len(rows) == 1
    row = rows[0]
    assert (row["username"], row["contact"], row["domain"]) == \
        ("alice", contact_of(c), None)
    assert row["ruid"] == ruid_of("alice") and row["cseq"] >= 1
    assert jd_to_time(row["expires"]) > jd_to_time(row["last_modified"])
    assert "location: 1 bindings written" in s.log_text()
    # And back at the next start.
    s.start()
    assert list(dump(s)) == ["alice"]


def test_missing_libsqlite3_is_a_clear_error_and_text_needs_none(tmp_path):
    """libsqlite3 is loaded only for a sqlite:// database: with the
    library unreadable (a bind mount in a mount namespace of the test's
    own), a sqlite:// config is refused naming the file and the
    library, DB_TEXT still checks, and sipd's ELF does not need it."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare(1) for a private mount")
    needed = subprocess.run(["readelf", "-d", SIPD], capture_output=True,
                            text=True).stdout
    assert "libsqlite3" not in needed and "libc.so" in needed
    lib = subprocess.run(
        ["sh", "-c", "ldconfig -p | awk '/libsqlite3.so.0 /{print $NF; "
         "exit}'"], capture_output=True, text=True).stdout.strip()
    assert lib, "libsqlite3.so.0 not found by ldconfig"
    lib = os.path.realpath(lib)
    cfg = tmp_path / "sipd.cfg"
    db = tmp_path / "x.db"
    cfg.write_text("listen = udp:127.0.0.1:5060\ndb_url = sqlite://%s\n"
                   "mi.socket = %s\n" % (db, tmp_path / "mi.sock"))
    text_cfg = tmp_path / "text.cfg"
    text_cfg.write_text("listen = udp:127.0.0.1:5060\ndb_url = text://%s\n"
                        "mi.socket = %s\n" % (CONF_DB, tmp_path / "mi.sock"))
    script = ('mount --bind /dev/null "$1" || exit 99; '
              '"$2" -c -f "$3"; echo "sqlite rc=$?"; '
              '"$2" -c -f "$4" >/dev/null 2>&1; echo "text rc=$?"')
    r = subprocess.run(["unshare", "-m", "sh", "-c", script, "sh", lib,
                        SIPD, str(cfg), str(text_cfg)],
                       capture_output=True, text=True, timeout=30)
    if "rc=" not in r.stdout:
        pytest.skip("no private mount here: %s" % r.stderr.strip())
    assert "sqlite rc=1" in r.stdout, r.stdout + r.stderr
    assert "text rc=0" in r.stdout, r.stdout + r.stderr
    assert "%s: cannot load libsqlite3.so.0 (SQLite): " % db in r.stderr, \
        r.stderr
    assert not db.exists()
