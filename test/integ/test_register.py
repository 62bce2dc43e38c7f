"""Registrar (SPEC §5, RFC 3261 §10.3): REGISTER against the real sipd.

Each test writes its own `subscriber` (and `trusted`) table into the
sipd's db folder before start. Users live at 127.0.0.1, which is also the
digest realm (auth.realm unset: the To host). Every status, reason and
header value is compared exactly; nonces, tags and branches, which are
random, are checked by shape.

The RFC 4475 REGISTER torture messages are sent as they are except for
the top Via sent-by, which names the test's socket so that the reply
comes back to it (the files point at example.com hosts and port 5060).
"""
import os
import re
import time

import pytest

from sipcli import (Client, authorization, natted_via, parse_challenge,
                    rand_token, register, register_request)
from sipd_helpers import (NONCE_RE, SRCDIR, check_401, contact_of, dump,
                          read_table)

BACKENDS = ("text", "sqlite")   # conftest.py: every test on both

TORTURE = os.path.join(SRCDIR, "test", "data", "torture", "rfc4475")
CHALLENGE_MD5 = ('Digest realm="127.0.0.1", nonce="%s", qop="auth", '
                 'algorithm=MD5')


def check_via(r, c):
    """RFC 3581: the top Via comes back with rport and received."""
    via = r.get("Via")
    assert re.fullmatch(r"SIP/2\.0/UDP 127\.0\.0\.1:%d;branch=z9hG4bK\w+;"
                        r"rport=%d;received=127\.0\.0\.1" % (c.port, c.port),
                        via), via


def names(r):
    return [n for n, _ in r.headers if n]


# --- digest ---------------------------------------------------------------

def test_401_then_200(reg):
    s = reg()
    c = Client(s.port)
    cid = rand_token(16) + "@127.0.0.1"
    r1 = c.transact(register_request(c, "alice", contacts=[
        "<%s>" % contact_of(c)], call_id=cid))
    check_401(r1)
    check_via(r1, c)
    assert re.fullmatch(r"<sip:alice@127\.0\.0\.1>;tag=[0-9a-f]{16}",
                        r1.get("To"))
    assert names(r1) == ["Via", "From", "To", "Call-ID", "CSeq",
                         "WWW-Authenticate", "Server", "Content-Length"]
    chal = parse_challenge(r1.get("WWW-Authenticate"))
    r2 = c.transact(register_request(
        c, "alice", contacts=["<%s>" % contact_of(c)], call_id=cid, cseq=2,
        headers=[authorization(chal, "alice", "secret-a")]))
    assert (r2.code, r2.reason) == (200, "OK")
    check_via(r2, c)
    assert r2.get("Contact") == "<%s>;expires=3600" % contact_of(c)
    assert r2.get("P-Registrar-Error") is None
    assert r2.get("CSeq") == "2 REGISTER"
    assert r2.get("Call-ID") == cid
    c.close()


def test_wrong_password_gets_fresh_challenge(reg):
    s = reg()
    c = Client(s.port)
    first, final = register(c, "alice", "not-the-password",
                            contacts=["<%s>" % contact_of(c)])
    n1 = check_401(first)[0]["nonce"]
    n2 = check_401(final)[0]["nonce"]
    assert n1 != n2
    # and nothing was stored: a right one lists only its own contact
    _, ok = register(c, "alice", "secret-a",
                     contacts=["<%s>" % contact_of(c)])
    assert ok.get("Contact") == "<%s>;expires=3600" % contact_of(c)
    c.close()


def test_unknown_user_same_401_as_wrong_password(reg):
    s = reg()
    c = Client(s.port)
    _, wrong = register(c, "alice", "bad", contacts=["<%s>" % contact_of(c)])
    _, unknown = register(c, "mallory", "bad",
                          contacts=["<%s>" % contact_of(c, "mallory")])
    check_401(wrong)
    check_401(unknown)
    assert names(wrong) == names(unknown)
    assert (wrong.code, wrong.reason) == (unknown.code, unknown.reason)
    strip = re.compile(r'nonce="[0-9a-f]+"')
    assert strip.sub("", wrong.get("WWW-Authenticate")) == \
        strip.sub("", unknown.get("WWW-Authenticate"))
    c.close()


def test_stale_nonce(reg):
    s = reg(extra={"auth.nonce_expire": "1"})
    c = Client(s.port)
    cid = rand_token(16)
    r1 = c.transact(register_request(c, "alice", call_id=cid, contacts=[
        "<%s>" % contact_of(c)]))
    chal = check_401(r1)[0]
    time.sleep(2.2)        # the nonce's lifetime is what is under test
    r2 = c.transact(register_request(
        c, "alice", call_id=cid, cseq=2, contacts=["<%s>" % contact_of(c)],
        headers=[authorization(chal, "alice", "secret-a")]))
    chal2 = check_401(r2, stale=True)[0]
    assert chal2["nonce"] != chal["nonce"]
    # an expired nonce with a wrong password is no stale: plain 401
    r3 = c.transact(register_request(
        c, "alice", call_id=cid, cseq=3, contacts=["<%s>" % contact_of(c)],
        headers=[authorization(chal, "alice", "wrong")]))
    check_401(r3)
    r4 = c.transact(register_request(
        c, "alice", call_id=cid, cseq=4, contacts=["<%s>" % contact_of(c)],
        headers=[authorization(chal2, "alice", "secret-a")]))
    assert (r4.code, r4.reason) == (200, "OK")
    c.close()


def test_replayed_nc(reg):
    s = reg()
    c = Client(s.port)
    cid = rand_token(16)
    chal = check_401(c.transact(register_request(c, "alice", call_id=cid)))[0]
    ok = c.transact(register_request(c, "alice", call_id=cid, cseq=2,
                    headers=[authorization(chal, "alice", "secret-a", nc=1)]))
    assert (ok.code, ok.reason) == (200, "OK")
    again = c.transact(register_request(
        c, "alice", call_id=cid, cseq=3,
        headers=[authorization(chal, "alice", "secret-a", nc=1)]))
    check_401(again)
    nc2 = c.transact(register_request(
        c, "alice", call_id=cid, cseq=4,
        headers=[authorization(chal, "alice", "secret-a", nc=2)]))
    assert (nc2.code, nc2.reason) == (200, "OK")
    c.close()


def test_sha256_challenge(reg):
    s = reg(extra={"auth.algorithms": '"MD5 SHA-256"'})
    c = Client(s.port)
    r1 = c.transact(register_request(c, "alice"))
    chals = check_401(r1, algs=("MD5", "SHA-256"))
    first, final = register(c, "alice", "secret-a", alg="SHA-256",
                            contacts=["<%s>" % contact_of(c)])
    check_401(first, algs=("MD5", "SHA-256"))
    assert (final.code, final.reason) == (200, "OK")
    assert final.get("Contact") == "<%s>;expires=3600" % contact_of(c)
    assert chals[1]["algorithm"] == "SHA-256"
    c.close()


def test_ha1_columns(reg):
    """auth.calculate_ha1 = no: the ha1 column, MD5 only."""
    s = reg(extra={"auth.calculate_ha1": "no",
                   "auth.algorithms": '"MD5 SHA-256"'})
    c = Client(s.port)
    _, ok = register(c, "bob", "secret-b", contacts=["<%s>" % contact_of(
        c, "bob")])
    assert (ok.code, ok.reason) == (200, "OK")
    _, no = register(c, "bob", "secret-b", alg="SHA-256")
    check_401(no, algs=("MD5", "SHA-256"))
    c.close()


def test_malformed_credentials(reg):
    s = reg()
    c = Client(s.port)
    r = c.transact(register_request(c, "alice", headers=[
        'Authorization: Digest username="alice", realm="127.0.0.1", '
        'nonce="00", uri="sip:127.0.0.1", response="00", qop=auth']))
    assert (r.code, r.reason) == (400, "Bad Request - Malformed credentials")
    assert r.get("P-Registrar-Error") == "Malformed credentials"
    c.close()


def test_auth_user_not_to_user(reg):
    s = reg()
    c = Client(s.port)
    cid = rand_token(16)
    chal = check_401(c.transact(register_request(c, "bob", call_id=cid)))[0]
    r = c.transact(register_request(
        c, "bob", call_id=cid, cseq=2, contacts=["<%s>" % contact_of(c)],
        headers=[authorization(chal, "alice", "secret-a")]))
    assert (r.code, r.reason) == (403, "Forbidden auth ID")
    assert r.get("P-Registrar-Error") == "Auth user does not match To user"
    assert r.get("Contact") is None
    c.close()


# --- trusted sources --------------------------------------------------------

def test_trusted_source(reg):
    s = reg(trusted=[("127.0.0.1", "any", None)])
    c = Client(s.port)
    r = c.transact(register_request(c, "alice", contacts=[
        "<%s>" % contact_of(c)]))
    assert (r.code, r.reason) == (200, "OK")
    assert r.get("Contact") == "<%s>;expires=3600" % contact_of(c)
    assert r.get("WWW-Authenticate") is None
    # trusted, but the AoR is not a subscriber
    r = c.transact(register_request(c, "mallory", contacts=[
        "<%s>" % contact_of(c, "mallory")]))
    assert (r.code, r.reason) == (403, "Forbidden")
    assert r.get("P-Registrar-Error") == "Not a subscriber"
    c.close()


@pytest.mark.parametrize("row,trusted", [
    (("127.0.0.1", "udp", r"^sip\:alice@127\\.0\\.0\\.1$"), True),
    (("127.0.0.1", "any", r"^sip\:bob@"), False),
    (("127.0.0.1", "tcp", None), False),
    (("127.0.0.1", "none", None), False),
    (("127.0.0.2", "any", None), False),
])
def test_trusted_rows(reg, row, trusted):
    """src_ip exact, proto any/udp, From URI basic regex (kamailio §5)."""
    s = reg(trusted=[row])
    c = Client(s.port)
    r = c.transact(register_request(c, "alice"))
    if trusted:
        assert (r.code, r.reason) == (200, "OK")
    else:
        check_401(r)
    c.close()


# --- contacts and expiry ----------------------------------------------------

@pytest.fixture
def open_reg(reg):
    """A sipd trusting 127.0.0.1, so that tests of the Contact rules need
    no digest round."""
    def make(extra=None):
        return reg(extra=extra, trusted=[("127.0.0.1", "any", None)])
    return make


def seconds_left(full, since):
    """What sipd may report for a binding of `full` seconds saved at or
    after `since`: less by each second boundary crossed since (sipd
    counts whole seconds), exactly `full` when none was (a slow host,
    qemu-user, crosses them)."""
    return [full - k for k in range(int(time.time()) - int(since) + 1)]


def test_expires_rules(open_reg):
    s = open_reg()
    c = Client(s.port)
    cid = rand_token(16)
    u1, u2, u3 = ("sip:a1@127.0.0.1:%d" % c.port, "sip:a2@127.0.0.1:%d" %
                  c.port, "sip:a3@127.0.0.1:%d" % c.port)
    t0 = time.time()
    r = c.transact(register_request(c, "alice", call_id=cid, cseq=1,
                   expires=600, contacts=[
                       "<%s>;expires=120" % u1, "<%s>" % u2,
                       "<%s>;expires=99999" % u3]))
    assert (r.code, r.reason) == (200, "OK")
    assert r.get("Contact") == ("<%s>;expires=120, <%s>;expires=600, "
                                "<%s>;expires=7200" % (u1, u2, u3))
    # no Expires anywhere: registrar.default_expires; expires=0 removes
    r = c.transact(register_request(c, "alice", call_id=cid, cseq=2,
                   contacts=["<%s>" % u1, "<%s>;expires=0" % u2]))
    assert r.get("Contact") in ["<%s>;expires=3600, <%s>;expires=%d" %
                                (u1, u3, left)
                                for left in seconds_left(7200, t0)]
    # Expires: 0 removes every contact listed
    r = c.transact(register_request(c, "alice", call_id=cid, cseq=3,
                   expires=0, contacts=["<%s>" % u1, "<%s>" % u3]))
    assert (r.code, r.reason) == (200, "OK")
    assert r.get("Contact") is None
    c.close()


def test_423_interval_too_brief(open_reg):
    s = open_reg()
    c = Client(s.port)
    u = contact_of(c)
    for hdrs, contact in (({"expires": 30}, "<%s>" % u),
                          ({"expires": 3600}, "<%s>;expires=59" % u)):
        r = c.transact(register_request(c, "alice", contacts=[
            "<sip:other@127.0.0.1:%d>" % c.port, contact], **hdrs))
        assert (r.code, r.reason) == (423, "Interval Too Brief")
        assert r.get("Min-Expires") == "60"
        assert r.get("P-Registrar-Error") == "Expires too brief"
        assert r.get("Contact") is None
    # nothing of the refused requests was stored
    r = c.transact(register_request(c, "alice"))
    assert (r.code, r.reason) == (200, "OK")
    assert r.get("Contact") is None
    # exactly min_expires is fine
    r = c.transact(register_request(c, "alice", expires=60,
                                    contacts=["<%s>" % u]))
    assert r.get("Contact") == "<%s>;expires=60" % u
    c.close()


def test_contact_star(open_reg):
    s = open_reg()
    c = Client(s.port)
    cid = rand_token(16)
    u = contact_of(c)
    r = c.transact(register_request(c, "alice", call_id=cid, cseq=1,
                                    contacts=["<%s>" % u]))
    assert r.get("Contact") == "<%s>;expires=3600" % u
    for n, (expires, contacts, err) in enumerate((
            (3600, ["*"], "* used in contact and expires is not zero"),
            (None, ["*"], "* used in contact and expires is not zero"),
            (0, ["*", "<%s>" % u], "* used in contact and more than 1 "
             "contact"),
            (0, ["*, <%s>" % u], "* used in contact and more than 1 "
             "contact"))):
        r = c.transact(register_request(c, "alice", call_id=cid, cseq=2 + n,
                                        expires=expires, contacts=contacts))
        assert (r.code, r.reason) == (400, "Bad Request - " + err)
        assert r.get("P-Registrar-Error") == err
    r = c.transact(register_request(c, "alice", call_id=cid, cseq=10,
                                    expires=0, contacts=["*"]))
    assert (r.code, r.reason) == (200, "OK")
    assert r.get("Contact") is None
    r = c.transact(register_request(c, "alice"))
    assert r.get("Contact") is None
    c.close()


def test_cseq_rules(open_reg):
    s = open_reg()
    c = Client(s.port)
    cid = rand_token(16)
    u = contact_of(c)
    r = c.transact(register_request(c, "alice", call_id=cid, cseq=5,
                                    contacts=["<%s>" % u]))
    assert (r.code, r.reason) == (200, "OK")
    r = c.transact(register_request(c, "alice", call_id=cid, cseq=4,
                                    contacts=["<%s>" % u]))
    assert (r.code, r.reason) == (400, "Bad Request - Invalid CSeq number")
    assert r.get("P-Registrar-Error") == "Invalid CSeq number"
    # same CSeq at once: a retransmission, answered 200 again
    r = c.transact(register_request(c, "alice", call_id=cid, cseq=5,
                                    contacts=["<%s>" % u]))
    assert (r.code, r.reason) == (200, "OK")
    assert r.get("Contact") == "<%s>;expires=3600" % u
    r = c.transact(register_request(c, "alice", call_id=cid, cseq=6,
                                    expires=300, contacts=["<%s>" % u]))
    assert r.get("Contact") == "<%s>;expires=300" % u
    # another Call-ID may start low
    r = c.transact(register_request(c, "alice", cseq=1, expires=200,
                                    contacts=["<%s>" % u]))
    assert (r.code, r.reason) == (200, "OK")
    assert r.get("Contact") == "<%s>;expires=200" % u
    c.close()


def test_max_contacts(open_reg):
    s = open_reg(extra={"registrar.max_contacts": "2"})
    c = Client(s.port)
    us = ["sip:m%d@127.0.0.1:%d" % (i, c.port) for i in range(3)]
    r = c.transact(register_request(c, "alice", contacts=[
        "<%s>" % us[0], "<%s>" % us[1]]))
    assert r.get("Contact") == ("<%s>;expires=3600, <%s>;expires=3600" %
                                (us[0], us[1]))
    r = c.transact(register_request(c, "alice", contacts=["<%s>" % us[2]]))
    assert (r.code, r.reason) == (503, "Service Unavailable")
    assert r.get("P-Registrar-Error") == "Too many registered contacts"
    assert r.get("Contact") == ("<%s>;expires=3600, <%s>;expires=3600" %
                                (us[0], us[1]))
    # a refresh of a known binding is fine, another AoR too
    r = c.transact(register_request(c, "alice", expires=100,
                                    contacts=["<%s>" % us[1]]))
    assert r.get("Contact") == ("<%s>;expires=3600, <%s>;expires=100" %
                                (us[0], us[1]))
    r = c.transact(register_request(c, "bob", contacts=["<%s>" % us[2]]))
    assert (r.code, r.reason) == (200, "OK")
    c.close()


def test_table_full(open_reg):
    s = open_reg(extra={"usrloc.max_contacts": "2"})
    c = Client(s.port)
    for user in ("alice", "bob"):
        r = c.transact(register_request(c, user, contacts=[
            "<%s>" % contact_of(c, user)]))
        assert (r.code, r.reason) == (200, "OK")
    r = c.transact(register_request(c, "watson", contacts=[
        "<%s>" % contact_of(c, "watson")]))
    assert (r.code, r.reason) == (503, "Service Unavailable")
    assert r.get("P-Registrar-Error") == "Location table full"
    assert r.get("Contact") is None
    # never a 200 for what was not stored
    r = c.transact(register_request(c, "watson"))
    assert (r.code, r.reason) == (200, "OK")
    assert r.get("Contact") is None
    c.close()


def test_q_values(open_reg):
    s = open_reg()
    c = Client(s.port)
    u = ["sip:q%d@127.0.0.1:%d" % (i, c.port) for i in range(4)]
    r = c.transact(register_request(c, "alice", contacts=[
        "<%s>;q=0.5" % u[0], "<%s>" % u[1], "<%s>;q=1" % u[2],
        "<%s>;q=0.125" % u[3]]))
    assert (r.code, r.reason) == (200, "OK")
    assert r.get("Contact") == (
        "<%s>;q=1;expires=3600, <%s>;q=0.5;expires=3600, "
        "<%s>;q=0.125;expires=3600, <%s>;expires=3600" %
        (u[2], u[0], u[3], u[1]))
    for bad in ("1.5", "2", "0.1234", "x", "-1"):
        r = c.transact(register_request(c, "alice", contacts=[
            "<%s>;q=%s" % (u[0], bad)]))
        assert (r.code, r.reason) == (400, "Bad Request - Invalid q param "
                                      "in contact"), bad
        assert r.get("P-Registrar-Error") == "Invalid q param in contact"
    c.close()


def _nat_contacts(c):
    return ["sip:alice@192.0.2.7:5060",
            "sip:alice@127.0.0.1:%d" % (c.port + 1 if c.port < 65535 else 1),
            contact_of(c)]


def test_received_when_behind_nat(open_reg):
    """nat_detect auto: the top Via's port is not the source port (a NAT
    rewrote it), so every Contact that is not the source keeps received
    and is reached through it."""
    s = open_reg()
    c = Client(s.port)
    nat, same_ip_other_port, own = _nat_contacts(c)
    r = c.transact(register_request(c, "alice", contacts=[
        "<%s>" % u for u in (nat, same_ip_other_port, own)],
        via=natted_via(c, 5060)))
    recv = ';received="sip:127.0.0.1:%d"' % c.port
    assert r.get("Contact") == (
        "<%s>;expires=3600%s, <%s>;expires=3600%s, <%s>;expires=3600" %
        (nat, recv, same_ip_other_port, recv, own))
    c.close()


def test_third_party_registration_keeps_contact(open_reg):
    """nat_detect auto: the Via is the source (no NAT on the way), so
    Contacts of other hosts and ports are stored as given (RFC 3261
    §10.2), without received."""
    s = open_reg()
    c = Client(s.port)
    contacts = _nat_contacts(c)
    r = c.transact(register_request(c, "alice", contacts=[
        "<%s>" % u for u in contacts]))
    assert r.get("Contact") == ", ".join(
        "<%s>;expires=3600" % u for u in contacts)
    c.close()


def test_private_contact_from_public_source_gets_received(open_reg):
    """nat_detect auto: a private Contact (RFC 1918) while the source is
    not private is a NAT too, Via or no Via."""
    s = open_reg()
    c = Client(s.port)
    r = c.transact(register_request(c, "alice", contacts=[
        "<sip:alice@192.168.1.20:5060>"]))
    assert r.get("Contact") == (
        '<sip:alice@192.168.1.20:5060>;expires=3600;'
        'received="sip:127.0.0.1:%d"' % c.port)
    c.close()


@pytest.mark.parametrize("mode,natted,received", [
    ("always", False, True), ("never", True, False), ("auto", True, True),
    ("auto", False, False)])
def test_nat_detect_modes(open_reg, mode, natted, received):
    s = open_reg({"registrar.nat_detect": mode})
    c = Client(s.port)
    u = "sip:alice@192.0.2.7:5060"
    r = c.transact(register_request(c, "alice", contacts=["<%s>" % u],
                                    via=natted_via(c, 5060) if natted
                                    else None))
    recv = ';received="sip:127.0.0.1:%d"' % c.port if received else ""
    assert r.get("Contact") == "<%s>;expires=3600%s" % (u, recv)
    out = s.mictl("cfg.get", "registrar", "nat_detect")
    assert out.returncode == 0 and mode in out.stdout, out
    c.close()


def test_cfg_set_registrar_keys_seen_at_once(open_reg):
    """registrar.*_expires and nat_detect change at run time (cfg.set)
    for every worker at its next REGISTER, no restart; an order that the
    config file could not hold is refused and changes nothing."""
    s = open_reg()
    workers = s.worker_pids()
    c = Client(s.port)
    u = "<sip:alice@192.0.2.7:5060>"
    assert s.mictl("cfg.set", "registrar", "min_expires", "120"
                   ).returncode == 0
    for _ in range(4):                  # each worker
        r = c.transact(register_request(c, "alice", contacts=[u],
                                        expires=100))
        assert (r.code, r.get("Min-Expires")) == (423, "120"), r.raw
    r = s.mictl("cfg.set", "registrar", "min_expires", "4000")
    assert r.returncode == 1
    assert r.stdout.startswith("error: 400 - cfg.set: registrar.min_expires"
                               ": need registrar.min_expires (4000) <= "
                               "registrar.default_expires (3600)"), r.stdout
    assert s.mictl("cfg.get", "registrar", "min_expires").stdout.strip() \
        == "120"
    assert s.mictl("cfg.set", "registrar", "max_expires", "7000"
                   ).returncode == 0
    r = c.transact(register_request(c, "alice", contacts=[u], expires=9999))
    assert r.get("Contact") == u + ";expires=7000"
    assert s.mictl("cfg.set", "registrar", "nat_detect", "always"
                   ).returncode == 0
    for i in range(4):
        v = "<sip:alice@192.0.2.%d:5060>" % (20 + i)
        r = c.transact(register_request(c, "alice", contacts=[v],
                                        call_id="nat%d" % i))
        assert v + ';expires=3600;received="sip:127.0.0.1:%d"' % c.port \
            in r.get("Contact"), r.get("Contact")
    r = s.mictl("cfg.set", "registrar", "nat_detect", "sometimes")
    assert r.stdout.startswith("error: 400 - cfg.set: registrar.nat_detect"
                               ": bad value"), r.stdout
    assert s.worker_pids() == workers       # nobody restarted
    c.close()


def test_cfg_set_log_level_and_nonce_expire(reg):
    """log.level and auth.nonce_expire change at run time in every
    process: workers stop writing debug lines, and a nonce made after
    the change lives auth.nonce_expire seconds."""
    s = reg(extra={"log.level": "debug"})
    c = Client(s.port)
    first, ok = register(c, "alice", "secret-a",
                         contacts=["<%s>" % contact_of(c)])
    assert ok.code == 200
    assert "registrar: REGISTER from" in s.log_text()
    assert s.mictl("cfg.set", "log", "level", "warning").returncode == 0
    mark = len(s.log_text())
    assert s.mictl("cfg.set", "auth", "nonce_expire", "1").returncode == 0
    cid = rand_token(16)
    chal = check_401(c.transact(register_request(
        c, "alice", call_id=cid, contacts=["<%s>" % contact_of(c)])))[0]
    time.sleep(2.2)        # the nonce's lifetime is what is under test
    r = c.transact(register_request(
        c, "alice", call_id=cid, cseq=2, contacts=["<%s>" % contact_of(c)],
        headers=[authorization(chal, "alice", "secret-a")]))
    check_401(r, stale=True)
    assert "debug:" not in s.log_text()[mark:], s.log_text()[mark:]
    r = s.mictl("cfg.set", "log", "level", "loud")
    assert r.returncode == 1 and r.stdout.startswith(
        "error: 400 - cfg.set: log.level: bad value"), r.stdout
    c.close()


def test_fetch(open_reg):
    """No Contact: the current list."""
    s = open_reg()
    c = Client(s.port)
    u = contact_of(c)
    t0 = time.time()
    r = c.transact(register_request(c, "alice", contacts=["<%s>" % u]))
    assert r.get("Contact") == "<%s>;expires=3600" % u
    r = c.transact(register_request(c, "alice"))
    assert (r.code, r.reason) == (200, "OK")
    assert r.get("Contact") in ["<%s>;expires=%d" % (u, left)
                                for left in seconds_left(3600, t0)]
    c.close()


def test_bad_requests(open_reg):
    s = open_reg()
    c = Client(s.port)
    r = c.transact(register_request(c, "alice", contacts=[
        "<%s>;expires=soon" % contact_of(c)]))
    assert (r.code, r.reason) == (400, "Bad Request - Invalid expires "
                                  "param in contact")
    assert r.get("P-Registrar-Error") == "Invalid expires param in contact"
    many = ["<sip:n%d@127.0.0.1>" % i for i in range(17)]
    r = c.transact(register_request(c, "alice", contacts=many))
    assert (r.code, r.reason) == (400, "Bad Request - Too many contacts in "
                                  "one REGISTER")
    long_uri = "<sip:%s@127.0.0.1>" % ("x" * 500)
    r = c.transact(register_request(c, "alice", contacts=[long_uri]))
    assert (r.code, r.reason) == (400, "Bad Request - Contact/received too "
                                  "long")
    r = c.transact(c.request("REGISTER", "sip:127.0.0.1", user="",
                             headers=["Contact: <%s>" % contact_of(c)]))
    # "sip:@127.0.0.1" is no URI: the parser's 400 comes first
    assert r.code == 400 and r.reason.startswith("Bad Request")
    r = c.transact(register_request(c, "alice", headers=["Require: foo, bar"]))
    assert (r.code, r.reason) == (420, "Bad Extension")
    assert r.get("Unsupported") == "foo, bar"
    c.close()


def test_no_user_in_to(open_reg):
    s = open_reg()
    c = Client(s.port)
    data = register_request(c, "alice").replace(
        b"To: <sip:alice@127.0.0.1>", b"To: <sip:127.0.0.1>")
    r = c.transact(data)
    assert (r.code, r.reason) == (400, "Bad Request - No username in To URI")
    assert r.get("P-Registrar-Error") == "No username in To URI"
    c.close()


def test_binding_details_in_ul_dump(open_reg):
    """What the REGISTER stores besides the Contact (ul.dump); the AoR
    is the To user lower-cased."""
    s = open_reg()
    c = Client(s.port)
    r = c.transact(register_request(c, "Carol", contacts=[
        "<sip:alice@192.0.2.9:5070>"], headers=[
        "User-Agent: pytest-ua/1.0", "Allow: INVITE,ACK,BYE,CANCEL,OPTIONS"],
        via=natted_via(c, 5060)))
    assert (r.code, r.reason) == (200, "OK")
    out = s.mictl("ul.dump")
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "\t\tAoR: carol\n" in text
    for line in ("Address: sip:alice@192.0.2.9:5070",
                 "User-Agent: pytest-ua/1.0",
                 "Received: sip:127.0.0.1:%d" % c.port,
                 "Socket: udp:127.0.0.1:%d" % s.port,
                 "Methods: 527", "CSeq: 1", "State: CS_NEW"):
        assert "\t" + line + "\n" in text, (line, text)
    c.close()


# --- RFC 4475 torture REGISTERs --------------------------------------------

def torture(name, client):
    """The file's bytes with the top Via's sent-by set to the client."""
    data = open(os.path.join(TORTURE, name), "rb").read()
    return re.sub(rb"^((?:Via|v)\s*:\s*SIP/2\.0/\w+\s+)[^;\s]+",
                  lambda m: m.group(1) + b"127.0.0.1:%d" % client.port,
                  data, count=1, flags=re.M | re.I)


@pytest.mark.parametrize("name,contacts", [
    ("cparam01.dat", ["sip:+19725552222@gw1.example.net"]),
    ("cparam02.dat", ["sip:+19725552222@gw1.example.net;unknownparam"]),
    ("regescrt.dat", ["sip:user@example.com?Route=%3Csip:sip.example.com%3E"]),
    ("escnull.dat", ["sip:%00@host5.example.com",
                     "sip:%00%00@host5.example.com"]),
])
def test_torture_register_ok(open_reg, name, contacts):
    s = open_reg()
    c = Client(s.port)
    r = c.transact(torture(name, c))
    assert (r.code, r.reason) == (200, "OK")
    # The Via is the source (torture() writes ours): third-party
    # Contacts, kept as given (nat_detect auto).
    assert r.get("Contact") == ", ".join(
        "<%s>;expires=3600" % u for u in contacts)
    c.close()
    # Byte-exact through a flush and a restart (DB_TEXT escaping).
    assert s.stop() == 0
    rows = read_table(s, "location")
    assert sorted(r["contact"] for r in rows) == sorted(contacts)
    s.start()
    stored = dump(s)
    assert sorted(b["Address"] for bs in stored.values() for b in bs) == \
        sorted(contacts)
    assert all(b["State"] == "CS_SYNC" for bs in stored.values() for b in bs)


def test_torture_dblreq_one_reply(open_reg):
    s = open_reg()
    c = Client(s.port)
    r = c.transact(torture("dblreq.dat", c))
    assert (r.code, r.reason) == (200, "OK")
    assert r.get("Contact") == '<sip:j.user@host.example.com>;expires=3600'
    assert c.recv(timeout=1.0) is None
    c.close()


def test_torture_unksm2(open_reg):
    s = open_reg()
    c = Client(s.port)
    r = c.transact(torture("unksm2.dat", c))
    assert (r.code, r.reason) == (400, "Bad Request - AoR not a SIP URI")
    assert r.get("P-Registrar-Error") == "AoR not a SIP URI"
    c.close()


def test_torture_regaut01(reg):
    s = reg()
    c = Client(s.port)
    r = c.transact(torture("regaut01.dat", c))
    assert (r.code, r.reason) == (401, "Unauthorized")
    assert re.fullmatch(r'Digest realm="example\.com", nonce="%s", '
                        r'qop="auth", algorithm=MD5' % NONCE_RE,
                        r.get("WWW-Authenticate"))
    assert c.recv(timeout=0.5) is None
    c.close()
