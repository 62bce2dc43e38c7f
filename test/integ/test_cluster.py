"""Several sipd nodes sharing registrations through one Redis (issue 13,
cluster.* keys, README "Several nodes").

Each test starts its own redis-server (free port, temp dir, no
persistence) and up to three sipd nodes, node N listening on loopback
address 127.0.0.(N+1) with its own port (as the issue asks: 127.0.0.2-4),
stops everything by PID and bounds every wait. A phone is a sipcli
Client; the PSTN gateway is a Client whose address is pstn.gw_ip/port of
every node, so an INVITE from it goes to the registered contact.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import time

import pytest

from sipcli import Client, Request, rand_token, register, register_request
from sipd_helpers import (GW_NUM, SIPD, TRUSTED, USERS, Call, Sipd, answer,
                          fill_redis, free_tcp_port, metrics_total, scrape,
                          via_of, write_tables, write_users)

REDIS_SERVER = shutil.which("redis-server")
REDIS_SENTINEL = shutil.which("redis-sentinel")


class Redis:
    """A redis-server of the test's own, and a minimal RESP client."""

    def __init__(self, d, replica_of=None, sentinel_of=None, port=None,
                 password=None, extra=()):
        """A master; replica_of: a replica of that Redis; sentinel_of: a
        sentinel watching that master as "sipd" (quorum 2, down after
        1000 ms); extra: more redis-server arguments."""
        if REDIS_SERVER is None or REDIS_SENTINEL is None:
            pytest.fail("redis-server/redis-sentinel not installed "
                        "(test/dev.sh TEST_DEPS)")
        os.makedirs(d)
        self.password = password
        self.port = port or free_tcp_port()
        self.log = os.path.join(d, "redis.log")
        if sentinel_of is not None:
            conf = os.path.join(d, "sentinel.conf")
            with open(conf, "w") as f:
                f.write("port %d\nbind 127.0.0.1\ndir %s\nlogfile %s\n"
                        "sentinel monitor sipd 127.0.0.1 %d 2\n"
                        "sentinel down-after-milliseconds sipd 1000\n"
                        "sentinel failover-timeout sipd 10000\n" % (
                            self.port, d, self.log, sentinel_of.port))
            self.proc = subprocess.Popen([REDIS_SENTINEL, conf])
        else:
            args = [REDIS_SERVER, "--port", str(self.port), "--bind",
                    "127.0.0.1", "--save", "", "--appendonly", "no",
                    "--dir", d, "--logfile", self.log]
            if replica_of is not None:
                args += ["--replicaof", "127.0.0.1", str(replica_of.port)]
            if password is not None:
                args += ["--requirepass", password]
            self.proc = subprocess.Popen(args + list(extra))
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                if self.cmd("PING") == "PONG":
                    return
            except OSError:
                time.sleep(0.02)
        raise AssertionError("redis-server not ready in 5 s")

    @property
    def url(self):
        return "redis://127.0.0.1:%d" % self.port

    def cmd(self, *args, timeout=2.0):
        with socket.create_connection(("127.0.0.1", self.port),
                                      timeout=timeout) as s:
            out = b"*%d\r\n" % len(args)
            for a in args:
                a = a if isinstance(a, bytes) else str(a).encode()
                out += b"$%d\r\n%s\r\n" % (len(a), a)
            if self.password is not None:
                out = b"*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n" % (
                    len(self.password), self.password.encode()) + out
            s.sendall(out)
            f = s.makefile("rb")
            if self.password is not None:
                assert self._reply(f) == "OK"
            return self._reply(f)

    def _reply(self, f):
        line = f.readline()
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise AssertionError("redis: " + rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = f.read(n + 2)[:-2]
            return data.decode()
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply(f) for _ in range(n)]
        raise AssertionError("redis: bad reply %r" % line)

    def aor(self, aor):
        """{contact: json} of sipd:aor:{aor} (no "version")."""
        flat = self.cmd("HGETALL", "sipd:aor:" + aor)
        h = dict(zip(flat[::2], flat[1::2]))
        h.pop("version", None)
        return {k: json.loads(v) for k, v in h.items()}

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def kill9(pids):
    """SIGKILL to each pid, then waits until each is gone or a zombie:
    the workers (not our children) hold the listen socket until they
    have exited, and a big process (ASan's shadow memory) takes a while."""
    for pid in pids:
        os.kill(pid, signal.SIGKILL)

    def dead(pid):
        try:
            with open("/proc/%d/stat" % pid) as f:
                return f.read().rsplit(")", 1)[1].split()[0] in "ZX"
        except OSError:
            return True
    wait_for("killed processes gone", lambda: all(dead(p) for p in pids),
             10)


def wait_for(what, fn, timeout):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("not within %.1f s: %s" % (timeout, what))
        time.sleep(0.01)


class Cluster:
    def __init__(self, tmp_path, redis, gw, users):
        self.tmp = tmp_path
        self.redis = redis
        self.gw = gw
        self.users = users
        self.nodes = []

    def node(self, extra=None, wait=True):
        i = len(self.nodes) + 1
        d = self.tmp / ("n%d" % i)
        d.mkdir()
        http = free_tcp_port()
        host = "127.0.0.%d" % (i + 1)
        cfg = {"cluster.redis": self.redis.url, "cluster.node_id": "n%d" % i,
               "pstn.gw_ip": '"127.0.0.1"', "pstn.gw_port": str(self.gw.port),
               "http.listen": "%s:%d" % (host, http)}
        cfg.update(extra or {})
        s = Sipd(d, extra=cfg)
        # its own loopback address: the port Sipd chose, on 127.0.0.N
        with open(s.cfg) as f:
            text = f.read()
        old = "listen = udp:127.0.0.1:%d\n" % s.port
        assert old in text
        with open(s.cfg, "w") as f:
            f.write(text.replace(old, "listen = udp:%s:%d\n" % (host,
                                                                 s.port)))
        s.host = host
        s.http = "http://%s:%d" % (host, http)
        write_tables(s, USERS, TRUSTED)
        if self.users:
            write_users(s.db, self.users)
        self.nodes.append(s)
        if not wait:
            s.start()
            return s
        return self.start(s)

    def stop_nodes(self, check_logs=False):
        """Stops (by PID) every node still running."""
        for s in self.nodes:
            if s.proc is not None and s.proc.poll() is None:
                s.stop()
            if check_logs:
                s.check_log_clean()

    @staticmethod
    def start(s):
        n = s.log_text().count("cluster: loaded ")
        s.start()
        # the sync process has read Redis once: the node is in step
        wait_for("sync ready", lambda: s.log_text().count(
            "cluster: loaded ") > n, 10)
        return s


@pytest.fixture
def cluster(tmp_path):
    redis = Redis(str(tmp_path / "redis"))
    gw = Client(0)
    c = Cluster(tmp_path, redis, gw, 0)
    yield c
    try:
        c.stop_nodes(check_logs=True)
    finally:
        gw.close()
        # a test may have replaced the Redis: both are stopped by PID
        redis.stop()
        c.redis.stop()


def phone(node, user, expires=None, contact_port=None):
    """A UA registered with node (digest): (client, final response)."""
    c = Client(node.port, host=node.host)
    contact = "<sip:%s@127.0.0.1:%d>" % (user, contact_port or c.port)
    _, r = register(c, user, dict(USERS)[user], contacts=[contact],
                    expires=expires)
    return c, r


def invite_via(cl, node, user, ph, timeout=2.0):
    """The gateway calls user through node. Returns the INVITE the phone
    got (answered 486, so the transaction ends), or the gateway's final
    response when the phone got nothing."""
    cl.gw.server = (node.host, node.port)
    call = Call(cl.gw, "sip:%s@%s:%d" % (user, node.host, node.port), GW_NUM)
    cl.gw.send(call.invite())
    deadline = time.monotonic() + timeout
    while ph is not None and time.monotonic() < deadline:
        ph.sock.settimeout(deadline - time.monotonic())
        try:
            data, addr = ph.sock.recvfrom(65535)
        except socket.timeout:
            break
        req = Request(data)
        if req.method != "INVITE" or req.get("Call-ID") != call.call_id:
            continue    # the ACK of an earlier call's 486
        # sent from the node's own loopback address
        assert addr[0] == node.host, (addr, node.host)
        ph.sock.sendto(answer(req, 486, "Busy Here", rand_token(6)), addr)
        return req
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = cl.gw.recv(deadline - time.monotonic())
        if r is not None and r.code >= 200 and \
                r.get("Call-ID") == call.call_id:
            return r
    return None


def status(node):
    r = node.mictl("cluster.status", json=True)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout)


def cluster_metrics(node):
    """node's sipd_cluster_* samples (the whole scrape promtool-checked),
    writes and miss fetches by result as {result: n}."""
    m = scrape(node)
    out = {k: v for k, v in m.items() if k.startswith("sipd_cluster_")}
    for fam in ("writes", "miss_fetches"):
        name = "sipd_cluster_%s_total" % fam
        out[fam] = {k.split('"')[1]: v for k, v in m.items()
                    if k.startswith(name + "{")}
    return out


def metrics_aors(node):
    return scrape(node)["sipd_location_aors"]


def has_aor(node, aor):
    r = node.mictl("ul.dump")
    assert r.returncode == 0, r.stderr
    return ("AoR: %s\n" % aor) in r.stdout


def contacts_of(node):
    """{(aor, contact)} of node's table (ul.dump, text)."""
    r = node.mictl("ul.dump", timeout=30)
    assert r.returncode == 0, r.stderr
    out, aor = set(), None
    for line in r.stdout.splitlines():
        line = line.strip()
        if line.startswith("AoR: "):
            aor = line[5:]
        elif line.startswith("Address: "):
            out.add((aor, line[9:]))
    return out


def test_check_reports_cluster_and_refuses_bad_url(cluster, tmp_path):
    s = cluster.node()
    r = s.mictl("core.shmmem", json=True)
    assert "cluster" in json.loads(r.stdout)["tables"]
    assert "cluster sync (Redis -> location table)" in \
        s.mictl("core.ps").stdout
    r = subprocess.run([SIPD, "-c", "-f",
                        s.cfg], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "%s: cluster: %s, node n1, Redis unreachable: short (60 s)\n" % (
        s.cfg, cluster.redis.url) in r.stdout
    with open(s.cfg) as f:
        lines = f.read().splitlines()
    n = [i for i, l in enumerate(lines) if l.startswith("cluster.redis")][0]
    lines[n] = "cluster.redis = redis://127.0.0.1"
    bad = str(tmp_path / "bad.cfg")
    with open(bad, "w") as f:
        f.write("\n".join(lines) + "\n")
    r = subprocess.run([SIPD, "-c", "-f", bad],
                       capture_output=True, text=True)
    assert r.returncode != 0
    assert r.stderr == ('%s:%d: cluster.redis: bad value '
                        '"redis://127.0.0.1": redis://HOST:PORT[/DB] '
                        'expected\n' % (bad, n + 1))


def test_one_node_without_cluster_redis_is_as_before(sipd, sipd_factory):
    port = free_tcp_port()
    web = sipd_factory(extra={"http.listen": "127.0.0.1:%d" % port})
    web.http = "http://127.0.0.1:%d" % port
    web.start()
    assert not [k for k in scrape(web) if k.startswith("sipd_cluster")]
    web.stop()
    r = sipd.mictl("cluster.status")
    assert r.returncode != 0
    assert "cluster.redis is not set: one node" in r.stdout + r.stderr
    assert "cluster" not in json.loads(
        sipd.mictl("core.shmmem", json=True).stdout)["tables"]
    ps = sipd.mictl("core.ps").stdout.splitlines()
    assert len(ps) == 3 and "cluster" not in sipd.mictl("core.ps").stdout


def test_register_on_one_node_routes_through_the_others(cluster):
    n1, n2, n3 = cluster.node(), cluster.node(), cluster.node()
    for user, delay in (("alice", 0), ("bob", 0.005), ("watson", 0.02)):
        ph, r = phone(n1, user)
        assert r is not None and r.code == 200, r
        time.sleep(delay)
        for node in (n2, n3):
            req = invite_via(cluster, node, user, ph)
            assert isinstance(req, Request) and req.method == "INVITE", \
                (user, delay, req)
            assert req.ruri == "sip:%s@127.0.0.1:%d" % (user, ph.port)
        assert r.get("Contact") == "<sip:%s@127.0.0.1:%d>;expires=3600" % (
            user, ph.port)
        # in Redis before the 200: the layout of README "Several nodes"
        h = cluster.redis.aor(user)
        c = h["sip:%s@127.0.0.1:%d" % (user, ph.port)]
        assert c["node"] == "n1" and c["cseq"] == 2 and c["q"] == -1
        assert abs(c["expires"] - (time.time() + 3600)) <= 2
        ph.close()
    # with n3's sync process stopped, a call through n3 still finds a
    # fresh registration: the lookup miss asks Redis once
    sync = [int(l.split("\t")[0]) for l in n3.mictl("core.ps").stdout
            .splitlines() if "cluster sync" in l]
    assert len(sync) == 1
    before = cluster_metrics(n3)["miss_fetches"]
    os.kill(sync[0], signal.SIGSTOP)
    try:
        ph, r = phone(n1, "j.user")
        assert r.code == 200
        req = invite_via(cluster, n3, "j.user", ph)
        assert isinstance(req, Request) and req.method == "INVITE"
        # an AoR Redis does not have either stays a 480
        r = invite_via(cluster, n3, "user", None)
        assert (r.code, r.reason) == (480, "Temporarily Unavailable")
    finally:
        os.kill(sync[0], signal.SIGCONT)
    after = cluster_metrics(n3)["miss_fetches"]
    assert {k: after[k] - before[k] for k in after} == {
        "found": 1, "none": 1, "error": 0}
    ph.close()
    st = wait_for("n2 sees 3 nodes", lambda: (
        lambda x: x if x["nodes_seen"] == 3 else None)(status(n2)), 8)
    assert sorted(st["nodes"].split()) == ["n1", "n2", "n3"]
    assert (st["node"], st["redis"], st["state"], st["policy"],
            st["queue"], st["full_loads"]) == (
        "n2", cluster.redis.url, "connected", "short", 0, 1)
    assert st["master"] == "127.0.0.1:%d" % cluster.redis.port
    assert (st["applied"], st["refetched"]) == (4, 0)
    assert 0 <= st["lag_ms"] < 1000
    # each event carries the AoR's state: its one contact, as in the hash
    ev = cluster.redis.cmd("XRANGE", "sipd:events", "-", "+")
    for e, u in zip(ev, ("alice", "bob", "watson", "j.user"), strict=True):
        head = e[1][:10]
        assert dict(zip(head[::2], head[1::2])) == {
            "aor": u, "version": "1", "node": "n1", "op": "reg",
            "contacts": "1"}
        uri, value = e[1][10:]
        assert cluster.redis.cmd("HGET", "sipd:aor:" + u, uri) == value
        assert json.loads(value)["node"] == "n1"
    # /metrics says what cluster.status says; n1 wrote all 4 REGISTERs
    m = wait_for("n1 sees 3 nodes in /metrics", lambda: (
        lambda x: x if x["sipd_cluster_nodes_seen"] == 3 else None)(
        cluster_metrics(n1)), 8)
    assert m["writes"] == {"acked": 4, "script_refused": 0, "short": 0,
                           "refused": 0}
    assert (m["sipd_cluster_up"], m["sipd_cluster_replay_queue"],
            m["sipd_cluster_full_loads_total"],
            m["sipd_cluster_replays_total"]) == (1, 0, 1, 0)
    assert m['sipd_cluster_info{master="127.0.0.1:%d"}' %
             cluster.redis.port] == 1
    assert 0 <= m["sipd_cluster_lag_seconds"] < 1
    assert m["sipd_cluster_report_age_seconds"] <= 2
    # n1's own events are not applied again; n2 took alice, bob, watson
    # and j.user from the events, reading no hash
    assert (m["sipd_cluster_events_applied_total"],
            m["sipd_cluster_refetches_total"]) == (0, 0)
    m2 = cluster_metrics(n2)
    assert (m2["sipd_cluster_events_applied_total"],
            m2["sipd_cluster_refetches_total"]) == (4, 0)


def test_unregister_on_one_node_is_forgotten_by_the_others(cluster):
    n1, n2, n3 = cluster.node(), cluster.node(), cluster.node()
    ph, r = phone(n1, "alice")
    assert r.code == 200
    wait_for("alice on n3", lambda: has_aor(n3, "alice"), 2)
    req = invite_via(cluster, n3, "alice", ph)
    assert isinstance(req, Request) and req.method == "INVITE"
    c = Client(n2.port, host=n2.host)
    _, r = register(c, "alice", "secret-a", contacts=[
        "<sip:alice@127.0.0.1:%d>;expires=0" % ph.port])
    assert r.code == 200 and r.get("Contact") is None, r
    assert cluster.redis.aor("alice") == {}
    for node in (n1, n2, n3):
        wait_for("alice gone", lambda: not has_aor(node, "alice"), 2)
    r = invite_via(cluster, n1, "alice", None)
    assert r is not None and (r.code, r.reason) == \
        (480, "Temporarily Unavailable"), r
    c.close()
    ph.close()


def test_register_of_several_contacts_is_shared_as_sent(cluster):
    """A REGISTER with several Contacts (two added; then one removed and
    one added, as a phone that moved): Redis and the other node hold
    exactly what the registering node holds. (Each contact went to the
    script under the last one's URI once.)"""
    n1, n2 = cluster.node(), cluster.node()
    c = Client(n1.port, host=n1.host)
    a, b, d = ("sip:alice@127.0.0.1:%d" % p for p in (7001, 7002, 7003))
    _, r = register(c, "alice", "secret-a", call_id="multi@t",
                    contacts=["<%s>" % a, "<%s>" % b])
    assert r.code == 200
    assert set(cluster.redis.aor("alice")) == {a, b}
    wait_for("a and b on n2", lambda: {x for u, x in contacts_of(n2)
                                       if u == "alice"} == {a, b}, 2)
    _, r = register(c, "alice", "secret-a", call_id="multi@t", cseq=3,
                    contacts=["<%s>;expires=0" % a, "<%s>" % d])
    assert r.code == 200
    assert {x for u, x in contacts_of(n1) if u == "alice"} == {b, d}
    assert set(cluster.redis.aor("alice")) == {b, d}
    wait_for("b and d on n2", lambda: {x for u, x in contacts_of(n2)
                                       if u == "alice"} == {b, d}, 2)
    c.close()


def test_event_without_state_makes_the_aor_read_again(cluster):
    """An event as a sipd before events carried the AoR's state wrote it
    ({aor, version, node, op} only): the node reads the hash instead.
    And an event carrying a state older than what the node applied
    changes nothing."""
    n1 = cluster.node()
    before = status(n1)
    now = int(time.time())
    contact = "sip:legacy@127.0.0.1:5999"
    value = json.dumps({"expires": now + 600, "q": -1, "callid": "c-1",
                        "cseq": 7, "ua": "old", "received": "",
                        "path": "", "socket": "", "node": "old",
                        "flags": 0, "cflags": 0, "methods": 0xffffffff,
                        "modified": now}, separators=(",", ":"))
    r = cluster.redis
    r.cmd("HSET", "sipd:aor:legacy", contact, value, "version", "2")
    r.cmd("XADD", "sipd:events", "*", "aor", "legacy", "version", "2",
          "node", "old", "op", "reg")
    wait_for("legacy on n1", lambda: (
        "legacy", contact) in contacts_of(n1), 2)
    st = status(n1)
    assert (st["refetched"] - before["refetched"],
            st["applied"] - before["applied"]) == (1, 0)
    # version 1 carrying another contact: older than version 2, skipped;
    # version 3 carrying none: the AoR is gone
    r.cmd("XADD", "sipd:events", "*", "aor", "legacy", "version", "1",
          "node", "old", "op", "reg", "contacts", "1",
          "sip:stale@127.0.0.1:5998", value)
    time.sleep(0.3)     # the sync process wakes on an event at once
    assert [c for a, c in contacts_of(n1) if a == "legacy"] == [contact]
    r.cmd("XADD", "sipd:events", "*", "aor", "legacy", "version", "3",
          "node", "old", "op", "unreg", "contacts", "0")
    wait_for("legacy gone", lambda: not has_aor(n1, "legacy"), 2)
    st = status(n1)
    assert (st["refetched"] - before["refetched"],
            st["applied"] - before["applied"]) == (1, 1)
    assert not any(a == "legacy" for a, _ in contacts_of(n1))


def test_mi_changes_are_shared(cluster):
    """An operator's ul.add / ul.rm_contact / ul.rm on one node reach the
    others (Kamailio's DMQ users report deletes that were not)."""
    n1, n2, n3 = cluster.node(), cluster.node(), cluster.node()
    ph, r = phone(n1, "alice")
    assert r.code == 200
    wait_for("alice on n3", lambda: has_aor(n3, "alice"), 2)
    extra = "sip:alice@192.0.2.7:5060"
    assert n2.mictl("ul.add", "alice", extra, "3600").returncode == 0
    assert set(cluster.redis.aor("alice")) == {
        "sip:alice@127.0.0.1:%d" % ph.port, extra}
    for node in (n1, n3):
        wait_for("extra on every node", lambda: ("alice", extra) in
                 contacts_of(node), 2)
    # the phone's own binding, registered through n1, removed on n3
    mine = "sip:alice@127.0.0.1:%d" % ph.port
    assert n3.mictl("ul.rm_contact", "alice", mine).returncode == 0
    assert set(cluster.redis.aor("alice")) == {extra}
    for node in (n1, n2):
        wait_for("phone contact gone", lambda: ("alice", mine) not in
                 contacts_of(node), 2)
    assert n1.mictl("ul.rm", "alice").returncode == 0
    assert cluster.redis.aor("alice") == {}
    for node in (n2, n3):
        wait_for("alice gone", lambda: not has_aor(node, "alice"), 2)
    r = invite_via(cluster, n2, "alice", None)
    assert r is not None and r.code == 480, r
    # Redis away: the change holds on this node, and the reply says so
    os.kill(cluster.redis.proc.pid, signal.SIGSTOP)
    try:
        r = n2.mictl("ul.add", "bob", "sip:bob@192.0.2.8", "3600")
        assert r.returncode != 0
        assert "Changed on this node only, not shared with the other " \
            "nodes: Redis" in r.stdout + r.stderr, r.stdout + r.stderr
        assert has_aor(n2, "bob") and not has_aor(n1, "bob")
    finally:
        os.kill(cluster.redis.proc.pid, signal.SIGCONT)
    ph.close()


def test_redis_with_a_password(tmp_path):
    """cluster.redis = redis://:PASSWORD@HOST:PORT: AUTH before anything;
    the password is never printed or logged; a wrong one is refused by
    Redis, and the node says so and follows its policy."""
    redis = Redis(str(tmp_path / "redis"), password="s3cret-pw")
    gw = Client(0)
    cl = Cluster(tmp_path, redis, gw, 0)
    try:
        url = "redis://:s3cret-pw@127.0.0.1:%d" % redis.port
        n1 = cl.node({"cluster.redis": url})
        ph, r = phone(n1, "alice")
        assert r.code == 200
        assert list(redis.aor("alice")) == ["sip:alice@127.0.0.1:%d" %
                                            ph.port]
        r = subprocess.run([SIPD, "-c", "-f", n1.cfg], capture_output=True,
                           text=True)
        assert r.returncode == 0, r.stderr
        assert "cluster: redis://:***@127.0.0.1:%d, node n1" % redis.port \
            in r.stdout, r.stdout
        bad = cl.node({"cluster.redis": "redis://:wrong@127.0.0.1:%d" %
                       redis.port, "cluster.unreachable": "refuse"},
                      wait=False)
        c = Client(bad.port, host=bad.host)
        _, r = register(c, "bob", "secret-b", contacts=[
            "<sip:bob@127.0.0.1:%d>" % c.port])
        assert (r.code, r.get("Retry-After")) == (503, "5"), r
        wait_for("AUTH refused logged", lambda: "AUTH refused" in
                 bad.log_text(), 5)
        for node in (n1, bad):
            assert "s3cret-pw" not in node.log_text()
            assert "wrong" not in node.log_text()
        c.close()
        ph.close()
    finally:
        cl.stop_nodes()
        gw.close()
        redis.stop()


def trusted_register(c, user, contact, call_id):
    """A REGISTER from the trusted source: no challenge."""
    return c.request("REGISTER", "sip:127.0.0.1", headers=[
        "Contact: <%s>" % contact, "Expires: 3600"], call_id=call_id,
        user=user).replace(
        b"From: <sip:%s@" % user.encode(), b"From: <sip:trusty@")


def test_kill9_under_registration_load_loses_no_acked_binding(tmp_path):
    redis = Redis(str(tmp_path / "redis"))
    gw = Client(0)
    cl = Cluster(tmp_path, redis, gw, 300)
    try:
        n1, n2, n3 = cl.node(), cl.node(), cl.node()
        pids = [int(l.split("\t")[0]) for l in
                n1.mictl("core.ps").stdout.splitlines()]
        assert len(pids) == 4    # master, 2 workers, cluster sync
        c = Client(n1.port, host=n1.host)
        c.sock.setblocking(False)
        sent, acked = {}, set()
        t0 = time.monotonic()
        killed_at = None
        i = 0
        # 500 REGISTERs a second for at most 3 s; kill -9 after 1 s
        while time.monotonic() - t0 < 3 and i < 1500:
            due = t0 + i / 500.0
            if time.monotonic() >= due:
                user = "u%04d" % (i % 300)
                contact = "sip:%s@127.0.0.1:%d" % (user, 20000 + i // 300)
                cid = "load-%d@127.0.0.1" % i
                sent[cid] = (user, contact)
                c.sock.sendto(trusted_register(c, user, contact, cid),
                              c.server)
                i += 1
            if killed_at is None and time.monotonic() - t0 > 1:
                kill9(pids)
                killed_at = i
            try:
                while True:
                    data = c.sock.recv(65535)
                    if data.startswith(b"SIP/2.0 200 "):
                        for line in data.split(b"\r\n"):
                            if line.startswith(b"Call-ID: "):
                                acked.add(line[9:].decode())
            except (BlockingIOError, ConnectionRefusedError):
                pass
            time.sleep(0.0005)
        n1.proc.wait(5)
        n1.log.close()
        want = {sent[cid] for cid in acked}
        # most of what was sent before the kill was acknowledged
        assert killed_at is not None and \
            killed_at * 0.8 <= len(want) <= killed_at, (killed_at, len(want))
        for node in (n2, n3):
            wait_for("every acknowledged binding on %d" % node.port,
                     lambda: want <= contacts_of(node), 5)
        Cluster.start(n1)
        assert want <= contacts_of(n1)
        c.close()
    finally:
        cl.stop_nodes()
        gw.close()
        redis.stop()


def batch_of_registers(node, c, regs):
    """Sends regs [(user, contact, call_id, cseq)] while the node's one
    worker is stopped, so that one recvmmsg() takes them all (the
    REGISTERs of a batch share one round trip to Redis); returns
    {(call_id, cseq): status code}."""
    pids = [int(l.split("\t")[0]) for l in
            node.mictl("core.ps").stdout.splitlines()]
    assert len(pids) == 3    # master, 1 worker, cluster sync
    worker = pids[1]
    os.kill(worker, signal.SIGSTOP)
    try:
        for user, contact, cid, cseq in regs:
            c.sock.sendto(c.request(
                "REGISTER", "sip:127.0.0.1", headers=[
                    "Contact: <%s>" % contact, "Expires: 3600"],
                call_id=cid, cseq=cseq, user=user).replace(
                b"From: <sip:%s@" % user.encode(), b"From: <sip:trusty@"),
                c.server)
        time.sleep(0.2)
    finally:
        os.kill(worker, signal.SIGCONT)
    got = {}
    deadline = time.monotonic() + 5
    while len(got) < len(regs) and time.monotonic() < deadline:
        r = c.recv(deadline - time.monotonic())
        if r is not None and r.code >= 200:
            got[(r.get("Call-ID"), int(r.get("CSeq").split()[0]))] = r.code
    return got


def test_registers_of_one_batch_share_a_round_trip(cluster):
    """A stopped worker finds 16 REGISTERs at once: their scripts go to
    Redis together and each gets its own verdict in order (a lower CSeq
    behind a higher one of the same Call-ID: 400), Redis and shm agree;
    then Redis forgets the script (SCRIPT FLUSH) under a queued batch and
    every REGISTER of it still ends in Redis."""
    cluster.users = 200     # u0000..u0199 in subscriber
    n1 = cluster.node({"children": "1"})
    n2 = cluster.node()
    c = Client(n1.port, host=n1.host)
    regs = [("u%04d" % i, "sip:u%04d@127.0.0.1:%d" % (i, 30000 + i),
             "batch-%d" % i, 1) for i in range(14)]
    regs.insert(3, ("u0100", "sip:u0100@127.0.0.1:30100", "batch-cseq", 5))
    regs.append(("u0100", "sip:u0100@127.0.0.1:30100", "batch-cseq", 3))
    assert len(regs) == 16   # one recvmmsg() batch (worker.c WORKER_MMSG)
    got = batch_of_registers(n1, c, regs)
    want = {(cid, cseq): 200 for _, _, cid, cseq in regs}
    want[("batch-cseq", 3)] = 400
    assert got == want
    for user, contact, cid, cseq in regs:
        if cseq == 3:       # refused: the contact keeps CSeq 5
            assert cluster.redis.aor(user)[contact]["cseq"] == 5
            continue
        assert cluster.redis.aor(user)[contact]["callid"] == cid
        assert (user, contact) in contacts_of(n1)
    wait_for("the batch on node 2", lambda: {
        (u, ct) for u, ct, _, cs in regs if cs != 3} <= contacts_of(n2), 5)
    # the sync processes read it as a batch, and Redis held the next read
    wait_for("a read held by Redis", lambda: "cmdstat_wait:calls=" in
             cluster.redis.cmd("INFO", "commandstats"), 5)

    assert cluster.redis.cmd("SCRIPT", "FLUSH") == "OK"
    regs = [("u%04d" % i, "sip:u%04d@127.0.0.1:%d" % (i, 31000 + i),
             "flushed-%d" % i, 1) for i in range(10, 15)]
    got = batch_of_registers(n1, c, regs)
    assert got == {(cid, 1): 200 for _, _, cid, _ in regs}
    for user, contact, cid, _ in regs:
        assert cluster.redis.aor(user)[contact]["callid"] == cid
        assert (user, contact) in contacts_of(n1)
    c.close()


def test_redis_refusing_wait_the_sync_process_sleeps_itself(tmp_path):
    """Under load the sync process asks Redis to hold its next read (a
    WAIT pipelined before the XREAD: one wake-up per read, not two). A
    Redis that refuses WAIT (renamed away here; an ACL can do the same)
    makes it say so once and sleep between reads itself: nothing read
    after that is missed."""
    redis = Redis(str(tmp_path / "redis"),
                  extra=["--rename-command", "WAIT", ""])
    gw = Client(0)
    cl = Cluster(tmp_path, redis, gw, 200)
    try:
        n1 = cl.node({"children": "1"})
        n2 = cl.node()
        c = Client(n1.port, host=n1.host)
        for k in range(3):
            regs = [("u%04d" % i, "sip:u%04d@127.0.0.1:%d" % (
                i, 30000 + 100 * k + i), "w%d-%d" % (k, i), 1)
                for i in range(16)]
            got = batch_of_registers(n1, c, regs)
            assert got == {(cid, 1): 200 for _, _, cid, _ in regs}
            wait_for("burst %d on node 2" % k, lambda: {
                (u, ct) for u, ct, _, _ in regs} <= contacts_of(n2), 5)
        assert "cmdstat_wait:calls=" not in redis.cmd("INFO", "commandstats")
        assert n2.log_text().count("refused the delay before a read") == 1
        c.close()
    finally:
        cl.stop_nodes()
        gw.close()
        redis.stop()


def test_redis_stopped_calls_route_registers_follow_the_policy(cluster):
    n1 = cluster.node()
    n2 = cluster.node()
    n3 = cluster.node({"cluster.unreachable": "refuse"})
    ph, r = phone(n1, "alice")
    assert r.code == 200
    wait_for("alice on n2", lambda: has_aor(n2, "alice"), 2)
    os.kill(cluster.redis.proc.pid, signal.SIGSTOP)
    t_stop = time.monotonic()
    try:
        req = invite_via(cluster, n2, "alice", ph)
        assert isinstance(req, Request) and req.method == "INVITE"
        bob, r = phone(n1, "bob")
        assert r.code == 200, r
        assert r.get("Contact") == "<sip:bob@127.0.0.1:%d>;expires=60" % \
            bob.port
        w, r = phone(n3, "watson")
        assert (r.code, r.reason) == (503, "Service Unavailable"), r
        assert r.get("Retry-After") == "5"
        assert r.get("P-Registrar-Error") == \
            "Shared location store unreachable"
        st = wait_for("n1 knows Redis is away and has 1 queued", lambda: (
            lambda x: x if x["state"] == "unreachable" and x["queue"] == 1
            else None)(status(n1)), 8)
        assert st["master"] == ""
        m = cluster_metrics(n1)
        assert (m["sipd_cluster_up"], m["sipd_cluster_replay_queue"],
                m['sipd_cluster_info{master=""}']) == (0, 1, 1)
        assert m["writes"] == {"acked": 1, "script_refused": 0,
                               "short": 1, "refused": 0}
        assert cluster_metrics(n3)["writes"] == {
            "acked": 0, "script_refused": 0, "short": 0, "refused": 1}
        time.sleep(max(0, 10 - (time.monotonic() - t_stop)))
        # still routing from shm after 10 s without Redis
        for node in (n1, n2, n3):
            req = invite_via(cluster, node, "alice", ph)
            assert isinstance(req, Request) and req.method == "INVITE"
    finally:
        os.kill(cluster.redis.proc.pid, signal.SIGCONT)
    # n1's queued change is replayed (a write of the same REGISTER that
    # timed out may have been run by Redis after CONT: the replay puts
    # back the expiry bob was told), the others learn it
    st = wait_for("n1 replayed", lambda: (
        lambda x: x if x["replayed"] == 1 else None)(status(n1)), 10)
    assert (st["state"], st["queue"]) == ("connected", 0)
    assert "cluster: replayed 1 queued change(s), 0 left" in n1.log_text()
    c = cluster.redis.aor("bob")["sip:bob@127.0.0.1:%d" % bob.port]
    assert c["node"] == "n1" and abs(c["expires"] - time.time() - 60) <= 12
    for node in (n2, n3):
        wait_for("bob on %d" % node.port, lambda: has_aor(node, "bob"), 3)
    req = invite_via(cluster, n3, "bob", bob)
    assert isinstance(req, Request) and req.method == "INVITE"
    # registrations go to Redis again
    w2, r = phone(n3, "watson")
    assert r.code == 200 and r.get("Contact").endswith(";expires=3600")
    assert list(cluster.redis.aor("watson")) == [
        "sip:watson@127.0.0.1:%d" % w2.port]
    m = cluster_metrics(n1)
    assert (m["sipd_cluster_up"], m["sipd_cluster_replay_queue"],
            m["sipd_cluster_replays_total"]) == (1, 0, 1)
    assert cluster_metrics(n3)["writes"] == {
        "acked": 1, "script_refused": 0, "short": 0, "refused": 1}
    for x in (ph, bob, w, w2):
        x.close()


def sentinel_master(sentinels):
    """The master the sentinels agree on, as a port, or None."""
    ports = set()
    for st in sentinels:
        try:
            a = st.cmd("SENTINEL", "get-master-addr-by-name", "sipd")
        except (OSError, AssertionError):
            return None
        ports.add(int(a[1]) if a else None)
    return ports.pop() if len(ports) == 1 else None


def test_sentinel_failover_calls_route_registrations_resume(tmp_path):
    gw = Client(0)
    procs = []
    cl = None
    master = Redis(str(tmp_path / "master"))
    procs.append(master)
    try:
        replica = Redis(str(tmp_path / "replica"), replica_of=master)
        procs.append(replica)
        sentinels = []
        for i in range(3):
            sentinels.append(Redis(str(tmp_path / ("s%d" % i)),
                                   sentinel_of=master))
            procs.append(sentinels[-1])

        def ready():
            for st in sentinels:
                m = st.cmd("SENTINEL", "master", "sipd")
                m = dict(zip(m[::2], m[1::2]))
                if m["num-other-sentinels"] != "2" or \
                        m["num-slaves"] != "1":
                    return False
            return True
        wait_for("sentinels know each other and the replica", ready, 20)
        cl = Cluster(tmp_path, master, gw, 0)
        url = "sentinel://%s/sipd" % ",".join(
            "127.0.0.1:%d" % st.port for st in sentinels)
        n1 = cl.node({"cluster.redis": url})
        n2 = cl.node({"cluster.redis": url})
        n3 = cl.node({"cluster.redis": url})
        ph, r = phone(n1, "alice")
        assert r.code == 200 and r.get("Contact").endswith(";expires=3600")
        for node in (n2, n3):
            wait_for("alice on %s" % node.host,
                     lambda: has_aor(node, "alice"), 2)
        wait_for("alice on the replica",
                 lambda: replica.cmd("HGET", "sipd:aor:alice", "version"), 5)
        os.kill(master.proc.pid, signal.SIGKILL)
        master.proc.wait()
        t0 = time.monotonic()
        # calls route throughout the failover, at most 30 s
        while sentinel_master(sentinels) != replica.port:
            assert time.monotonic() - t0 < 30, "no failover in 30 s"
            for node in (n2, n3):
                req = invite_via(cl, node, "alice", ph)
                assert isinstance(req, Request) and req.method == "INVITE"
            time.sleep(0.2)
        # registrations resume on the new master, within 10 s
        deadline = time.monotonic() + 10
        while True:
            bob, r = phone(n1, "bob")
            assert r.code == 200, r
            if r.get("Contact").endswith(";expires=3600"):
                break
            assert time.monotonic() < deadline, r.get("Contact")
            bob.close()
            time.sleep(0.3)
        assert "sip:bob@127.0.0.1:%d" % bob.port in replica.aor("bob")
        # /metrics names the promoted replica as the master in use
        m = wait_for("n1 reads the new master", lambda: (
            lambda x: x if x["sipd_cluster_up"] == 1 and
            'sipd_cluster_info{master="127.0.0.1:%d"}' % replica.port in x
            else None)(cluster_metrics(n1)), 5)
        # alice before the kill, bob once the new master took it
        assert m["writes"]["acked"] == 2 and m["writes"]["refused"] == 0
        for node in (n2, n3):
            wait_for("bob on %s" % node.host, lambda: has_aor(node, "bob"), 5)
            req = invite_via(cl, node, "bob", bob)
            assert isinstance(req, Request) and req.method == "INVITE"
        for s in cl.nodes:
            s.stop()
            s.check_log_clean()
        ph.close()
        bob.close()
    finally:
        if cl is not None:
            cl.stop_nodes()
        gw.close()
        for p in procs:
            p.stop()


def test_start_with_100k_aors_in_redis(cluster):
    fill_redis(cluster.redis.port, 100000, int(time.time()))
    assert cluster.redis.cmd("DBSIZE") == 100000
    t0 = time.monotonic()
    n1 = cluster.node({"usrloc.max_contacts": "120000",
                       "usrloc.hash_size": "65536"})
    took0 = time.monotonic() - t0
    log = n1.log_text()
    assert "cluster: loaded 100000 AoR(s) from Redis in " in log
    # ready (MI answers, every AoR in shm) within 10 s on this shared box
    assert took0 < 10, took0
    r = n1.mictl("ul.lookup", "location", "f099999")
    assert r.returncode == 0 and "sip:f099999@127.0.0.1:5060" in r.stdout, \
        r.stdout + r.stderr
    assert metrics_aors(n1) == 100000
    # a restart (killed, so no local snapshot is written): ready again
    # with all 100k AoRs in shm, timed from the start of the new process
    # to the sync process's "loaded" line
    pids = [int(l.split("\t")[0]) for l in
            n1.mictl("core.ps").stdout.splitlines()]
    assert len(pids) == 4    # master, 2 workers, cluster sync
    kill9(pids)
    n1.proc.wait(5)
    n1.log.close()
    t0 = time.monotonic()
    Cluster.start(n1)
    took = time.monotonic() - t0
    assert log.count("cluster: loaded ") == 1
    assert n1.log_text().count(
        "cluster: loaded 100000 AoR(s) from Redis in ") == 2
    assert took < 10, took
    assert metrics_aors(n1) == 100000
    print("start %.2f s, restart %.2f s with 100k AoRs" % (took0, took))


def test_node_starts_from_its_snapshot_while_redis_is_down(cluster,
                                                          tmp_path):
    n1 = cluster.node()
    ph, r = phone(n1, "alice")
    assert r.code == 200 and r.get("Contact").endswith(";expires=3600")
    assert n1.stop() == 0       # SIGTERM: the local table is written
    cluster.redis.stop()
    n1.start()
    st = wait_for("n1's sync process tried Redis", lambda: (
        lambda x: x if x["updated"] > 0 else None)(status(n1)), 5)
    assert (st["state"], st["full_loads"]) == ("unreachable", 0)
    # from the DB_TEXT snapshot: calls route without Redis
    req = invite_via(cluster, n1, "alice", ph)
    assert isinstance(req, Request) and req.method == "INVITE"
    # a new, empty Redis: n1 writes what its table holds into it
    cluster.redis = Redis(str(tmp_path / "redis2"), port=cluster.redis.port)
    h = wait_for("alice seeded", lambda: cluster.redis.aor("alice"), 5)
    c = h["sip:alice@127.0.0.1:%d" % ph.port]
    assert (c["node"], c["cseq"]) == ("n1", 2)
    assert abs(c["expires"] - time.time() - 3600) <= 5
    wait_for("the seed logged", lambda: "cluster: Redis had no AoR and no "
             "stream: 1 AoR(s) of this node's table written to it" in
             n1.log_text(), 2)
    n2 = cluster.node()
    req = invite_via(cluster, n2, "alice", ph)
    assert isinstance(req, Request) and req.method == "INVITE"
    ph.close()


def sipp_gateway_calls(top, name, node, users, phones_addr, rate=100):
    """SIPp as the gateway (127.0.0.1) calls each of users through node;
    SIPp as the phones (phones_addr, where every binding points) answers.
    Returns (calls answered by the phones, calls the gateway completed)."""
    from test_metrics_sipp import IN_XML, UAS_XML, Sipp, csv_rows, free_port
    ip, port = phones_addr.split(":")
    csv = os.path.join(top, name + ".csv")
    csv_rows(csv, [("4930%06d" % i, "-", u, "-")
                   for i, u in enumerate(sorted(users))])
    ph = Sipp(top, name + "-phones", UAS_XML, ip, int(port),
              ["-m", str(len(users))])
    try:
        time.sleep(0.3)     # the phones listen
        gw = Sipp(top, name + "-gw", IN_XML, "127.0.0.1",
                  free_port("127.0.0.1"),
                  ["-inf", csv, "-m", str(len(users)), "-r", str(rate),
                   "-d", "10"], "%s:%d" % (node.host, node.port))
        try:
            gw.wait(75)
            ph.wait(75)
        finally:
            gw.kill()
    finally:
        ph.kill()
    return ph.calls()[0], gw.calls()[0]


def test_kill9_under_sipp_registrations_calls_reach_every_acked(tmp_path):
    """SIPp registers phones (digest) on n1 at 500 registrations/s; n1 is
    killed (-9, every process) after 1 s. Every registration SIPp saw
    acknowledged is then called by SIPp playing the gateway, through n2,
    n3 and the restarted n1, and SIPp playing the phones answers each."""
    from test_metrics_sipp import Sipp, free_port
    assert shutil.which("sipp"), "SIPp (sip-tester) is needed"
    n_users = 1500
    redis = Redis(str(tmp_path / "redis"))
    gw = Client(0)
    cl = Cluster(tmp_path, redis, gw, n_users)
    top = str(tmp_path / "sipp")
    os.mkdir(top)
    try:
        extra = {"pstn.match_port": "no", "log.level": "info"}
        n1, n2, n3 = cl.node(extra), cl.node(extra), cl.node(extra)
        phones = "127.0.0.5:%d" % free_port("127.0.0.5")
        csv = os.path.join(top, "reg.csv")
        with open(os.path.join(str(tmp_path), "n1", "users.csv")) as f:
            rows = f.read().splitlines()
        with open(csv, "w") as f:
            f.write(rows[0] + "\n" + "".join(
                "%s;%s\n" % (r, phones) for r in rows[1:]))
        pids = [int(l.split("\t")[0]) for l in
                n1.mictl("core.ps").stdout.splitlines()]
        assert len(pids) == 4    # master, 2 workers, cluster sync
        reg = Sipp(top, "register", os.path.join(
            os.path.dirname(os.path.abspath(__file__)), "scenarios",
            "reg_cluster.xml"), "127.0.0.5", free_port("127.0.0.5"),
            ["-inf", csv, "-m", str(n_users), "-r", "500",
             "-recv_timeout", "2000", "-trace_logs"],
            "%s:%d" % (n1.host, n1.port))
        # killed once Redis holds 320 AoRs (~0.6 s at 500/s, however
        # slow SIPp is to start): each of those was written before its
        # 200, and at most one per worker was still in flight
        wait_for("320 AoRs in Redis", lambda: len(cl.redis.cmd(
            "KEYS", "sipd:aor:*")) >= 320, 20)
        kill9(pids)
        n1.proc.wait(5)
        n1.log.close()
        try:
            reg.proc.wait(30)   # the rest time out (-recv_timeout 2 s)
        finally:
            reg.kill()
        logs = [os.path.join(reg.dir, f) for f in os.listdir(reg.dir)
                if f.endswith("_logs.log")]
        assert len(logs) == 1, os.listdir(reg.dir)
        with open(logs[0]) as f:
            acked = {ln.split()[1] for ln in f if ln.startswith("acked ")}
        # 320 written before the kill: all but those in flight were
        # acknowledged, none after it
        print("acked before the kill: %d" % len(acked))
        assert 300 <= len(acked) <= 600, len(acked)
        for node in (n2, n3):
            wait_for("every acknowledged AoR on %d" % node.port, lambda: {
                (u, "sip:%s@%s" % (u, phones)) for u in acked} <=
                contacts_of(node), 5)
        assert sipp_gateway_calls(top, "n2", n2, acked, phones) == \
            (len(acked), len(acked))
        Cluster.start(n1)
        assert sipp_gateway_calls(top, "n1", n1, acked, phones) == \
            (len(acked), len(acked))
        for s in (n2, n3):
            s.stop()
            s.check_log_clean()
    finally:
        cl.stop_nodes()
        gw.close()
        redis.stop()
