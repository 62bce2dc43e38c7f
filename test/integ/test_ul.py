"""MI usrloc commands on the real daemon: ul.dump (sercmd 3.0 layout,
streamed), ul.lookup, ul.rm, ul.rm_contact, ul.add, ul.flush.

Big tables come from a `location` file written before sipd starts (the
master loads it); adding 20k bindings one mictl call at a time would
take minutes.
"""
import json
import os
import re
import socket
import time

import pytest

import sipcli
from sipd_helpers import LOC_HEADER, dbtext_escape

MI_CALLID = "dfjrewr12386fd6-343@sipd.mi"
MI_UA = "SIP Router MI Server"

LOCATION_HEADER = LOC_HEADER + "\n"

EMPTY_DUMP = ("{\n"
              "\tDomain: location\n"
              "\tSize: 512\n"
              "\tAoRs: {\n"
              "\t}\n"
              "\tStats: {\n"
              "\t\tRecords: 0\n"
              "\t\tMax-Slots: 0\n"
              "\t}\n"
              "}\n")


def contact_block(indent, address, expires, q, callid=MI_CALLID, cseq=1,
                  ua=MI_UA, received="[not set]", path="[not set]",
                  state="CS_NEW", flags=0, cflags=0, sock="[not set]",
                  methods=-1):
    """The lines of one `Contact: {...}` as sercmd prints it."""
    t = "\t" * indent
    f = "\t" * (indent + 1)
    return ("%sContact: {\n" % t +
            "%sAddress: %s\n" % (f, address) +
            "%sExpires: %s\n" % (f, expires) +
            "%sQ: %s\n" % (f, q) +
            "%sCall-ID: %s\n" % (f, callid) +
            "%sCSeq: %d\n" % (f, cseq) +
            "%sUser-Agent: %s\n" % (f, ua) +
            "%sReceived: %s\n" % (f, received) +
            "%sPath: %s\n" % (f, path) +
            "%sState: %s\n" % (f, state) +
            "%sFlags: %d\n" % (f, flags) +
            "%sCFlags: %d\n" % (f, cflags) +
            "%sSocket: %s\n" % (f, sock) +
            "%sMethods: %d\n" % (f, methods) +
            "%s}\n" % t)


def one_aor_dump(aor, contacts_text, size=512):
    return ("{\n"
            "\tDomain: location\n"
            "\tSize: %d\n" % size +
            "\tAoRs: {\n"
            "\t\tAoR: %s\n" % aor +
            "\t\tContacts: {\n" +
            contacts_text +
            "\t\t}\n"
            "\t}\n"
            "\tStats: {\n"
            "\t\tRecords: 1\n"
            "\t\tMax-Slots: 1\n"
            "\t}\n"
            "}\n")


def loctab_bucket(aor, size):
    """shm/loctab.c's hash: FNV-1a 32, murmur3 finaliser, masked."""
    h = 2166136261
    for b in aor.encode():
        h ^= b
        h = (h * 16777619) & 0xffffffff
    h ^= h >> 16
    h = (h * 0x85ebca6b) & 0xffffffff
    h ^= h >> 13
    h = (h * 0xc2b2ae35) & 0xffffffff
    h ^= h >> 16
    return h & (size - 1)


def write_location(db, rows):
    """rows: dicts with username, contact, expires (absolute) and
    optionally q, callid, cseq, ua, received, socket, methods."""
    now = int(time.time())
    with open(os.path.join(db, "location"), "w") as f:
        f.write(LOCATION_HEADER)
        for i, r in enumerate(rows, 1):
            f.write(":".join([
                str(i), dbtext_escape(r["username"]), "",
                dbtext_escape(r["contact"]),
                dbtext_escape(r.get("received", "")),
                "", str(r["expires"]), r.get("q", "-1.00"),
                dbtext_escape(r.get("callid", "c%d@x" % i)),
                str(r.get("cseq", i)), str(now), "0", "0",
                dbtext_escape(r.get("ua", "ua/1")),
                dbtext_escape(r.get("socket", "")),
                r.get("methods", "")]) + "\n")


def many_rows(n, expires):
    return [{"username": "u%06d" % i,
             "contact": "sip:u%06d@10.%d.%d.%d:5060" % (
                 i, i >> 16 & 255, i >> 8 & 255, i & 255),
             "expires": expires,
             "socket": "udp:127.0.0.1:5060"} for i in range(n)]


def started_with_rows(sipd_factory, rows, **kw):
    s = sipd_factory(**kw)
    write_location(s.db, rows)
    return s.start()


def expires_ok(text, secs):
    """The dump as printed at some second between add and now."""
    return [text.replace("@EXPIRES@", str(secs - d)) for d in (0, 1, 2)]


# --- ul.dump layout ----------------------------------------------------


def test_dump_empty_exact(sipd):
    r = sipd.mictl("ul.dump")
    assert r.returncode == 0, r.stderr
    assert r.stdout == EMPTY_DUMP


def test_dump_one_binding_exact(sipd):
    r = sipd.mictl("ul.add", "alice", "sip:alice@127.0.0.1:5097", "3600",
                   "0.5")
    assert (r.returncode, r.stdout) == (0, "OK\n"), r.stdout + r.stderr
    r = sipd.mictl("ul.dump")
    assert r.returncode == 0, r.stderr
    want = one_aor_dump("alice", contact_block(
        3, "sip:alice@127.0.0.1:5097", "@EXPIRES@", "0.500000"))
    assert r.stdout in expires_ok(want, 3600), r.stdout


def test_dump_permanent_and_q_values(sipd):
    # EXPIRES 0 = permanent; Q omitted = unset (-1.000000).
    assert sipd.mictl("ul.add", "bob", "sip:bob@h1", "0").returncode == 0
    r = sipd.mictl("ul.dump")
    want = one_aor_dump("bob", contact_block(3, "sip:bob@h1", "permanent",
                                             "-1.000000"))
    assert r.stdout == want
    for q, shown in (("1", "1.000000"), ("0", "0.000000"),
                     ("0.25", "0.250000"), ("0.3", "0.300000"),
                     ("-1", "-1.000000")):
        assert sipd.mictl("ul.rm", "bob").returncode == 0
        assert sipd.mictl("ul.add", "bob", "sip:bob@h1", "0",
                          q).returncode == 0
        r = sipd.mictl("ul.dump")
        assert "\t\t\t\tQ: %s\n" % shown in r.stdout, (q, r.stdout)


def test_dump_contacts_of_one_aor_in_q_order(sipd):
    assert sipd.mictl("ul.add", "carol", "sip:c@low", "0", "0.1"
                      ).returncode == 0
    assert sipd.mictl("ul.add", "carol", "sip:c@high", "0", "0.9"
                      ).returncode == 0
    r = sipd.mictl("ul.dump")
    want = one_aor_dump("carol",
                        contact_block(3, "sip:c@high", "permanent",
                                      "0.900000") +
                        contact_block(3, "sip:c@low", "permanent",
                                      "0.100000"))
    assert r.stdout == want


def test_dump_brief(sipd):
    for aor in ("dave", "erin"):
        assert sipd.mictl("ul.add", aor, "sip:%s@h" % aor, "60"
                          ).returncode == 0
    r = sipd.mictl("ul.dump", "brief")
    assert r.returncode == 0
    aors = sorted(["dave", "erin"], key=lambda a: loctab_bucket(a, 512))
    assert r.stdout == ("{\n"
                        "\tDomain: location\n"
                        "\tSize: 512\n"
                        "\tAoRs: {\n"
                        "\t\tAoR: %s\n"
                        "\t\tAoR: %s\n"
                        "\t}\n"
                        "\tStats: {\n"
                        "\t\tRecords: 2\n"
                        "\t\tMax-Slots: 1\n"
                        "\t}\n"
                        "}\n" % tuple(aors))
    r = sipd.mictl("ul.dump", "full")
    assert r.returncode == 1
    assert r.stdout.startswith("error: -32602 - ")


def test_dump_json_numbers(sipd):
    assert sipd.mictl("ul.add", "frank", "sip:f@h", "120", "0.5"
                      ).returncode == 0
    assert sipd.mictl("ul.add", "grace", "sip:g@h", "0").returncode == 0
    r = sipd.mictl("ul.dump", json=True)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert list(d) == ["Domain", "Size", "AoRs", "Stats"]
    assert d["Domain"] == "location" and d["Size"] == 512
    assert d["Stats"] == {"Records": 2, "Max-Slots": 1}
    by_aor = {a["AoR"]: a["Contacts"] for a in d["AoRs"]}
    f = by_aor["frank"][0]["Contact"]
    assert list(f) == ["Address", "Expires", "Q", "Call-ID", "CSeq",
                       "User-Agent", "Received", "Path", "State", "Flags",
                       "CFlags", "Socket", "Methods"]
    assert type(f["Expires"]) is int and 118 <= f["Expires"] <= 120
    assert type(f["Q"]) is float and f["Q"] == 0.5
    assert type(f["CSeq"]) is int and f["CSeq"] == 1
    assert f["Flags"] == 0 and f["CFlags"] == 0 and f["Methods"] == -1
    g = by_aor["grace"][0]["Contact"]
    assert g["Expires"] == "permanent"
    assert type(g["Q"]) is float and g["Q"] == -1.0
    # Same shape for ul.lookup.
    r = sipd.mictl("ul.lookup", "frank", json=True)
    assert json.loads(r.stdout)["Contacts"][0]["Contact"]["Q"] == 0.5


def test_dump_loaded_fields_and_binary_bytes(sipd_factory):
    now = int(time.time())
    rows = [{"username": "hank", "contact": "sip:hank@1.2.3.4;x=%00",
             "expires": now + 300, "q": "1.00", "callid": "id\0with-nul",
             "cseq": 77, "ua": "UA \x01 ctl", "received":
             "sip:5.6.7.8:5070", "socket": "udp:127.0.0.1:5060",
             "methods": "527"}]
    s = started_with_rows(sipd_factory, rows)
    r = s.mictl("ul.dump", json=True)
    assert r.returncode == 0, r.stderr
    c = json.loads(r.stdout)["AoRs"][0]["Contacts"][0]["Contact"]
    assert c["Address"] == "sip:hank@1.2.3.4;x=%00"
    assert c["Call-ID"] == "id\0with-nul"
    assert c["User-Agent"] == "UA \x01 ctl"
    assert c["Received"] == "sip:5.6.7.8:5070"
    assert c["Socket"] == "udp:127.0.0.1:5060"
    assert c["State"] == "CS_SYNC"
    assert c["CSeq"] == 77 and c["Methods"] == 527 and c["Q"] == 1.0
    # The wire text itself escapes NUL and control bytes.
    raw = mi_raw(s, "ul.dump")
    assert b"id\\u0000with-nul" in raw and b"\\u0001" in raw


def mi_raw(s, method, *params):
    """One request over a plain socket; the raw response line."""
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.settimeout(30)
    c.connect(s.sock)
    c.sendall(json.dumps({"jsonrpc": "2.0", "method": method,
                          "params": list(params), "id": 1}).encode() + b"\n")
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = c.recv(65536)
        if not chunk:
            break
        buf += chunk
    c.close()
    return buf


# --- ul.lookup / ul.rm / ul.rm_contact / ul.add ------------------------


def test_lookup(sipd):
    r = sipd.mictl("ul.lookup", "nobody")
    assert (r.returncode, r.stdout) == (1, "error: 404 - AOR not found\n")
    assert sipd.mictl("ul.add", "ivy", "sip:ivy@h", "600", "1"
                      ).returncode == 0
    # AoRs are lower-cased, as the registrar stores them.
    r = sipd.mictl("ul.lookup", "IVY")
    assert r.returncode == 0, r.stdout
    want = ("{\n"
            "\tAoR: ivy\n"
            "\tContacts: {\n" +
            contact_block(2, "sip:ivy@h", "@EXPIRES@", "1.000000") +
            "\t}\n"
            "}\n")
    assert r.stdout in expires_ok(want, 600), r.stdout


def test_rm(sipd):
    r = sipd.mictl("ul.rm", "nobody")
    assert (r.returncode, r.stdout) == (1, "error: 404 - AOR not found\n")
    assert sipd.mictl("ul.add", "Jack", "sip:j1@h", "600").returncode == 0
    assert sipd.mictl("ul.add", "jack", "sip:j2@h", "600").returncode == 0
    r = sipd.mictl("ul.rm", "JACK")
    assert (r.returncode, r.stdout) == (0, "OK\n")
    assert sipd.mictl("ul.lookup", "jack").returncode == 1
    assert sipd.mictl("ul.dump").stdout == EMPTY_DUMP


def test_rm_contact(sipd):
    r = sipd.mictl("ul.rm_contact", "kim", "sip:k1@h")
    assert (r.returncode, r.stdout) == (1, "error: 404 - AOR not found\n")
    assert sipd.mictl("ul.add", "kim", "sip:k1@h", "600").returncode == 0
    assert sipd.mictl("ul.add", "kim", "sip:k2@h", "600").returncode == 0
    r = sipd.mictl("ul.rm_contact", "kim", "sip:nope@h")
    assert (r.returncode, r.stdout) == (1,
                                        "error: 404 - Contact not found\n")
    # Contacts match byte-exact: case matters there.
    r = sipd.mictl("ul.rm_contact", "kim", "sip:K1@h")
    assert r.stdout == "error: 404 - Contact not found\n"
    r = sipd.mictl("ul.rm_contact", "Kim", "sip:k1@h")
    assert (r.returncode, r.stdout) == (0, "OK\n")
    r = sipd.mictl("ul.lookup", "kim")
    assert "sip:k1@h" not in r.stdout and "sip:k2@h" in r.stdout
    assert sipd.mictl("ul.rm_contact", "kim", "sip:k2@h").returncode == 0
    r = sipd.mictl("ul.lookup", "kim")
    assert r.stdout == "error: 404 - AOR not found\n"


def test_add_replaces_same_contact(sipd):
    assert sipd.mictl("ul.add", "leo", "sip:l@h", "600", "0.1"
                      ).returncode == 0
    assert sipd.mictl("ul.add", "leo", "sip:l@h", "0", "0.7"
                      ).returncode == 0
    r = sipd.mictl("ul.lookup", "leo", json=True)
    contacts = json.loads(r.stdout)["Contacts"]
    assert len(contacts) == 1
    assert contacts[0]["Contact"]["Expires"] == "permanent"
    assert contacts[0]["Contact"]["Q"] == 0.7


@pytest.mark.parametrize("args", [
    ("mia", "sip:m@h", "ten"),
    ("mia", "sip:m@h", "-5"),
    ("mia", "sip:m@h", "60", "1.5"),
    ("mia", "sip:m@h", "60", "-0.5"),
    ("mia", "sip:m@h", "60", "half"),
    ("", "sip:m@h", "60"),
    ("mia", "", "60"),
    ("x" * 129, "sip:m@h", "60"),
    ("mia", "sip:m@h"),
    ("mia", "sip:m@h", "60", "0.5", "extra", "more"),
    ("location", "mia", "sip:m@h", "60", "0.5", "extra"),
])
def test_add_bad_params(sipd, args):
    r = sipd.mictl("ul.add", *args)
    assert r.returncode == 1
    assert r.stdout.startswith("error: -32602 - "), r.stdout
    assert sipd.mictl("ul.dump").stdout == EMPTY_DUMP


def test_changes_logged_with_who(sipd):
    """Every MI change is logged at notice with the peer's uid and pid;
    reads and refused changes are not."""
    assert sipd.mictl("ul.add", "zoe", "sip:z@h", "60").returncode == 0
    assert sipd.mictl("ul.lookup", "zoe").returncode == 0
    assert sipd.mictl("ul.rm", "nobody").returncode == 1
    assert sipd.mictl("ul.rm", "zoe").returncode == 0
    log = sipd.log_text()
    lines = [ln for ln in log.splitlines() if "MI change by" in ln]
    assert len(lines) == 2, lines
    assert re.search(r'MI change by uid %d pid \d+: ul\.add "zoe" '
                     r'"sip:z@h" "60"$' % os.getuid(), lines[0]), lines
    assert lines[1].endswith(': ul.rm "zoe"'), lines


def test_add_five_args_names_a_table(sipd):
    """Five arguments only fit Kamailio's table-first form: a first one
    that is not "location" is an unknown table, as kamcmd says."""
    r = sipd.mictl("ul.add", "mia", "sip:m@h", "60", "0.5", "extra")
    assert (r.returncode, r.stdout) == (1, "error: 404 - Table not found\n")


def test_help_lists_commands(sipd):
    r = sipd.mictl("ls")
    for name in ("ul.dump", "ul.lookup", "ul.rm", "ul.rm_contact", "ul.add",
                 "ul.flush"):
        assert name + "\n" in r.stdout
    r = sipd.mictl("system.methodHelp", "ul.add")
    assert r.stdout.startswith("ul.add [location] AOR CONTACT EXPIRES [Q] - ")


# --- big tables, streaming --------------------------------------------


def parse_brief(text):
    return re.findall(r"^\t\tAoR: (.*)$", text, re.M)


def test_dump_20k_loaded_in_slot_order(sipd_factory):
    n = 20000
    rows = many_rows(n, int(time.time()) + 3600)
    s = started_with_rows(sipd_factory, rows)
    r = s.mictl("ul.dump", timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("\t\t\tContact: {\n") == n
    assert r.stdout.count("\t\t\t\tState: CS_SYNC\n") == n
    assert r.stdout.count("\t\t\t\tSocket: udp:127.0.0.1:5060\n") == n
    aors = parse_brief(r.stdout)
    assert sorted(aors) == sorted(x["username"] for x in rows)
    buckets = [loctab_bucket(a, 512) for a in aors]
    assert buckets == sorted(buckets)
    per = {}
    for b in buckets:
        per[b] = per.get(b, 0) + 1
    assert r.stdout.endswith("\tStats: {\n\t\tRecords: %d\n"
                             "\t\tMax-Slots: %d\n\t}\n}\n" %
                             (n, max(per.values())))
    rb = s.mictl("ul.dump", "brief", timeout=120)
    assert parse_brief(rb.stdout) == aors
    assert "Contacts" not in rb.stdout


def test_dump_big_hash_many_empty_slots(sipd_factory):
    # 65536 slots, 3 bindings: empty slots must not cost a round each.
    s = sipd_factory(extra={"usrloc.hash_size": "65536"})
    write_location(s.db, many_rows(3, 0))
    s.start()
    t0 = time.monotonic()
    r = s.mictl("ul.dump", "brief")
    assert r.returncode == 0
    assert "\tSize: 65536\n" in r.stdout
    assert len(parse_brief(r.stdout)) == 3
    assert time.monotonic() - t0 < 10


def test_stalled_dump_client_blocks_nobody(sipd_factory):
    s = started_with_rows(sipd_factory,
                          many_rows(20000, int(time.time()) + 3600))
    stalled = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stalled.connect(s.sock)
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.sendall(b'{"jsonrpc":"2.0","method":"ul.dump","id":1}\n')
    time.sleep(0.3)     # let the server fill its window and pause
    try:
        t0 = time.monotonic()
        r = s.mictl("ul.lookup", "u000042", timeout=10)
        assert r.returncode == 0 and "sip:u000042@" in r.stdout
        assert s.mictl("ul.add", "zoe", "sip:z@h", "60",
                       timeout=10).returncode == 0
        assert s.mictl("ul.rm", "u000043", timeout=10).returncode == 0
        assert time.monotonic() - t0 < 10
        c = sipcli.Client(s.port)
        try:
            resp = c.transact(c.request("OPTIONS", "sip:127.0.0.1"))
            assert resp.code == 200
        finally:
            c.close()
    finally:
        stalled.close()
    # The server is fine afterwards and the dump sees the changes.
    r = s.mictl("ul.dump", "brief", timeout=120)
    aors = parse_brief(r.stdout)
    assert "zoe" in aors and "u000043" not in aors
    assert len(aors) == 20000


def test_dump_while_table_changes(sipd_factory):
    """Bindings added and removed during a slow dump: the reply stays
    one valid JSON value (no lock is held across pieces)."""
    s = started_with_rows(sipd_factory,
                          many_rows(5000, int(time.time()) + 3600))
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.settimeout(30)
    c.connect(s.sock)
    c.sendall(b'{"jsonrpc":"2.0","method":"ul.dump","id":7}\n')
    buf = c.recv(4096)
    for i in range(20):
        assert s.mictl("ul.add", "new%d" % i, "sip:n@h", "60"
                       ).returncode == 0
        assert s.mictl("ul.rm", "u%06d" % (i * 7)).returncode == 0
    while not buf.endswith(b"\n"):
        chunk = c.recv(65536)
        assert chunk, "connection closed mid-reply"
        buf += chunk
    c.close()
    d = json.loads(buf)
    assert d["id"] == 7
    assert 4980 <= d["result"]["Stats"]["Records"] <= 5020


# --- ul.flush ---------------------------------------------------------


def read_location(db):
    with open(os.path.join(db, "location")) as f:
        return f.read().splitlines()


def test_flush_writes_binding(sipd):
    assert sipd.mictl("ul.add", "nina", "sip:nina@10.0.0.9:5060", "3600",
                      "0.5").returncode == 0
    assert sipd.mictl("ul.add", "omar", "sip:omar@h", "0").returncode == 0
    t = int(time.time())
    r = sipd.mictl("ul.flush")
    assert (r.returncode, r.stdout) == (0, "OK\n"), r.stdout
    lines = read_location(sipd.db)
    assert lines[0] == LOCATION_HEADER.rstrip("\n")
    rows = {l.split(":")[1]: l for l in lines[1:]}
    nina = re.split(r"(?<!\\):", rows["nina"])
    assert nina[1:6] == ["nina", "", "sip\\:nina@10.0.0.9\\:5060", "", ""]
    assert t + 3598 <= int(nina[6]) <= t + 3601
    assert nina[7] == "0.50"
    assert nina[8:10] == [MI_CALLID.replace(":", "\\:"), "1"]
    assert nina[11:14] == ["0", "0", MI_UA]
    assert nina[15] == ""       # all methods: NULL
    omar = re.split(r"(?<!\\):", rows["omar"])
    assert omar[6] == "0" and omar[7] == "-1.00"
    # Written bindings are in sync with storage now.
    assert sipd.mictl("ul.dump").stdout.count("State: CS_SYNC") == 2


def test_flush_failure_reports_reason(sipd):
    assert sipd.mictl("ul.add", "pia", "sip:p@h", "60").returncode == 0
    gone = sipd.db + ".gone"
    os.rename(sipd.db, gone)    # the folder vanished: nothing to write to
    try:
        r = sipd.mictl("ul.flush")
    finally:
        os.rename(gone, sipd.db)
    assert r.returncode == 1
    assert r.stdout.startswith("error: 500 - "), r.stdout
    assert "db" in r.stdout
    # Nothing was lost: the binding is still there and a retry works.
    assert "AoR: pia" in sipd.mictl("ul.dump").stdout
    assert sipd.mictl("ul.flush").returncode == 0
    assert any(":pia:" in l for l in read_location(sipd.db))


@pytest.mark.skipif(os.geteuid() == 0,
                    reason="root writes into read-only folders anyway")
def test_flush_read_only_folder(sipd):
    assert sipd.mictl("ul.add", "quin", "sip:q@h", "60").returncode == 0
    os.chmod(sipd.db, 0o555)
    try:
        r = sipd.mictl("ul.flush")
    finally:
        os.chmod(sipd.db, 0o755)
    assert r.returncode == 1
    assert r.stdout.startswith("error: 500 - "), r.stdout
    assert "ermission" in r.stdout
