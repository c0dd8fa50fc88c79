"""``leaderboards`` reads results, never ``harness``: importing it loads no harness module."""

from __future__ import annotations

import subprocess
import sys


def test_leaderboards_import_no_harness_module() -> None:
    code = ("import sys, leaderboards.compare, leaderboards.views, leaderboards.store, "
            "leaderboards.html, leaderboards.tables\n"
            "bad = sorted(m for m in sys.modules if m == 'harness' or m.startswith('harness.'))\n"
            "assert not bad, bad\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
