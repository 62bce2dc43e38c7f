#!/usr/bin/env python3
"""mictl prints replies while they arrive (mi/mictl_stream.c).

usage: test_mictl.py MI_TESTD MICTL MICTL_WHOLE
Two checks. (1) The streamed output is byte for byte what mictl printed
when it decoded the whole reply first: each reply line (taken from
mi_testd, or written here for the odd shapes) is served by a canned
one-shot socket to mictl and fed to mictl_whole (the old algorithm over
the same renderers), text and -j, and both outputs and exit codes must
be equal. (2) mictl's memory does not grow with the reply: its maximum
RSS on a 100k-AoR dump (about 20 MB of JSON) stays within a few MB of
its RSS for a one-line reply (/usr/bin/time, Debian package "time").
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import unittest

import test_mi

MICTL = MICTL_WHOLE = None
# mictl's max RSS on the big dump may exceed a one-line reply's by this
# much (kB). Decoding the dump whole took about ten times its size.
RSS_SLACK_KB = 6 * 1024
BIG_AORS = 100000


class Canned:
    """A UNIX socket answering each connection with the next canned
    reply: reads the request line, sends the bytes, closes."""

    def __init__(self, path):
        self.path = path
        self.replies = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(4)
        self.sock.settimeout(30)

    def serve_one(self, data):
        def run():
            c, _ = self.sock.accept()
            c.settimeout(30)
            buf = b""
            while not buf.endswith(b"\n"):
                chunk = c.recv(4096)
                if not chunk:
                    break
                buf += chunk
            try:
                c.sendall(data)
            except OSError:
                pass
            c.close()
        t = threading.Thread(target=run)
        t.start()
        return t

    def close(self):
        self.sock.close()
        os.unlink(self.path)


def raw_line(path, method, *params):
    s = test_mi.connect(path)
    s.settimeout(60)
    s.sendall(json.dumps({"jsonrpc": "2.0", "method": method,
                          "params": list(params), "id": 1}).encode()
              + b"\n")
    line = test_mi.read_line(s)
    test_mi.close(s)
    assert line.endswith(b"\n"), (method, line[-100:])
    return line


def child_env():
    # ASan's quarantine keeps freed blocks (256 MB by default): it would
    # count as RSS in a sanitizer build though nothing is leaked.
    env = dict(os.environ)
    opts = env.get("ASAN_OPTIONS", "")
    env["ASAN_OPTIONS"] = (opts + ":" if opts else "") + \
        "quarantine_size_mb=0"
    return env


def run_rss(args, out):
    """Runs args with stdout to the file out; its max RSS in kB.

    Measured by /usr/bin/time (Debian "time"), not by wait4() here: a
    child forked from Python starts with Python's pages, and the kernel
    keeps that high-water mark across exec."""
    with tempfile.NamedTemporaryFile() as rep:
        p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rep.name]
                           + args, stdout=out, stderr=subprocess.PIPE,
                           env=child_env(), timeout=120)
        assert p.returncode == 0, (args, p.returncode, p.stderr)
        return int(rep.read().split()[-1])


class StreamTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="mictl-test-")
        cls.sock = os.path.join(cls.dir, "mi.sock")
        cls.srv = test_mi.Server(cls.sock, "0600")
        cls.canned = Canned(os.path.join(cls.dir, "canned.sock"))

    @classmethod
    def tearDownClass(cls):
        cls.canned.close()
        cls.srv.stop()

    def streamed(self, line, *flags):
        t = self.canned.serve_one(line)
        p = subprocess.run([MICTL, "-s", self.canned.path] + list(flags)
                           + ["x"], capture_output=True, timeout=120)
        t.join(30)
        for bad in (b"AddressSanitizer", b"runtime error:",
                    b"LeakSanitizer"):
            self.assertNotIn(bad, p.stderr)
        return p

    def same(self, line, what):
        for flags in ((), ("-j",)):
            want = subprocess.run([MICTL_WHOLE] + list(flags), input=line,
                                  capture_output=True, timeout=120)
            got = self.streamed(line, *flags)
            self.assertEqual(got.returncode, want.returncode,
                             (what, flags, got.stderr))
            self.assertEqual(got.stdout, want.stdout, (what, flags))
            self.assertEqual(got.stderr, b"", (what, flags))

    def test_sipd_replies_print_as_whole(self):
        # a few bindings in mi_testd's location table (100 slots)
        for i in range(60):
            test_mi.call(self.sock, "ul.add",
                         ["u%02d" % (i % 20), "sip:u%d@10.0.0.%d" % (i, i),
                          "0", "0.5" if i % 3 else "1"])
        cmds = [("core.ps",), ("ls",), ("core.shmmem",), ("core.version",),
                ("test.nested",), ("test.stream", "3000"),
                ("test.stream", "0"), ("test.bytes",), ("test.sbytes",),
                ("test.void",), ("test.echo", "-1", "0.5", "a b"),
                ("nosuch.cmd",), ("test.fail_early",), ("ul.dump",),
                ("ul.dump", "brief"), ("ul.lookup", "u03"),
                ("stats.get_statistics", "all"),
                ("system.methodHelp", "ul.dump"),
                ("cfg.get", "registrar", "max_expires")]
        for cmd in cmds:
            line = raw_line(self.sock, *cmd)
            self.same(line, cmd)
        # the dump really held the bindings
        self.assertEqual(len(json.loads(raw_line(self.sock, "ul.dump"))
                             ["result"]["AoRs"]), 20)

    def test_odd_shapes_print_as_whole(self):
        def env(result):
            return b'{"jsonrpc":"2.0","result":' + result + b',"id":1}\n'
        rows = b",".join(b'{"username":"u%06d","domain":"example.com"}'
                         % i for i in range(30000))   # > 1 MiB: spooled
        shapes = [
            b'[' + rows + b']',
            b'[' + rows + b',{"a":[1]}]',      # not a table after all
            b'[' + rows + b',7]',
            b'[{"a":1},{}]', b'[]', b'{}', b'null', b'"s"', b'1.5',
            b'[1,"two",null,[{"x":1},{"y":2}],[[]],{"k":{}}]',
            b'[[{"a":1},{"b":2}],[3]]',
            b'{"A":[],"B":{},"C":[[],{}],"D":[[1,[2,{"e":3}]],{"f":[4]}],'
            b'"E":{"x":{"y":{"z":[1,2]}}},"F":true,"G":false,"H":null,'
            b'"I":-0.25,"J":1e300,"K":12345678901234}',
            b' { "s p" : [ { "q\\"\\u00e9\\n" : "v\\u0000w" } , 2 ] , '
            b'"t" : [ ] } ',
            # scalars printed as cut, and their neighbours that are not
            b'{"i":[0,-0,7,-7,123456789012345678,1234567890123456789,'
            b'-123456789012345678,0.0,1E2,-1.5e-7],"s":["","a b",'
            b'"\\u00e9","\xc3\xa9","\x7f","\\/","\\"",'
            b'"\\u001f"],"w":[true,false,null],"":1,"\\u00e9":2,'
            b'"\xc3\xa8":3,"a\\"b":{"c\\\\d":[]},"\x7f":4}',
            b'[' * 100 + b'1' + b']' * 100,
            b'{"a":' * 100 + b'1' + b'}' * 100,
            b'{"AoRs":[' + b",".join(
                b'{"AoR":"a%d","Contacts":[{"Contact":{"Q":0.1,'
                b'"Expires":"permanent"}}]}' % i for i in range(3000))
            + b'],"Stats":{"Records":3000}}',
        ]
        for shape in shapes:
            self.same(env(shape), shape[:60])
        self.same(b'{"id":1,"jsonrpc":"2.0","error":{"code":404,'
                  b'"message":"AOR not found"}}\n', "error first")

    def test_broken_replies(self):
        for line, what in (
                (b'{"jsonrpc":"2.0","result":{"AoRs":[{"AoR":"a"}',
                 b"truncated"),
                (b'', b"without a reply"),
                (b'{"jsonrpc":"2.0","result":[1,2}\n', b"bad reply"),
                (b'{"jsonrpc":"2.0","result":1} x\n', b"bad reply"),
                (b'{"jsonrpc":"2.0","result":tru}\n', b"bad reply"),
                (b'["jsonrpc"]\n', b"bad reply"),
                (b'{"jsonrpc":"2.0","id":1}\n', b"no result"),
                (b'{"jsonrpc":"2.0","result":{"a\\u0000b":1}}\n',
                 b"NUL byte"),
                (b'{"jsonrpc":"2.0","result":' + b'[' * 3000 + b']' * 3000
                 + b'}\n', b"depth"),
                (b'{"jsonrpc":"2.0","result":[007]}\n', b"bad reply"),
                (b'{"jsonrpc":"2.0","result":{1:2}}\n', b"bad reply")):
            for flags in ((), ("-j",)):
                p = self.streamed(line, *flags)
                self.assertEqual(p.returncode, 2, (line, p.stdout))
                self.assertIn(what, p.stderr, line)
        # what arrived before the break is printed
        p = self.streamed(b'{"jsonrpc":"2.0","result":{"A":1,"B":[2,')
        self.assertEqual(p.stdout, b"{\n\tA: 1\n\tB: {\n\t\t2\n")

    def test_memory_bounded_on_big_dump(self):
        with open(os.devnull, "wb") as null:
            base = run_rss([MICTL, "-s", self.sock, "core.version"], null)
        for flags in ((), ("-j",)):
            with tempfile.TemporaryFile() as out:
                rss = run_rss([MICTL, "-s", self.sock] + list(flags)
                              + ["test.stream", str(BIG_AORS)], out)
                out.seek(0)
                n = sum(1 for ln in out
                        if ln.lstrip().startswith((b"AoR: ", b'"AoR": ')))
                size = out.tell()
            print("max RSS %s: %d kB (one-line reply %d kB)"
                  % (flags, rss, base), file=sys.stderr)
            self.assertEqual(n, BIG_AORS, flags)
            self.assertGreater(size, 15 * 1000 * 1000)
            self.assertLess(rss, base + RSS_SLACK_KB,
                            "%s: max RSS %d kB, one-line reply %d kB"
                            % (flags, rss, base))


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit("usage: test_mictl.py MI_TESTD MICTL MICTL_WHOLE")
    test_mi.TESTD = os.path.abspath(sys.argv[1])
    MICTL = os.path.abspath(sys.argv[2])
    MICTL_WHOLE = os.path.abspath(sys.argv[3])
    test_mi.MICTL = MICTL
    unittest.main(argv=sys.argv[:1] + sys.argv[4:], verbosity=2)
