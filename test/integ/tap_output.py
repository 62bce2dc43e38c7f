"""pytest plugin: prints one TAP line per test so that meson counts each
pytest test in its summary (meson test protocol 'tap'). Used with
'-p no:terminal', so TAP is all that reaches stdout."""
import sys

_lines = []
_count = 0


def pytest_configure(config):
    # The terminal plugin is off; assertion rewriting still reads this.
    if not hasattr(config.option, "verbose"):
        config.option.verbose = 0


def _add(ok, name, report=None, directive=""):
    global _count
    _count += 1
    _lines.append("%s %d - %s%s" % ("ok" if ok else "not ok", _count, name,
                                    directive))
    if report is not None:
        for line in str(report.longrepr).splitlines():
            _lines.append("# " + line)


def pytest_runtest_logreport(report):
    name = report.nodeid.replace("#", "_")
    if report.when == "call":
        if report.skipped:
            _add(True, name, directive=" # SKIP")
        else:
            _add(report.passed, name, None if report.passed else report)
    elif report.when == "setup" and report.skipped:
        _add(True, name, directive=" # SKIP")
    elif report.failed:
        _add(False, "%s (%s)" % (name, report.when), report)


def pytest_collectreport(report):
    if report.failed:
        _add(False, "collect " + report.nodeid, report)


def pytest_unconfigure(config):
    out = sys.__stdout__
    out.write("1..%d\n" % _count)
    for line in _lines:
        out.write(line + "\n")
    out.flush()
