"""Service integration: the SysV script under busybox sh drives the real
daemon; the systemd unit and `meson install` put files in place."""
import os
import shutil
import subprocess

import pytest

from sipcli import Client
from sipd_helpers import SIPD, SRCDIR

BUILDDIR = os.environ.get("SIPD_BUILDDIR", os.path.join(SRCDIR, "build"))
BUSYBOX = shutil.which("busybox")


def init(action, s, **env):
    e = dict(os.environ, SIPD_BIN=SIPD, SIPD_CONF=s.cfg,
             SIPD_PIDFILE=s.pid_file, **env)
    return subprocess.run([BUSYBOX, "sh", os.path.join(BUILDDIR, "conf",
                                                       "sipd.init"), action],
                          capture_output=True, text=True, env=e, timeout=60)


@pytest.mark.skipif(BUSYBOX is None, reason="busybox not installed")
def test_sysv_script_under_busybox(sipd_factory):
    s = sipd_factory()
    assert init("status", s).returncode == 3
    r = init("start", s)
    assert r.returncode == 0, r.stdout + r.stderr
    pid = int(open(s.pid_file).read())
    s.wait_ready()
    c = Client(s.port)
    assert c.transact(c.request("OPTIONS", "sip:127.0.0.1")).code == 200
    assert init("status", s).returncode == 0
    assert init("reload", s).returncode == 0
    assert init("status", s).returncode == 0
    r = init("restart", s)
    assert r.returncode == 0, r.stdout + r.stderr
    newpid = int(open(s.pid_file).read())
    assert newpid != pid and not os.path.exists("/proc/%d/cmdline" % pid) \
        or open("/proc/%d/stat" % pid).read().split()[2] == "Z"
    s.wait_ready()
    r = init("stop", s)
    assert r.returncode == 0, r.stdout + r.stderr
    assert not os.path.exists(s.pid_file)
    assert init("status", s).returncode == 3
    assert init("bogus", s).returncode == 2


def test_meson_install_puts_files_in_place(tmp_path):
    dest = tmp_path / "root"
    r = subprocess.run(["meson", "install", "-C", BUILDDIR, "--no-rebuild",
                        "--destdir", str(dest)], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    found = {os.path.relpath(os.path.join(d, f), dest)
             for d, _, files in os.walk(dest) for f in files}
    names = {os.path.basename(f) for f in found}
    for want in ("sipd", "mictl", "sipd.cfg", "board.cfg", "version",
                 "subscriber", "trusted", "location", "sipd.service"):
        assert want in names, (want, sorted(found))
    assert "sipd.init" not in names
    unit = [f for f in found if f.endswith("sipd.service")][0]
    text = open(os.path.join(dest, unit)).read()
    assert "Type=notify" in text
    assert "@sbindir@" not in text and "@sysconfdir@" not in text
    initf = [f for f in found if f.endswith("init.d/sipd")][0]
    assert os.access(os.path.join(dest, initf), os.X_OK)
    with open(os.path.join(dest, initf)) as f:
        assert "# Provides:" in f.read()


def _install(dest):
    r = subprocess.run(["meson", "install", "-C", BUILDDIR, "--no-rebuild",
                        "--destdir", str(dest)], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout + r.stderr


def test_meson_install_twice_keeps_edits(tmp_path):
    """A reinstall never overwrites what an operator edits: an edited
    sipd.cfg stays (the shipped one beside it as sipd.cfg.dist), tables
    are only created when missing; the installed subscriber table holds
    no users (the demo users are for the Quick start only)."""
    dest = tmp_path / "root"
    _install(dest)
    etc = [os.path.join(d) for d, _, files in os.walk(dest)
           if d.endswith(os.path.join("etc", "sipd"))][0]
    db = os.path.join(etc, "db")
    sub = os.path.join(db, "subscriber")
    with open(sub) as f:
        lines = f.read().splitlines()
    assert len(lines) == 1 and lines[0].startswith("id(int,auto) username")
    assert os.stat(sub).st_mode & 0o777 == 0o600
    cfg = os.path.join(etc, "sipd.cfg")
    with open(cfg, "a") as f:
        f.write("children = 3\n")
    with open(sub, "a") as f:
        f.write("1:alice:example.com:pw:alice@example.com:x:y:\n")
    loc = os.path.join(db, "location")
    with open(loc, "a") as f:
        f.write("1:alice::sip\\:alice@192.0.2.1::::2000000000:1:c:1:0:0:0:"
                "ua:udp\\:127.0.0.1\\:5060:255\n")
    before = {p: open(p).read() for p in (cfg, sub, loc)}
    _install(dest)
    for p, text in before.items():
        assert open(p).read() == text, p
    with open(os.path.join(SRCDIR, "conf", "sipd.cfg")) as f:
        assert open(cfg + ".dist").read() == f.read()
    assert sorted(os.listdir(db)) == ["location", "subscriber", "trusted",
                                      "version"]
    # Unchanged since the first install: no .dist next to it.
    _install(dest)
    assert not os.path.exists(os.path.join(db, "version.dist"))
