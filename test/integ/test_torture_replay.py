"""Every RFC 4475 / RFC 5118 torture message, sent verbatim to the real
sipd over UDP, gets the answer its INDEX.md verdict calls for, and sipd
keeps serving after each one.

sipd answers to the source IP and to the top Via port (5060 when absent;
the source port with rport), so the harness sends each message from a
socket bound to 127.0.0.1:<that Via port>: the bytes stay untouched.
"""
import errno
import os
import re
import socket
import time

import pytest

from sipcli import Client, Response
from sipd_helpers import SRCDIR, USERS, write_tables

TORTURE = os.path.join(SRCDIR, "test", "data", "torture")

# What sipd answers today. A well-formed request for someone else meets
# the proxy: out of dialog, from this untrusted 127.0.0.1 UA, it gets a
# digest challenge (407). None = no answer.
EXPECT = {
    # RFC 4475 §3.1.2 invalid requests
    "badinv01.dat": 400, "clerr.dat": 400, "ncl.dat": 400,
    "scalar02.dat": 400, "quotbal.dat": 400, "ltgtruri.dat": 400,
    "lwsruri.dat": 400, "lwsstart.dat": 400, "trws.dat": 400,
    "escruri.dat": 400, "regbadct.dat": 400, "badaspec.dat": 400,
    "baddn.dat": 400, "badvers.dat": 505, "mismatch01.dat": 400,
    "mismatch02.dat": 501,
    # responses: never answered; not sipd's branches, so dropped as stray
    "scalarlg.dat": None, "bigcode.dat": None, "unreason.dat": None,
    "noreason.dat": None, "bcast.dat": None,
    # §3.2-3.4
    "insuf.dat": 400, "multi01.dat": 400, "mcl01.dat": 400,
    "unkscm.dat": 416, "novelsc.dat": 416, "bext01.dat": 420,
    "zeromf.dat": 483,
    # no SIP-Version in the request line: not a SIP request, dropped
    "test.dat": None,
    # REGISTERs from a source that is neither trusted nor authenticated
    "cparam01.dat": 401, "cparam02.dat": 401, "dblreq.dat": 401,
    "escnull.dat": 401, "regaut01.dat": 401, "regescrt.dat": 401,
    "unksm2.dat": 400, "ipv6-good.sip": 401, "port-ambiguous.sip": 401,
    "port-unambiguous.sip": 401,
    # RFC 5118
    "ipv6-bad.sip": 400,
    "via-received-param-no-delim.sip": 200,     # OPTIONS to sipd itself
    # in-dialog (To tag): loose routing to the Request-URI, no auth;
    # a host name (sipd does no DNS), an IPv6 host with no IPv6 socket
    "mult-ip-in-header.sip": 478, "wsinv.dat": 478,
    "via-received-param-with-delim.sip": 503,
}
VALID_DEFAULT = 407


def files():
    out = []
    for sub, ext in (("rfc4475", ".dat"), ("rfc5118-wire", ".sip")):
        for name in sorted(os.listdir(os.path.join(TORTURE, sub))):
            if name.endswith(ext):
                out.append((sub, name))
    return out


def via_port(data):
    m = re.search(rb"^(?:Via|v)\s*:\s*SIP\s*/\s*2\.0\s*/\s*\w+\s+"
                  rb"(\[[^\]]*\]|[^\s:;,]+)(?::(\d+))?", data, re.M | re.I)
    if m and m.group(2):
        return int(m.group(2))
    return 5060


def call_id(data):
    m = re.search(rb"^(?:Call-ID|i)\s*:\s*(\S+)", data, re.M | re.I)
    return m.group(1).decode("latin-1") if m else None


def recv_reply(s, cid, timeout):
    """The reply to our message: other tests may run a sipd at the same
    time whose answers to garbled Vias land on 127.0.0.1:5060 too."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        s.settimeout(left)
        try:
            reply = Response(s.recvfrom(65535)[0])
        except socket.timeout:
            return None
        except ValueError:
            continue
        if cid is None or cid in (reply.get("Call-ID"), reply.get("i")):
            return reply


@pytest.mark.parametrize("sub,name", files())
def test_torture_message(sipd, sub, name):
    data = open(os.path.join(TORTURE, sub, name), "rb").read()
    port = via_port(data)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", port))
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            pytest.skip("127.0.0.1:%d busy" % port)
        raise
    try:
        s.sendto(data, ("127.0.0.1", sipd.port))
        reply = recv_reply(s, call_id(data),
                           0.5 if EXPECT.get(name, 0) is None else 3)
    finally:
        s.close()
    want = EXPECT.get(name, VALID_DEFAULT)
    if want is None:
        assert reply is None, reply
    else:
        assert reply is not None, "no reply"
        assert reply.code == want, (reply.code, reply.reason)
        if want == 400:
            assert reply.reason.startswith("Bad Request"), reply.reason
    c = Client(sipd.port)
    alive = c.transact(c.request("OPTIONS", "sip:127.0.0.1"))
    assert alive is not None and alive.code == 200


# --- every INVITE file through a sipd with a gateway -------------------------
#
# The sender is trusted here (a `trusted` row for 127.0.0.1, no pattern),
# so a valid INVITE is not challenged but forwarded to the gateway
# statefully: "100 Trying" at the sender at once, the INVITE at the
# gateway (R-URI user kept, host:port the gateway's, sipd's branch with
# its transaction suffix, Max-Forwards one less or 70, the body as sent),
# and the gateway's 486 relayed back to the sender. Invalid ones get the
# verdict of INDEX.md and nothing reaches the gateway.

GW_EXPECT = {
    "badinv01.dat": 400, "clerr.dat": 400, "escruri.dat": 400,
    "insuf.dat": 400, "ltgtruri.dat": 400, "lwsruri.dat": 400,
    "lwsstart.dat": 400, "multi01.dat": 400, "ncl.dat": 400,
    "quotbal.dat": 400,
    "test.dat": None,            # no SIP-Version: dropped
    "wsinv.dat": 478,            # in dialog, to a host name (no DNS)
    "dblreq.dat": 200,           # the REGISTER only; the INVITE is noise
}
FORWARDED = "forwarded"
SIPD_BRANCH = r"z9hG4bKsd[0-9a-f]{16}\.[0-9a-f]{13}"


def invite_files():
    out = []
    for sub, name in files():
        data = open(os.path.join(TORTURE, sub, name), "rb").read()
        if data.startswith(b"INVITE") or name == "dblreq.dat":
            out.append((sub, name))
    return out


def header(data, *names):
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    for line in head.split("\r\n")[1:]:
        n, _, v = line.partition(":")
        if n.strip().lower() in names:
            return v.strip()
    return None


def gw_reply(req, code, reason):
    """The gateway's answer: Via, From, To (+ tag), Call-ID, CSeq copied
    in whatever form (compact or not) they arrived."""
    hdrs = []
    for n, v in req.headers:
        ln = n.lower()
        if ln in ("via", "v", "from", "f", "call-id", "i", "cseq"):
            hdrs.append("%s: %s" % (n, v))
        elif ln in ("to", "t"):
            hdrs.append("%s: %s;tag=gw1" % (n, v))
    hdrs.append("Content-Length: 0")
    return ("SIP/2.0 %d %s\r\n" % (code, reason) + "\r\n".join(hdrs) +
            "\r\n\r\n").encode()


@pytest.mark.parametrize("sub,name", invite_files())
def test_torture_invite_via_gateway(sipd_factory, sub, name):
    data = open(os.path.join(TORTURE, sub, name), "rb").read()
    gw = Client(0)
    s = sipd_factory(extra={"pstn.gw_ip": '"127.0.0.1"',
                            "pstn.gw_port": str(gw.port)})
    write_tables(s, USERS, [("127.0.0.1", "any", "")])
    s.start()
    gw.server = ("127.0.0.1", s.port)
    port = via_port(data)
    sk = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sk.bind(("127.0.0.1", port))
    except OSError as e:
        gw.close()
        if e.errno == errno.EADDRINUSE:
            pytest.skip("127.0.0.1:%d busy" % port)
        raise
    want = GW_EXPECT.get(name, FORWARDED)
    cid = call_id(data)
    try:
        sk.sendto(data, ("127.0.0.1", s.port))
        if want == FORWARDED:
            first = recv_reply(sk, cid, 3)
            assert first is not None, "no 100 Trying"
            assert (first.code, first.reason) == (100, "Trying")
            gw.sock.settimeout(3)
            m, _ = gw.recv_msg(3)
            assert m is not None, "nothing reached the gateway"
            assert m.method == "INVITE"
            user = re.match(r"INVITE sips?:([^@ ]+)@",
                            data.decode("latin-1")).group(1)
            assert m.ruri == "sip:%s@127.0.0.1:%d" % (user, gw.port)
            top = m.all("Via")[0] if m.all("Via") else m.get("v")
            assert re.fullmatch(r"SIP/2\.0/UDP 127\.0\.0\.1:%d;branch=%s"
                                % (s.port, SIPD_BRANCH),
                                top.split(",")[0].strip()), top
            mf = header(data, "max-forwards")
            got_mf = m.get("Max-Forwards")
            assert got_mf is not None and int(got_mf) == (
                int(mf) - 1 if mf is not None else 70)
            body = data.split(b"\r\n\r\n", 1)[1]
            assert m.body == body
            cl = m.get("Content-Length") or m.get("l")
            assert cl is None or int(cl) == len(body)
            gw.send(gw_reply(m, 486, "Busy Here"))
            final = recv_reply(sk, cid, 3)
            assert final is not None and final.code == 486, final
        else:
            reply = recv_reply(sk, cid, 0.5 if want is None else 3)
            if want is None:
                assert reply is None, reply
            else:
                assert reply is not None, "no reply"
                assert reply.code == want, (reply.code, reply.reason)
                if want == 400:
                    assert reply.reason.startswith("Bad Request"), \
                        reply.reason
            m, _ = gw.recv_msg(0.3)
            assert m is None, m.raw
    finally:
        sk.close()
    c = Client(s.port)
    alive = c.transact(c.request("OPTIONS", "sip:127.0.0.1"))
    assert alive is not None and alive.code == 200
    c.close()
    gw.close()
