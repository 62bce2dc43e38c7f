"""Statistics and run-time config over MI (SPEC §7): stats.get_statistics,
stats.reset_statistics, cfg.get, cfg.set, against the real sipd.

Counts are exact: every test starts a fresh sipd, sends a known set of
requests and compares each counter it touched, wherever in the daemon
the counting is done.
"""
import json
import re

import pytest

from sipcli import (Client, authorization, parse_challenge, rand_token,
                    register, register_request)
from sipd_helpers import contact_of, stats, write_tables

COUNTERS = [
    "core:rcv_requests", "core:rcv_replies", "core:fwd_requests",
    "core:fwd_replies", "core:drop_requests", "core:drop_replies",
    "core:err_requests", "core:bad_msg_hdr",
    "sl:1xx_replies", "sl:2xx_replies", "sl:3xx_replies", "sl:4xx_replies",
    "sl:5xx_replies", "sl:6xx_replies",
    "auth:challenges", "auth:failures", "auth:successes",
    "registrar:accepted_regs", "registrar:rejected_regs",
    "tm:created", "tm:freed", "tm:source_budget_refused",
]
GAUGES = [
    "sl:sent_replies", "registrar:max_expires", "registrar:max_contacts",
    "registrar:default_expire", "usrloc:registered_users",
    "usrloc:location-users", "usrloc:location-contacts",
    "usrloc:location-expires",
    "tm:current", "tm:capacity", "tm:shm_chunks_used", "tm:shm_chunks_total",
    "tm:source_budget", "tm:source_max_cells",
]


@pytest.fixture
def srv(sipd_factory):
    s = sipd_factory()
    write_tables(s)
    return s.start()


def options(c, s, n):
    for _ in range(n):
        r = c.transact(c.request("OPTIONS", "sip:127.0.0.1:%d" % s.port))
        assert r is not None and r.code == 200


def wrong_password(c, user="alice"):
    """REGISTER, then the answer to the 401 with a wrong password: the
    second 401 (an auth failure) is returned."""
    call_id = rand_token(16) + "@127.0.0.1"
    first = c.transact(register_request(c, user, contacts=[contact_of(c)],
                                        call_id=call_id))
    assert first.code == 401
    chal = parse_challenge(first.get("WWW-Authenticate"))
    auth = authorization(chal, user, "not-the-password")
    r = c.transact(register_request(c, user, contacts=[contact_of(c)],
                                     cseq=2, call_id=call_id,
                                     headers=[auth]))
    assert r.code == 401
    return r


def test_all_names_and_numbers(srv):
    st = stats(srv)
    assert list(st) == [
        "core:rcv_requests", "core:rcv_replies", "core:fwd_requests",
        "core:fwd_replies", "core:drop_requests", "core:drop_replies",
        "core:err_requests", "core:bad_msg_hdr",
        "sl:1xx_replies", "sl:2xx_replies", "sl:3xx_replies",
        "sl:4xx_replies", "sl:5xx_replies", "sl:6xx_replies",
        "sl:sent_replies",
        "auth:challenges", "auth:failures", "auth:successes",
        "registrar:accepted_regs", "registrar:rejected_regs",
        "registrar:max_expires", "registrar:max_contacts",
        "registrar:default_expire",
        "tm:created", "tm:freed", "tm:source_budget_refused",
        "tm:current", "tm:capacity",
        "tm:shm_chunks_used", "tm:shm_chunks_total",
        "tm:source_budget", "tm:source_max_cells", "core:rcv_invites",
        "usrloc:registered_users", "usrloc:location-users",
        "usrloc:location-contacts", "usrloc:location-expires"]
    for k, v in st.items():
        assert type(v) is int, (k, v)
    assert st["registrar:max_expires"] == 7200
    assert st["registrar:default_expire"] == 3600
    assert st["registrar:max_contacts"] == 10
    assert st["usrloc:location-contacts"] == 0
    # "all" is the same set, and text output is "name: value" lines.
    assert list(stats(srv, "all")) == list(st)
    r = srv.mictl("stats.get_statistics", "registrar:")
    assert r.returncode == 0
    assert r.stdout == ("{\n\tregistrar:accepted_regs: 0\n"
                        "\tregistrar:rejected_regs: 0\n"
                        "\tregistrar:max_expires: 7200\n"
                        "\tregistrar:max_contacts: 10\n"
                        "\tregistrar:default_expire: 3600\n}\n")


def test_registrar_and_auth_counts(srv):
    c = Client(srv.port)
    before = stats(srv)
    # Two users registered: 2 challenges, 2 successes, 2 accepted.
    for user, pw in (("alice", "secret-a"), ("bob", "secret-b")):
        first, final = register(c, user, pw, contacts=[contact_of(c, user)])
        assert first.code == 401 and final.code == 200
    # A wrong password: 2 challenges (the first, then the failure's).
    wrong_password(c)
    # Authorized but 423 (expires below min_expires): a rejected REGISTER.
    first, final = register(c, "alice", "secret-a",
                            contacts=[contact_of(c, "alice")], expires=10)
    assert final.code == 423
    # Authorized, but Contact: * without Expires: 0 is a 400: rejected.
    first, final = register(c, "alice", "secret-a", contacts=["*"])
    assert final.code == 400
    st = stats(srv)
    assert st["registrar:accepted_regs"] - \
        before["registrar:accepted_regs"] == 2
    assert st["registrar:rejected_regs"] - \
        before["registrar:rejected_regs"] == 2
    assert st["auth:challenges"] - before["auth:challenges"] == 6
    assert st["auth:failures"] - before["auth:failures"] == 1
    assert st["auth:successes"] - before["auth:successes"] == 4
    assert st["usrloc:registered_users"] == 2
    assert st["usrloc:location-users"] == 2
    assert st["usrloc:location-contacts"] == 2
    # Challenges are stateless: a retransmitted REGISTER without
    # credentials is challenged afresh, and counted again.
    call_id = rand_token(16) + "@127.0.0.1"
    req = register_request(c, "alice", contacts=[contact_of(c)],
                           call_id=call_id)
    assert c.transact(req).code == 401
    assert c.transact(req).code == 401
    assert stats(srv, "challenges") == {
        "auth:challenges": st["auth:challenges"] + 2}
    c.close()


def test_selectors(srv):
    c = Client(srv.port)
    first, final = register(c, "alice", "secret-a", contacts=[contact_of(c)])
    assert final.code == 200
    assert stats(srv, "registrar:") == {
        "registrar:accepted_regs": 1, "registrar:rejected_regs": 0,
        "registrar:max_expires": 7200, "registrar:max_contacts": 10,
        "registrar:default_expire": 3600}
    assert stats(srv, "accepted_regs") == {"registrar:accepted_regs": 1}
    assert stats(srv, "registrar:accepted_regs") == {
        "registrar:accepted_regs": 1}
    assert stats(srv, "usrloc:location-contacts", "auth:") == {
        "usrloc:location-contacts": 1, "auth:challenges": 1,
        "auth:failures": 0, "auth:successes": 1}
    r = srv.mictl("stats.get_statistics", "accepted_regs")
    assert r.returncode == 0
    assert r.stdout == "{\n\tregistrar:accepted_regs: 1\n}\n"
    # Unknown names and groups: 404, exit 1 (a typo is not a zero).
    for bad in ("nosuch", "nosuch:", "registrar:nosuch", "accepted"):
        r = srv.mictl("stats.get_statistics", bad)
        assert r.returncode == 1, bad
        assert r.stdout.startswith("error: 404 - Statistic not found: "), \
            r.stdout
    c.close()


def test_reset(srv):
    c = Client(srv.port)
    first, final = register(c, "alice", "secret-a", contacts=[contact_of(c)])
    assert final.code == 200
    wrong_password(c, "bob")
    r = srv.mictl("stats.reset_statistics")
    assert r.returncode == 0 and r.stdout == ""
    st = stats(srv)
    for k in COUNTERS + ["sl:sent_replies"]:
        assert st[k] == 0, k
    # Gauges are state, not counts: a reset leaves them.
    assert st["usrloc:location-contacts"] == 1
    assert st["registrar:max_expires"] == 7200
    # Counting goes on from zero, in every worker.
    for user, pw in (("bob", "secret-b"), ("watson", "w-pw")):
        first, final = register(c, user, pw, contacts=[contact_of(c, user)])
        assert final.code == 200
    assert stats(srv, "registrar:accepted_regs", "challenges") == {
        "registrar:accepted_regs": 2, "auth:challenges": 2}
    assert srv.mictl("stats.reset_statistics", "all").returncode == 0
    assert stats(srv, "accepted_regs") == {"registrar:accepted_regs": 0}
    r = srv.mictl("stats.reset_statistics", "registrar:")
    assert r.returncode == 1 and r.stdout.startswith("error: -32602 - ")
    c.close()


def test_sl_and_core_counts(srv):
    c = Client(srv.port)
    before = stats(srv)
    options(c, srv, 3)
    first, final = register(c, "alice", "secret-a", contacts=[contact_of(c)])
    assert final.code == 200
    # Max-Forwards: 0 to someone else: 483.
    r = c.transact(c.request("OPTIONS", "sip:carol@192.0.2.1",
                             max_forwards=0))
    assert r.code == 483
    st = stats(srv)
    d = {k: st[k] - before[k] for k in COUNTERS + ["sl:sent_replies"]}
    assert d["sl:2xx_replies"] == 4
    assert d["sl:4xx_replies"] == 2
    assert d["sl:1xx_replies"] == 0
    assert d["sl:5xx_replies"] == 0
    assert d["sl:sent_replies"] == 6
    assert d["core:rcv_requests"] == 6
    assert d["core:rcv_replies"] == 0
    assert d["auth:challenges"] == 1
    c.close()


def cfg_get(s, group, name):
    r = s.mictl("cfg.get", group, name, json=True)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout)


def test_cfg_get(sipd_factory):
    s = sipd_factory(extra={"pstn.gw_ip": '"192.0.2.5" desc "PSTN GW"',
                            "registrar.max_expires": "3600"}).start()
    assert cfg_get(s, "pstn", "gw_ip") == "192.0.2.5"
    assert cfg_get(s, "pstn", "gw_port") == 5060
    assert cfg_get(s, "pstn", "match_port") == "yes"
    assert cfg_get(s, "registrar", "max_expires") == 3600
    assert cfg_get(s, "registrar", "default_expires") == 3600
    assert cfg_get(s, "core", "children") == 2
    assert cfg_get(s, "mi", "mode") == "0600"
    assert cfg_get(s, "auth", "secret") == ""
    r = s.mictl("cfg.get", "pstn", "gw_ip")
    assert r.returncode == 0 and r.stdout == "192.0.2.5\n"
    # The config gauges follow the config.
    assert stats(s, "max_expires") == {"registrar:max_expires": 3600}
    for group, name in (("pstn", "nosuch"), ("nosuch", "gw_ip"),
                        ("pstn.gw_ip", "x"), ("core", "pstn.gw_ip"),
                        ("", "children")):
        r = s.mictl("cfg.get", group, name)
        assert r.returncode == 1, (group, name)
        assert r.stdout.startswith("error: 404 - Unknown variable "), \
            r.stdout
    r = s.mictl("cfg.get", "pstn")
    assert r.returncode == 1 and r.stdout.startswith("error: -32602 - ")


def test_cfg_set_gateway(sipd_factory):
    s = sipd_factory().start()
    assert cfg_get(s, "pstn", "gw_ip") == ""
    r = s.mictl("cfg.set", "pstn", "gw_ip", "192.0.2.7")
    assert r.returncode == 0 and r.stdout == "", r.stdout
    assert cfg_get(s, "pstn", "gw_ip") == "192.0.2.7"
    r = s.mictl("cfg.set", "pstn", "gw_port", "5080")
    assert r.returncode == 0, r.stdout
    assert cfg_get(s, "pstn", "gw_port") == 5080
    # Kamailio's name for it works too; IPv6 and brackets as in the file.
    r = s.mictl("cfg.set_now_string", "pstn", "gw_ip", "[2001:db8::7]")
    assert r.returncode == 0, r.stdout
    assert cfg_get(s, "pstn", "gw_ip") == "2001:db8::7"
    r = s.mictl("cfg.set_now_int", "pstn", "match_port", "no")
    assert r.returncode == 0, r.stdout
    assert cfg_get(s, "pstn", "match_port") == "no"
    # Bad values: conf_set's message, exit 1, nothing changed.
    r = s.mictl("cfg.set", "pstn", "gw_ip", "gw.example.com")
    assert r.returncode == 1
    assert re.match(r'error: 400 - cfg\.set: pstn\.gw_ip: ', r.stdout), \
        r.stdout
    assert "gw.example.com" in r.stdout
    r = s.mictl("cfg.set", "pstn", "gw_port", "70000")
    assert r.returncode == 1
    assert r.stdout.startswith("error: 400 - cfg.set: pstn.gw_port: ")
    assert cfg_get(s, "pstn", "gw_ip") == "2001:db8::7"
    assert cfg_get(s, "pstn", "gw_port") == 5080
    # Unset again.
    assert s.mictl("cfg.set", "pstn", "gw_ip", "").returncode == 0
    assert cfg_get(s, "pstn", "gw_ip") == ""
    # Unknown keys: 404; keys the workers cannot pick up: 400.
    r = s.mictl("cfg.set", "pstn", "nosuch", "1")
    assert r.returncode == 1 and r.stdout.startswith("error: 404 - ")
    r = s.mictl("cfg.set", "tm", "fr_timeout", "10")
    assert r.returncode == 1
    assert r.stdout.startswith("error: 400 - tm.fr_timeout cannot "
                               "be changed at run time")
    assert cfg_get(s, "tm", "fr_timeout") == 30
    # registrar.max_expires may change, but not below default_expires
    r = s.mictl("cfg.set", "registrar", "max_expires", "100")
    assert r.returncode == 1
    assert r.stdout.startswith("error: 400 - cfg.set: registrar.max_expires:"
                               " need ")
    assert cfg_get(s, "registrar", "max_expires") == 7200
    assert ': cfg.set "pstn" "gw_ip" "192.0.2.7"' in s.log_text()
