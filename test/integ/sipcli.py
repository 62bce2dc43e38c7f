"""sipcli: a small stdlib SIP UDP client for exact-header tests.

Builds requests byte by byte (so a test says exactly what goes on the
wire), sends them to sipd on 127.0.0.1 and parses the responses it gets.
"""
import hashlib
import random
import re
import socket
import string


def rand_token(n=10):
    return "".join(random.choice(string.ascii_lowercase + string.digits)
                   for _ in range(n))


class Response:
    def __init__(self, raw):
        self.raw = raw
        head, _, self.body = raw.partition(b"\r\n\r\n")
        lines = head.decode("utf-8", "replace").split("\r\n")
        m = re.match(r"SIP/2\.0 (\d{3}) ?(.*)", lines[0])
        if not m:
            raise ValueError("not a SIP response: %r" % lines[0])
        self.code = int(m.group(1))
        self.reason = m.group(2)
        self.headers = []          # [(name, value)] in wire order
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.headers.append((name.strip(), value.strip()))

    def all(self, name):
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def get(self, name):
        vals = self.all(name)
        return vals[0] if vals else None

    def __repr__(self):
        return "<Response %d %s>" % (self.code, self.reason)


class Request:
    """A request as a proxy sent it on (for fake gateways and UAs)."""

    def __init__(self, raw):
        self.raw = raw
        head, _, self.body = raw.partition(b"\r\n\r\n")
        lines = head.decode("utf-8", "replace").split("\r\n")
        m = re.match(r"(\S+) (\S+) SIP/2\.0$", lines[0])
        if not m:
            raise ValueError("not a SIP request: %r" % lines[0])
        self.method, self.ruri = m.group(1), m.group(2)
        self.headers = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.headers.append((name.strip(), value.strip()))

    all = Response.all
    get = Response.get

    def __repr__(self):
        return "<Request %s %s>" % (self.method, self.ruri)


def parse_message(raw):
    """A Request or a Response."""
    return Response(raw) if raw.startswith(b"SIP/2.0 ") else Request(raw)


class Client:
    def __init__(self, port, host="127.0.0.1", bind_port=0):
        self.server = (host, port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", bind_port))
        self.port = self.sock.getsockname()[1]

    def close(self):
        self.sock.close()

    def request(self, method, ruri, headers=None, body=b"", via=None,
                cseq=1, call_id=None, from_tag=None, to_tag=None,
                max_forwards=70, user="alice", domain="127.0.0.1"):
        """Returns request bytes with the usual mandatory headers."""
        via = via or "SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%s;rport" % (
            self.port, rand_token())
        call_id = call_id or rand_token(16) + "@127.0.0.1"
        from_tag = from_tag or rand_token(8)
        lines = ["%s %s SIP/2.0" % (method, ruri),
                 "Via: " + via,
                 "Max-Forwards: %d" % max_forwards if max_forwards is not None
                 else None,
                 "From: <sip:%s@%s>;tag=%s" % (user, domain, from_tag),
                 "To: <sip:%s@%s>%s" % (user, domain,
                                        ";tag=" + to_tag if to_tag else ""),
                 "Call-ID: " + call_id,
                 "CSeq: %d %s" % (cseq, method)]
        lines = [l for l in lines if l is not None]
        lines += list(headers or [])
        lines.append("Content-Length: %d" % len(body))
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    def send(self, data):
        self.sock.sendto(data, self.server)

    def recv(self, timeout=2.0):
        """Next response, or None after timeout seconds."""
        self.sock.settimeout(timeout)
        try:
            data, _ = self.sock.recvfrom(65535)
        except socket.timeout:
            return None
        return Response(data)

    def recv_msg(self, timeout=2.0):
        """Next request or response and its source, or (None, None)."""
        self.sock.settimeout(timeout)
        try:
            data, addr = self.sock.recvfrom(65535)
        except socket.timeout:
            return None, None
        return parse_message(data), addr

    def transact(self, data, timeout=2.0):
        """Sends data, returns the first final response (skips 1xx)."""
        self.send(data)
        while True:
            r = self.recv(timeout)
            if r is None or r.code >= 200:
                return r


# --- digest (RFC 2617, RFC 7616) and REGISTER helpers --------------------

DIGEST_HASH = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}


def parse_challenge(value):
    """'Digest realm="r", nonce="n", ...' -> {"realm": "r", ...}; the
    scheme is under "scheme". Quotes are removed, names lower-cased."""
    scheme, _, rest = value.strip().partition(" ")
    out = {"scheme": scheme}
    for m in re.finditer(r'\s*([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|'
                         r'[^,\s]*)\s*,?', rest):
        v = m.group(2)
        if v.startswith('"'):
            v = v[1:-1]
        out[m.group(1).lower()] = v
    return out


def digest_response(alg, user, realm, password, method, uri, nonce,
                    nc=None, cnonce=None, qop=None, ha1=None):
    """The response value; ha1 given = use it instead of the password."""
    h = DIGEST_HASH[alg]

    def hx(s):
        return h(s.encode("latin-1")).hexdigest()
    if ha1 is None:
        ha1 = hx("%s:%s:%s" % (user, realm, password))
    ha2 = hx("%s:%s" % (method, uri))
    if qop:
        return hx("%s:%s:%s:%s:%s:%s" % (ha1, nonce, nc, cnonce, qop, ha2))
    return hx("%s:%s:%s" % (ha1, nonce, ha2))


def authorization(chal, user, password, method="REGISTER", uri=None,
                  nc=1, cnonce=None, qop="auth", alg=None, ha1=None,
                  response=None):
    """An Authorization header line answering chal (parse_challenge())."""
    alg = alg or chal.get("algorithm", "MD5")
    uri = uri or "sip:" + chal["realm"]
    cnonce = cnonce or rand_token(12)
    ncs = "%08x" % nc
    if response is None:
        response = digest_response(alg, user, chal["realm"], password,
                                   method, uri, chal["nonce"],
                                   ncs if qop else None, cnonce, qop, ha1)
    parts = ['username="%s"' % user, 'realm="%s"' % chal["realm"],
             'nonce="%s"' % chal["nonce"], 'uri="%s"' % uri,
             'response="%s"' % response, "algorithm=%s" % alg]
    if qop:
        parts += ["qop=%s" % qop, "nc=%s" % ncs, 'cnonce="%s"' % cnonce]
    return "Authorization: Digest " + ", ".join(parts)


def proxy_authorization(chal, user, password, method, uri, **kw):
    """A Proxy-Authorization line answering a 407's challenge."""
    line = authorization(chal, user, password, method=method, uri=uri, **kw)
    return "Proxy-" + line


def register_request(client, user="alice", domain="127.0.0.1", contacts=(),
                     expires=None, cseq=1, call_id=None, headers=(),
                     auth_user=None, ruri=None, via=None):
    """REGISTER bytes: To/From user@domain, one Contact line per entry of
    contacts (written as given), Expires header when expires is set; via
    replaces the top Via (default: the client's own address, rport)."""
    hdrs = ["Contact: " + c for c in contacts]
    if expires is not None:
        hdrs.append("Expires: %s" % expires)
    hdrs += list(headers)
    return client.request("REGISTER", ruri or "sip:" + domain,
                          headers=hdrs, cseq=cseq, call_id=call_id,
                          user=user, domain=domain, via=via)


def natted_via(client, port):
    """A top Via as a UA behind NAT writes it: its private port, not the
    one sipd sees (rport asks for the reply at the source)."""
    return "SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%s;rport" % (
        port, rand_token())


def register(client, user, password, domain="127.0.0.1", contacts=(),
             expires=None, call_id=None, cseq=1, headers=(), alg="MD5",
             via=None):
    """The whole digest dance: REGISTER, answer the 401 once with the
    challenge of algorithm alg (CSeq + 1, same Call-ID). Returns
    (challenge response or None, final response)."""
    call_id = call_id or rand_token(16) + "@127.0.0.1"
    first = client.transact(register_request(
        client, user, domain, contacts, expires, cseq, call_id, headers,
        via=via))
    if first is None or first.code != 401:
        return None, first
    chal = [parse_challenge(v) for v in first.all("WWW-Authenticate")]
    chal = [c for c in chal if c.get("algorithm", "MD5") == alg][0]
    auth = authorization(chal, user, password)
    final = client.transact(register_request(
        client, user, domain, contacts, expires, cseq + 1, call_id,
        list(headers) + [auth], via=via))
    return first, final
