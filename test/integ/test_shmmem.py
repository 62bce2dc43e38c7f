"""core.shmmem as an operator reads it (issue 11, item 4): the mapping is
reserved whole at start and filled as the tables grow, so `free` is the
room left (total - used), `used` the live entries, `real_used` the pages
actually resident, and the same per table.
"""
import json

from sipcli import Client, register
from sipd_helpers import USERS, contact_of, write_tables

FIELDS = ["fragments", "free", "max_used", "real_used", "tables", "total",
          "used"]
TABLE_FIELDS = ["capacity", "entries", "free", "max_used", "real_used",
                "total", "used"]
TABLES = ["location", "nonces", "reply_slots", "stats", "runcfg",
          "transactions", "subscriber", "trusted"]


def shmmem(s):
    r = s.mictl("core.shmmem", json=True)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def check_relations(m):
    assert sorted(m) == FIELDS
    assert list(m["tables"]) == TABLES          # carve order
    assert m["used"] + m["free"] == m["total"]
    assert 0 < m["used"] <= m["max_used"] <= m["total"]
    assert 0 < m["real_used"] <= m["total"]
    assert sum(t["total"] for t in m["tables"].values()) < m["total"]
    for name, t in m["tables"].items():
        assert sorted(t) == TABLE_FIELDS, name
        assert t["used"] + t["free"] == t["total"], name
        assert 0 <= t["used"] <= t["max_used"] <= t["total"], name
        assert 0 <= t["real_used"] <= t["total"], name
        assert t["entries"] <= t["capacity"], name


def test_shmmem_structure_and_free_is_room_left(sipd_factory):
    s = sipd_factory(extra={"usrloc.max_contacts": "20000"})
    write_tables(s, USERS, ())
    s.start()
    m = shmmem(s)
    check_relations(m)
    loc = m["tables"]["location"]
    assert loc["capacity"] == 20000 and loc["entries"] == 0
    # Nearly all of a fresh location table is room, not "used".
    assert loc["free"] > loc["total"] * 0.9
    # Untouched pages are not resident: real use is a fraction of it.
    assert loc["real_used"] < loc["total"] / 2
    assert m["free"] > m["total"] / 2
    assert m["tables"]["subscriber"]["entries"] == len(USERS)
    assert m["tables"]["trusted"]["entries"] == 0
    # The text form (sercmd-like) nests the tables.
    out = s.mictl("core.shmmem").stdout
    assert out.startswith("{\n\ttotal: %d\n\tfree: " % m["total"])
    assert "\ttables: {\n\t\tlocation: {\n\t\t\ttotal: " in out

    # Bindings make location used grow, and max_used follows.
    c = Client(s.port)
    for user, pw in USERS[:3]:
        _, r = register(c, user, pw, contacts=[contact_of(c, user)])
        assert r.code == 200
    m2 = shmmem(s)
    check_relations(m2)
    loc2 = m2["tables"]["location"]
    assert loc2["entries"] == 3
    assert loc2["used"] > loc["used"]
    assert loc2["max_used"] >= loc2["used"]
    assert m2["used"] > m["used"]
    # Removing them gives the room back; the high-water mark stays.
    for user, _ in USERS[:3]:
        assert s.mictl("ul.rm", user).returncode == 0
    m3 = shmmem(s)
    check_relations(m3)
    assert m3["tables"]["location"]["entries"] == 0
    assert m3["tables"]["location"]["used"] == loc["used"]
    assert m3["tables"]["location"]["max_used"] == loc2["max_used"]
