"""The PWA bench's small mode (bench/pwa.py --small: 60 and 20 households, one search each) passes
its own correctness checks: the list shows every household, each search shows the count a direct
computation expects, with its household. Its timings are printed, never asserted."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

# A browser test: it runs once, in the suite's browser phase (not in both database phases; the
# bench makes its own SQLite database).
pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(not Path("/usr/bin/chromium").exists(),
                                 reason="Debian's Chromium is not installed (scripts/setup.sh --test)")]


def test_pwa_bench_small_mode_passes_its_checks():
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    proc = subprocess.run([sys.executable, "bench/pwa.py", "--small"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    out = proc.stdout
    assert proc.returncode == 0, out[-3000:] + proc.stderr[-3000:]
    assert "check ok   demo.member: the list shows every household ('60 hộ' == '60 hộ')" in out
    assert "check ok   bench.small: the list shows every household ('20 hộ' == '20 hộ')" in out
    assert out.count("check ok") == 6 and "search " in out
    for measure in ("first start, bytes on the wire", "fresh login -> usable list",
                    "hamlet open (median)", "search p95"):
        assert measure in out
    assert "checks: all passed" in out
