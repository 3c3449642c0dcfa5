"""scripts/backup.sh and scripts/restore_check.sh on a small seeded PostGIS database: a backup
restores with the row counts of dump time; a truncated, altered or miscounted backup fails.

PostgreSQL only (pg_dump custom format).
"""
import os
import shutil
import subprocess

import pytest

from server import create_app
from server.extensions import db
from tests.conftest import ENGINE, PG_URL, REPO, _config, _migrate
from tests.factories import login, make_world
from tests.sync_helpers import household, push, resident

pytestmark = pytest.mark.skipif(ENGINE != "postgresql", reason="pg_dump/pg_restore: PostgreSQL")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """A database of its own (backup reads a whole database): a commune, users, households."""
    import psycopg

    name = f"cnscd_backup_test_{os.getpid()}"
    base = PG_URL.rpartition("/")[0]
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    url = f"{base}/{name}"
    media = tmp_path_factory.mktemp("backup_media")
    _migrate(url, media)
    app = create_app(_config(url, media, REDIS_URL=None))
    with app.app_context():
        world = make_world()
        headers = login(app.test_client(), world.users["member"])
        items = []
        for _ in range(3):
            h = household(world.hamlets[0].id)
            items += [h, resident(h["id"]), resident(h["id"])]
        code, body = push(app.test_client(), headers, items)
        assert code == 200 and {r["status"] for r in body["results"]} == {"created"}, body
        db.session.remove()
        db.engine.dispose()
    (media / "originals").mkdir()
    (media / "originals" / "photo.jpg").write_bytes(b"\xff\xd8 not really a photo \xff\xd9")
    yield url, media
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _run(script, *args, url):
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run([str(REPO / "scripts" / script), *map(str, args)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def backup(seeded, tmp_path_factory):
    url, media = seeded
    out = tmp_path_factory.mktemp("backups")
    done = subprocess.run([str(REPO / "scripts" / "backup.sh"), str(out)], cwd=REPO,
                          env={**os.environ, "DATABASE_URL": url, "MEDIA_DIR": str(media)},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    (dump,) = out.glob("*.dump")
    return url, dump


def _copy(dump, tmp_path):
    """A copy of the backup (dump and counts) that a test may spoil."""
    copy = tmp_path / dump.name
    shutil.copy(dump, copy)
    shutil.copy(dump.with_suffix(".counts"), copy.with_suffix(".counts"))
    return copy


def _counts(dump):
    return dict(line.split()[1:] for line in dump.with_suffix(".counts").read_text().splitlines()
                if line.startswith("table "))


def test_a_backup_restores_with_the_counts_of_dump_time(backup):
    url, dump = backup
    counts = _counts(dump)
    assert counts["households"] == "3" and counts["residents"] == "6"
    assert int(counts["users"]) >= 6 and "alembic_version" in counts
    assert (dump.parent / dump.name.replace(".dump", ".media.tar.gz")).stat().st_size > 0
    done = _run("restore_check.sh", dump, url=url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "restore check: OK" in done.stdout


def test_a_truncated_dump_fails(backup, tmp_path):
    url, dump = backup
    spoilt = _copy(dump, tmp_path)
    spoilt.write_bytes(dump.read_bytes()[: dump.stat().st_size // 2])
    done = _run("restore_check.sh", spoilt, url=url)
    assert done.returncode != 0 and "FAILED" in done.stderr


def test_a_truncated_dump_fails_even_with_its_checksum_rewritten(backup, tmp_path):
    import hashlib

    url, dump = backup
    spoilt = _copy(dump, tmp_path)
    spoilt.write_bytes(dump.read_bytes()[: dump.stat().st_size * 2 // 3])
    counts = spoilt.with_suffix(".counts")
    digest = hashlib.sha256(spoilt.read_bytes()).hexdigest()
    counts.write_text("\n".join(f"dump_sha256 {digest}" if line.startswith("dump_sha256") else
                                line for line in counts.read_text().splitlines()) + "\n")
    done = _run("restore_check.sh", spoilt, url=url)
    assert done.returncode != 0 and "pg_restore did not finish" in done.stderr


def test_an_altered_dump_fails(backup, tmp_path):
    url, dump = backup
    spoilt = _copy(dump, tmp_path)
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    spoilt.write_bytes(bytes(data))
    done = _run("restore_check.sh", spoilt, url=url)
    assert done.returncode != 0 and "SHA-256" in done.stderr


def test_counts_that_differ_from_the_restore_fail(backup, tmp_path):
    url, dump = backup
    spoilt = _copy(dump, tmp_path)
    counts = spoilt.with_suffix(".counts")
    counts.write_text(counts.read_text().replace("table households 3", "table households 4"))
    done = _run("restore_check.sh", spoilt, url=url)
    assert done.returncode != 0
    assert "households has 3 rows, 4 at dump time" in done.stderr
