"""Helpers shared by the integration tests (test_*.py); fixtures built on
them are in conftest.py. No test module imports another: what two of
them need lives here.

- the daemon: paths, free ports, Sipd (start in the foreground, ready when
  `mictl core.uptime` answers, stop by PID, log check);
- DB_TEXT tables: subscriber/trusted writers, the location file reader;
- MI reads: ul.dump, stats.get_statistics;
- registrar checks: contact_of(), check_401();
- proxy: the fake gateway and UAs (Px, Call), message builders (build,
  answer, via_of), sipd's branch (sipd_branch) and hop checks;
- HTTP: GET, and /metrics scraped, checked by promtool and parsed.

SIP messages themselves are built and parsed by sipcli.py.
"""
import hashlib
import json
import math
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request

from sipcli import (Client, parse_challenge, proxy_authorization,
                    rand_token, register)

# --- the daemon -------------------------------------------------------------

SRCDIR = os.environ.get("SIPD_SRCDIR",
                        os.path.abspath(os.path.join(os.path.dirname(__file__),
                                                     "..", "..")))
SIPD = os.environ.get("SIPD_BIN", os.path.join(SRCDIR, "build", "daemon",
                                               "sipd"))
MICTL = os.environ.get("MICTL_BIN", os.path.join(SRCDIR, "build", "mi",
                                                 "mictl"))
BUILDDIR = os.environ.get("SIPD_BUILDDIR", os.path.join(SRCDIR, "build"))
SIPD_DB = os.environ.get("SIPD_DB_BIN", os.path.join(BUILDDIR, "daemon",
                                                     "store", "sipd-db"))
BAD_LOG = ("fatal", "AddressSanitizer", "runtime error:",
           "LeakSanitizer", "UndefinedBehaviorSanitizer")


def free_udp_port():
    """A UDP port on 127.0.0.1 that is free now (also free for TCP)."""
    while True:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        return port


class Sipd:
    def __init__(self, tmpdir, children=2, extra=None, tables=None,
                 backend="text"):
        self.dir = str(tmpdir)
        # "sqlite": the DB_TEXT folder self.db (the tables tests write
        # before start) becomes self.sqlite at the first start().
        self.backend = backend
        self.sqlite = os.path.join(self.dir, "sipd.sqlite")
        self.port = free_udp_port()
        self.db = os.path.join(self.dir, "db")
        shutil.copytree(tables or os.path.join(SRCDIR, "conf", "db"), self.db)
        self.sock = os.path.join(self.dir, "mi.sock")
        self.pid_file = os.path.join(self.dir, "sipd.pid")
        self.log_path = os.path.join(self.dir, "sipd.log")
        self.cfg = os.path.join(self.dir, "sipd.cfg")
        self.children = children
        lines = {
            "listen": "udp:127.0.0.1:%d" % self.port,
            "children": str(children),
            "db_url": "text://db",
            "mi.socket": self.sock,
            "pid_file": self.pid_file,
            "log.level": "debug",
        }
        lines.update(extra or {})
        with open(self.cfg, "w") as f:
            for k, v in lines.items():
                f.write("%s = %s\n" % (k, v))
        self.proc = None
        self.log = None

    def use_sqlite(self):
        """Converts self.db into self.sqlite (sipd-db) and points the
        config at it; later starts keep that file."""
        r = subprocess.run([SIPD_DB, "convert", "text://" + self.db,
                            "sqlite://" + self.sqlite],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        with open(self.cfg) as f:
            text = f.read()
        with open(self.cfg, "w") as f:
            f.write(text.replace("db_url = text://db\n",
                                 "db_url = sqlite://sipd.sqlite\n"))

    def start(self, args=(), wait=True):
        if self.backend == "sqlite" and not os.path.exists(self.sqlite):
            self.use_sqlite()
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([SIPD, "-D", "-E", "-f", self.cfg] +
                                     list(args), stdout=self.log,
                                     stderr=subprocess.STDOUT)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError("sipd exited with %d:\n%s" %
                                     (self.proc.returncode, self.log_text()))
            r = self.mictl("core.uptime")
            if r.returncode == 0:
                return
            time.sleep(0.02)
        raise AssertionError("sipd not ready in %.0f s:\n%s" %
                             (timeout, self.log_text()))

    @property
    def pid(self):
        return self.proc.pid

    def mictl(self, *args, json=False, timeout=30):
        cmd = [MICTL, "-s", self.sock] + (["-j"] if json else []) + \
            [str(a) for a in args]
        return subprocess.run(cmd, capture_output=True, text=True,
                              timeout=timeout)

    def worker_pids(self):
        r = self.mictl("core.ps")
        assert r.returncode == 0, r.stderr
        pids = []
        for line in r.stdout.splitlines():
            pid, _, desc = line.partition("\t")
            if "worker" in desc:
                pids.append(int(pid))
        return pids

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        """Stops sipd by its PID; returns its exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("sipd did not stop in %.0f s" % timeout)
        self.log.close()
        return self.proc.returncode

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def check_log_clean(self):
        text = self.log_text()
        for bad in BAD_LOG:
            assert bad not in text, "log has %r:\n%s" % (bad, text)


# --- DB_TEXT tables ---------------------------------------------------------

DOMAIN = "127.0.0.1"
LOC_HEADER = ("id(int,auto) username(string) domain(string,null) "
              "contact(string) received(string,null) path(string,null) "
              "expires(int) q(double) callid(string) cseq(int) "
              "last_modified(int) flags(int) cflags(int) user_agent(string) "
              "socket(string,null) methods(int,null)")
SUBSCRIBER_HEADER = ("id(int,auto) username(string) domain(string) "
                     "password(string) email_address(string) ha1(string) "
                     "ha1b(string) rpid(string,null)")
TRUSTED_HEADER = ("id(int,auto) src_ip(string) proto(string) "
                  "from_pattern(string,null) tag(string,null)")
USERS = [("alice", "secret-a"), ("bob", "secret-b"), ("watson", "w-pw"),
         ("j.user", "j-pw"), ("user", "u-pw"), ("null-\0-null", "n-pw"),
         ("Carol", "c-pw")]


def md5(s):
    return hashlib.md5(s.encode("latin-1")).hexdigest()


def dbtext_escape(s):
    return (s.replace("\\", "\\\\").replace(":", "\\:")
            .replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
            .replace("\0", "\\0"))


def write_tables(s, users=USERS, trusted=()):
    """Writes subscriber (3.0 layout, ha1/ha1b filled) and trusted."""
    lines = [SUBSCRIBER_HEADER]
    for i, (u, p) in enumerate(users, 1):
        lines.append(":".join([
            str(i), dbtext_escape(u), DOMAIN, dbtext_escape(p),
            dbtext_escape(u) + "@" + DOMAIN, md5("%s:%s:%s" % (u, DOMAIN, p)),
            md5("%s@%s:%s:%s" % (u, DOMAIN, DOMAIN, p)), ""]))
    with open(os.path.join(s.db, "subscriber"), "w") as f:
        f.write("\n".join(lines) + "\n")
    lines = [TRUSTED_HEADER]
    for i, (ip, proto, pattern) in enumerate(trusted, 1):
        lines.append("%d:%s:%s:%s:" % (i, ip, proto, pattern or ""))
    with open(os.path.join(s.db, "trusted"), "w") as f:
        f.write("\n".join(lines) + "\n")


def write_users(db, n, domain="127.0.0.1"):
    """n subscribers u0000.. with password pw-<user>; returns the CSV."""
    rows = [SUBSCRIBER_HEADER]
    csv = ["SEQUENTIAL"]
    for i in range(n):
        u = "u%04d" % i
        pw = "pw-" + u
        rows.append("%d:%s:%s:%s:%s@%s:%s:%s:" % (
            i + 1, u, domain, pw, u, domain, md5("%s:%s:%s" % (u, domain, pw)),
            md5("%s@%s:%s:%s" % (u, domain, domain, pw))))
        # This SIPp does not expand fields inside [authentication ...]:
        # the whole keyword comes from the injection file.
        csv.append("%s;[authentication username=%s password=%s]" % (u, u, pw))
    with open(os.path.join(db, "subscriber"), "w") as f:
        f.write("\n".join(rows) + "\n")
    path = os.path.join(os.path.dirname(db), "users.csv")
    with open(path, "w") as f:
        f.write("\n".join(csv) + "\n")
    return path


def unescape(field):
    out, i = [], 0
    while i < len(field):
        c = field[i]
        if c == "\\" and i + 1 < len(field):
            out.append({"n": "\n", "r": "\r", "t": "\t", "0": "\0"}.get(
                field[i + 1], field[i + 1]))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def split_row(line):
    fields, cur, i = [], [], 0
    while i < len(line):
        if line[i] == "\\" and i + 1 < len(line):
            cur.append(line[i:i + 2])
            i += 2
            continue
        if line[i] == ":":
            fields.append(unescape("".join(cur)))
            cur = []
        else:
            cur.append(line[i])
        i += 1
    fields.append(unescape("".join(cur)))
    return fields


def read_location(db):
    with open(os.path.join(db, "location"), encoding="latin-1") as f:
        text = f.read()
    lines = text.split("\n")
    assert lines[0] == LOC_HEADER
    assert text.endswith("\n")
    cols = [c.split("(")[0] for c in LOC_HEADER.split()]
    return [dict(zip(cols, split_row(l))) for l in lines[1:] if l]


def have_sqlite():
    """Whether this build has the SQLite backend (config.h)."""
    try:
        with open(os.path.join(BUILDDIR, "config.h")) as f:
            return "#define SIPD_HAVE_SQLITE 1" in f.read()
    except OSError:
        return os.path.exists(SIPD_DB)


def aor_hash(aor):
    """The location table's hash of an AoR (FNV-1a, murmur3's finaliser):
    row ids sipd writes name it."""
    h = 2166136261
    for b in aor.encode():
        h = ((h ^ b) * 16777619) & 0xffffffff
    h ^= h >> 16
    h = (h * 0x85ebca6b) & 0xffffffff
    h ^= h >> 13
    h = (h * 0xc2b2ae35) & 0xffffffff
    return h ^ (h >> 16)


def ruid_of(aor, n=0, hash_size=512):
    """The ruid sipd gives the n-th row of aor's group."""
    h = aor_hash(aor)
    return "sipd-%08x-%08x-%d" % (h & (hash_size - 1), h, n)


def sqlite_rows(path, table):
    """Rows of a SQLite table (id order) as dicts of Python values."""
    con = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        con.row_factory = sqlite3.Row
        return [dict(r) for r in
                con.execute("SELECT * FROM %s ORDER BY id" % table)]
    finally:
        con.close()


def jd_to_time(jd):
    """A time column as sipd and Kamailio's db_sqlite store it (a Julian
    day number) -> seconds since the Epoch."""
    return int(math.floor(86400 * (jd - 2440587.5) + 0.5))


def read_table(s, table):
    """The rows of a table of sipd s, whatever its backend, as DB_TEXT
    text (read_location's form): NULL "", q "%.2f", times in seconds."""
    if s.backend != "sqlite":
        assert table == "location"
        return read_location(s.db)
    out = []
    for r in sqlite_rows(s.sqlite, table):
        row = {}
        for k, v in r.items():
            if v is None:
                v = ""
            elif k in ("expires", "last_modified"):
                v = str(jd_to_time(v))
            elif k == "q":
                v = "%.2f" % v
            row[k] = str(v)
        out.append(row)
    return out


# --- MI reads ---------------------------------------------------------------

def dump(s):
    r = s.mictl("ul.dump", json=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    d = json.loads(r.stdout)
    out = {}
    for aor in d.get("AoRs") or []:
        out[aor["AoR"]] = [c["Contact"] for c in aor["Contacts"]]
    return out


def stats(s, *args):
    r = s.mictl("stats.get_statistics", *args, json=True)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout)


# --- registrar --------------------------------------------------------------

NONCE_RE = r"[0-9a-f]{56}"


def contact_of(c, user="alice"):
    """A Contact URI equal to the client's own address (no NAT)."""
    return "sip:%s@127.0.0.1:%d" % (user, c.port)


def check_401(r, stale=False, algs=("MD5",)):
    """A plain challenge: returns the parsed challenges."""
    assert (r.code, r.reason) == (401, "Unauthorized")
    vals = r.all("WWW-Authenticate")
    assert len(vals) == len(algs), vals
    out = []
    for v, alg in zip(vals, algs):
        m = re.fullmatch(r'Digest realm="127\.0\.0\.1", nonce="(%s)", '
                         r'qop="auth", algorithm=%s%s' %
                         (NONCE_RE, re.escape(alg),
                          ", stale=true" if stale else ""), v)
        assert m, v
        out.append(parse_challenge(v))
    assert r.get("P-Registrar-Error") is None
    assert len({c["nonce"] for c in out}) == 1
    return out


# --- proxy ------------------------------------------------------------------

GW_NUM = "004930123456"
SDP = (b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
       b"t=0 0\r\nm=audio 4000 RTP/AVP 0\r\n")
TRUSTED = [("127.0.0.1", "udp", "^sip.trusty@")]  # "." for ":" (DB_TEXT)
MASK = (1 << 64) - 1


def fnv(h, data):
    """sipd's fnv_field(): FNV-1a over the 8-byte length, then the bytes."""
    for c in len(data).to_bytes(8, "little") + bytes(data):
        h = ((h ^ c) * 0x100000001b3) & MASK
    return h


def sipd_branch(branch, host, port, call_id, cseq):
    h = 0xcbf29ce484222325
    h = fnv(h, branch.encode())
    h = fnv(h, host.encode())
    h = fnv(h, port.to_bytes(2, "big"))
    h = fnv(h, call_id.encode())
    h = fnv(h, cseq.to_bytes(4, "big"))
    return "z9hG4bKsd%016x" % h


def vias(m):
    out = []
    for v in m.all("Via"):
        out += [x.strip() for x in v.split(",")]
    return out


def build(start, headers, body=b""):
    lines = [start] + list(headers) + ["Content-Length: %d" % len(body)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def via_of(peer, branch):
    return "SIP/2.0/UDP 127.0.0.1:%d;branch=%s;rport" % (peer.port, branch)


def seen_via(peer, branch):
    """The UA's Via as sipd passes it on (RFC 3581)."""
    return ("SIP/2.0/UDP 127.0.0.1:%d;branch=%s;rport=%d;received=127.0.0.1"
            % (peer.port, branch, peer.port))


SUFFIX_RE = r"\.[0-9a-f]{13}"      # "." cell index, generation, branch
BRANCH_RE = r"z9hG4bKsd[0-9a-f]{16}" + SUFFIX_RE


def branch_of(via):
    m = re.search(r";branch=([^;,\s]+)", via)
    return m.group(1) if m else None


class Px:
    """A sipd with a fake gateway; UAs are Clients registered to it.

    recv() returns the next message a peer gets that is not a byte-exact
    copy of one it already got (sipd's own retransmissions, which a slow
    test may provoke, are legal); recv_raw() and drain() see everything.
    """

    def __init__(self, s, gw):
        self.s = s
        self.gw = gw
        self.me = "127.0.0.1:%d" % s.port
        self.rr = "<sip:%s;lr>" % self.me
        self.seen = {}

    def ua(self, user, contact_port=None, q=None):
        c = Client(self.s.port)
        contact = "<sip:%s@127.0.0.1:%d>" % (user, contact_port or c.port)
        if q is not None:
            contact += ";q=%s" % q
        pw = dict(USERS)[user]
        _, r = register(c, user, pw, contacts=[contact])
        assert r is not None and r.code == 200, r
        return c

    def our_via(self, branch, host, port, call_id, cseq):
        """sipd's stateless Via (the ACK of a 2xx)."""
        return "SIP/2.0/UDP %s;branch=%s" % (
            self.me, sipd_branch(branch, host, port, call_id, cseq))

    def our_via_re(self, branch, host, port, call_id, cseq):
        """sipd's Via on a request it forwards statefully."""
        return re.escape(self.our_via(branch, host, port, call_id,
                                      cseq)) + SUFFIX_RE

    def check_our_via(self, via, branch, host, port, call_id, cseq):
        assert re.fullmatch(self.our_via_re(branch, host, port, call_id,
                                            cseq), via), via

    def recv_raw(self, peer, timeout=2.0):
        m, addr = peer.recv_msg(timeout)
        assert m is not None, "nothing arrived at port %d" % peer.port
        self.seen.setdefault(peer.port, set()).add(m.raw)
        return m

    def recv(self, peer, timeout=2.0):
        seen = self.seen.setdefault(peer.port, set())
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            m, _ = peer.recv_msg(max(left, 0.001))
            assert m is not None, "nothing (new) arrived at port %d" % \
                peer.port
            if m.raw in seen:
                continue
            seen.add(m.raw)
            return m

    def drain(self, peer, timeout):
        """Everything peer gets within timeout seconds."""
        out = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return out
            m, _ = peer.recv_msg(left)
            if m is None:
                return out
            self.seen.setdefault(peer.port, set()).add(m.raw)
            out.append(m)

    def quiet(self, peer, timeout=0.3):
        m, _ = peer.recv_msg(timeout)
        assert m is None, (m, m.raw)

    def expect_100(self, peer, call):
        """sipd's own 100 Trying for call's INVITE (cseq, branch now)."""
        r = self.recv(peer)
        assert (r.code, r.reason) == (100, "Trying"), (r, r.raw)
        assert vias(r) == [seen_via(peer, call.branch)]
        assert r.get("CSeq") == "%d INVITE" % call.cseq
        assert r.get("Call-ID") == call.call_id
        assert r.get("From") == call.from_hdr()[len("From: "):]
        return r


class Call:
    """One INVITE transaction's identifiers, from the caller's side."""

    def __init__(self, caller, ruri, user, cseq=1, sdp=SDP, from_host=None):
        self.c = caller
        self.ruri = ruri
        self.user = user
        self.call_id = rand_token(16) + "@127.0.0.1"
        self.ftag = rand_token(8)
        self.cseq = cseq
        self.branch = "z9hG4bK" + rand_token()
        self.sdp = sdp
        self.from_host = from_host or "127.0.0.1"
        self.to = "<%s>" % ruri
        self.contact = "<sip:%s@127.0.0.1:%d>" % (user, caller.port)

    def from_hdr(self):
        return "From: <sip:%s@%s>;tag=%s" % (self.user, self.from_host,
                                              self.ftag)

    def invite(self, extra=(), mf=70):
        hdrs = ["Via: " + via_of(self.c, self.branch)]
        if mf is not None:
            hdrs.append("Max-Forwards: %d" % mf)
        hdrs += [self.from_hdr(), "To: " + self.to,
                 "Call-ID: " + self.call_id,
                 "CSeq: %d INVITE" % self.cseq, "Contact: " + self.contact,
                 "Content-Type: application/sdp"] + list(extra)
        return build("INVITE %s SIP/2.0" % self.ruri, hdrs, self.sdp)

    def cancel(self):
        return build("CANCEL %s SIP/2.0" % self.ruri, [
            "Via: " + via_of(self.c, self.branch), "Max-Forwards: 70",
            self.from_hdr(), "To: " + self.to, "Call-ID: " + self.call_id,
            "CSeq: %d CANCEL" % self.cseq])

    def ack_non2xx(self, resp):
        """ACK of a non-2xx final reply: same branch, To of the reply."""
        return build("ACK %s SIP/2.0" % self.ruri, [
            "Via: " + via_of(self.c, self.branch), "Max-Forwards: 70",
            self.from_hdr(), "To: " + resp.get("To"),
            "Call-ID: " + self.call_id, "CSeq: %d ACK" % self.cseq])

    def in_dialog(self, method, resp, cseq, body=b""):
        """A request in the dialog resp (a 2xx) set up: to its Contact,
        through its Record-Route (reversed, RFC 3261 §12.1.2)."""
        target = re.match(r"<([^>]*)>", resp.get("Contact")).group(1)
        routes = []
        for v in resp.all("Record-Route"):
            routes += [x.strip() for x in v.split(",")]
        routes.reverse()
        self.last_branch = "z9hG4bK" + rand_token()
        hdrs = ["Via: " + via_of(self.c, self.last_branch),
                "Max-Forwards: 70", self.from_hdr(),
                "To: " + resp.get("To"), "Call-ID: " + self.call_id,
                "CSeq: %d %s" % (cseq, method)]
        if routes:
            hdrs.append("Route: " + ", ".join(routes))
        if method == "INVITE":
            hdrs.append("Contact: " + self.contact)
        return build("%s %s SIP/2.0" % (method, target), hdrs, body)


def answer(req, code, reason, totag, contact_peer=None, body=b"",
           user="x"):
    """A UAS's response to req (as it arrived): Vias, RR copied."""
    to = req.get("To")
    if totag and ";tag=" not in to:
        to += ";tag=" + totag
    hdrs = ["Via: " + v for v in req.all("Via")]
    hdrs += ["Record-Route: " + v for v in req.all("Record-Route")]
    hdrs += ["From: " + req.get("From"), "To: " + to,
             "Call-ID: " + req.get("Call-ID"), "CSeq: " + req.get("CSeq")]
    if contact_peer is not None:
        hdrs.append("Contact: <sip:%s@127.0.0.1:%d>" % (user,
                                                        contact_peer.port))
    return build("SIP/2.0 %d %s" % (code, reason), hdrs, body)


def reply_to(peer, req, *a, **kw):
    peer.send(answer(req, *a, **kw))


def authed_invite(p, caller, call, user, password):
    """INVITE, 407 (no 100 before it), ACK of the 407 (absorbed), INVITE
    with credentials (new branch, CSeq + 1). Returns the credentials."""
    caller.send(call.invite())
    r = p.recv(caller)
    assert (r.code, r.reason) == (407, "Proxy Authentication Required")
    vals = r.all("Proxy-Authenticate")
    assert len(vals) == 1
    assert re.fullmatch(r'Digest realm="127\.0\.0\.1", nonce="[0-9a-f]{56}", '
                        r'qop="auth", algorithm=MD5', vals[0]), vals[0]
    assert vias(r) == [seen_via(caller, call.branch)]
    caller.send(call.ack_non2xx(r))
    chal = parse_challenge(vals[0])
    cred = proxy_authorization(chal, user, password, "INVITE", call.ruri)
    call.cseq += 1
    call.branch = "z9hG4bK" + rand_token()
    caller.send(call.invite(extra=[cred]))
    return cred


def check_forwarded_invite(p, req, call, peer, mf=69):
    v = vias(req)
    assert len(v) == 2, v
    p.check_our_via(v[0], call.branch, "127.0.0.1", peer.port, call.call_id,
                    call.cseq)
    assert v[1] == seen_via(peer, call.branch)
    assert req.all("Record-Route") == [p.rr]
    assert req.get("Max-Forwards") == str(mf)
    assert req.get("Route") is None
    assert req.body == call.sdp
    assert req.get("Content-Length") == str(len(call.sdp))
    assert req.get("Call-ID") == call.call_id
    assert req.get("CSeq") == "%d INVITE" % call.cseq


ACK_HEADERS = {"via", "from", "to", "call-id", "cseq", "max-forwards",
               "content-length", "route"}


def check_sipd_ack(ack, inv, resp):
    """sipd's own ACK of the non-2xx final reply resp to the INVITE copy
    inv (RFC 3261 §17.1.1.3): inv's R-URI, one Via with inv's branch,
    inv's From and Call-ID, resp's To, CSeq N ACK, Max-Forwards 70, no
    body, inv's Route headers."""
    assert ack.method == "ACK", (ack, ack.raw)
    assert ack.ruri == inv.ruri
    assert vias(ack) == [vias(inv)[0]]
    assert ack.get("From") == inv.get("From")
    assert ack.get("Call-ID") == inv.get("Call-ID")
    assert ack.get("To") == resp.get("To")
    assert ";tag=" in ack.get("To")
    assert ack.get("CSeq") == "%s ACK" % inv.get("CSeq").split()[0]
    assert ack.get("Max-Forwards") == "70"
    assert ack.get("Content-Length") == "0"
    assert ack.body == b""
    assert ack.all("Route") == inv.all("Route")
    names = {n.lower() for n, _ in ack.headers}
    assert names <= ACK_HEADERS, ack.raw


def check_sipd_cancel(can, inv):
    """sipd's CANCEL of the INVITE copy inv (RFC 3261 §9.1)."""
    assert can.method == "CANCEL", (can, can.raw)
    assert can.ruri == inv.ruri
    assert vias(can) == [vias(inv)[0]]
    assert can.get("CSeq") == "%s CANCEL" % inv.get("CSeq").split()[0]
    assert can.get("Call-ID") == inv.get("Call-ID")
    assert can.get("From") == inv.get("From")
    assert can.get("To") == inv.get("To")
    assert can.all("Route") == inv.all("Route")
    assert can.get("Record-Route") is None
    assert can.body == b""


def gw_invite(p, user, cseq=1):
    """The gateway calls user at sipd."""
    call = Call(p.gw, "sip:%s@%s" % (user, p.me), GW_NUM)
    call.cseq = cseq
    p.gw.send(call.invite())
    return call



# --- HTTP and /metrics ------------------------------------------------------

PROMTOOL = shutil.which("promtool")


def free_tcp_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def fill_redis(port, n, now, prefix="f", node="filler"):
    """n AoRs PREFIX000000.. in the Redis on 127.0.0.1:port, one contact
    each (sip:AOR@127.0.0.1:5060), written as sipd writes them: the
    contact's JSON and version 1 in one HSET per AoR, over one pipelined
    connection (seconds, not minutes). Each HSET must add both fields."""
    out = []
    for i in range(n):
        aor = "%s%06d" % (prefix, i)
        val = json.dumps({"expires": now + 3600, "q": -1,
                          "callid": "%s-%d" % (prefix, i), "cseq": 1,
                          "ua": node, "received": "", "path": "",
                          "socket": "", "node": node, "flags": 0,
                          "cflags": 0, "methods": 4294967295,
                          "modified": now}, separators=(",", ":")).encode()
        key = b"sipd:aor:" + aor.encode()
        contact = b"sip:%s@127.0.0.1:5060" % aor.encode()
        out.append(b"*6\r\n$4\r\nHSET\r\n$%d\r\n%s\r\n$7\r\nversion\r\n"
                   b"$1\r\n1\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (
                       len(key), key, len(contact), contact, len(val), val))
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        s.sendall(b"".join(out))
        f = s.makefile("rb")
        for _ in range(n):
            assert f.readline() == b":2\r\n"


def http_get(s, path, method="GET"):
    """(status, headers, body) of a request to s.http (the base URL)."""
    req = urllib.request.Request(s.http + path, method=method)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


# One sample line of the 0.0.4 text format: name{labels} value
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)'
                    r'(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*"'
                    r'(,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*")*\})?'
                    r' (-?[0-9.e+]+|NaN|\+Inf|-Inf)$')


def parse_metrics(text):
    """Strict reading of the format (what promtool also checks, for
    machines without it): HELP then TYPE before each family's samples,
    every family once, counters named _total. {name{labels}: value}."""
    out, typed, seen = {}, {}, set()
    current = None
    assert text.endswith("\n")
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name = line.split(" ")[2]
            assert name not in seen, "family twice: " + name
            seen.add(name)
            current = name
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert name == current and kind in ("counter", "gauge")
            typed[name] = kind
            if kind == "counter":
                assert name.endswith("_total"), name
        else:
            m = SAMPLE.match(line)
            assert m, "bad sample line: %r" % line
            assert m.group(1) == current, line
            key = m.group(1) + (m.group(2) or "")
            assert key not in out, "sample twice: " + key
            out[key] = float(m.group(4))
    return out


def metrics_total(m, name, **labels):
    """The sum of family name's samples carrying every label given."""
    want = ['%s="%s"' % kv for kv in labels.items()]
    n = 0
    for key, v in m.items():
        fam, _, rest = key.partition("{")
        if fam == name and all(w in rest.rstrip("}").split(",")
                               for w in want):
            n += v
    return n


def promtool_check(text):
    """promtool check metrics on text (when promtool is installed)."""
    if PROMTOOL:
        r = subprocess.run([PROMTOOL, "check", "metrics"], input=text,
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stdout + r.stderr


def scrape(s):
    """GET /metrics of s: checked by promtool and parsed."""
    code, hdrs, text = http_get(s, "/metrics")
    assert code == 200
    assert hdrs["Content-Type"].startswith("text/plain; version=0.0.4")
    promtool_check(text)
    return parse_metrics(text)
