"""Counts test cases in meson's testlog.json: every TAP line of a TAP test
(cmocka, pytest) is one case, any other test is one case. Prints the
summary line CI looks for: 'tests: N passed, M failed'."""
import json
import re
import sys

passed = failed = skipped = 0
with open(sys.argv[1]) as f:
    for line in f:
        t = json.loads(line)
        out = t.get("stdout") or ""
        tap = [l for l in out.splitlines() if re.match(r"(not )?ok\b", l)]
        if tap and t.get("result") not in ("TIMEOUT", "ERROR"):
            for l in tap:
                if l.startswith("not ok"):
                    failed += 1
                elif "# SKIP" in l:
                    skipped += 1
                else:
                    passed += 1
            # A test program that crashed after its TAP lines still failed.
            if t.get("result") == "FAIL" and not any(
                    l.startswith("not ok") for l in tap):
                failed += 1
        elif t.get("result") in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif t.get("result") == "SKIP":
            skipped += 1
        else:
            failed += 1
print("tests: %d passed, %d failed%s" % (
    passed, failed, ", %d skipped" % skipped if skipped else ""))
