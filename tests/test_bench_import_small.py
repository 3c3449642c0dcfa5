"""The registry import memory bench's small mode (bench/import_memory.py --small) passes its own
correctness checks on this engine: counts, stored rows, error report lines, a re-import that
creates nothing. Memory and timings are printed, never asserted."""
import os
import subprocess
import sys

from tests.conftest import ENGINE, PG_URL, REPO


def test_import_memory_bench_small_mode_passes_its_checks(tmp_path):
    database = PG_URL if ENGINE == "postgresql" else f"sqlite:///{tmp_path / 'bench.db'}"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    proc = subprocess.run(
        [sys.executable, "bench/import_memory.py", "--small", "--database-url", database],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    out = proc.stdout
    assert proc.returncode == 0, out[-3000:] + proc.stderr[-3000:]
    assert "## registry import memory" in out and "peak growth" in out
    assert "re-import of 2,000 rows" in out
    assert "checks: all passed" in out
