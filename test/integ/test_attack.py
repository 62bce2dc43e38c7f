"""Issue 10: the attacks that once took sipd down, kept as tests.

Each test drives the real sipd on 127.0.0.1 the way an attacker or a
fault injector did and checks that every request still gets exactly one
final answer, that nothing is lost, and that bounded loops end.
"""
import os
import signal
import subprocess
import time

from sipcli import Client, register, register_request
from sipd_helpers import (Call, GW_NUM, LOC_HEADER, SIPD, TRUSTED, USERS,
                          build,
                          check_sipd_cancel, dump, read_table, reply_to,
                          seen_via, stats, vias, write_tables, write_users)


# --- defect 4: gateway addresses that made INVITEs vanish -------------------

def test_cfg_set_refuses_non_unicast_gateway(px):
    p = px()
    for bad in ("0.0.0.0", "255.255.255.255", "224.0.0.1", "::",
                "ff02::1"):
        r = p.s.mictl("cfg.set", "pstn", "gw_ip", bad)
        assert r.returncode == 1, (bad, r.stdout, r.stderr)
        assert "unspecified, broadcast or multicast" in r.stdout + r.stderr
    r = p.s.mictl("cfg.get", "pstn", "gw_ip")
    assert "127.0.0.1" in r.stdout


def test_config_refuses_multicast_gateway(sipd_factory):
    s = sipd_factory(extra={"pstn.gw_ip": '"224.0.0.1"'})
    s.start(args=["-c"], wait=False)
    assert s.proc.wait(10) == 1
    s.log.close()
    text = s.log_text()
    assert "sipd.cfg:" in text and "multicast" in text, text


def test_invite_to_multicast_contact_answered(px):
    """A binding at a multicast address (a registrar accepts any
    Contact): the INVITE to it gets a final reply, not silence."""
    p = px()
    bob = Client(p.s.port)
    _, r = register(bob, "bob", dict(USERS)["bob"],
                    contacts=["<sip:bob@224.0.0.1:5060>"])
    assert r is not None and r.code == 200, r
    call = Call(p.gw, "sip:bob@%s" % p.me, GW_NUM)
    p.gw.send(call.invite())
    got = [m.code for m in p.drain(p.gw, 1.0)]
    finals = [c for c in got if c >= 200]
    assert finals[:1] == [503], got


# --- defect 5: more than 96 header lines got no reply ----------------------

def options_with_lines(c, port, n):
    """An OPTIONS to sipd itself with n header lines in all."""
    req = c.request("OPTIONS", "sip:127.0.0.1:%d" % port)
    head, _, body = req.partition(b"\r\n\r\n")
    have = head.count(b"\r\n")      # header lines (start line excluded)
    extra = b"".join(b"X-Pad: %d\r\n" % i for i in range(n - have))
    return head + b"\r\n" + extra + b"\r\n" + body


def test_header_count_edges(sipd):
    c = Client(sipd.port)
    for n in (96, 97, 200, 512):
        r = c.transact(options_with_lines(c, sipd.port, n))
        assert r is not None and r.code == 200, (n, r)
    for n in (513, 5000):
        r = c.transact(options_with_lines(c, sipd.port, n))
        assert r is not None and r.code == 400, (n, r)
        assert "Too Many Header" in r.reason, r.reason


# --- defect 8: a reply that lost the caller's Via hung the call -------------

def test_487_with_only_our_via_ends_the_call(px):
    """The gateway's 487 after a CANCEL carries sipd's Via alone: sipd
    matches it by its own branch, ACKs it downstream and sends a 487
    built from the stored INVITE upstream."""
    p = px()
    trusty = Client(p.s.port)
    gw = p.gw
    call = Call(trusty, "sip:%s@%s" % (GW_NUM, p.me), "trusty")
    trusty.send(call.invite())
    p.expect_100(trusty, call)
    inv = p.recv(gw)
    reply_to(gw, inv, 180, "Ringing", "gt", gw, user="gw")
    assert p.recv(trusty).code == 180
    trusty.send(call.cancel())
    r = p.recv(trusty)
    assert (r.code, r.get("CSeq")) == (200, "1 CANCEL")
    can = p.recv(gw)
    check_sipd_cancel(can, inv)
    reply_to(gw, can, 200, "OK", "gt")
    # the broken gateway keeps only the top Via (sipd's)
    hdrs = ["Via: " + vias(inv)[0], "From: " + inv.get("From"),
            "To: " + inv.get("To") + ";tag=gt",
            "Call-ID: " + inv.get("Call-ID"), "CSeq: " + inv.get("CSeq")]
    gw.send(build("SIP/2.0 487 Request Terminated", hdrs))
    ack = p.recv(gw)
    assert ack.method == "ACK", ack.raw
    assert ack.get("CSeq") == "1 ACK"
    assert vias(ack)[0] == vias(inv)[0]
    r = p.recv(trusty)
    assert (r.code, r.get("CSeq")) == (487, "1 INVITE"), r.raw
    assert vias(r) == [seen_via(trusty, call.branch)]
    trusty.send(call.ack_non2xx(r))          # absorbed
    p.quiet(gw, 0.6)
    p.quiet(trusty, 0.3)


def test_forged_lone_via_reply_dropped(px):
    """A reply with sipd's Via alone but a branch that names no live
    transaction (or the wrong call) goes nowhere."""
    p = px()
    trusty = Client(p.s.port)
    gw = p.gw
    call = Call(trusty, "sip:%s@%s" % (GW_NUM, p.me), "trusty")
    trusty.send(call.invite())
    p.expect_100(trusty, call)
    inv = p.recv(gw)
    hdrs = ["Via: " + vias(inv)[0], "From: " + inv.get("From"),
            "To: " + inv.get("To") + ";tag=gt",
            "Call-ID: other-" + inv.get("Call-ID"),
            "CSeq: " + inv.get("CSeq")]
    gw.send(build("SIP/2.0 486 Busy Here", hdrs))
    p.quiet(trusty, 0.5)


# --- defect 3: location rows over the limits were lost silently -----------

def loc_row(i, user, contact, received="", path="", callid=None, ua="UA"):
    esc = lambda v: v.replace("\\", "\\\\").replace(":", "\\:")
    now = int(time.time())
    return ":".join([str(i), user, "", esc(contact), esc(received),
                     esc(path), str(now + 600), "-1.00",
                     esc(callid or "c%d@x" % i), "1", str(now), "0", "0",
                     esc(ua), "", ""])


def write_loc(db, rows):
    with open(os.path.join(db, "location"), "w") as f:
        f.write(LOC_HEADER + "\n")
        for r in rows:
            f.write(r + "\n")


def test_location_rows_at_kamailio_column_sizes_kept(sipd_factory):
    s = sipd_factory(extra={"usrloc.flush_interval": "0"})
    contact = "sip:alice@127.0.0.1:5060;x=" + "a" * (512 - 27)
    path = "<sip:p@127.0.0.1;lr;x=" + "p" * (512 - 23) + ">"
    received = "sip:127.0.0.1:5060;x=" + "r" * (128 - 21)
    assert (len(contact), len(path), len(received)) == (512, 512, 128)
    write_loc(s.db, [loc_row(1, "alice", contact, received, path,
                             "c" * 255, "u" * 255)])
    s.start()
    d = dump(s)
    assert d["alice"][0]["Address"] == contact
    assert s.stop() == 0
    rows = read_table(s, "location")
    assert len(rows) == 1 and rows[0]["contact"] == contact
    assert rows[0]["path"] == path and rows[0]["received"] == received
    assert rows[0]["callid"] == "c" * 255
    assert rows[0]["user_agent"] == "u" * 255


def test_location_row_over_limit_named_never_dropped(sipd_factory):
    s = sipd_factory(extra={"usrloc.flush_interval": "0"})
    write_loc(s.db, [loc_row(1, "alice", "sip:alice@127.0.0.1"),
                     loc_row(2, "bob", "sip:bob@127.0.0.1;x=" + "b" * 600)])
    loc = os.path.join(s.db, "location")
    old = open(loc, "rb").read()
    r = subprocess.run([SIPD, "-c", "-f", s.cfg], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1, r
    assert "location:3:" in r.stderr and "contact" in r.stderr, r.stderr
    # at start too: an error naming the row, and the file untouched
    s.start(wait=False)
    assert s.proc.wait(10) == 1
    s.log.close()
    assert "location:3:" in s.log_text(), s.log_text()
    assert open(loc, "rb").read() == old


# --- defect 2: binding capacity far below usrloc.max_contacts ---------------

def long_register(c, user, first, n, tag):
    """REGISTER of n contacts of 512 bytes, a 255-byte Call-ID and a
    254-byte User-Agent (255 and more are stored as "n/a")."""
    contacts = []
    for i in range(first, first + n):
        head = "<sip:%s-%d@127.0.0.1:%d;x=" % (user, i, c.port)
        contacts.append(head + "a" * (512 + 2 - len(head) - 1) + ">")
    assert all(len(x) == 514 for x in contacts)
    return c.transact(register_request(
        c, user, contacts=contacts, call_id=(tag + user).ljust(255, "c"),
        headers=["User-Agent: " + "u" * 254]))


def test_max_contacts_bindings_at_every_limit(sipd_factory):
    """usrloc.max_contacts is a promise: that many bindings fit with the
    contact, Call-ID and User-Agent at their limits; one more is 503."""
    s = sipd_factory(extra={"usrloc.max_contacts": "2000",
                            "registrar.max_contacts": "0"})
    write_tables(s, USERS, [("127.0.0.1", "any", None)])
    write_users(s.db, 201)
    s.start()
    c = Client(s.port)
    t0 = time.monotonic()
    for u in range(200):
        r = long_register(c, "u%04d" % u, 0, 10, "a")
        assert r is not None and r.code == 200, (u, r)
    took = time.monotonic() - t0
    assert stats(s, "usrloc:location-contacts") == {
        "usrloc:location-contacts": 2000}
    print("2000 bindings at every limit stored in %.2f s" % took)
    r = long_register(c, "u0200", 0, 1, "b")
    assert (r.code, r.get("P-Registrar-Error")) == (
        503, "Location table full"), r.raw
    # a refresh of stored bindings is never refused
    r = long_register(c, "u0003", 0, 10, "a")
    assert r is not None and r.code == 200, r


def test_per_aor_cap_default_10(sipd_factory):
    s = sipd_factory()
    write_tables(s, USERS, [("127.0.0.1", "any", None)])
    s.start()
    c = Client(s.port)
    r = long_register(c, "alice", 0, 10, "a")
    assert r is not None and r.code == 200, r
    r = long_register(c, "alice", 10, 1, "b")
    assert (r.code, r.get("P-Registrar-Error")) == (
        503, "Too many registered contacts"), r.raw


# --- defect 7: a crash during a flush left temp files forever ---------------

def test_stale_temp_files_removed_at_start(sipd_factory):
    s = sipd_factory(extra={"usrloc.flush_interval": "0"})
    stale = ["location.sipd-tmp.AbC123", "subscriber.sipd-tmp.x0Y9zz"]
    kept = ["location.backup", "location.sipd-tmp.toolong1",
            "notes.sipd-tmp.AbC123", "location.AbC123"]
    for n in stale + kept:
        with open(os.path.join(s.db, n), "w") as f:
            f.write("x" * 100)
    s.start()
    left = sorted(os.listdir(s.db))
    for n in stale:
        assert n not in left, left
    for n in kept:
        assert n in left, left
    text = s.log_text()
    assert "location.sipd-tmp.AbC123" in text and "stale" in text, text
    # the temp files sipd writes carry the pattern; none is left behind
    r = s.mictl("ul.flush")
    assert r.returncode == 0, r
    assert not [n for n in os.listdir(s.db) if ".sipd-tmp." in n
                and n not in kept]


def test_master_killed_mid_flush_leaves_whole_file(sipd_factory):
    """SIGKILL of the master while it may be writing: the file stays
    whole, and a temp file it left is gone after the restart."""
    s = sipd_factory(extra={"usrloc.flush_interval": "0",
                            "usrloc.max_contacts": "20000"})
    write_loc(s.db, [loc_row(i, "u%d" % i, "sip:u%d@127.0.0.1;x=%s" %
                             (i, "z" * 400)) for i in range(1, 5001)])
    loc = os.path.join(s.db, "location")
    for delay in (0.0, 0.005, 0.01, 0.02, 0.04):
        s.start()
        workers = s.worker_pids()
        r = s.mictl("ul.add", "alice", "sip:a@127.0.0.1", "3600")
        assert r.returncode == 0, r
        p = subprocess.Popen([os.environ["MICTL_BIN"], "-s", s.sock,
                              "ul.flush"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        time.sleep(delay)
        os.kill(s.pid, signal.SIGKILL)
        s.proc.wait(10)
        p.wait(10)
        s.log.close()
        for w in workers:          # they follow their master (bounded)
            for _ in range(200):
                try:
                    os.kill(w, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.01)
        with open(loc) as f:
            data = f.read()
        assert data.startswith(LOC_HEADER) and data.endswith("\n")
        assert data.count("\n") in (5001, 5002)
        s.start()
        assert set(os.listdir(s.db)) <= {"version", "subscriber",
                                         "trusted", "location"}
        assert s.stop() == 0


# --- defect 1: one source filling the transaction table --------------------

class Other(Client):
    """A UA on 127.0.0.2: another source address on the loopback."""

    def __init__(self, port):
        super().__init__(port)
        self.sock.close()
        import socket
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.2", 0))
        self.port = self.sock.getsockname()[1]


def test_one_source_cannot_take_the_transaction_table(px):
    """tm.max_transactions 64: one source (trusted, so every INVITE opens
    a cell; the gateway never answers) gets its budget, a quarter of the
    table, then 503; another source still gets through."""
    p = px(extra={"tm.max_transactions": "64"},
           trusted=TRUSTED + [("127.0.0.2", "any", None)])
    flood = Other(p.s.port)
    codes = []
    for i in range(70):
        call = Call(flood, "sip:%s@%s" % (GW_NUM, p.me), "f%d" % i)
        flood.send(call.invite())
        r = flood.recv(2.0)
        assert r is not None, i
        codes.append(r.code)
    assert codes.count(100) == 16, codes
    assert codes.count(503) == 54, codes
    st = stats(p.s, "tm:")
    assert st["tm:current"] == 16, st
    assert st["tm:source_budget_refused"] == 54, st
    assert "per-source budget" in p.s.log_text()
    trusty = Client(p.s.port)
    call = Call(trusty, "sip:%s@%s" % (GW_NUM, p.me), "trusty")
    trusty.send(call.invite())
    p.expect_100(trusty, call)


def test_unauthenticated_flood_costs_no_cell(px):
    """Every INVITE without credentials gets its 407 statelessly: no
    transaction cell, however many come (the ACKs never do)."""
    p = px()
    c = Client(p.s.port)
    st0 = stats(p.s, "tm:")
    n407 = 0
    for i in range(500):
        call = Call(c, "sip:%s@%s" % (GW_NUM, p.me), "alice")
        c.send(call.invite())
        r = c.recv(2.0)
        n407 += r is not None and r.code == 407
    assert n407 == 500
    st = stats(p.s, "tm:")
    assert st["tm:created"] == st0["tm:created"]
    assert st["tm:current"] == 0


def test_failed_send_answered_upstream(px):
    """sipd listens on 127.0.0.1 only, so a copy to 192.0.2.1 cannot be
    sent (EINVAL): the caller gets 503 at once, not silence until the
    transaction times out."""
    p = px()
    bob = Client(p.s.port)
    _, r = register(bob, "bob", dict(USERS)["bob"],
                    contacts=["<sip:bob@192.0.2.1:5060>"])
    assert r is not None and r.code == 200, r
    call = Call(p.gw, "sip:bob@%s" % p.me, GW_NUM)
    p.gw.send(call.invite())
    got = [(m.code, m.reason) for m in p.drain(p.gw, 1.5)]
    finals = [g for g in got if g[0] >= 200]
    assert finals[:1] == [(503, "Service Unavailable")], got


def test_size_edges(sipd):
    """A datagram near the UDP limit with one huge header line, and one
    with many small ones, are answered like any other."""
    c = Client(sipd.port)
    req = c.request("OPTIONS", "sip:127.0.0.1:%d" % sipd.port)
    head, _, body = req.partition(b"\r\n\r\n")
    big = head + b"\r\nX-Big: " + b"b" * (65000 - len(head)) + b"\r\n\r\n"
    assert len(big) < 65507
    r = c.transact(big)
    assert r is not None and r.code == 200, r
    r = c.transact(options_with_lines(c, sipd.port, 5000))
    assert r is not None and r.code == 400, r
