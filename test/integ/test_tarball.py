"""Board install (issue 12): conf/board-tarball.sh turns `meson install`
into the tarball the board unpacks at /: binaries, the board profile as
sipd.cfg.dist, the tables as .dist, sipd-install and the SysV script at
etc/init.d/sipd; no docs, man pages, headers or systemd units.
sipd-install (busybox sh) makes the config and tables from the .dist
files where missing, so a second tarball unpacked over the first keeps
the operator's edits. The unpacked sipd accepts the unpacked config."""
import json
import os
import shutil
import subprocess
import tarfile

import pytest

from sipcli import Client
from sipd_helpers import SRCDIR, free_udp_port

BUILDDIR = os.environ.get("SIPD_BUILDDIR", os.path.join(SRCDIR, "build"))
SCRIPT = os.path.join(SRCDIR, "conf", "board-tarball.sh")
BUSYBOX = shutil.which("busybox")


def _dirs():
    r = subprocess.run(["meson", "introspect", "--buildoptions", BUILDDIR],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    opts = {o["name"]: o["value"] for o in json.loads(r.stdout)}
    prefix = opts["prefix"]

    def under(d):
        return os.path.join(prefix, opts[d]).lstrip("/")
    return under("sbindir"), under("bindir"), under("sysconfdir")


@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tarball")
    out = tmp / "sipd-board.tar.gz"
    r = subprocess.run(["sh", SCRIPT, "--no-rebuild", BUILDDIR, str(out)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    root = tmp / "root"
    root.mkdir()
    subprocess.run(["tar", "xzf", str(out), "-C", str(root)], check=True,
                   timeout=60)
    i = _sipd_install(root)
    assert i.returncode == 0, i.stdout + i.stderr
    return out, root, r.stdout


def _sipd_install(root):
    """The unpacked sipd-install, under busybox sh as on the board."""
    assert BUSYBOX is not None, "busybox not installed (test/dev.sh)"
    sbin, _, _ = _dirs()
    return subprocess.run([BUSYBOX, "sh", str(root / sbin / "sipd-install"),
                           str(root)], capture_output=True, text=True,
                          timeout=60)


def test_tarball_holds_exactly_what_the_board_needs(tarball):
    out, root, stdout = tarball
    sbin, bin_, etc = _dirs()
    found = {os.path.relpath(os.path.join(d, f), root)
             for d, _, files in os.walk(root) for f in files}
    files = [etc + "/sipd/sipd.cfg"] + [
        etc + "/sipd/db/" + t
        for t in ("version", "subscriber", "trusted", "location")]
    want = {sbin + "/sipd", sbin + "/sipd-db", sbin + "/sipd-install",
            bin_ + "/mictl", "etc/init.d/sipd"} | \
        {f + ".dist" for f in files}
    with tarfile.open(out) as t:
        in_tar = {m.name for m in t.getmembers() if m.isfile()}
    assert in_tar == want, sorted(in_tar ^ want)
    # sipd-install made the live files from the .dist ones.
    assert found == want | set(files), sorted(found ^ (want | set(files)))
    for f in found:
        assert "/share/" not in f and "/include/" not in f \
            and "systemd" not in f, f
    # The board profile is the config; the script prints size and list.
    with open(os.path.join(SRCDIR, "conf", "board.cfg")) as f:
        assert (root / etc / "sipd" / "sipd.cfg").read_text() == f.read()
    assert "bytes" in stdout and "etc/init.d/sipd" in stdout
    for x in (sbin + "/sipd", bin_ + "/mictl", "etc/init.d/sipd"):
        assert os.access(root / x, os.X_OK), x
    for f in ("subscriber", "subscriber.dist"):
        assert os.stat(root / etc / "sipd/db" / f).st_mode & 0o777 \
            == 0o600, f
    # Owned by root, and no entry for / itself (would chmod / on the
    # board), nor absolute or .. names.
    with tarfile.open(out) as t:
        for m in t.getmembers():
            assert (m.uid, m.gid) == (0, 0), m.name
            assert m.name not in (".", "./") and not m.name.startswith("/") \
                and ".." not in m.name.split("/"), m.name
    # The init script's defaults are the paths the tarball installs.
    text = (root / "etc/init.d/sipd").read_text()
    assert "SIPD_BIN:-/%s/sipd}" % sbin in text
    assert "SIPD_CONF:-/%s/sipd/sipd.cfg}" % etc in text
    # Stripped (little flash).
    r = subprocess.run(["file", str(root / sbin / "sipd")],
                       capture_output=True, text=True)
    if r.returncode == 0:
        assert "not stripped" not in r.stdout, r.stdout


def test_unpacked_sipd_checks_unpacked_config(tarball):
    _, root, _ = tarball
    sbin, _, etc = _dirs()
    cfg = root / etc / "sipd" / "sipd.cfg"
    r = subprocess.run([str(root / sbin / "sipd"), "-c", "-f", str(cfg)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "shm: total" in r.stdout + r.stderr


@pytest.mark.skipif(BUSYBOX is None, reason="busybox not installed")
def test_unpacked_tree_starts_with_its_init_script(tarball, tmp_path):
    """The unpacked init script starts the unpacked sipd on the unpacked
    board config (paths under the temp root, a free port)."""
    _, root, _ = tarball
    sbin, _, etc = _dirs()
    port = free_udp_port()
    pid_file = tmp_path / "sipd.pid"
    opts = " ".join("-o %s" % o for o in (
        "listen=udp:127.0.0.1:%d" % port,
        "mi.socket=%s" % (tmp_path / "sipd.sock"), "children=1"))
    env = dict(os.environ, SIPD_BIN=str(root / sbin / "sipd"),
               SIPD_CONF=str(root / etc / "sipd" / "sipd.cfg"),
               SIPD_PIDFILE=str(pid_file), SIPD_OPTS=opts)

    def init(action):
        return subprocess.run([BUSYBOX, "sh", str(root / "etc/init.d/sipd"),
                               action], capture_output=True, text=True,
                              env=env, timeout=60)
    r = init("start")
    assert r.returncode == 0, r.stdout + r.stderr
    try:
        c = Client(port)
        assert c.transact(c.request("OPTIONS", "sip:127.0.0.1")).code == 200
    finally:
        r = init("stop")
    assert r.returncode == 0, r.stdout + r.stderr
    assert not pid_file.exists()


def test_upgrade_keeps_edited_config_and_tables(tarball, tmp_path):
    """First install, edits, a second tarball unpacked over it (busybox
    tar, as on the board) and sipd-install again: the edited config and
    tables stay, the shipped config lands as .dist beside the kept one,
    a removed table comes back, and the start hint names sipd-install
    while there is no config yet."""
    out, _, _ = tarball
    sbin, _, etc = _dirs()
    root = tmp_path / "board"
    root.mkdir()

    def unpack():
        subprocess.run([BUSYBOX, "tar", "xzf", str(out), "-C", str(root)],
                       check=True, timeout=60)
    unpack()
    cfg = root / etc / "sipd" / "sipd.cfg"
    db = root / etc / "sipd" / "db"
    assert not cfg.exists()
    # Unpacked but not installed: start says what to do.
    r = subprocess.run(
        [BUSYBOX, "sh", str(root / "etc/init.d/sipd"), "start"],
        capture_output=True, text=True, timeout=60,
        env=dict(os.environ, SIPD_BIN=str(root / sbin / "sipd"),
                 SIPD_CONF=str(cfg), SIPD_PIDFILE=str(tmp_path / "p.pid")))
    assert r.returncode == 6, r.stdout + r.stderr
    assert "run sipd-install first" in r.stderr, r.stderr

    r = _sipd_install(root)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("sipd-install: installed ") == 5, r.stdout
    shipped = cfg.read_text()
    assert 'pstn.gw_ip = "192.168.16.5"' in shipped

    # The operator's edits: the gateway, a trusted row, a registration.
    cfg.write_text(shipped.replace('"192.168.16.5"', '"10.9.8.7"'))
    trusted = (db / "trusted").read_text() + "10.1.2.3:any::1\n"
    (db / "trusted").write_text(trusted)
    location = (db / "location").read_text() + "edited\n"
    (db / "location").write_text(location)
    version = (db / "version").read_text()
    (db / "subscriber").unlink()

    unpack()
    r = _sipd_install(root)
    assert r.returncode == 0, r.stdout + r.stderr
    assert cfg.read_text() == shipped.replace('"192.168.16.5"', '"10.9.8.7"')
    assert (db / "trusted").read_text() == trusted
    assert (db / "location").read_text() == location
    assert (db / "version").read_text() == version
    assert (cfg.parent / "sipd.cfg.dist").read_text() == shipped
    assert r.stdout.splitlines() == [
        "sipd-install: kept %s; the shipped one is %s.dist" % (cfg, cfg),
        "sipd-install: installed %s" % (db / "subscriber")], r.stdout
    assert os.stat(db / "subscriber").st_mode & 0o777 == 0o600
    # A third run changes nothing and says only what it kept.
    before = {p: p.read_bytes() for p in db.iterdir()}
    r = _sipd_install(root)
    assert r.returncode == 0 and "installed" not in r.stdout, r.stdout
    assert {p: p.read_bytes() for p in db.iterdir()} == before
