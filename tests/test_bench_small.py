"""Every bench keeps a small mode that the suite runs, so a bench can never rot unnoticed: the
run must pass its own correctness checks (its timings are printed, never asserted)."""
import os
import subprocess
import sys

import pytest

from tests.conftest import ENGINE, PG_URL, REPO


def _run(args, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    proc = subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def test_sync_ingest_bench_small_mode_passes_its_checks(tmp_path):
    database = (PG_URL if ENGINE == "postgresql"
                else f"sqlite:///{tmp_path / 'bench.db'}")
    out = _run(["bench/sync_ingest.py", "--visits", "300", "--households", "100",
                "--replay", "1", "--database-url", database], tmp_path)
    assert "checks: all passed" in out
    assert "ratio endpoint/raw" in out
