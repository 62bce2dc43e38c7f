"""sipd as a process: command line, start/stop, supervision, basic SIP."""
import os
import random
import signal
import socket
import subprocess
import time

import pytest

from sipcli import Client
from sipd_helpers import MICTL, SIPD, SRCDIR, free_udp_port


def run(*args, **kw):
    return subprocess.run(list(args), capture_output=True, text=True,
                          timeout=30, **kw)


def test_version():
    r = run(SIPD, "-V")
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert lines[0].startswith("sipd ")
    assert lines[1].startswith("build: ") and ", sanitizers: " in lines[1]
    assert lines[2].startswith("storage: text (DB_TEXT)")
    assert lines[3].startswith("libevent ") and "OpenSSL" in lines[3]
    assert run(SIPD, "--version").stdout == r.stdout
    h = run(SIPD, "--help")
    assert h.returncode == 0 and h.stdout.startswith("usage: sipd ")
    assert h.stdout == run(SIPD, "-h").stdout


def test_mictl_help_and_version(sipd):
    r = run(MICTL, "--help")
    assert r.returncode == 0 and r.stdout.startswith("usage: mictl ")
    assert run(MICTL, "--version").stdout.startswith("mictl (sipd ")
    helped = sipd.mictl("help", "ul.dump")
    assert helped.returncode == 0
    assert helped.stdout == sipd.mictl("system.methodHelp", "ul.dump").stdout
    assert helped.stdout.startswith("ul.dump")


def test_unknown_key_hint(tmp_path):
    cfg = tmp_path / "typo.cfg"
    cfg.write_text("pstn.gw_ipp = 192.0.2.1\nfoo.bar = 1\n")
    r = run(SIPD, "-c", "-f", str(cfg), "-o", "childrn=3")
    assert r.returncode == 1
    assert r.stderr == (
        '%s:1: unknown key "pstn.gw_ipp" (did you mean pstn.gw_ip?)\n'
        '%s:2: unknown key "foo.bar"\n'
        '-o: unknown key "childrn" (did you mean children?)\n' % (cfg, cfg))


def test_usage_errors_exit_2():
    assert run(SIPD, "-h").returncode == 0
    assert run(SIPD, "-x").returncode == 2
    assert run(SIPD, "stray").returncode == 2
    assert run(SIPD, "-o", "children").returncode == 2


def test_check_shipped_config():
    cfg = os.path.join(SRCDIR, "conf", "sipd.cfg")
    r = run(SIPD, "-c", "-f", cfg)
    assert r.returncode == 0, r.stderr


def test_check_broken_config_names_file_and_line(tmp_path):
    cfg = tmp_path / "broken.cfg"
    cfg.write_text("children = 2\n"
                   "no_such_key = 1\n"
                   "# comment\n"
                   "children = 3\n"
                   "usrloc.hash_size = 100\n")
    r = run(SIPD, "-c", "-f", str(cfg))
    assert r.returncode == 1
    assert "%s:2: " % cfg in r.stderr
    assert "%s:4: " % cfg in r.stderr
    assert "%s:5: " % cfg in r.stderr


def test_check_broken_table_names_file_and_line(sipd_factory):
    s = sipd_factory()
    path = os.path.join(s.db, "subscriber")
    with open(path, "a") as f:
        f.write("9:bob:example.com:pw:bob@example.com:x:y:z:extra\n")
    nlines = sum(1 for _ in open(path))
    r = run(SIPD, "-c", "-f", s.cfg)
    assert r.returncode == 1
    assert "%s:%d: " % (path, nlines) in r.stderr


def test_override_checked_like_the_file(sipd_factory):
    s = sipd_factory()
    r = run(SIPD, "-c", "-f", s.cfg, "-o", "children=zero")
    assert r.returncode == 1
    assert "children" in r.stderr
    assert run(SIPD, "-c", "-f", s.cfg, "-o", "children=3").returncode == 0


def test_options_with_sipsak(sipd):
    r = run("sipsak", "-s", "sip:127.0.0.1:%d" % sipd.port, "-v")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "200" in r.stdout


def test_options_to_sipd_exact_reply(sipd):
    c = Client(sipd.port)
    req = c.request("OPTIONS", "sip:127.0.0.1:%d" % sipd.port, cseq=7,
                    call_id="opt-1@test")
    r = c.transact(req)
    assert r is not None and r.code == 200
    via = r.get("Via")
    assert via.startswith("SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK" % c.port)
    # RFC 3581 §4: with rport, received is added even when it matches.
    assert via.endswith(";rport=%d;received=127.0.0.1" % c.port)
    assert r.get("Call-ID") == "opt-1@test"
    assert r.get("CSeq") == "7 OPTIONS"
    assert ";tag=" in r.get("To")
    assert r.get("From").startswith("<sip:alice@127.0.0.1>;tag=")
    assert r.get("Content-Length") == "0"
    # A retransmission gets the same To tag (stateless, deterministic).
    r2 = c.transact(req)
    assert r2.get("To") == r.get("To")


def test_received_added_when_source_differs(sipd):
    c = Client(sipd.port)
    via = "SIP/2.0/UDP 192.0.2.7:%d;branch=z9hG4bKrecv1" % c.port
    r = c.transact(c.request("OPTIONS", "sip:127.0.0.1", via=via))
    assert r.get("Via") == via + ";received=127.0.0.1"


def test_unsupported_require_gets_420(sipd):
    c = Client(sipd.port)
    r = c.transact(c.request("OPTIONS", "sip:127.0.0.1",
                             headers=["Require: foo, bar"]))
    assert r.code == 420
    assert r.get("Unsupported") == "foo, bar"


def test_other_requests_challenged_by_the_proxy(sipd):
    """INVITE & co. from a UA that is neither trusted nor authenticated
    get a proxy challenge (the proxy; test_proxy.py has the calls)."""
    c = Client(sipd.port)
    for method in ("INVITE", "MESSAGE"):
        r = c.transact(c.request(method, "sip:bob@127.0.0.1"))
        assert r.code == 407, (method, r)
        assert r.reason == "Proxy Authentication Required"
        assert r.get("Proxy-Authenticate").startswith("Digest realm=")


def test_max_forwards_zero_not_forwarded(sipd):
    c = Client(sipd.port)
    r = c.transact(c.request("MESSAGE", "sip:bob@127.0.0.1", max_forwards=0))
    assert r.code == 483
    # ...but OPTIONS to sipd itself is answered as an endpoint would.
    r = c.transact(c.request("OPTIONS", "sip:127.0.0.1", max_forwards=0))
    assert r.code == 200


def test_bad_requests_named_in_reason(sipd):
    c = Client(sipd.port)
    req = c.request("OPTIONS", "sip:127.0.0.1").replace(b"Call-ID:", b"X-No:")
    r = c.transact(req)
    assert r.code == 400
    assert "Call-ID" in r.reason
    req = c.request("OPTIONS", "sip:127.0.0.1").replace(b"SIP/2.0\r\n",
                                                        b"SIP/3.0\r\n", 1)
    assert c.transact(req).code == 505


def test_responses_and_garbage_are_dropped(sipd):
    c = Client(sipd.port)
    c.send(b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKx"
           b"\r\n\r\n" % c.port)
    c.send(b"\x00\x01garbage")
    assert c.recv(0.3) is None


def test_random_datagrams_do_not_kill_sipd(sipd):
    workers = sorted(sipd.worker_pids())
    rnd = random.Random(4475)
    c = Client(sipd.port)
    base = c.request("OPTIONS", "sip:127.0.0.1")
    for i in range(300):
        kind = i % 3
        if kind == 0:
            data = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 1500)))
        elif kind == 1:       # a real request with random bytes flipped
            data = bytearray(base)
            for _ in range(rnd.randint(1, 20)):
                data[rnd.randrange(len(data))] = rnd.getrandbits(8)
            data = bytes(data)
        else:                 # truncated at a random point
            data = base[:rnd.randrange(len(base))]
        c.send(data)
    # Drain whatever answers came, then check sipd still answers.
    while c.recv(0.2) is not None:
        pass
    r = c.transact(c.request("OPTIONS", "sip:127.0.0.1"))
    assert r is not None and r.code == 200
    assert sorted(sipd.worker_pids()) == workers


def test_core_ps_lists_master_and_workers(sipd_factory):
    s = sipd_factory(children=3).start()
    r = s.mictl("core.ps")
    assert r.returncode == 0
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 4
    assert lines[0] == "%d\tmaster (supervisor, MI, storage)" % s.pid
    assert len(s.worker_pids()) == 3


def test_killed_worker_respawned_within_1s(sipd):
    before = sipd.worker_pids()
    victim = before[0]
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        now = sipd.worker_pids()
        if victim not in now and len(now) == len(before):
            break
        time.sleep(0.02)
    else:
        pytest.fail("no new worker within 1 s: %r -> %r" % (before, now))
    c = Client(sipd.port)
    for _ in range(6):     # any worker may answer: all must be alive
        assert c.transact(c.request("OPTIONS", "sip:127.0.0.1")).code == 200


def test_sigterm_exits_0_and_removes_pid_file(sipd):
    assert open(sipd.pid_file).read().strip() == str(sipd.pid)
    workers = sipd.worker_pids()
    assert sipd.stop() == 0
    assert not os.path.exists(sipd.pid_file)
    assert not os.path.exists(sipd.sock)
    for pid in workers:
        assert not os.path.exists("/proc/%d" % pid) or \
            open("/proc/%d/stat" % pid).read().split()[2] == "Z"


def test_second_instance_with_same_pid_file_refused(sipd):
    """The pid file is locked for the daemon's life: a second sipd with
    the same pid_file (another port, so the bind would work) exits 1 and
    names the running one; the first keeps its pid file, MI socket and
    SIP service."""
    port = free_udp_port()
    for args in (["-D", "-E"], []):            # foreground, daemonizing
        r = subprocess.run([SIPD] + args + ["-f", sipd.cfg, "-o",
                           "listen = udp:127.0.0.1:%d" % port],
                           capture_output=True, text=True, timeout=10)
        assert r.returncode == 1, (r.returncode, r.stderr)
        assert ("another sipd is running (pid %d) with pid file %s" %
                (sipd.pid, sipd.pid_file)) in r.stderr, r.stderr
    assert open(sipd.pid_file).read().strip() == str(sipd.pid)
    assert os.path.exists(sipd.sock)
    assert sipd.mictl("core.uptime").returncode == 0
    c = Client(sipd.port)
    assert c.transact(c.request("OPTIONS", "sip:127.0.0.1")).code == 200
    assert sipd.stop() == 0
    assert not os.path.exists(sipd.pid_file)


def test_sigint_also_stops(sipd):
    assert sipd.stop(signal.SIGINT) == 0


def test_port_in_use_exits_3(sipd_factory):
    a = sipd_factory().start()
    b = sipd_factory()
    r = run(SIPD, "-D", "-E", "-f", b.cfg, "-o",
            "listen=udp:127.0.0.1:%d" % a.port)
    assert r.returncode == 3
    assert "bind" in r.stderr


def test_daemonizes_without_D(sipd_factory):
    s = sipd_factory()
    r = run(SIPD, "-f", s.cfg)
    assert r.returncode == 0, r.stderr
    pid = int(open(s.pid_file).read())
    try:
        assert os.path.exists("/proc/%d" % pid)
        s.wait_ready()
        # The daemon is in its own session, detached from ours.
        assert os.getsid(pid) == pid
    finally:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while os.path.exists(s.pid_file) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not os.path.exists(s.pid_file)


def test_notify_socket_gets_ready(sipd_factory, tmp_path):
    path = str(tmp_path / "notify.sock")
    ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ns.bind(path)
    ns.settimeout(10)
    s = sipd_factory()
    env = dict(os.environ, NOTIFY_SOCKET=path)
    s.log = open(s.log_path, "ab")
    s.proc = subprocess.Popen([SIPD, "-D", "-E", "-f", s.cfg], env=env,
                              stdout=s.log, stderr=subprocess.STDOUT)
    msg = ns.recv(4096)
    assert msg == b"READY=1"
    # READY means listening: an OPTIONS is answered at once.
    c = Client(s.port)
    assert c.transact(c.request("OPTIONS", "sip:127.0.0.1")).code == 200
    s.stop()
    assert ns.recv(4096) == b"STOPPING=1"


def test_mi_core_commands_on_the_real_daemon(sipd):
    r = sipd.mictl("ls")
    assert r.returncode == 0
    for name in ("system.listMethods", "system.methodHelp", "core.version",
                 "core.uptime", "core.ps", "core.shmmem"):
        assert name in r.stdout.split("\n")
    assert sipd.mictl("core.version").stdout.startswith("sipd ")
    up = sipd.mictl("core.uptime").stdout.splitlines()
    assert up[0] == "{" and up[-1] == "}"
    assert up[1].startswith("\tnow: ") and up[2].startswith("\tup_since: ")
    assert re_match(r"\tuptime: \d+$", up[3])
    j = sipd.mictl("core.shmmem", json=True)
    import json
    mem = json.loads(j.stdout)
    assert mem["total"] >= 1024 * 1024
    assert mem["used"] + mem["free"] == mem["total"]
    r = sipd.mictl("system.methodHelp", "core.ps")
    assert r.returncode == 0 and "core.ps" in r.stdout
    r = sipd.mictl("no.such.command")
    assert r.returncode == 1
    assert r.stdout.startswith("error: -32601 - ")


def test_mi_socket_mode_and_exit_codes(sipd_factory):
    s = sipd_factory(extra={"mi.mode": "0660"}).start()
    assert os.stat(s.sock).st_mode & 0o777 == 0o660
    r = subprocess.run([MICTL, "-s", s.sock + ".nope", "core.ps"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 2
    assert subprocess.run([MICTL], capture_output=True,
                          timeout=10).returncode == 2


def test_mi_bad_json_gets_jsonrpc_error(sipd):
    import json
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.settimeout(5)
    c.connect(sipd.sock)
    c.sendall(b"{not json\n")
    line = c.makefile("rb").readline()
    err = json.loads(line)
    assert err["error"]["code"] == -32700 and err["id"] is None
    c.close()
    # ...and sipd keeps serving both MI and SIP.
    assert sipd.mictl("core.uptime").returncode == 0
    cl = Client(sipd.port)
    assert cl.transact(cl.request("OPTIONS", "sip:127.0.0.1")).code == 200


def re_match(pattern, text):
    import re
    return re.match(pattern, text) is not None


def test_two_listen_sockets_both_served(sipd_factory):
    """With one socket the workers block in recvmmsg(); with more they
    run a libevent loop over all of them: both are served, SIGTERM stops
    them."""
    s = sipd_factory()
    p2 = free_udp_port()
    # an -o listen replaces the file's; a second one adds
    s.start(args=("-o", "listen=udp:127.0.0.1:%d" % s.port,
                  "-o", "listen=udp:127.0.0.1:%d" % p2))
    for port in (s.port, p2):
        c = Client(port)
        r = c.transact(c.request("OPTIONS", "sip:127.0.0.1:%d" % port))
        assert r is not None and r.code == 200, port
        c.close()
    assert s.stop() == 0
