"""Issue 10: the attacks that once took sipd down, kept as tests.

Each test drives the real sipd on 127.0.0.1 the way an attacker or a
fault injector did and checks that every request still gets exactly one
final answer, that nothing is lost, and that bounded loops end.
"""
from sipcli import Client, register
from sipd_helpers import (Call, GW_NUM, USERS, build, check_sipd_cancel,
                          reply_to, seen_via, vias)


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
