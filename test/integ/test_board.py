"""The shared-memory budget: `sipd -c` prints it per table, the board
profile (conf/board.cfg) fits in 32 MB, and a mapping the system refuses
ends sipd with the size it asked for and the keys to lower (exit 1, no
crash). RLIMIT_AS stands in for a board with little RAM and strict
overcommit: the reservation counts against it though no page is used."""
import os
import re
import resource
import subprocess

from sipd_helpers import SIPD, SRCDIR, Sipd

BOARD_CFG = os.path.join(SRCDIR, "conf", "board.cfg")
MB = 1024 * 1024
# Well above what sipd's code and libraries map, well below the default
# config's ~456 MB of shm.
AS_LIMIT = 256 * MB


def check(*args):
    return subprocess.run([SIPD, "-c"] + list(args), capture_output=True,
                          text=True, timeout=60)


def budget(stdout):
    """{table: bytes} from `sipd -c`, "total" included."""
    rows = {}
    for m in re.finditer(r"^shm: (\S+) +(\d+) bytes", stdout, re.M):
        rows[m.group(1)] = int(m.group(2))
    return rows


def test_check_prints_shm_per_table_and_total():
    r = check("-f", os.path.join(SRCDIR, "conf", "sipd.cfg"))
    assert r.returncode == 0, r.stderr
    rows = budget(r.stdout)
    for name in ("location", "transactions", "subscriber+trusted",
                 "nonces", "total"):
        assert name in rows, r.stdout
    parts = sum(v for k, v in rows.items() if k != "total")
    # The total is the parts plus the header, rounded up to whole pages.
    assert parts <= rows["total"] < parts + 2 * 65536
    assert "usrloc.max_contacts = 100000" in r.stdout


def test_budget_follows_the_keys():
    small = budget(check("-f", BOARD_CFG).stdout)
    big = budget(check("-f", BOARD_CFG, "-o",
                       "tm.max_transactions=4000").stdout)
    assert big["location"] == small["location"]
    assert big["transactions"] > small["transactions"] * 19 // 10
    assert big["total"] > small["total"]


def test_board_profile_fits_in_32_mb():
    r = check("-f", BOARD_CFG)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "usrloc.max_contacts = 2000" in r.stdout
    assert "tm.max_transactions = 2000" in r.stdout
    assert budget(r.stdout)["total"] <= 32 * MB, r.stdout


def limit_as():
    resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))


def start_limited(s):
    return subprocess.run([SIPD, "-D", "-E", "-f", s.cfg],
                          capture_output=True, text=True, timeout=60,
                          preexec_fn=limit_as)


def test_mapping_refused_names_size_and_keys(tmp_path):
    s = Sipd(tmp_path)          # the server default: ~456 MB of shm
    want = budget(check("-f", s.cfg).stdout)["total"]
    assert want > AS_LIMIT
    r = start_limited(s)
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert "cannot reserve %d bytes" % want in out, out
    for key in ("usrloc.max_contacts", "tm.max_transactions",
                "auth.max_subscribers"):
        assert key in out, out
    assert not os.path.exists(s.sock)


def test_board_profile_starts_under_the_same_limit(tmp_path):
    with open(BOARD_CFG) as f:
        text = f.read()
    keys = dict(re.findall(r"^(usrloc\.\S+|tm\.\S+|auth\.\S+) = (\S+)$",
                           text, re.M))
    s = Sipd(tmp_path, extra=keys)
    s.log = open(s.log_path, "ab")
    s.proc = subprocess.Popen([SIPD, "-D", "-E", "-f", s.cfg],
                              stdout=s.log, stderr=subprocess.STDOUT,
                              preexec_fn=limit_as)
    try:
        s.wait_ready()
        r = s.mictl("core.shmmem")
        assert r.returncode == 0, r.stderr
    finally:
        assert s.stop() == 0, s.log_text()
