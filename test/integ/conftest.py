"""Integration harness: runs the real sipd binary on 127.0.0.1.

Every test gets a temp folder with a config, a copy of the tables, its own
MI socket and pid file, and a free UDP port. sipd is started in the
foreground (-D -E), is ready when `mictl core.uptime` answers (never a
fixed sleep), and is stopped by its PID. A log line with 'fatal' or a
sanitizer report fails the test.

The fixtures are here; the helpers they use (Sipd, table writers, the
proxy's fake peers) are in sipd_helpers.py, which test modules import.
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from sipcli import Client  # noqa: E402
from sipd_helpers import (TRUSTED, USERS, Px, Sipd,  # noqa: E402
                          have_sqlite, write_tables)


def pytest_generate_tests(metafunc):
    """A module with BACKENDS = ("text", "sqlite") runs each of its sipd
    tests once per storage backend (the `backend` fixture)."""
    backends = getattr(metafunc.module, "BACKENDS", None)
    if backends and "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", backends)


@pytest.fixture
def backend():
    """The storage of the sipds a test makes: DB_TEXT unless its module
    sets BACKENDS; "sqlite" converts the tables with sipd-db at start."""
    return "text"


@pytest.fixture
def sipd_factory(tmp_path, backend):
    if backend == "sqlite" and not have_sqlite():
        pytest.skip("built without SQLite")
    made = []

    def make(**kw):
        d = tmp_path / ("sipd%d" % len(made))
        d.mkdir()
        kw.setdefault("backend", backend)
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


@pytest.fixture
def reg(sipd_factory):
    """reg(extra=..., trusted=..., users=...) -> a started sipd."""
    def make(extra=None, trusted=(), users=USERS):
        s = sipd_factory(extra=extra)
        write_tables(s, users, trusted)
        return s.start()
    return make


@pytest.fixture
def reg_users(sipd_factory):
    """reg_users(extra=...) -> a started sipd with the USERS table."""
    def make(extra=None):
        s = sipd_factory(extra=extra)
        write_tables(s, USERS, ())
        return s.start()
    return make


@pytest.fixture
def px(sipd_factory):
    gw = Client(0)

    def make(extra=None, trusted=TRUSTED):
        cfg = {"pstn.gw_ip": '"127.0.0.1"', "pstn.gw_port": str(gw.port)}
        cfg.update(extra or {})
        s = sipd_factory(extra=cfg)
        write_tables(s, USERS, trusted)
        s.start()
        gw.server = ("127.0.0.1", s.port)
        return Px(s, gw)
    yield make
    gw.close()
