#!/usr/bin/env python3
"""MI server + mictl against mi_testd (the MI server alone in a loop).

usage: test_mi.py MI_TESTD MICTL
Checks the wire protocol of mi/PROTOCOL.md, the sercmd-style rendering,
the limits, streaming with a stalled client, and socket set-up errors;
and sipd's ul.*, stats.* and cfg.* handlers against mi_testd's fake
daemon (mi/mi_daemon.h) over real shm tables, with exact replies.
Fails if the server logs a sanitizer report.
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import unittest

TESTD = None
MICTL = None


class Server:
    def __init__(self, path, *extra):
        self.path = path
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([TESTD, path] + list(extra),
                                     stdout=subprocess.PIPE,
                                     stderr=self.log)
        line = self.proc.stdout.readline()
        if line != b"ready\n":
            self.proc.wait(10)
            self.log.seek(0)
            raise RuntimeError("mi_testd did not start: %r %r"
                               % (line, self.log.read()))

    def stop(self):
        self.proc.terminate()
        rc = self.proc.wait(10)
        self.log.seek(0)
        text = self.log.read().decode(errors="replace")
        self.log.close()
        self.proc.stdout.close()
        for bad in ("AddressSanitizer", "runtime error:",
                    "LeakSanitizer"):
            if bad in text:
                raise AssertionError("sanitizer report:\n" + text)
        if rc != 0:
            raise AssertionError("mi_testd exit %d:\n%s" % (rc, text))
        return text


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.settimeout(10)
    return s


_readers = {}


def read_line(s):
    """One line; buffered per socket so pipelined replies are kept."""
    if s not in _readers:
        _readers[s] = s.makefile("rb")
    return _readers[s].readline()


def close(s):
    r = _readers.pop(s, None)
    if r is not None:
        r.close()
    s.close()


def call(path, method, params=None, rid=1):
    s = connect(path)
    req = {"jsonrpc": "2.0", "method": method, "id": rid}
    if params is not None:
        req["params"] = params
    s.sendall(json.dumps(req).encode() + b"\n")
    line = read_line(s)
    close(s)
    return json.loads(line)


class MiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="mi-test-")
        cls.sock = os.path.join(cls.dir, "run", "sipd", "sipd.sock")
        cls.srv = Server(cls.sock, "0660")

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        assert not os.path.exists(cls.sock), "socket not unlinked"

    def mictl(self, *args, sock=None):
        p = subprocess.run([MICTL, "-s", sock or self.sock] + list(args),
                           capture_output=True, timeout=60)
        return p.returncode, p.stdout.decode("utf-8", "surrogateescape"), \
            p.stderr.decode()

    # --- socket file --------------------------------------------------
    def test_socket_mode_and_folder(self):
        st = os.stat(self.sock)
        self.assertEqual(st.st_mode & 0o777, 0o660)
        self.assertEqual(os.stat(os.path.dirname(self.sock)).st_mode
                         & 0o777, 0o755)

    def test_second_server_refused(self):
        p = subprocess.run([TESTD, self.sock], capture_output=True,
                           timeout=10)
        self.assertEqual(p.returncode, 3)
        self.assertIn(b"already running", p.stderr)
        self.assertEqual(self.mictl("core.version")[0], 0)

    def test_stale_socket_removed(self):
        path = os.path.join(self.dir, "stale.sock")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        close(s)
        srv = Server(path)
        self.assertEqual(self.mictl("core.version", sock=path)[0], 0)
        self.assertIn("removed stale socket", srv.stop())

    def test_not_a_socket(self):
        path = os.path.join(self.dir, "file")
        open(path, "w").close()
        p = subprocess.run([TESTD, path], capture_output=True, timeout=10)
        self.assertEqual(p.returncode, 3)
        self.assertIn(b"not a socket", p.stderr)
        self.assertTrue(os.path.isfile(path))

    def test_unknown_group(self):
        path = os.path.join(self.dir, "g.sock")
        p = subprocess.run([TESTD, path, "0660", "no-such-group-xyz"],
                           capture_output=True, timeout=10)
        self.assertEqual(p.returncode, 3)
        self.assertIn(b'unknown group "no-such-group-xyz"', p.stderr)

    # --- mictl text output ----------------------------------------------
    def test_version(self):
        rc, out, _ = self.mictl("core.version")
        self.assertEqual(rc, 0)
        self.assertRegex(out, r"^sipd \d+\.\d+\.\d+ \(\w+/\w+\)\n$")

    def test_uptime(self):
        rc, out, _ = self.mictl("core.uptime")
        self.assertEqual(rc, 0)
        lines = out.split("\n")
        self.assertEqual(lines[0], "{")
        self.assertRegex(lines[1], r"^\tnow: \w{3} \w{3} [ \d]\d ")
        self.assertRegex(lines[2], r"^\tup_since: ")
        # mi_testd's clock says it started 42 s before each call: 42, or
        # 41 when the second turns between the two reads; no sleep can
        # make it more (issue 10: 50 once under sanitizers)
        self.assertIn(lines[3], ("\tuptime: 41", "\tuptime: 42"))
        self.assertEqual(lines[4:], ["}", ""])

    def test_ps(self):
        rc, out, _ = self.mictl("core.ps")
        self.assertEqual(rc, 0)
        lines = out.splitlines()
        self.assertEqual(len(lines), 2)         # the pid-0 one is skipped
        self.assertRegex(lines[0], r"^\d+\tattendant$")
        self.assertRegex(lines[1], r"^\d+\tudp receiver child=1 sock=")
        rc, out, _ = self.mictl("-j", "core.ps")
        v = json.loads(out)
        self.assertIsInstance(v[0]["pid"], int)
        self.assertEqual(v[0]["desc"], "attendant")

    def test_shmmem(self):
        # mi_testd's real mapping: location table, counters, runcfg, but
        # no per-table accounting (that is sipd's tables.c): all carved
        # bytes count as used.
        rc, out, _ = self.mictl("-j", "core.shmmem")
        self.assertEqual(rc, 0)
        v = json.loads(out)
        self.assertEqual(sorted(v), ["fragments", "free", "max_used",
                                     "real_used", "tables", "total",
                                     "used"])
        self.assertGreater(v["total"], 0)
        self.assertEqual(v["total"], v["used"] + v["free"])
        self.assertEqual(v["max_used"], v["used"])
        self.assertLessEqual(v["real_used"], v["total"])
        self.assertEqual(v["tables"], {})
        rc, out, _ = self.mictl("core.shmmem")
        self.assertTrue(out.startswith(
            "{\n\ttotal: %(total)d\n\tfree: %(free)d\n"
            "\tused: %(used)d\n\treal_used: " % v), out)

    def test_ls_and_help(self):
        rc, out, _ = self.mictl("ls")
        names = out.splitlines()
        self.assertEqual(names[:6], ["system.listMethods",
                                     "system.methodHelp", "core.version",
                                     "core.uptime", "core.ps",
                                     "core.shmmem"])
        self.assertIn("test.stream", names)
        self.assertNotIn("ls", names)
        self.assertEqual(self.mictl("system.listMethods")[1], out)
        rc, out, _ = self.mictl("system.methodHelp", "test.echo")
        self.assertEqual((rc, out), (0, "test.echo A [B [C]] - echo params\n"))
        rc, out, _ = self.mictl("system.methodHelp", "ls")
        self.assertTrue(out.startswith("system.listMethods - "))

    def test_nested_sercmd_layout(self):
        rc, out, _ = self.mictl("test.nested")
        self.assertEqual(out, (
            "{\n\tDomain: location\n\tSize: 512\n\tAoRs: {\n"
            "\t\tAoR: alice\n\t\tContacts: {\n\t\t\tContact: {\n"
            "\t\t\t\tAddress: sip:alice@127.0.0.1:5097\n"
            "\t\t\t\tExpires: 3600\n\t\t\t\tQ: -1.000000\n"
            "\t\t\t\tReceived: [not set]\n\t\t\t}\n\t\t}\n"
            "\t\tAoR: bob\n\t\tContacts: {\n\t\t}\n\t}\n"
            "\tStats: {\n\t\tRecords: 2\n\t\tMax-Slots: 1\n\t}\n}\n"))

    def test_errors_and_exit_codes(self):
        self.assertEqual(self.mictl("nosuch.cmd")[:2],
                         (1, "error: -32601 - Method not found\n"))
        self.assertEqual(self.mictl("core.ps", "x")[:2],
                         (1, "error: -32602 - Invalid params: core.ps "
                          "takes 0 parameter(s)\n"))
        self.assertEqual(self.mictl("test.echo")[:2],
                         (1, "error: -32602 - Invalid params: test.echo "
                          "takes 1 to 3 parameter(s)\n"))
        self.assertEqual(self.mictl("test.stream", "abc")[0], 1)
        self.assertEqual(self.mictl("test.fail_early")[:2],
                         (1, "error: 404 - AOR not found\n"))
        self.assertEqual(self.mictl("test.misuse")[:2],
                         (1, "error: -32603 - Internal error\n"))
        rc, out, err = self.mictl("test.fail_late")
        self.assertEqual(rc, 2)
        self.assertIn("truncated", err)
        rc, _, err = self.mictl("core.version",
                                sock=os.path.join(self.dir, "none"))
        self.assertEqual(rc, 2)
        self.assertIn("cannot connect", err)
        self.assertEqual(subprocess.run([MICTL]).returncode, 2)
        self.assertEqual(subprocess.run([MICTL, "-h"],
                                        capture_output=True).returncode, 0)
        self.assertEqual(subprocess.run([MICTL, "-x", "ls"],
                                        capture_output=True).returncode, 2)
        # the server is still fine after all that
        self.assertEqual(self.mictl("core.version")[0], 0)

    def test_args_and_env(self):
        rc, out, _ = self.mictl("test.echo", "-1", "0.5", "a b")
        self.assertEqual(out, "-1\n0.5\na b\n")
        p = subprocess.run([MICTL, "core.version"], capture_output=True,
                           env=dict(os.environ, SIPD_MI_SOCKET=self.sock))
        self.assertEqual(p.returncode, 0)
        self.assertEqual(self.mictl("test.void", "x"), (0, "", ""))
        self.assertEqual(self.mictl("-j", "test.void")[1], "null\n")

    def test_odd_bytes(self):
        want = 'a"b\\c\n\td\x00e\xe9f\xe9g\x01\x7f'
        for cmd in ("test.bytes", "test.sbytes"):
            rc, out, _ = self.mictl("-j", cmd)
            self.assertEqual(json.loads(out)["v"], want)
            line = read_line_of(self.sock, cmd)
            # the streamed emitter escapes the stray byte; jansson
            # writes the same character as raw UTF-8
            self.assertIn(b'\\u0000e\\u00e9f\xc3\xa9g\\u0001\x7f'
                          if cmd == "test.sbytes" else
                          b'\\u0000e\xc3\xa9f\xc3\xa9g\\u0001\x7f', line)
            self.assertEqual(json.loads(line)["result"]["v"], want)
            rc, out, _ = self.mictl(cmd)
            self.assertEqual(out, "{\n\tv: " + want.replace(
                "\xe9", "\xc3\xa9").encode("latin-1").decode(
                "utf-8", "surrogateescape") + "\n}\n")

    # --- wire protocol ----------------------------------------------------
    def test_parse_error_keeps_connection(self):
        s = connect(self.sock)
        s.sendall(b'{"jsonrpc":\n')
        r = json.loads(read_line(s))
        self.assertEqual(r["error"]["code"], -32700)
        self.assertIsNone(r["id"])
        self.assertEqual(r["jsonrpc"], "2.0")
        s.sendall(b'{"jsonrpc":"2.0","method":"core.version","id":"x"}\n')
        r = json.loads(read_line(s))
        self.assertEqual(r["id"], "x")
        self.assertTrue(r["result"].startswith("sipd "))
        close(s)

    def test_invalid_requests(self):
        cases = [
            (b'[1,2]', -32600),
            (b'{"method":"core.version","id":1}', -32600),
            (b'{"jsonrpc":"1.0","method":"core.version","id":1}', -32600),
            (b'{"jsonrpc":"2.0","method":5,"id":1}', -32600),
            (b'{"jsonrpc":"2.0","method":"core.version","id":[1]}', -32600),
            (b'{"jsonrpc":"2.0","method":"test.echo","params":{"a":1},'
             b'"id":1}', -32602),
            (b'{"jsonrpc":"2.0","method":"test.echo","params":[null],'
             b'"id":1}', -32602),
            (b'{"jsonrpc":"2.0","method":"test.echo","params":["a\\u0000"],'
             b'"id":1}', -32700),
            (b'"\xff"', -32700),
        ]
        s = connect(self.sock)
        for line, code in cases:
            s.sendall(line + b"\n")
            r = json.loads(read_line(s))
            self.assertEqual(r["error"]["code"], code, line)
        close(s)

    def test_numeric_params_and_ids(self):
        r = call(self.sock, "test.echo", [1, 2.5, True], rid=7)
        self.assertEqual(r, {"jsonrpc": "2.0", "result": ["1", "2.5", "true"],
                             "id": 7})
        r = call(self.sock, "core.version", rid=None)
        self.assertIsNone(r["id"])
        self.assertIn("result", r)

    def test_notification_and_pipelining(self):
        s = connect(self.sock)
        s.sendall(b'{"jsonrpc":"2.0","method":"core.version"}\n'
                  b'{"jsonrpc":"2.0","method":"nosuch"}\n'
                  b'\n  \r\n'
                  b'{"jsonrpc":"2.0","method":"test.stream","params":["25"],'
                  b'"id":1}\r\n'
                  b'{"jsonrpc":"2.0","method":"core.ps","id":2}\n')
        r1 = json.loads(read_line(s))
        self.assertEqual(r1["id"], 1)
        self.assertEqual(len(r1["result"]["AoRs"]), 25)
        r2 = json.loads(read_line(s))
        self.assertEqual(r2["id"], 2)
        close(s)

    def test_half_close_and_no_newline(self):
        s = connect(self.sock)
        s.sendall(b'{"jsonrpc":"2.0","method":"test.stream","params":["5"],'
                  b'"id":1}\n{"jsonrpc":"2.0","method":"core.version",'
                  b'"id":2}')
        s.shutdown(socket.SHUT_WR)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        lines = data.split(b"\n")
        self.assertEqual(len(lines), 3)
        self.assertEqual(json.loads(lines[0])["id"], 1)
        self.assertEqual(json.loads(lines[1])["id"], 2)
        close(s)

    def test_line_too_long(self):
        s = connect(self.sock)
        s.sendall(b'{"jsonrpc":"2.0","method":"x","params":["'
                  + b"a" * 70000)
        r = json.loads(read_line(s))
        self.assertEqual(r["error"]["code"], -32600)
        self.assertIn("too long", r["error"]["message"])
        try:                                    # closed (unread data
            self.assertEqual(s.recv(10), b"")   # may make it a reset)
        except ConnectionResetError:
            pass
        close(s)
        # just under the limit is fine
        pad = "a" * (65536 - 200)
        r = call(self.sock, "test.echo", [pad])
        self.assertEqual(r["result"], [pad])

    def test_connection_limit(self):
        conns = [connect(self.sock) for _ in range(32)]
        # all 32 are accepted and served
        conns[0].sendall(b'{"jsonrpc":"2.0","method":"core.version",'
                         b'"id":1}\n')
        self.assertIn(b"sipd", read_line(conns[0]))
        extra = connect(self.sock)
        r = json.loads(read_line(extra))
        self.assertEqual(r["error"]["code"], -32000)
        self.assertEqual(extra.recv(10), b"")
        close(extra)
        for c in conns:
            close(c)
        time.sleep(0.2)
        self.assertEqual(self.mictl("core.version")[0], 0)

    # --- streaming -------------------------------------------------------
    def test_big_stream(self):
        p = subprocess.run([MICTL, "-s", self.sock, "-j", "test.stream",
                            "100000"], capture_output=True, timeout=120)
        self.assertEqual(p.returncode, 0)
        v = json.loads(p.stdout)
        self.assertEqual(v["Stats"]["Records"], 100000)
        self.assertEqual(len(v["AoRs"]), 100000)
        self.assertEqual(v["AoRs"][99999]["AoR"], "user99999")
        self.assertEqual(v["AoRs"][1]["Contacts"][0]["Contact"]["Q"], 0.5)
        p = subprocess.run([MICTL, "-s", self.sock, "test.stream",
                            "100000"], capture_output=True, timeout=120)
        self.assertEqual(p.stdout.count(b"\n\t\tAoR: user"), 100000)
        self.assertTrue(p.stdout.endswith(
            b"\tStats: {\n\t\tRecords: 100000\n\t\tMax-Slots: 1\n\t}\n}\n"))

    def test_stalled_client_bounded(self):
        stalled = connect(self.sock)
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.sendall(b'{"jsonrpc":"2.0","method":"test.stream",'
                        b'"params":["1000000"],"id":1}\n')
        time.sleep(0.5)
        t0 = time.monotonic()
        self.assertEqual(self.mictl("core.uptime")[0], 0)
        self.assertLess(time.monotonic() - t0, 2)
        calls = call(self.sock, "test.gen_calls")["result"]
        print("generator calls while stalled:", calls["calls"],
              file=sys.stderr)
        # 10 AoRs (~2.3 KB) per call: the output stays near MI_OUT_LOW
        # plus the socket buffers, nowhere near the 1e6 AoRs asked for.
        self.assertLess(calls["calls"], 400)
        self.assertEqual(calls["live"], 1)
        # read a little: it resumes; then hang up mid-reply
        got = stalled.recv(100000)
        self.assertTrue(got.startswith(b'{"jsonrpc":"2.0","result":{'))
        close(stalled)
        time.sleep(0.3)
        self.assertEqual(call(self.sock, "test.gen_calls")["result"]["live"],
                         0)


class HandlerCase(unittest.TestCase):
    """One fresh mi_testd per test: its shm tables start empty."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mi-handlers-")
        self.sock = os.path.join(self.dir, "mi.sock")
        self.srv = Server(self.sock)
        self.log = None

    def tearDown(self):
        self.log = self.srv.stop()

    def ok(self, method, *params):
        r = call(self.sock, method, list(params))
        self.assertNotIn("error", r, (method, params))
        return r["result"]

    def err(self, method, *params):
        r = call(self.sock, method, list(params))
        self.assertNotIn("result", r, (method, params))
        return r["error"]["code"], r["error"]["message"]

    def fake(self):
        return self.ok("test.fake")


MI_CALLID = "dfjrewr12386fd6-343@sipd.mi"
MI_UA = "SIP Router MI Server"


class UlTest(HandlerCase):
    def test_add_lookup_dump_rm(self):
        self.assertEqual(self.ok("ul.dump"), {
            "Domain": "location", "Size": 16, "AoRs": [],
            "Stats": {"Records": 0, "Max-Slots": 0}})
        # AoRs are lower-cased as the registrar stores them
        self.assertEqual(self.ok("ul.add", "Alice", "sip:a@10.0.0.1", "0",
                                 "0.5"), "OK")
        self.assertEqual(self.ok("ul.add", "alice", "sip:a@10.0.0.2",
                                 "3600"), "OK")
        got = self.ok("ul.lookup", "ALICE")
        self.assertEqual(got["AoR"], "alice")
        cs = [c["Contact"] for c in got["Contacts"]]
        self.assertEqual([c["Address"] for c in cs],
                         ["sip:a@10.0.0.1", "sip:a@10.0.0.2"])
        self.assertEqual(cs[0], {
            "Address": "sip:a@10.0.0.1", "Expires": "permanent",
            "Q": 0.5, "Call-ID": MI_CALLID, "CSeq": 1,
            "User-Agent": MI_UA, "Received": "[not set]",
            "Path": "[not set]", "State": "CS_NEW", "Flags": 0,
            "CFlags": 0, "Socket": "[not set]", "Methods": -1})
        self.assertIn(cs[1]["Expires"], (3599, 3600))
        self.assertEqual(cs[1]["Q"], -1.0)
        brief = self.ok("ul.dump", "brief")
        self.assertEqual(brief, {
            "Domain": "location", "Size": 16, "AoRs": [{"AoR": "alice"}],
            "Stats": {"Records": 1, "Max-Slots": 1}})
        full = self.ok("ul.dump")
        self.assertEqual(full["AoRs"][0]["Contacts"], got["Contacts"])

        self.assertEqual(self.err("ul.rm_contact", "alice", "sip:x"),
                         (404, "Contact not found"))
        self.assertEqual(self.err("ul.rm_contact", "bob", "sip:x"),
                         (404, "AOR not found"))
        self.assertEqual(self.ok("ul.rm_contact", "alice",
                                 "sip:a@10.0.0.2"), "OK")
        self.assertEqual(len(self.ok("ul.lookup", "alice")["Contacts"]), 1)
        self.assertEqual(self.ok("ul.rm", "alice"), "OK")
        self.assertEqual(self.err("ul.rm", "alice"), (404, "AOR not found"))
        self.assertEqual(self.err("ul.lookup", "alice"),
                         (404, "AOR not found"))

    def test_kamailio_table_form(self):
        """`ul.* location ...` as kamcmd scripts write them: the table
        name is accepted (sipd has the one table) and changes nothing."""
        self.assertEqual(self.ok("ul.add", "location", "dora",
                                 "sip:d@10.0.0.3", "600", "0.25"), "OK")
        self.assertEqual(self.ok("ul.add", "location", "dora",
                                 "sip:d@10.0.0.4", "0"), "OK")
        got = self.ok("ul.lookup", "location", "dora")
        self.assertEqual(got, self.ok("ul.lookup", "dora"))
        cs = [c["Contact"] for c in got["Contacts"]]
        self.assertEqual([(c["Address"], c["Q"]) for c in cs],
                         [("sip:d@10.0.0.3", 0.25), ("sip:d@10.0.0.4", -1.0)])
        self.assertEqual(self.ok("ul.rm_contact", "location", "dora",
                                 "sip:d@10.0.0.3"), "OK")
        self.assertEqual(len(self.ok("ul.lookup", "dora")["Contacts"]), 1)
        self.assertEqual(self.ok("ul.rm", "location", "dora"), "OK")
        self.assertEqual(self.err("ul.lookup", "location", "dora"),
                         (404, "AOR not found"))
        # another table where only the table form fits
        self.assertEqual(self.err("ul.lookup", "aliases", "dora"),
                         (404, "Table not found"))
        self.assertEqual(self.err("ul.add", "aliases", "d", "sip:d", "60",
                                  "1"), (404, "Table not found"))
        # sipd's own 4-argument ul.add is still read as AOR ... Q
        self.assertEqual(self.ok("ul.add", "eve", "sip:e@1", "60", "1"),
                         "OK")
        self.assertEqual(self.ok("ul.lookup", "eve")["Contacts"][0][
            "Contact"]["Q"], 1.0)

    def test_bad_args(self):
        self.assertEqual(self.err("ul.add", "a", "sip:a", "60", "2"),
                         (-32602, "Invalid params: q must be a number in -1..1"))
        self.assertEqual(self.err("ul.add", "a", "sip:a", "60", "0.-5")[0],
                         -32602)
        self.assertEqual(self.err("ul.add", "a", "", "60"),
                         (-32602, "Invalid params: contact must not be "
                          "empty"))
        self.assertEqual(self.err("ul.dump", "full"),
                         (-32602, 'Invalid params: the only argument is '
                          '"brief"'))
        self.assertEqual(self.err("ul.lookup", "u" * 129),
                         (-32602, "Invalid params: aor is longer than 128 "
                          "bytes"))

    def test_flush(self):
        self.assertEqual(self.fake()["flushes"], 0)
        self.assertEqual(self.ok("ul.flush"), "OK")
        self.assertEqual(self.fake()["flushes"], 1)
        self.ok("test.flush_fail", "1")
        self.assertEqual(self.err("ul.flush"), (
            500, "Flush failed: /fake/db/location: disk full;"
            "/fake/db/location: old file kept"))
        self.assertEqual(self.fake()["flushes"], 2)


class StatsTest(HandlerCase):
    def test_groups_and_gauges(self):
        self.assertEqual(self.ok("stats.get_statistics", "registrar:"), {
            "registrar:accepted_regs": 0, "registrar:rejected_regs": 0,
            "registrar:max_expires": 7200, "registrar:max_contacts": 10,
            "registrar:default_expire": 3600})
        self.ok("test.count", "registrar:accepted_regs", "3")
        self.ok("test.count", "sl:2xx_replies", "2")
        self.ok("test.count", "sl:4xx_replies", "1")
        self.ok("ul.add", "bob", "sip:b@1", "60")
        self.ok("ul.add", "bob", "sip:b@2", "60")
        self.ok("ul.add", "carol", "sip:c@1", "60")
        self.assertEqual(self.ok("stats.get_statistics", "accepted_regs",
                                 "sent_replies", "usrloc:"), {
            "registrar:accepted_regs": 3, "sl:sent_replies": 3,
            "usrloc:registered_users": 2, "usrloc:location-users": 2,
            "usrloc:location-contacts": 3, "usrloc:location-expires": 0})
        every = self.ok("stats.get_statistics")
        self.assertEqual(every, self.ok("stats.get_statistics", "all"))
        self.assertEqual(list(every)[:2], ["core:rcv_requests",
                                           "core:rcv_replies"])
        self.assertEqual(every["tm:current"], 0)
        self.assertEqual(self.err("stats.get_statistics", "nosuch"),
                         (404, "Statistic not found: nosuch"))

    def test_reset(self):
        self.ok("test.count", "core:rcv_requests", "5")
        self.assertEqual(self.ok("stats.get_statistics",
                                 "core:rcv_requests"),
                         {"core:rcv_requests": 5})
        self.assertEqual(self.err("stats.reset_statistics", "core:")[0],
                         -32602)
        self.assertIsNone(self.ok("stats.reset_statistics"))
        self.assertEqual(self.ok("stats.get_statistics",
                                 "core:rcv_requests"),
                         {"core:rcv_requests": 0})
        # gauges are state, not counts: kept
        self.assertEqual(self.ok("stats.get_statistics", "max_expires"),
                         {"registrar:max_expires": 7200})

    def tearDown(self):
        super().tearDown()
        if self._testMethodName == "test_reset":
            self.assertIn("mi_testd: info: MI: statistics reset\n",
                          self.log)


class CfgTest(HandlerCase):
    def test_get(self):
        self.assertEqual(self.ok("cfg.get", "core", "children"), 4)
        self.assertEqual(self.ok("cfg.get", "pstn", "gw_ip"), "")
        self.assertEqual(self.ok("cfg.get", "pstn", "match_port"), "yes")
        self.assertEqual(self.err("cfg.get", "nosuch", "x"),
                         (404, "Unknown variable nosuch.x"))
        self.assertEqual(self.err("cfg.get", "pstn.x", "gw_ip"),
                         (404, "Unknown variable pstn.x.gw_ip"))

    def test_set(self):
        self.assertEqual(self.fake()["conf_changes"], 0)
        self.assertEqual(self.err("cfg.set", "core", "children", "8"), (
            400, "children cannot be changed at run time: edit the "
            "config file and restart sipd"))
        self.assertIsNone(self.ok("cfg.set", "pstn", "gw_ip", "10.1.2.3"))
        f = self.fake()
        self.assertEqual((f["conf_changes"], f["runcfg_gw_ip"],
                          f["runcfg_gw_set"]), (1, "10.1.2.3", True))
        self.assertEqual(self.ok("cfg.get", "pstn", "gw_ip"), "10.1.2.3")
        code, msg = self.err("cfg.set", "pstn", "gw_port", "nope")
        self.assertEqual(code, 400)
        self.assertTrue(msg.startswith("cfg.set"), msg)
        self.assertEqual(self.fake()["conf_changes"], 1)
        self.assertIsNone(self.ok("cfg.set_now_int", "pstn", "gw_port",
                                  "5080"))
        f = self.fake()
        self.assertEqual((f["conf_changes"], f["runcfg_gw_port"]),
                         (2, 5080))
        self.assertEqual(self.ok("cfg.get", "pstn", "gw_port"), 5080)

    def tearDown(self):
        super().tearDown()
        if self._testMethodName == "test_set":
            # every change, with who made it (SO_PEERCRED: this test)
            self.assertIn('mi_testd: notice: MI change by uid %d pid %d: '
                          'cfg.set "pstn" "gw_ip" "10.1.2.3"\n' %
                          (os.getuid(), os.getpid()), self.log)
            # a refused change is not one
            self.assertNotIn('"gw_port" "nope"', self.log)


class AttackCase(unittest.TestCase):
    """Issue 10 defect 6: local clients that try to lock operators out."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mi-attack-")
        os.chmod(self.dir, 0o755)
        self.sock = os.path.join(self.dir, "sipd.sock")
        self.srv = Server(self.sock, "0666")

    def tearDown(self):
        self.log = self.srv.stop()

    def test_trickle_cut_at_line_deadline(self):
        s = connect(self.sock)
        t0 = time.monotonic()
        s.sendall(b'{')
        closed = False
        while time.monotonic() - t0 < 20:
            time.sleep(0.5)
            try:
                s.sendall(b' ')
            except OSError:
                closed = True
                break
            s.settimeout(0.01)
            try:
                if s.recv(4096) == b"":
                    closed = True
                    break
            except socket.timeout:
                pass
        took = time.monotonic() - t0
        close(s)
        self.assertTrue(closed, "trickling client never cut")
        self.assertLess(took, 13)
        self.assertGreater(took, 9)
        # whole requests, however slow between them, are fine
        self.assertEqual(read_line_of(self.sock, "core.version")[:1], b"{")

    def test_per_uid_cap(self):
        if os.getuid() != 0:
            self.skipTest("needs root to act as another uid")
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            n = 0
            try:
                os.setgid(65534)
                os.setuid(65534)
                conns = []
                for _ in range(12):
                    c = connect(self.sock)
                    conns.append(c)
                c.settimeout(1)
                for c in conns:
                    try:
                        c.sendall(b'{"jsonrpc":"2.0","method":'
                                  b'"core.version","id":1}\n')
                    except OSError:
                        pass            # refused: closed already
                for c in conns:
                    try:
                        if b"sipd" in read_line(c):
                            n += 1
                    except OSError:
                        pass
                os.write(w, b"%d" % n)
                # hold them while the owner tries
                time.sleep(1.5)
            finally:
                os._exit(0)
        os.close(w)
        got = int(os.read(r, 16) or b"-1")
        # the owner (the operator) still gets in while they are held
        self.assertEqual(self.mictl_ok(), 0)
        os.waitpid(pid, 0)
        os.close(r)
        self.assertEqual(got, 8)

    def mictl_ok(self):
        return subprocess.run([MICTL, "-s", self.sock, "core.version"],
                              capture_output=True, timeout=30).returncode


def read_line_of(path, method):
    s = connect(path)
    s.sendall(json.dumps({"jsonrpc": "2.0", "method": method,
                          "id": 1}).encode() + b"\n")
    line = read_line(s)
    close(s)
    return line


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: test_mi.py MI_TESTD MICTL")
    TESTD, MICTL = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    unittest.main(argv=sys.argv[:1] + sys.argv[3:], verbosity=2)
