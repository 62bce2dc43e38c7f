"""Transaction layer (SPEC §5, RFC 3261 §16/§17) against the real sipd.

The same fake gateway and registered fake UAs as test_proxy.py (both
use sipd_helpers.py), here to check what the transaction table
does: 100 Trying, retransmissions absorbed and answered from the
transaction, sipd's own retransmissions (T1 0.5 s doubling to T2 4 s),
408 after tm.fr_inv_timeout / tm.fr_timeout, parallel forking with the
RFC 3261 §16.7 choice of the response, CANCEL, sipd's ACK of every
non-2xx final reply downstream, the UA's ACK of a non-2xx reply
absorbed, a full table (503), a killed worker.

Nothing sleeps for a fixed time where a message can be waited for; the
silences asserted are just longer than the retransmission interval they
would show.
"""
import os
import re
import signal
import time

import pytest

from sipcli import Client, Response, register, rand_token
from sipd_helpers import (GW_NUM, SDP, BRANCH_RE, Call, answer,
                          authed_invite, branch_of, build,
                          check_forwarded_invite, check_sipd_ack,
                          check_sipd_cancel, gw_invite, reply_to, seen_via,
                          stats, via_of, vias)


def _resp(raw):
    return Response(raw)


def gw_ruri(p):
    return "sip:%s@127.0.0.1:%d" % (GW_NUM, p.gw.port)


def ua_ruri(user, peer):
    return "sip:%s@127.0.0.1:%d" % (user, peer.port)


def to_tag(m):
    t = re.search(r";tag=([^;>\s]+)", m.get("To") or "")
    return t.group(1) if t else None


def complete_call(p, caller, call, callee, ruri, callee_user="x",
                  bye_from_callee=False):
    """The rest of a call whose INVITE the caller has just sent (with
    credentials when needed): sipd's 100 at the caller, the INVITE at the
    callee, the callee's own 100 kept at sipd, 180, 200, the ACK
    (stateless) and a BYE with its 200 (through sipd, stateful)."""
    p.expect_100(caller, call)
    inv = p.recv(callee)
    assert inv.method == "INVITE" and inv.ruri == ruri, (inv, inv.raw)
    check_forwarded_invite(p, inv, call, caller)
    tag = rand_token(6)
    reply_to(callee, inv, 100, "Trying", None)
    reply_to(callee, inv, 180, "Ringing", tag, callee, user=callee_user)
    r = p.recv(caller)          # the callee's 100 stays at sipd
    assert (r.code, r.get("CSeq")) == (180, "%d INVITE" % call.cseq), r.raw
    assert vias(r) == [seen_via(caller, call.branch)]
    assert r.all("Record-Route") == [p.rr]
    reply_to(callee, inv, 200, "OK", tag, callee, SDP, user=callee_user)
    ok = p.recv(caller)
    assert (ok.code, ok.get("CSeq")) == (200, "%d INVITE" % call.cseq)
    assert ok.body == SDP and to_tag(ok) == tag
    assert vias(ok) == [seen_via(caller, call.branch)]
    assert ok.all("Record-Route") == [p.rr]

    caller.send(call.in_dialog("ACK", ok, call.cseq))
    ack = p.recv(callee)
    assert ack.method == "ACK" and ack.ruri == "sip:%s@127.0.0.1:%d" % (
        callee_user, callee.port)
    assert ack.get("Route") is None
    assert vias(ack) == [
        p.our_via(call.last_branch, "127.0.0.1", caller.port, call.call_id,
                  call.cseq),
        seen_via(caller, call.last_branch)]

    if bye_from_callee:
        # the callee's route set is the Record-Route in order
        bb = "z9hG4bK" + rand_token()
        callee.send(build("BYE %s SIP/2.0" % call.contact[1:-1], [
            "Via: " + via_of(callee, bb), "Max-Forwards: 70",
            "From: " + ok.get("To"), "To: " + ok.get("From"),
            "Call-ID: " + call.call_id, "CSeq: 1 BYE",
            "Route: " + p.rr]))
        bye = p.recv(caller)
        assert bye.method == "BYE" and bye.ruri == call.contact[1:-1]
        assert bye.get("Route") is None
        v = vias(bye)
        assert len(v) == 2
        p.check_our_via(v[0], bb, "127.0.0.1", callee.port, call.call_id, 1)
        assert v[1] == seen_via(callee, bb)
        reply_to(caller, bye, 200, "OK", None)
        r = p.recv(callee)
        assert (r.code, r.get("CSeq")) == (200, "1 BYE")
        assert vias(r) == [seen_via(callee, bb)]
    else:
        caller.send(call.in_dialog("BYE", ok, call.cseq + 1))
        bye = p.recv(callee)
        assert bye.method == "BYE" and bye.get("Route") is None
        v = vias(bye)
        assert len(v) == 2
        p.check_our_via(v[0], call.last_branch, "127.0.0.1", caller.port,
                        call.call_id, call.cseq + 1)
        reply_to(callee, bye, 200, "OK", None)
        r = p.recv(caller)
        assert (r.code, r.get("CSeq")) == (200, "%d BYE" % (call.cseq + 1))
        assert vias(r) == [seen_via(caller, call.last_branch)]
    return inv, ok


# --- the seed's three call paths, end to end ---------------------------------

def test_path_ua_to_gateway_with_407(px):
    p = px()
    alice = p.ua("alice")
    call = Call(alice, "sip:%s@%s" % (GW_NUM, p.me), "alice")
    authed_invite(p, alice, call, "alice", "secret-a")
    complete_call(p, alice, call, p.gw, gw_ruri(p), callee_user="gw")
    p.quiet(p.gw, 0.6)
    p.quiet(alice)


def test_path_gateway_to_ua(px):
    p = px()
    bob = p.ua("bob")
    call = gw_invite(p, "bob")
    complete_call(p, p.gw, call, bob, ua_ruri("bob", bob), callee_user="bob",
                  bye_from_callee=True)
    p.quiet(bob, 0.6)
    p.quiet(p.gw)


def test_path_ua_to_gateway_to_ua(px):
    """Alice's call reaches the gateway (407 first), the gateway's new leg
    reaches bob; both complete, one after the other."""
    p = px()
    alice = p.ua("alice")
    bob = p.ua("bob")
    a = Call(alice, "sip:bob@%s" % p.me, "alice")
    authed_invite(p, alice, a, "alice", "secret-a")
    p.expect_100(alice, a)
    inv_a = p.recv(p.gw)
    assert inv_a.ruri == "sip:bob@127.0.0.1:%d" % p.gw.port
    check_forwarded_invite(p, inv_a, a, alice)
    reply_to(p.gw, inv_a, 100, "Trying", None)   # stops sipd's copies
    b = gw_invite(p, "bob")
    complete_call(p, p.gw, b, bob, ua_ruri("bob", bob), callee_user="bob")
    reply_to(p.gw, inv_a, 180, "Ringing", "ta", p.gw, user="gw")
    assert p.recv(alice).code == 180
    reply_to(p.gw, inv_a, 200, "OK", "ta", p.gw, SDP, user="gw")
    ok = p.recv(alice)
    assert (ok.code, ok.get("Call-ID")) == (200, a.call_id)
    alice.send(a.in_dialog("ACK", ok, a.cseq))
    assert p.recv(p.gw).method == "ACK"
    alice.send(a.in_dialog("BYE", ok, a.cseq + 1))
    bye = p.recv(p.gw)
    assert bye.method == "BYE" and bye.get("Call-ID") == a.call_id
    reply_to(p.gw, bye, 200, "OK", None)
    assert p.recv(alice).code == 200
    for peer in (alice, bob, p.gw):
        p.quiet(peer)


# --- CANCEL --------------------------------------------------------------------

def test_cancel_before_answer(px):
    p = px()
    bob = p.ua("bob")
    gw = p.gw
    call = gw_invite(p, "bob")
    p.expect_100(gw, call)
    inv = p.recv(bob)
    reply_to(bob, inv, 180, "Ringing", "bt", bob, user="bob")
    assert p.recv(gw).code == 180
    gw.send(call.cancel())
    r = p.recv(gw)
    assert (r.code, r.get("CSeq")) == (200, "1 CANCEL")
    assert vias(r) == [seen_via(gw, call.branch)]
    can = p.recv(bob)
    check_sipd_cancel(can, inv)
    reply_to(bob, can, 200, "OK", "bt")          # stays at sipd
    reply_to(bob, inv, 487, "Request Terminated", "bt")
    ack = p.recv(bob)
    r = p.recv(gw)
    assert (r.code, r.get("CSeq")) == (487, "1 INVITE")
    assert vias(r) == [seen_via(gw, call.branch)]
    assert to_tag(r) == "bt"
    check_sipd_ack(ack, inv, r)
    gw.send(call.ack_non2xx(r))                   # absorbed
    p.quiet(bob, 0.6)
    p.quiet(gw, 0.3)


def test_cancel_before_any_provisional(px):
    """The callee has sent nothing yet: the CANCEL is answered at once but
    goes downstream only when the callee's first provisional arrives."""
    p = px()
    bob = p.ua("bob")
    gw = p.gw
    call = gw_invite(p, "bob")
    p.expect_100(gw, call)
    inv = p.recv(bob)
    gw.send(call.cancel())
    r = p.recv(gw)
    assert (r.code, r.get("CSeq")) == (200, "1 CANCEL")
    # meanwhile bob may see the INVITE again (sipd's retransmission),
    # but no CANCEL
    for m in p.drain(bob, 0.3):
        assert m.raw == inv.raw, m.raw
    reply_to(bob, inv, 180, "Ringing", "bt", bob, user="bob")
    can = p.recv(bob)
    check_sipd_cancel(can, inv)
    reply_to(bob, can, 200, "OK", "bt")
    reply_to(bob, inv, 487, "Request Terminated", "bt")
    ack = p.recv(bob)
    while True:                                   # a 180 may come first
        r = p.recv(gw)
        if r.code >= 200:
            break
        assert r.code == 180
    assert (r.code, r.get("CSeq")) == (487, "1 INVITE")
    check_sipd_ack(ack, inv, r)
    gw.send(call.ack_non2xx(r))
    for m in p.drain(bob, 0.6):
        assert m.raw in (inv.raw, can.raw), m.raw   # nothing new


def test_cancel_without_transaction_481(px):
    p = px()
    call = Call(p.gw, "sip:bob@%s" % p.me, GW_NUM)
    p.gw.send(call.cancel())
    r = p.recv(p.gw)
    assert (r.code, r.get("CSeq")) == (481, "1 CANCEL")
    assert vias(r) == [seen_via(p.gw, call.branch)]
    p.quiet(p.gw)


def test_cancel_after_final_reply(px):
    p = px()
    bob = p.ua("bob")
    gw = p.gw
    call = gw_invite(p, "bob")
    p.expect_100(gw, call)
    inv = p.recv(bob)
    reply_to(bob, inv, 486, "Busy Here", "bt")
    check_sipd_ack(p.recv(bob), inv, _resp(answer(inv, 486, "Busy Here",
                                                  "bt")))
    r = p.recv(gw)
    assert r.code == 486
    gw.send(call.cancel())
    c = p.recv(gw)
    assert (c.code, c.get("CSeq")) == (200, "1 CANCEL")
    gw.send(call.ack_non2xx(r))
    p.quiet(bob, 0.6)


# --- non-2xx final replies: sipd's ACK, the UA's ACK absorbed, retransmission -

def test_busy_callee(px):
    """486 relayed; sipd ACKs it downstream; sipd retransmits the 486
    upstream (T1) until the gateway's ACK, which stays at sipd; an INVITE
    retransmission meanwhile gets the 486 again and is not forwarded."""
    p = px()
    bob = p.ua("bob")
    gw = p.gw
    call = gw_invite(p, "bob")
    p.expect_100(gw, call)
    inv = p.recv(bob)
    reply_to(bob, inv, 486, "Busy Here", "busy")
    ack = p.recv(bob)
    r = p.recv_raw(gw)
    t0 = time.monotonic()
    assert (r.code, r.reason) == (486, "Busy Here")
    assert vias(r) == [seen_via(gw, call.branch)]
    check_sipd_ack(ack, inv, r)
    again = p.recv_raw(gw, 1.5)                  # no ACK yet: sent again
    dt = time.monotonic() - t0
    assert again.raw == r.raw
    assert 0.3 <= dt <= 1.2, dt
    gw.send(call.invite())                       # retransmitted INVITE
    r2 = p.recv_raw(gw)
    assert r2.code == 486 and r2.get("CSeq") == "1 INVITE"
    gw.send(call.ack_non2xx(r))                  # absorbed
    # no more 486 (the next would be 1 s after the second) and nothing
    # new at bob (neither the INVITE copy nor the ACK)
    for m in p.drain(gw, 1.3):
        assert False, ("after the ACK", m.raw)
    for m in p.drain(bob, 0.1):
        assert m.raw in (ack.raw,), m.raw


def test_407_is_stateless(px):
    """A challenge costs no transaction (defect: a stranger's INVITE flood
    filled the table): a retransmitted INVITE gets a fresh 407 (same To
    tag, new nonce), sipd does not resend the 407 itself, nothing is
    counted in tm:created, and the ACK is absorbed."""
    p = px()
    alice = Client(p.s.port)
    st0 = stats(p.s)
    call = Call(alice, "sip:%s@%s" % (GW_NUM, p.me), "alice")
    alice.send(call.invite())
    first = p.recv_raw(alice)
    assert first.code == 407                      # no 100 before it
    alice.send(call.invite())
    r = p.recv_raw(alice)
    assert r.code == 407 and r.get("To") == first.get("To")
    assert r.get("Proxy-Authenticate") != first.get("Proxy-Authenticate")
    assert p.drain(alice, 1.5) == []              # no Timer G for a 407
    assert stats(p.s)["tm:created"] == st0["tm:created"]
    alice.send(call.ack_non2xx(first))
    assert p.drain(alice, 0.5) == []
    p.quiet(p.gw)


def test_replayed_credentials_get_a_new_407(px):
    """A retransmission is answered by its transaction, so credentials
    whose (nonce, nc) were used already, in a new transaction, are a
    replay: a fresh 407 (not stale), and nothing reaches the gateway."""
    p = px()
    alice = p.ua("alice")
    gw = p.gw
    call = Call(alice, "sip:%s@%s" % (GW_NUM, p.me), "alice")
    cred = authed_invite(p, alice, call, "alice", "secret-a")
    p.expect_100(alice, call)
    inv = p.recv(gw)
    reply_to(gw, inv, 486, "Busy Here", "g1")
    r = p.recv(alice)
    assert (r.code, r.get("CSeq")) == (486, "%d INVITE" % call.cseq)
    alice.send(call.ack_non2xx(r))
    assert p.recv(gw).method == "ACK"            # sipd's own, of the 486
    st0 = stats(p.s)
    call.cseq += 1
    call.branch = "z9hG4bK" + rand_token()
    alice.send(call.invite(extra=[cred]))        # same nonce, same nc
    r = p.recv(alice)
    assert (r.code, r.get("CSeq")) == (407, "%d INVITE" % call.cseq)
    chal = r.get("Proxy-Authenticate")
    assert "stale" not in chal
    assert stats(p.s)["auth:failures"] - st0["auth:failures"] == 1
    alice.send(call.ack_non2xx(r))
    p.quiet(gw, 0.6)


# --- no final reply in time: 408 -------------------------------------------------

def test_no_answer_408(px):
    p = px({"tm.fr_inv_timeout": "2"})
    bob = p.ua("bob")
    gw = p.gw
    call = gw_invite(p, "bob")
    t0 = time.monotonic()
    p.expect_100(gw, call)
    inv = p.recv(bob)
    reply_to(bob, inv, 180, "Ringing", "bt", bob, user="bob")
    assert p.recv(gw).code == 180
    r = p.recv(gw, 6.0)
    dt = time.monotonic() - t0
    assert (r.code, r.reason) == (408, "Request Timeout"), r.raw
    assert r.get("CSeq") == "1 INVITE"
    assert vias(r) == [seen_via(gw, call.branch)]
    assert 1.5 <= dt <= 4.5, dt
    can = p.recv(bob)
    check_sipd_cancel(can, inv)
    gw.send(call.ack_non2xx(r))                   # absorbed
    reply_to(bob, can, 200, "OK", "bt")
    reply_to(bob, inv, 487, "Request Terminated", "bt")
    ack = p.recv(bob)
    check_sipd_ack(ack, inv, _resp(answer(inv, 487, "Request Terminated",
                                          "bt")))
    p.quiet(gw, 0.8)                              # the 487 stays at sipd
    p.quiet(bob, 0.1)


def test_no_provisional_408_after_fr_inv_timeout(px):
    """The callee never answers at all: the INVITE's timer is still
    tm.fr_inv_timeout from the forwarding (tm.fr_timeout is for other
    methods); no CANCEL goes to a branch that sent no provisional."""
    p = px({"tm.fr_inv_timeout": "2", "tm.fr_timeout": "30"})
    bob = p.ua("bob")
    gw = p.gw
    call = gw_invite(p, "bob")
    t0 = time.monotonic()
    p.expect_100(gw, call)
    inv = p.recv(bob)
    r = p.recv(gw, 6.0)
    dt = time.monotonic() - t0
    assert (r.code, r.reason) == (408, "Request Timeout"), r.raw
    assert 1.5 <= dt <= 4.5, dt
    gw.send(call.ack_non2xx(r))
    for m in p.drain(bob, 0.6):                   # copies only, no CANCEL
        assert m.raw == inv.raw, m.raw
    p.quiet(gw, 0.6)


def test_invite_not_timed_by_fr_timeout(px):
    """SPEC §3: tm.fr_timeout is the timer of non-INVITE requests; a
    quiet INVITE branch waits tm.fr_inv_timeout (30 s here), so nothing
    but the 100 reaches the gateway within 2.5 s."""
    p = px({"tm.fr_inv_timeout": "30", "tm.fr_timeout": "1"})
    bob = p.ua("bob")
    call = gw_invite(p, "bob")
    p.expect_100(p.gw, call)
    inv = p.recv(bob)
    for m in p.drain(p.gw, 2.5):
        assert False, ("INVITE ended before tm.fr_inv_timeout", m.raw)
    reply_to(bob, inv, 486, "Busy Here", "bt")
    r = p.recv(p.gw)
    assert r.code == 486
    p.gw.send(call.ack_non2xx(r))


def test_non_invite_no_answer_408(px):
    p = px({"tm.fr_timeout": "1"})
    bob = p.ua("bob")
    trusty = Client(p.s.port)
    br = "z9hG4bK" + rand_token()
    msg = build("MESSAGE sip:bob@%s SIP/2.0" % p.me, [
        "Via: " + via_of(trusty, br), "Max-Forwards: 70",
        "From: <sip:trusty@127.0.0.1>;tag=1", "To: <sip:bob@127.0.0.1>",
        "Call-ID: " + rand_token() + "@x", "CSeq: 7 MESSAGE"], b"hi")
    t0 = time.monotonic()
    trusty.send(msg)
    m = p.recv(bob)
    assert m.method == "MESSAGE"
    r = p.recv(trusty, 4.0)                        # no 100 for a MESSAGE
    dt = time.monotonic() - t0
    assert (r.code, r.reason) == (408, "Request Timeout"), r.raw
    assert r.get("CSeq") == "7 MESSAGE"
    assert vias(r) == [seen_via(trusty, br)]
    assert 0.7 <= dt <= 3.0, dt
    for x in p.drain(bob, 0.3):                    # copies only, no CANCEL
        assert x.raw == m.raw


# --- sipd's retransmission towards a quiet callee ---------------------------------

def copies(p, peer, first, n, timeout):
    """Waits for n byte-identical copies of first (first included);
    returns their arrival times."""
    times = [time.monotonic()]
    deadline = times[0] + timeout
    while len(times) < n:
        left = deadline - time.monotonic()
        assert left > 0, "only %d copies in %.1f s" % (len(times), timeout)
        m, _ = peer.recv_msg(left)
        assert m is not None, "only %d copies in %.1f s" % (len(times),
                                                            timeout)
        assert m.raw == first.raw, m.raw
        times.append(time.monotonic())
    return times


def test_quiet_callee_gets_invite_again(px):
    p = px()
    bob = p.ua("bob")
    call = gw_invite(p, "bob")
    p.expect_100(p.gw, call)
    inv = p.recv_raw(bob)
    assert re.fullmatch(BRANCH_RE, branch_of(vias(inv)[0]))
    t = copies(p, bob, inv, 3, 2.5)               # at 0, 0.5, 1.5 s
    assert 0.3 <= t[1] - t[0] <= 0.9, t
    assert 0.7 <= t[2] - t[1] <= 1.5, t
    reply_to(bob, inv, 180, "Ringing", "bt", bob, user="bob")
    assert p.recv(p.gw).code == 180
    # the next copy was due 2 s after the third: none comes now
    assert p.drain(bob, 2.3) == []


def test_quiet_callee_gets_message_again(px):
    p = px()
    bob = p.ua("bob")
    trusty = Client(p.s.port)
    msg = build("MESSAGE sip:bob@%s SIP/2.0" % p.me, [
        "Via: " + via_of(trusty, "z9hG4bKq1"), "Max-Forwards: 70",
        "From: <sip:trusty@127.0.0.1>;tag=1", "To: <sip:bob@127.0.0.1>",
        "Call-ID: q1@x", "CSeq: 1 MESSAGE"], b"hi")
    trusty.send(msg)
    m = p.recv_raw(bob)
    t = copies(p, bob, m, 2, 1.5)
    assert 0.3 <= t[1] - t[0] <= 0.9, t
    reply_to(bob, m, 200, "OK", "b")
    r = p.recv(trusty)
    assert (r.code, r.get("CSeq")) == (200, "1 MESSAGE")
    assert p.drain(bob, 1.5) == []                 # next was due at 1.5 s


# --- retransmissions from upstream absorbed ------------------------------------------

def test_retransmitted_invite_answered_from_transaction(px):
    p = px()
    bob = p.ua("bob")
    gw = p.gw
    before = stats(p.s)
    call = gw_invite(p, "bob")
    data = call.invite()
    first = p.expect_100(gw, call)
    inv = p.recv_raw(bob)
    gw.send(data)                                  # last reply was the 100
    r = p.recv_raw(gw)
    assert (r.code, r.get("CSeq")) == (100, "1 INVITE")
    reply_to(bob, inv, 180, "Ringing", "bt", bob, user="bob")
    ring = p.recv(gw)
    assert ring.code == 180
    gw.send(data)                                  # now the 180 again
    r = p.recv_raw(gw)
    assert r.raw == ring.raw
    # forwarded once only: bob sees nothing new (no copy, and sipd's own
    # retransmissions stopped with the 180)
    assert p.drain(bob, 0.6) == []
    st = stats(p.s)
    assert st["tm:created"] - before["tm:created"] == 1
    reply_to(bob, inv, 200, "OK", "bt", bob, SDP, user="bob")
    ok = p.recv(gw)
    assert ok.code == 200
    gw.send(call.in_dialog("ACK", ok, 1))
    assert p.recv(bob).method == "ACK"
    gw.send(data)                                  # after the 2xx: absorbed
    for m in p.drain(bob, 0.6):
        assert False, ("forwarded again", m.raw)
    for m in p.drain(gw, 0.1):
        assert m.code in (200,), m.raw
    assert first.code == 100


def test_retransmitted_bye_answered_from_transaction(px):
    p = px()
    bob = p.ua("bob")
    gw = p.gw
    call = gw_invite(p, "bob")
    inv, ok = complete_call(p, gw, call, bob, ua_ruri("bob", bob),
                            callee_user="bob")
    data = call.in_dialog("BYE", ok, 5)
    gw.send(data)
    bye = p.recv(bob)
    reply_to(bob, bye, 200, "OK", None)
    r = p.recv_raw(gw)
    assert (r.code, r.get("CSeq")) == (200, "5 BYE")
    gw.send(data)
    r2 = p.recv_raw(gw)
    assert (r2.code, r2.get("CSeq")) == (200, "5 BYE")
    assert p.drain(bob, 0.6) == []


def test_rfc2543_invite_matched_without_cookie(px):
    """No magic cookie (RFC 2543 matching: R-URI, From tag, Call-ID,
    CSeq, top Via): the retransmission is absorbed and the CANCEL finds
    its INVITE."""
    p = px()
    trusty = Client(p.s.port)
    gw = p.gw
    via = "SIP/2.0/UDP 127.0.0.1:%d;branch=old%s" % (trusty.port,
                                                    rand_token())
    cid = rand_token() + "@x"
    common = ["Via: " + via, "Max-Forwards: 70",
              "From: <sip:trusty@127.0.0.1>;tag=f1",
              "To: <sip:%s@127.0.0.1>" % GW_NUM, "Call-ID: " + cid]
    ruri = "sip:%s@%s" % (GW_NUM, p.me)
    inv_data = build("INVITE %s SIP/2.0" % ruri, common + [
        "CSeq: 3 INVITE", "Contact: <sip:trusty@127.0.0.1:%d>" % trusty.port,
        "Content-Type: application/sdp"], SDP)
    trusty.send(inv_data)
    r = p.recv_raw(trusty)
    assert (r.code, r.get("CSeq")) == (100, "3 INVITE")
    inv = p.recv(gw)
    assert inv.method == "INVITE"
    assert re.fullmatch(BRANCH_RE, branch_of(vias(inv)[0]))
    reply_to(gw, inv, 180, "Ringing", "g", gw, user="gw")
    assert p.recv(trusty).code == 180
    trusty.send(inv_data)                          # retransmission
    r = p.recv_raw(trusty)
    assert (r.code, r.get("CSeq")) == (180, "3 INVITE")
    assert p.drain(gw, 0.3) == []
    trusty.send(build("CANCEL %s SIP/2.0" % ruri, common + [
        "CSeq: 3 CANCEL"]))
    r = p.recv(trusty)
    assert (r.code, r.get("CSeq")) == (200, "3 CANCEL")
    can = p.recv(gw)
    check_sipd_cancel(can, inv)
    reply_to(gw, can, 200, "OK", "g")
    reply_to(gw, inv, 487, "Request Terminated", "g")
    check_sipd_ack(p.recv(gw), inv, _resp(answer(inv, 487,
                                                 "Request Terminated", "g")))
    r = p.recv(trusty)
    assert (r.code, r.get("CSeq")) == (487, "3 INVITE")


# --- in-dialog requests -------------------------------------------------------------

def test_reinvite_and_bye_in_dialog(px):
    """After a GW -> UA call: a re-INVITE from the callee (100 Trying at
    once, forwarded statefully along the route set), its 200 and ACK,
    then a BYE from the gateway."""
    p = px()
    bob = p.ua("bob")
    gw = p.gw
    call = gw_invite(p, "bob")
    p.expect_100(gw, call)
    inv = p.recv(bob)
    reply_to(bob, inv, 200, "OK", "bt", bob, SDP, user="bob")
    ok = p.recv(gw)
    gw.send(call.in_dialog("ACK", ok, 1))
    assert p.recv(bob).method == "ACK"

    # callee's re-INVITE
    rb = "z9hG4bK" + rand_token()
    bob_uri = "sip:bob@127.0.0.1:%d" % bob.port
    reinv = build("INVITE %s SIP/2.0" % call.contact[1:-1], [
        "Via: " + via_of(bob, rb), "Max-Forwards: 70",
        "From: " + ok.get("To"), "To: " + ok.get("From"),
        "Call-ID: " + call.call_id, "CSeq: 10 INVITE",
        "Route: " + p.rr, "Contact: <%s>" % bob_uri,
        "Content-Type: application/sdp"], SDP)
    bob.send(reinv)
    t = p.recv(bob)
    assert (t.code, t.reason, t.get("CSeq")) == (100, "Trying", "10 INVITE")
    assert vias(t) == [seen_via(bob, rb)]
    ri = p.recv(gw)
    assert ri.method == "INVITE" and ri.ruri == call.contact[1:-1]
    assert ri.get("Route") is None and ri.get("CSeq") == "10 INVITE"
    v = vias(ri)
    assert len(v) == 2
    p.check_our_via(v[0], rb, "127.0.0.1", bob.port, call.call_id, 10)
    assert v[1] == seen_via(bob, rb)
    assert ri.body == SDP
    reply_to(gw, ri, 200, "OK", None, gw, SDP, user=GW_NUM)
    ok2 = p.recv(bob)
    assert (ok2.code, ok2.get("CSeq")) == (200, "10 INVITE")
    assert vias(ok2) == [seen_via(bob, rb)]
    ab = "z9hG4bK" + rand_token()
    bob.send(build("ACK %s SIP/2.0" % call.contact[1:-1], [
        "Via: " + via_of(bob, ab), "Max-Forwards: 70",
        "From: " + ok.get("To"), "To: " + ok.get("From"),
        "Call-ID: " + call.call_id, "CSeq: 10 ACK", "Route: " + p.rr]))
    ack = p.recv(gw)
    assert ack.method == "ACK"
    assert vias(ack)[0] == p.our_via(ab, "127.0.0.1", bob.port,
                                     call.call_id, 10)

    # BYE from the gateway
    gw.send(call.in_dialog("BYE", ok, 2))
    bye = p.recv(bob)
    assert bye.method == "BYE" and bye.ruri == bob_uri
    p.check_our_via(vias(bye)[0], call.last_branch, "127.0.0.1", gw.port,
                    call.call_id, 2)
    reply_to(bob, bye, 200, "OK", None)
    r = p.recv(gw)                                 # no 100 for a BYE
    assert (r.code, r.get("CSeq")) == (200, "2 BYE")
    p.quiet(gw)
    p.quiet(bob)


# --- forking -----------------------------------------------------------------------

def fork_two(p):
    """bob registered twice (two UAs); the gateway calls bob. Returns
    (call, [(ua, invite), (ua, invite)])."""
    b1 = p.ua("bob")
    b2 = p.ua("bob")
    call = gw_invite(p, "bob")
    p.expect_100(p.gw, call)
    legs = []
    for ua in (b1, b2):
        inv = p.recv(ua)
        assert inv.method == "INVITE" and inv.ruri == ua_ruri("bob", ua)
        check_forwarded_invite(p, inv, call, p.gw)
        legs.append((ua, inv))
    br = [branch_of(vias(inv)[0]) for _, inv in legs]
    assert br[0] != br[1], br
    assert br[0].split(".")[0] == br[1].split(".")[0]
    return call, legs


def test_fork_two_bindings_200_cancels_other(px):
    p = px()
    gw = p.gw
    call, [(b1, i1), (b2, i2)] = fork_two(p)
    reply_to(b1, i1, 180, "Ringing", "t1", b1, user="bob")
    reply_to(b2, i2, 180, "Ringing", "t2", b2, user="bob")
    rings = {to_tag(p.recv(gw)), to_tag(p.recv(gw))}
    assert rings == {"t1", "t2"}
    reply_to(b1, i1, 200, "OK", "t1", b1, SDP, user="bob")
    ok = p.recv(gw)
    assert (ok.code, to_tag(ok)) == (200, "t1")
    assert vias(ok) == [seen_via(gw, call.branch)]
    can = p.recv(b2)
    check_sipd_cancel(can, i2)
    reply_to(b2, can, 200, "OK", "t2")
    reply_to(b2, i2, 487, "Request Terminated", "t2")
    ack = p.recv(b2)
    check_sipd_ack(ack, i2, _resp(answer(i2, 487, "Request Terminated",
                                         "t2")))
    gw.send(call.in_dialog("ACK", ok, 1))
    a = p.recv(b1)
    assert a.method == "ACK" and a.ruri == ua_ruri("bob", b1)
    p.quiet(gw, 0.6)                               # the 487 stays at sipd
    p.quiet(b1, 0.1)
    p.quiet(b2, 0.1)


def test_fork_200_before_other_rings(px):
    """The other branch has sent nothing when the 200 arrives: its CANCEL
    waits for its first provisional."""
    p = px()
    gw = p.gw
    call, [(b1, i1), (b2, i2)] = fork_two(p)
    reply_to(b1, i1, 200, "OK", "t1", b1, SDP, user="bob")
    ok = p.recv(gw)
    assert (ok.code, to_tag(ok)) == (200, "t1")
    for m in p.drain(b2, 0.3):                     # no CANCEL yet
        assert m.raw == i2.raw, m.raw
    reply_to(b2, i2, 180, "Ringing", "t2", b2, user="bob")
    can = p.recv(b2)
    check_sipd_cancel(can, i2)
    reply_to(b2, can, 200, "OK", "t2")
    reply_to(b2, i2, 487, "Request Terminated", "t2")
    check_sipd_ack(p.recv(b2), i2, _resp(answer(i2, 487,
                                                "Request Terminated", "t2")))
    gw.send(call.in_dialog("ACK", ok, 1))
    assert p.recv(b1).method == "ACK"
    for m in p.drain(gw, 0.6):                     # no final but the 200
        assert m.code < 200 or m.raw == ok.raw, m.raw


@pytest.mark.parametrize("first,second,best", [
    ((486, "Busy Here"), (603, "Decline"), 603),
    ((486, "Busy Here"), (480, "Temporarily Unavailable"), 486),
    ((480, "Temporarily Unavailable"), (486, "Busy Here"), 480),
    ((500, "Server Internal Error"), (486, "Busy Here"), 486),
])
def test_fork_both_branches_fail(px, first, second, best):
    """Exactly one final reply upstream: the lowest class, the first
    received within a class (RFC 3261 §16.7 step 6); sipd ACKs both."""
    p = px()
    gw = p.gw
    call, [(b1, i1), (b2, i2)] = fork_two(p)
    reply_to(b1, i1, first[0], first[1], "t1")
    check_sipd_ack(p.recv(b1), i1, _resp(answer(i1, first[0], first[1],
                                                "t1")))
    # sipd has b1's reply (it ACKed it) before b2 answers
    reply_to(b2, i2, second[0], second[1], "t2")
    check_sipd_ack(p.recv(b2), i2, _resp(answer(i2, second[0], second[1],
                                                "t2")))
    r = p.recv(gw)
    assert r.code == best, r.raw
    assert to_tag(r) == ("t1" if best == first[0] else "t2")
    assert vias(r) == [seen_via(gw, call.branch)]
    gw.send(call.ack_non2xx(r))
    assert p.drain(gw, 0.8) == []                  # only one final, ACKed
    p.quiet(b1, 0.1)
    p.quiet(b2, 0.1)


def test_fork_6xx_ends_search(px):
    p = px()
    gw = p.gw
    call, [(b1, i1), (b2, i2)] = fork_two(p)
    reply_to(b2, i2, 180, "Ringing", "t2", b2, user="bob")
    assert p.recv(gw).code == 180
    reply_to(b1, i1, 603, "Decline", "t1")
    check_sipd_ack(p.recv(b1), i1, _resp(answer(i1, 603, "Decline", "t1")))
    can = p.recv(b2)
    check_sipd_cancel(can, i2)
    reply_to(b2, can, 200, "OK", "t2")
    reply_to(b2, i2, 487, "Request Terminated", "t2")
    check_sipd_ack(p.recv(b2), i2, _resp(answer(i2, 487,
                                                "Request Terminated", "t2")))
    r = p.recv(gw)
    assert (r.code, to_tag(r)) == (603, "t1"), r.raw
    gw.send(call.ack_non2xx(r))
    assert p.drain(gw, 0.8) == []


def test_fork_at_most_8_highest_q(px):
    p = px()
    uas = [p.ua("bob", q="0.%d" % i) for i in range(1, 10)]
    call = gw_invite(p, "bob")
    p.expect_100(p.gw, call)
    invs = []
    for ua in uas[1:]:                             # q 0.2 .. 0.9
        inv = p.recv(ua)
        assert inv.ruri == ua_ruri("bob", ua)
        check_forwarded_invite(p, inv, call, p.gw)
        invs.append(inv)
    assert len({branch_of(vias(i)[0]) for i in invs}) == 8
    p.quiet(uas[0], 0.3)                           # q 0.1: not called
    for ua, inv in zip(uas[1:], invs):
        reply_to(ua, inv, 486, "Busy Here", "t%d" % ua.port)
        check_sipd_ack(p.recv(ua), inv, _resp(answer(inv, 486, "Busy Here",
                                                     "t%d" % ua.port)))
    r = p.recv(p.gw)
    assert r.code == 486
    assert to_tag(r) == "t%d" % uas[1].port        # the first received
    p.gw.send(call.ack_non2xx(r))
    assert p.drain(p.gw, 0.6) == []


# --- table full, killed worker, statistics ----------------------------------------------

def test_table_full_503(px):
    p = px({"tm.max_transactions": "16"})
    bob = p.ua("bob")
    gw = p.gw
    st0 = stats(p.s)
    calls = []
    for _ in range(16):
        call = gw_invite(p, "bob")
        p.expect_100(gw, call)
        calls.append(call)
    assert stats(p.s)["tm:created"] - st0["tm:created"] == 16
    extra = gw_invite(p, "bob")
    r = p.recv(gw)
    assert (r.code, r.get("Call-ID")) == (503, extra.call_id), r.raw
    assert vias(r) == [seen_via(gw, extra.branch)]
    gw.send(extra.ack_non2xx(r))
    # the registrar does not need the table
    alice = Client(p.s.port)
    _, ok = register(alice, "alice", "secret-a",
                     contacts=["<sip:alice@127.0.0.1:%d>" % alice.port])
    assert ok.code == 200
    # bob answers every call busy: each 486 is ACKed by sipd and relayed
    invs = {}
    while len(invs) < 16:
        inv = p.recv(bob)
        assert inv.method == "INVITE", inv.raw
        assert inv.get("Call-ID") != extra.call_id
        invs[inv.get("Call-ID")] = inv
    for inv in invs.values():
        reply_to(bob, inv, 486, "Busy Here", "b")
    by_cid = {c.call_id: c for c in calls}
    acks = 0
    finals = 0
    deadline = time.monotonic() + 5
    while (acks < 16 or finals < 16) and time.monotonic() < deadline:
        for peer in (bob, gw):
            m, _ = peer.recv_msg(0.05)
            if m is None or m.raw in p.seen.setdefault(peer.port, set()):
                continue
            p.seen[peer.port].add(m.raw)
            if peer is bob:
                if m.method == "ACK":
                    # sipd's own 503 is ACKed nowhere
                    assert m.get("Call-ID") in invs, m.raw
                    acks += 1
            elif getattr(m, "code", 0) == 486:
                finals += 1
                gw.send(by_cid[m.get("Call-ID")].ack_non2xx(m))
    assert (acks, finals) == (16, 16)
    # completed transactions stay ~5 s; then sipd serves new calls again
    deadline = time.monotonic() + 10
    while True:
        call = gw_invite(p, "bob")
        r = p.recv(gw)
        if r.code == 100:
            break
        assert r.code == 503, r.raw
        gw.send(call.ack_non2xx(r))
        assert time.monotonic() < deadline, "table still full after 10 s"
        time.sleep(0.5)
    st = stats(p.s)
    assert st["tm:freed"] - st0["tm:freed"] >= 16
    assert st["tm:created"] - st["tm:freed"] >= 1
    inv = p.recv(bob)
    assert inv.get("Call-ID") == call.call_id


def wait_respawn(s, victim, n, timeout=3.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = s.worker_pids()
        if victim not in now and len(now) == n:
            return now
        time.sleep(0.02)
    pytest.fail("no new worker within %.0f s" % timeout)


def test_worker_killed_calls_after_respawn_complete(px):
    p = px()
    bob = p.ua("bob")
    gw = p.gw
    # two calls ringing when the worker dies
    for _ in range(2):
        call = gw_invite(p, "bob")
        p.expect_100(gw, call)
        inv = p.recv(bob)
        reply_to(bob, inv, 180, "Ringing", rand_token(4), bob, user="bob")
        assert p.recv(gw).code == 180
    before = p.s.worker_pids()
    os.kill(before[0], signal.SIGKILL)
    wait_respawn(p.s, before[0], len(before))
    for _ in range(6):        # enough for every worker to see some
        call = gw_invite(p, "bob")
        complete_call(p, gw, call, bob, ua_ruri("bob", bob),
                      callee_user="bob")
    r = Client(p.s.port)
    ok = r.transact(r.request("OPTIONS", "sip:%s" % p.me))
    assert ok is not None and ok.code == 200


def test_stats_created_freed(px):
    """One MESSAGE: tm:created + 1 at once; tm:freed catches up when the
    completed transaction is dropped (~5 s)."""
    p = px()
    bob = p.ua("bob")
    trusty = Client(p.s.port)
    st0 = stats(p.s)
    trusty.send(build("MESSAGE sip:bob@%s SIP/2.0" % p.me, [
        "Via: " + via_of(trusty, "z9hG4bKst1"), "Max-Forwards: 70",
        "From: <sip:trusty@127.0.0.1>;tag=1", "To: <sip:bob@127.0.0.1>",
        "Call-ID: st1@x", "CSeq: 1 MESSAGE"], b"x"))
    m = p.recv(bob)
    st1 = stats(p.s)
    assert st1["tm:created"] - st0["tm:created"] == 1
    assert st1["tm:freed"] == st0["tm:freed"]
    reply_to(bob, m, 200, "OK", "b")
    assert p.recv(trusty).code == 200
    deadline = time.monotonic() + 9
    while True:
        st = stats(p.s)
        if st["tm:freed"] - st0["tm:freed"] == 1:
            break
        assert time.monotonic() < deadline, st
        time.sleep(0.2)
    assert st["tm:created"] - st0["tm:created"] == 1
