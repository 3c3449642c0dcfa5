"""The coverage bench's small mode (bench/coverage.py --small) passes its own correctness checks.

PostgreSQL only: the bench loads its province with COPY. Timings are printed, never asserted.
"""
import os
import subprocess
import sys

import pytest

from tests.conftest import ENGINE, PG_URL, REPO

pytestmark = pytest.mark.skipif(ENGINE != "postgresql",
                                reason="bench/coverage.py needs PostgreSQL (COPY)")


def test_coverage_bench_small_mode_passes_its_checks():
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    proc = subprocess.run(
        [sys.executable, "bench/coverage.py", "--small", "--database-url", PG_URL],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    out = proc.stdout
    assert proc.returncode == 0, out[-3000:] + proc.stderr[-3000:]
    assert "## 1. coverage endpoint" in out
    assert "## 2. aggregates rebuild" in out
    assert "## 3. incremental refresh" in out
    assert "## 4. office visit list" in out
    assert "checks: all passed" in out
