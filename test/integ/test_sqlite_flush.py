"""The SQLite location flush writes only the AoRs that changed: after any
mix of adds, updates and removals the rows equal the table, the rows of
AoRs that did not change keep their ids (they were not rewritten), and
the rows carry ids that name their AoR. A file with rows sipd did not
name, or an expired row at start, are handled on the first flush."""
import random
import sqlite3

import pytest

from sipd_helpers import dump, have_sqlite, ruid_of, sqlite_rows

pytestmark = pytest.mark.skipif(not have_sqlite(),
                                reason="built without SQLite")

# Few buckets: AoRs share them, so one bucket loses more AoRs than it
# can name between two flushes and is rewritten whole.
HASH_SIZE = 4


def start(sipd_factory):
    s = sipd_factory(backend="sqlite",
                     extra={"usrloc.flush_interval": "0",
                            "usrloc.hash_size": str(HASH_SIZE)})
    s.start()
    return s


def mi(s, *args):
    r = s.mictl(*args)
    assert r.returncode == 0, (args, r.stdout, r.stderr)
    return r.stdout


def rows_by_aor(s):
    out = {}
    for r in sqlite_rows(s.sqlite, "location"):
        out.setdefault(r["username"], []).append(r)
    return out


def assert_rows_equal_table(s):
    rows = rows_by_aor(s)
    table = {a: [c["Address"] for c in cs] for a, cs in dump(s).items()}
    assert {a: sorted(r["contact"] for r in rs) for a, rs in rows.items()} \
        == {a: sorted(c) for a, c in table.items()}
    # Named by the AoR's group (then a number unique in the bucket).
    for aor, rs in rows.items():
        group = ruid_of(aor, 0, HASH_SIZE)[:-1]
        for r in rs:
            assert r["ruid"].startswith(group) and \
                r["ruid"][len(group):].isdigit(), (aor, r["ruid"])
    return rows


def flush(s, how):
    before = s.log_text().count("bindings written")
    mi(s, "ul.flush")
    lines = [x for x in s.log_text().splitlines() if "bindings written" in x]
    assert len(lines) == before + 1
    assert "(%s)" % how in lines[-1], lines[-1]


def test_churn_rewrites_only_changed_aors(sipd_factory):
    s = start(sipd_factory)
    rnd = random.Random(4711)
    users = ["u%02d" % i for i in range(40)]
    for u in users:
        mi(s, "ul.add", u, "sip:%s@192.0.2.1:5060" % u, "3600", "0.5")
    flush(s, "changed AoRs")
    rows = assert_rows_equal_table(s)
    assert len(rows) == 40
    for round_ in range(8):
        touched = set()
        for _ in range(rnd.randrange(1, 12)):
            u = rnd.choice(users)
            op = rnd.randrange(4)
            if op == 0:
                mi(s, "ul.add", u, "sip:%s@192.0.2.%d:5060" %
                   (u, rnd.randrange(2, 5)), "3600", "0.5")
            elif op == 1:
                # the same contact again: an update (expiry, q)
                mi(s, "ul.add", u, "sip:%s@192.0.2.1:5060" % u,
                   str(rnd.randrange(100, 3600)), "0.7")
            elif op == 2:
                if u in dump(s):
                    mi(s, "ul.rm", u)
            else:
                contacts = dump(s).get(u)
                if contacts:
                    mi(s, "ul.rm_contact", u, contacts[0]["Address"])
            touched.add(u)
        flush(s, "changed AoRs")
        after = assert_rows_equal_table(s)
        for aor, rs in rows.items():
            if aor in touched or len(rs) > 1 or aor not in after or \
                    after[aor][0]["id"] == rs[0]["id"]:
                continue
            # Rewritten though untouched: only as part of its whole
            # bucket, so every other untouched AoR there got new ids too.
            assert all(after[a][0]["id"] != rows[a][0]["id"]
                       for a in rows if a in after and a not in touched
                       and bucket_of(a) == bucket_of(aor)), (round_, aor)
        rows = after
    assert s.stop() == 0
    # Nothing changed since the last flush: the final one writes nothing.
    assert ids_by_aor(rows_by_aor(s)) == ids_by_aor(rows)


def bucket_of(aor):
    """The "sipd-BUCKET-" prefix of aor's row ids."""
    return ruid_of(aor, 0, HASH_SIZE)[:14]


def ids_by_aor(rows):
    return {a: sorted(r["id"] for r in rs) for a, rs in rows.items()}


def sql(s, statement):
    """One statement on sipd's database while sipd is stopped."""
    con = sqlite3.connect(s.sqlite)
    con.execute(statement)
    con.commit()
    con.close()


def test_untouched_rows_keep_their_ids(sipd_factory):
    # 20 AoRs in 4 buckets: the removed one shares its bucket with others
    s = start(sipd_factory)
    for i in range(20):
        mi(s, "ul.add", "k%d" % i, "sip:k%d@192.0.2.9" % i, "3600", "1")
    flush(s, "changed AoRs")
    before = {r["username"]: r["id"] for r in
              sqlite_rows(s.sqlite, "location")}
    mi(s, "ul.rm", "k3")
    mi(s, "ul.add", "k4", "sip:k4@192.0.2.10", "3600", "1")
    mi(s, "ul.add", "new", "sip:new@192.0.2.11", "3600", "1")
    flush(s, "changed AoRs")
    after = {}
    for r in sqlite_rows(s.sqlite, "location"):
        after.setdefault(r["username"], []).append(r["id"])
    assert "k3" not in after and len(after["k4"]) == 2 and "new" in after
    for u, i in before.items():
        if u not in ("k3", "k4"):
            assert after[u] == [i], u


def test_foreign_rows_make_the_first_flush_whole(sipd_factory):
    s = start(sipd_factory)
    mi(s, "ul.add", "alice", "sip:alice@192.0.2.1", "3600", "1")
    mi(s, "ul.add", "bob", "sip:bob@192.0.2.2", "3600", "1")
    assert s.stop() == 0
    sql(s, "UPDATE location SET ruid = 'from-kamailio-1' "
        "WHERE username = 'bob'")
    s.start()
    mi(s, "ul.add", "carol", "sip:carol@192.0.2.3", "3600", "1")
    flush(s, "whole table")
    assert_rows_equal_table(s)
    mi(s, "ul.rm", "alice")
    flush(s, "changed AoRs")
    assert sorted(rows_by_aor(s)) == ["bob", "carol"]


def test_expired_row_at_start_goes_at_the_first_flush(sipd_factory):
    s = start(sipd_factory)
    for u in ("alice", "bob", "carol"):
        mi(s, "ul.add", u, "sip:%s@192.0.2.1" % u, "3600", "1")
    assert s.stop() == 0
    sql(s, "UPDATE location SET expires = julianday('now', '-1 hour') "
        "WHERE username = 'bob'")
    ids = {r["username"]: r["id"] for r in sqlite_rows(s.sqlite, "location")}
    s.start()
    assert sorted(dump(s)) == ["alice", "carol"]
    flush(s, "changed AoRs")
    assert {r["username"]: r["id"] for r in
            sqlite_rows(s.sqlite, "location")} == \
        {"alice": ids["alice"], "carol": ids["carol"]}
