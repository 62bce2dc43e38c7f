"""Retransmitted REGISTERs (RFC 3261 §17.2.2) against the real sipd.

A UA whose reply is late or lost sends the very same request again; it
must get the very same reply, whichever worker reads the copy: the 200
again (not a 401 for a replayed nonce count). The replies are compared
byte for byte, so a 200 built afresh (with its Contact expires counted
down) would fail too. A challenge is stateless: a copy gets a new one.
"""
import time

from sipcli import Client, authorization, rand_token, register_request
from sipd_helpers import check_401, contact_of

COPIES = 6      # enough for both workers to see some


def resend(c, data, first, copies=COPIES):
    """Sends data again copies times; each reply must equal first."""
    for _ in range(copies):
        r = c.transact(data)
        assert r is not None, "no reply to a retransmission"
        assert r.raw == first.raw, (first.raw, r.raw)


def test_retransmitted_authorized_register_gets_same_200(reg):
    s = reg()
    c = Client(s.port)
    cid = rand_token(16) + "@127.0.0.1"
    contact = "<%s>" % contact_of(c)
    chal = check_401(c.transact(register_request(
        c, "alice", contacts=[contact], call_id=cid)))[0]
    data = register_request(c, "alice", contacts=[contact], call_id=cid,
                            cseq=2,
                            headers=[authorization(chal, "alice", "secret-a")])
    ok = c.transact(data)
    assert (ok.code, ok.reason) == (200, "OK")
    assert ok.get("Contact") == "<%s>;expires=3600" % contact_of(c)
    resend(c, data, ok)
    # A 200 made again a second later would say expires=3599.
    time.sleep(1.1)
    resend(c, data, ok, copies=2)
    log = s.log_text()
    assert "replayed nonce count" not in log
    assert "retransmission, reply sent again" in log
    # Still one binding: the copies were not registered again.
    r = s.mictl("ul.lookup", "alice")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("Address:") == 1, r.stdout
    c.close()


def test_retransmitted_initial_register_gets_a_fresh_401(reg):
    """Challenges are stateless (no transaction, no slot): a copy of a
    REGISTER without credentials is challenged again, with the same To
    tag and a new nonce, and either nonce works."""
    s = reg()
    c = Client(s.port)
    data = register_request(c, "alice", contacts=["<%s>" % contact_of(c)])
    first = c.transact(data)
    chal1 = check_401(first)[0]
    again = c.transact(data)
    chal2 = check_401(again)[0]
    assert again.get("To") == first.get("To")
    assert chal2["nonce"] != chal1["nonce"]
    for cseq, chal in ((2, chal1), (3, chal2)):
        ok = c.transact(register_request(
            c, "alice", contacts=["<%s>" % contact_of(c)], cseq=cseq,
            headers=[authorization(chal, "alice", "secret-a")]))
        assert (ok.code, ok.reason) == (200, "OK")
    c.close()


def test_replay_protection_kept(reg):
    """Only a true retransmission is answered from the cache: the same
    credentials in a new transaction, or the same bytes from another
    address, are a replay and get a fresh challenge."""
    s = reg()
    c = Client(s.port)
    cid = rand_token(16) + "@127.0.0.1"
    chal = check_401(c.transact(register_request(c, "alice", call_id=cid)))[0]
    auth = authorization(chal, "alice", "secret-a", nc=1)
    data = register_request(c, "alice", call_id=cid, cseq=2, headers=[auth])
    ok = c.transact(data)
    assert (ok.code, ok.reason) == (200, "OK")
    new_tx = c.transact(register_request(c, "alice", call_id=cid, cseq=3,
                                         headers=[auth]))
    check_401(new_tx)
    other = Client(s.port)
    # rport in the Via: the answer goes to other's port.
    check_401(other.transact(data))
    assert c.recv(timeout=0.3) is None
    assert "replayed nonce count" in s.log_text()
    other.close()
    c.close()


def test_retransmission_after_the_cache_forgot_it(reg):
    """Under load the cache's 64 slots turn over within a second; the
    registrar then knows the copy by its binding (same Call-ID and CSeq,
    same source) and answers 200 again instead of a replayed-nc 401."""
    s = reg()
    c = Client(s.port)
    cid = rand_token(16) + "@127.0.0.1"
    contact = "<%s>" % contact_of(c)
    chal = check_401(c.transact(register_request(
        c, "alice", contacts=[contact], call_id=cid)))[0]
    data = register_request(c, "alice", contacts=[contact], call_id=cid,
                            cseq=2,
                            headers=[authorization(chal, "alice", "secret-a")])
    assert c.transact(data).code == 200
    # 4,000 other transactions: each slot is overwritten with
    # probability 1 - (1 - 1/64)^4000 > 0.99999.
    flood = Client(s.port)
    for i in range(4000):
        flood.send(register_request(flood, "bob", call_id="f%d" % i))
    flood.close()
    time.sleep(0.5)
    while c.recv(0.1) is not None:
        pass
    r = c.transact(data)
    assert (r.code, r.reason) == (200, "OK")
    assert r.get("Contact").startswith("<%s>;expires=" % contact_of(c))
    assert "replayed nonce count" not in s.log_text()
    # The same bytes from another port are still a replay.
    other = Client(s.port)
    r = other.transact(data)
    assert r.code == 401
    other.close()
    c.close()
