"""Proxy (SPEC §5, RFC 3261 §16/§17, stateful): calls through sipd.

A fake gateway (a UDP socket on 127.0.0.1, pstn.gw_ip/gw_port pointing at
it) and fake UAs registered through the registrar exchange the messages
of the seed's three call paths (UA -> GW, GW -> UA, UA1 -> GW -> UA2)
through the real sipd. Every hop is checked exactly: the Via stack,
Record-Route and Route, the Request-URI, Max-Forwards, credentials.

Every request but ACK and REGISTER gets a server transaction. sipd's
branch on a forwarded request is sipd_branch() in sipd_helpers.py (a
hash of the incoming top Via branch and sent-by, Call-ID and CSeq
number, 25 characters) + "." + 13 hex digits (transaction cell and
branch, not asserted); the ACK of a 2xx is stateless and keeps the bare
25-character branch. A forwarded INVITE gets "100 Trying" at once; sipd
ACKs every non-2xx final reply downstream itself and absorbs the UA's
ACK of a non-2xx reply; a CANCEL is answered by sipd and sent on by it.

test_tm.py holds the transaction-layer tests proper (forking, timers,
retransmissions, CANCEL cases); the helpers both use are in sipd_helpers.py.
"""
import re

from sipcli import (Client, natted_via, parse_challenge,
                    proxy_authorization, rand_token, register)
from sipd_helpers import (GW_NUM, SDP, TRUSTED, USERS, Call, Px, answer,
                          authed_invite, build, check_forwarded_invite,
                          check_sipd_ack, check_sipd_cancel, gw_invite,
                          reply_to, seen_via, sipd_branch, via_of, vias,
                          write_tables)

BACKENDS = ("text", "sqlite")   # conftest.py: every test on both


# --- the three call paths --------------------------------------------------

def test_ua_to_gateway_with_407(px):
    p = px()
    alice = p.ua("alice")
    gw = p.gw
    call = Call(alice, "sip:%s@%s" % (GW_NUM, p.me), "alice")
    cred = authed_invite(p, alice, call, "alice", "secret-a")
    p.expect_100(alice, call)
    inv = p.recv(gw)
    # the ACK of the 407 ended at sipd: the first thing here is the INVITE
    assert inv.method == "INVITE"
    assert inv.ruri == "sip:%s@127.0.0.1:%d" % (GW_NUM, gw.port)
    check_forwarded_invite(p, inv, call, alice)
    assert inv.get("Proxy-Authorization") is None
    assert cred.split(":", 1)[1].strip() not in inv.raw.decode()

    # the gateway's 100 stays at sipd; its 180 goes on
    reply_to(gw, inv, 100, "Trying", None)
    reply_to(gw, inv, 180, "Ringing", "gwtag", gw, user="gw")
    r = p.recv(alice)
    assert r.code == 180
    assert vias(r) == [seen_via(alice, call.branch)]
    assert r.all("Record-Route") == [p.rr]
    reply_to(gw, inv, 200, "OK", "gwtag", gw, SDP, user="gw")
    ok = p.recv(alice)
    assert ok.code == 200 and ok.body == SDP
    assert vias(ok) == [seen_via(alice, call.branch)]

    # ACK (stateless, the bare 25-character branch) and BYE (stateful)
    # follow the route set; sipd strips itself
    alice.send(call.in_dialog("ACK", ok, call.cseq))
    ack = p.recv(gw)
    assert ack.method == "ACK"
    assert ack.ruri == "sip:gw@127.0.0.1:%d" % gw.port
    assert ack.get("Route") is None
    assert ack.get("Record-Route") is None
    assert ack.get("Max-Forwards") == "69"
    assert vias(ack) == [
        p.our_via(call.last_branch, "127.0.0.1", alice.port, call.call_id,
                  call.cseq),
        seen_via(alice, call.last_branch)]
    alice.send(call.in_dialog("BYE", ok, call.cseq + 1))
    bye = p.recv(gw)
    assert bye.method == "BYE" and bye.get("Route") is None
    v = vias(bye)
    assert len(v) == 2
    p.check_our_via(v[0], call.last_branch, "127.0.0.1", alice.port,
                    call.call_id, call.cseq + 1)
    assert v[1] == seen_via(alice, call.last_branch)
    reply_to(gw, bye, 200, "OK", None)
    r = p.recv(alice)
    assert r.code == 200 and r.get("CSeq") == "%d BYE" % (call.cseq + 1)
    assert vias(r) == [seen_via(alice, call.last_branch)]
    p.quiet(gw)
    p.quiet(alice)


def test_gateway_to_ua(px):
    p = px()
    bob = p.ua("bob")
    gw = p.gw
    call = gw_invite(p, "bob")
    p.expect_100(gw, call)
    inv = p.recv(bob)
    assert inv.method == "INVITE"
    assert inv.ruri == "sip:bob@127.0.0.1:%d" % bob.port
    check_forwarded_invite(p, inv, call, gw)
    reply_to(bob, inv, 180, "Ringing", "bobtag", bob, user="bob")
    assert p.recv(gw).code == 180
    reply_to(bob, inv, 200, "OK", "bobtag", bob, SDP, user="bob")
    ok = p.recv(gw)
    assert ok.code == 200
    assert vias(ok) == [seen_via(gw, call.branch)]
    gw.send(call.in_dialog("ACK", ok, 1))
    ack = p.recv(bob)
    assert ack.method == "ACK" and ack.get("Route") is None
    assert ack.ruri == "sip:bob@127.0.0.1:%d" % bob.port
    assert vias(ack)[0] == p.our_via(call.last_branch, "127.0.0.1", gw.port,
                                     call.call_id, 1)

    # re-INVITE from the gateway (a transaction: 100 first), then BYE
    # from the callee (the route set seen from bob's side is the
    # Record-Route in order)
    gw.send(call.in_dialog("INVITE", ok, 2, SDP))
    r = p.recv(gw)
    assert (r.code, r.get("CSeq")) == (100, "2 INVITE")
    re_inv = p.recv(bob)
    assert re_inv.method == "INVITE" and re_inv.get("Route") is None
    assert re_inv.get("CSeq") == "2 INVITE"
    p.check_our_via(vias(re_inv)[0], call.last_branch, "127.0.0.1", gw.port,
                    call.call_id, 2)
    reply_to(bob, re_inv, 200, "OK", None, bob, SDP, user="bob")
    ok2 = p.recv(gw)
    assert ok2.code == 200 and ok2.get("CSeq") == "2 INVITE"
    gw.send(call.in_dialog("ACK", ok, 2))
    assert p.recv(bob).method == "ACK"

    bye = build("BYE sip:%s@127.0.0.1:%d SIP/2.0" % (GW_NUM, gw.port), [
        "Via: " + via_of(bob, "z9hG4bKbye1"), "Max-Forwards: 70",
        "From: " + ok.get("To"), "To: " + ok.get("From"),
        "Call-ID: " + call.call_id, "CSeq: 1 BYE", "Route: " + p.rr])
    bob.send(bye)
    b = p.recv(gw)
    assert b.method == "BYE" and b.get("Route") is None
    v = vias(b)
    assert len(v) == 2
    p.check_our_via(v[0], "z9hG4bKbye1", "127.0.0.1", bob.port, call.call_id,
                    1)
    assert v[1] == seen_via(bob, "z9hG4bKbye1")
    reply_to(gw, b, 200, "OK", None)
    r = p.recv(bob)
    assert r.code == 200 and r.get("CSeq") == "1 BYE"
    p.quiet(bob)
    p.quiet(gw)


def test_ua_to_gateway_to_ua(px):
    """UA1 -> sipd -> TM.IP (a B2BUA) -> sipd -> UA2."""
    p = px()
    alice = p.ua("alice")
    bob = p.ua("bob")
    gw = p.gw
    a = Call(alice, "sip:bob@%s" % p.me, "alice")
    authed_invite(p, alice, a, "alice", "secret-a")
    p.expect_100(alice, a)
    inv_a = p.recv(gw)
    assert inv_a.ruri == "sip:bob@127.0.0.1:%d" % gw.port
    check_forwarded_invite(p, inv_a, a, alice)
    # the gateway's other leg, a new call
    b = gw_invite(p, "bob")
    p.expect_100(gw, b)
    inv_b = p.recv(bob)
    assert inv_b.ruri == "sip:bob@127.0.0.1:%d" % bob.port
    check_forwarded_invite(p, inv_b, b, gw)
    reply_to(bob, inv_b, 180, "Ringing", "t2", bob, user="bob")
    r = p.recv(gw)
    assert r.code == 180 and r.get("Call-ID") == b.call_id
    reply_to(gw, inv_a, 180, "Ringing", "t1", gw, user="gw")
    r = p.recv(alice)
    assert r.code == 180 and r.get("Call-ID") == a.call_id
    reply_to(bob, inv_b, 200, "OK", "t2", bob, SDP, user="bob")
    ok_b = p.recv(gw)
    assert ok_b.code == 200 and ok_b.get("Call-ID") == b.call_id
    reply_to(gw, inv_a, 200, "OK", "t1", gw, SDP, user="gw")
    ok_a = p.recv(alice)
    assert ok_a.code == 200 and ok_a.get("Call-ID") == a.call_id
    alice.send(a.in_dialog("ACK", ok_a, a.cseq))
    assert p.recv(gw).method == "ACK"
    gw.send(b.in_dialog("ACK", ok_b, 1))
    assert p.recv(bob).method == "ACK"
    alice.send(a.in_dialog("BYE", ok_a, a.cseq + 1))
    bye_a = p.recv(gw)
    assert bye_a.method == "BYE" and bye_a.get("Call-ID") == a.call_id
    gw.send(b.in_dialog("BYE", ok_b, 2))
    bye_b = p.recv(bob)
    assert bye_b.method == "BYE" and bye_b.get("Call-ID") == b.call_id
    reply_to(bob, bye_b, 200, "OK", None)
    r = p.recv(gw)
    assert r.code == 200 and r.get("CSeq") == "2 BYE"
    reply_to(gw, bye_a, 200, "OK", None)
    r = p.recv(alice)
    assert r.code == 200 and r.get("CSeq") == "%d BYE" % (a.cseq + 1)
    for peer in (alice, bob, gw):
        p.quiet(peer)


# --- CANCEL, busy, policy outcomes -----------------------------------------

def test_cancel_before_answer(px):
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
    # sipd answers the CANCEL itself and sends its own downstream
    r = p.recv(trusty)
    assert (r.code, r.get("CSeq")) == (200, "1 CANCEL")
    assert vias(r) == [seen_via(trusty, call.branch)]
    can = p.recv(gw)
    check_sipd_cancel(can, inv)
    reply_to(gw, can, 200, "OK", "gt")      # stays at sipd
    reply_to(gw, inv, 487, "Request Terminated", "gt")
    ack = p.recv(gw)                         # sipd ACKs the 487 itself
    r = p.recv(trusty)
    assert (r.code, r.get("CSeq")) == (487, "1 INVITE")
    assert vias(r) == [seen_via(trusty, call.branch)]
    check_sipd_ack(ack, inv, r)
    trusty.send(call.ack_non2xx(r))          # absorbed
    p.quiet(gw, 0.6)
    p.quiet(trusty, 0.3)


def test_busy_callee(px):
    p = px()
    bob = p.ua("bob")
    gw = p.gw
    call = gw_invite(p, "bob")
    p.expect_100(gw, call)
    inv = p.recv(bob)
    reply_to(bob, inv, 486, "Busy Here", "busy")
    ack = p.recv(bob)                        # sipd's ACK of the 486
    r = p.recv(gw)
    assert (r.code, r.reason) == (486, "Busy Here")
    assert vias(r) == [seen_via(gw, call.branch)]
    assert r.get("To") == inv.get("To") + ";tag=busy"
    check_sipd_ack(ack, inv, r)
    gw.send(call.ack_non2xx(r))              # absorbed
    p.quiet(bob, 0.6)
    p.quiet(gw, 0.3)


def test_trusted_source_not_challenged(px):
    p = px()
    trusty = Client(p.s.port)
    call = Call(trusty, "sip:%s@%s" % (GW_NUM, p.me), "trusty")
    trusty.send(call.invite(mf=None))
    p.expect_100(trusty, call)
    inv = p.recv(p.gw)
    assert inv.ruri == "sip:%s@127.0.0.1:%d" % (GW_NUM, p.gw.port)
    # no Max-Forwards: sipd adds 70 (RFC 3261 §16.6 step 3)
    check_forwarded_invite(p, inv, call, trusty, mf=70)
    p.quiet(trusty)


def test_auth_user_not_from_user_403(px):
    p = px()
    alice = p.ua("alice")
    call = Call(alice, "sip:%s@%s" % (GW_NUM, p.me), "bob")
    alice.send(call.invite())
    r = p.recv(alice)
    assert r.code == 407
    chal = parse_challenge(r.get("Proxy-Authenticate"))
    alice.send(call.ack_non2xx(r))
    call.cseq += 1
    call.branch = "z9hG4bK" + rand_token()
    alice.send(call.invite(extra=[proxy_authorization(
        chal, "alice", "secret-a", "INVITE", call.ruri)]))
    r = p.recv(alice)                        # no 100 before it
    assert (r.code, r.reason) == (403, "Forbidden auth ID")
    alice.send(call.ack_non2xx(r))
    p.quiet(p.gw)
    p.quiet(alice)


def test_wrong_password_challenged_again(px):
    p = px()
    alice = p.ua("alice")
    call = Call(alice, "sip:%s@%s" % (GW_NUM, p.me), "alice")
    alice.send(call.invite())
    r = p.recv(alice)
    assert r.code == 407
    alice.send(call.ack_non2xx(r))
    chal = parse_challenge(r.get("Proxy-Authenticate"))
    call.cseq += 1
    call.branch = "z9hG4bK" + rand_token()
    alice.send(call.invite(extra=[proxy_authorization(
        chal, "alice", "wrong", "INVITE", call.ruri)]))
    r = p.recv(alice)
    assert r.code == 407
    assert vias(r) == [seen_via(alice, call.branch)]
    alice.send(call.ack_non2xx(r))
    p.quiet(p.gw)
    p.quiet(alice)


def test_unregistered_480_unknown_404(px):
    p = px()
    for user, code, reason in (("Carol", 480, "Temporarily Unavailable"),
                               ("nobody", 404, "Not Found")):
        call = gw_invite(p, user)
        r = p.recv(p.gw)                     # no 100: sipd answers itself
        assert (r.code, r.reason) == (code, reason), user
        assert vias(r) == [seen_via(p.gw, call.branch)]
        # the gateway's ACK of sipd's own reply goes nowhere
        p.gw.send(call.ack_non2xx(r))
        p.quiet(p.gw)


def test_message_to_registered_user(px):
    p = px()
    bob = p.ua("bob")
    trusty = Client(p.s.port)
    msg = build("MESSAGE sip:bob@%s SIP/2.0" % p.me, [
        "Via: " + via_of(trusty, "z9hG4bKmsg1"), "Max-Forwards: 10",
        "From: <sip:trusty@127.0.0.1>;tag=1", "To: <sip:bob@127.0.0.1>",
        "Call-ID: msg1@x", "CSeq: 1 MESSAGE",
        "Content-Type: text/plain"], b"hi")
    trusty.send(msg)
    m = p.recv(bob)
    assert m.method == "MESSAGE" and m.body == b"hi"
    assert m.ruri == "sip:bob@127.0.0.1:%d" % bob.port
    assert m.get("Record-Route") is None
    assert m.get("Max-Forwards") == "9"
    v = vias(m)
    assert len(v) == 2
    p.check_our_via(v[0], "z9hG4bKmsg1", "127.0.0.1", trusty.port,
                    "msg1@x", 1)
    reply_to(bob, m, 200, "OK", "b")
    r = p.recv(trusty)                       # no 100 for a non-INVITE
    assert r.code == 200 and vias(r) == [seen_via(trusty, "z9hG4bKmsg1")]


def test_third_party_binding_reached_at_contact(px):
    """REGISTER from another socket than the Contact, the Via being the
    source (no NAT): the Contact is stored as given and calls go to it
    (SPEC §5, nat_detect auto; RFC 3261 §10.2)."""
    p = px()
    elsewhere = Client(p.s.port)
    bob = p.ua("bob", contact_port=elsewhere.port)
    gw_invite(p, "bob")
    inv = p.recv(elsewhere)
    assert inv.ruri == "sip:bob@127.0.0.1:%d" % elsewhere.port
    p.quiet(bob)


def test_binding_with_received_reached_at_source(px):
    """REGISTER through a NAT (the Via's port is not the source port):
    received is stored and requests go to the source address, the
    R-URI staying the Contact (SPEC §5)."""
    p = px()
    bob = Client(p.s.port)
    contact = "<sip:bob@127.0.0.1:%d>" % (bob.port + 1)
    _, r = register(bob, "bob", dict(USERS)["bob"], contacts=[contact],
                    via=natted_via(bob, bob.port + 1))
    assert r is not None and r.code == 200, r
    gw_invite(p, "bob")
    inv = p.recv(bob)
    assert inv.ruri == "sip:bob@127.0.0.1:%d" % (bob.port + 1)


def test_in_dialog_without_route_to_sipd_404(px):
    p = px()
    c = Client(p.s.port)
    r = c.transact(c.request("BYE", "sip:bob@%s" % p.me, to_tag="x",
                             user="trusty"))
    assert (r.code, r.reason) == (404, "Not Found")


def test_stray_responses_dropped(px):
    """Responses that match no transaction of sipd's are dropped; the
    control is a real transaction (a MESSAGE to bob) whose 200 comes
    back."""
    p = px()
    bob = p.ua("bob")
    c = Client(p.s.port)
    cid = "stray@x"
    for top in ("SIP/2.0/UDP %s;branch=z9hG4bKsd0000000000000000" % p.me,
                "SIP/2.0/UDP %s;branch=z9hG4bKsd0000000000000000"
                ".0000000000000" % p.me,
                "SIP/2.0/UDP %s;branch=z9hG4bKother" % p.me,
                "SIP/2.0/UDP 127.0.0.1:1;branch=%s" % sipd_branch(
                    "z9hG4bKa", "127.0.0.1", c.port, cid, 1)):
        c.send(build("SIP/2.0 200 OK", [
            "Via: " + top, "Via: " + via_of(c, "z9hG4bKa"),
            "From: <sip:a@x>;tag=1", "To: <sip:b@x>;tag=2",
            "Call-ID: " + cid, "CSeq: 1 INVITE"]))
    p.quiet(c)
    # the control: a response to a request sipd really forwarded
    c.send(build("MESSAGE sip:bob@%s SIP/2.0" % p.me, [
        "Via: " + via_of(c, "z9hG4bKa"), "Max-Forwards: 70",
        "From: <sip:trusty@127.0.0.1>;tag=1", "To: <sip:bob@127.0.0.1>",
        "Call-ID: " + cid, "CSeq: 1 MESSAGE"], b"x"))
    m = p.recv(bob)
    assert m.method == "MESSAGE"
    # a copy of bob's answer whose sipd branch has a wrong cell suffix
    good = vias(m)[0]
    bad = re.sub(r"\.[0-9a-f]{13}$", ".fffffffffffff", good)
    resp = answer(m, 200, "OK", "b2")
    c.send(resp.replace(good.encode(), bad.encode()))
    p.quiet(c)
    bob.send(resp)
    r = p.recv(c)
    assert r.code == 200 and vias(r) == [seen_via(c, "z9hG4bKa")]


def test_response_to_broadcast_via_dropped(px):
    """bcast.dat's case: a response whose next Via is a broadcast or
    multicast address is never sent there (here: it matches no
    transaction either, and nothing comes back)."""
    p = px()
    c = Client(p.s.port)
    for nxt in ("SIP/2.0/UDP 255.255.255.255;branch=z9hG4bK1saber23",
                "SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK1saber23;"
                "received=224.0.0.1;rport=%d" % (c.port, c.port)):
        host, port = ("255.255.255.255", 0) if nxt.startswith(
            "SIP/2.0/UDP 255") else ("127.0.0.1", c.port)
        top = "SIP/2.0/UDP %s;branch=%s" % (p.me, sipd_branch(
            "z9hG4bK1saber23", host, port, "bcast@x", 35))
        c.send(build("SIP/2.0 200 OK", [
            "Via: " + top, "Via: " + nxt, "From: <sip:a@x>;tag=1",
            "To: <sip:b@x>;tag=2", "Call-ID: bcast@x", "CSeq: 35 INVITE"]))
    p.quiet(c)
    r = c.transact(c.request("OPTIONS", "sip:%s" % p.me))
    assert r is not None and r.code == 200


def test_no_gateway_invite_goes_to_user(sipd_factory):
    s = sipd_factory()
    write_tables(s, USERS, TRUSTED)
    s.start()
    p = Px(s, None)
    bob = p.ua("bob")
    trusty = Client(s.port)
    call = Call(trusty, "sip:bob@%s" % p.me, "trusty")
    trusty.send(call.invite())
    p.expect_100(trusty, call)
    inv = p.recv(bob)
    assert inv.ruri == "sip:bob@127.0.0.1:%d" % bob.port
    check_forwarded_invite(p, inv, call, trusty)
