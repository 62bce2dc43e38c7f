"""Integration harness: runs the real sipd binary on 127.0.0.1.

Every test gets a temp folder with a config, a copy of the tables, its own
MI socket and pid file, and a free UDP port. sipd is started in the
foreground (-D -E), is ready when `mictl core.uptime` answers (never a
fixed sleep), and is stopped by its PID. A log line with 'fatal' or a
sanitizer report fails the test.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))

SRCDIR = os.environ.get("SIPD_SRCDIR",
                        os.path.abspath(os.path.join(os.path.dirname(__file__),
                                                     "..", "..")))
SIPD = os.environ.get("SIPD_BIN", os.path.join(SRCDIR, "build", "daemon",
                                               "sipd"))
MICTL = os.environ.get("MICTL_BIN", os.path.join(SRCDIR, "build", "mi",
                                                 "mictl"))
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
    def __init__(self, tmpdir, children=2, extra=None, tables=None):
        self.dir = str(tmpdir)
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

    def start(self, args=(), wait=True):
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


@pytest.fixture
def sipd_factory(tmp_path):
    made = []

    def make(**kw):
        d = tmp_path / ("sipd%d" % len(made))
        d.mkdir()
        s = Sipd(d, **kw)
        made.append(s)
        return s

    yield make
    for s in made:
        if s.proc is not None and s.proc.poll() is None:
            s.stop()
        s.check_log_clean()


@pytest.fixture
def sipd(sipd_factory):
    return sipd_factory().start()
