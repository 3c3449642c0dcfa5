"""The campaign peak bench's small mode (bench/load.py --small) passes its own correctness checks:
50 phones with lost answers, cut uploads and duplicate sends against gunicorn and real rq
workers, then every acknowledged record stored exactly once and aggregates equal to a rebuild.

PostgreSQL + Redis only. Timings are printed, never asserted.
"""
import ast
import os
import re
import subprocess
import sys
from urllib.parse import urlsplit

import pytest

from tests.conftest import ENGINE, PG_URL, REDIS_URL, REPO

pytestmark = pytest.mark.skipif(ENGINE != "postgresql" or not REDIS_URL,
                                reason="bench/load.py needs PostgreSQL, Redis and rq workers")


def _own_redis_db():
    """The suite's Redis server, another database: the suite's worker must not take our jobs."""
    parts = urlsplit(REDIS_URL)
    suite_db = int(parts.path.strip("/") or 0)
    return parts._replace(path=f"/{12 if suite_db == 13 else 13}").geturl()


def test_load_bench_small_mode_passes_its_checks():
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    proc = subprocess.run(
        [sys.executable, "bench/load.py", "--small", "--database-url", PG_URL,
         "--redis-url", _own_redis_db()],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    out = proc.stdout
    assert proc.returncode == 0, out[-3000:] + proc.stderr[-3000:]
    assert "checks: all passed" in out
    # The network really misbehaved, and the sends it made again came back as duplicates (a
    # retried lost answer may find nothing stored: gunicorn can drop a request whose client left).
    faults = re.search(r"faults: (\{.*\}); duplicate sends answered all-duplicate: (\d+)", out)
    assert all(f in faults.group(1) for f in ("lost_answer", "cut_upload", "duplicate_send"))
    assert int(faults.group(2)) > 0
    statuses = ast.literal_eval(re.search(r"push statuses read: (\{.*\})", out).group(1))
    assert statuses.get("created", 0) > 0 and set(statuses) <= {"created", "duplicate"}, statuses
