"""Dashboards and coverage reads from a PostgreSQL streaming replica (``DATABASE_REPLICA_URL``).

PostgreSQL phase only. The module starts a primary cluster of its own (``initdb``) and a real
streaming replica of it (``pg_basebackup -R -X stream``, a hot standby on a second port), then
proves the routing by behaviour: with the replica's replay paused, the coverage API and the
province pull keep answering the old figures while pushes, sign-ins and the pull's audit entry
and key use still land on the primary; after resuming, the new figures appear.

Why not a replica of the shared server on 5432: its pg_hba.conf has no ``replication`` entry and
a test must not edit a shared server's configuration. An own primary also keeps the base backup
small whatever else the shared cluster holds.
"""
import os
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from server import create_app
from server.auth import principal_for
from server.extensions import db
from server.models import ApiKey, AuditEntry, User
from server.services import coverage
from tests.conftest import ENGINE, _config, _migrate
from tests.factories import login, make_world
from tests.sync_helpers import household, push, resident, visit
from tests.test_coverage_definitions import OCT, at, cks

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
AS_POSTGRES = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
DB_NAME = "cnscd_replica"
needs_postgresql = pytest.mark.skipif(
    ENGINE != "postgresql", reason="PostgreSQL phase only (TEST_DATABASE_URL)")


def test_a_replica_needs_postgresql(tmp_path):
    with pytest.raises(RuntimeError, match="DATABASE_REPLICA_URL"):
        create_app(_config(f"sqlite:///{tmp_path / 'x.db'}", tmp_path,
                           DATABASE_REPLICA_URL="postgresql://postgres@127.0.0.1:1/x"))


# --- the primary and its replica -------------------------------------------------------------

def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(*args):
    subprocess.run([*AS_POSTGRES, *map(str, args)], check=True, capture_output=True, timeout=120)


def _start(data, port, log):
    _run(PG_BIN / "pg_ctl", "-D", data, "-l", log, "-w", "-t", "60", "-o",
         f"-p {port} -k {data.parent} -c listen_addresses=127.0.0.1 -c fsync=off "
         "-c full_page_writes=off -c max_connections=40", "start")


def _sql(url, query, *params):
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchone()[0] if cur.description else None


@pytest.fixture(scope="module")
def cluster(media_root):
    """``primary`` and ``replica`` URLs of the app's database; ``*_admin`` of the clusters."""
    if not (PG_BIN / "pg_basebackup").exists():
        pytest.skip(f"no PostgreSQL server binaries in {PG_BIN}")
    started = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="cnscd-replica-"))
    if AS_POSTGRES:
        shutil.chown(root, "postgres")
    primary, replica = root / "primary", root / "replica"
    ports = _free_port(), _free_port()
    urls = [f"postgresql://postgres@127.0.0.1:{p}" for p in ports]
    running = []
    try:
        _run(PG_BIN / "initdb", "-D", primary, "-U", "postgres", "--auth=trust", "-E", "UTF8",
             "--locale=C.UTF-8", "-N")
        # Our own cluster's pg_hba (never the shared server's): the replica connects from here.
        _run("sh", "-c", f"echo 'host replication all 127.0.0.1/32 trust' >> {primary}/pg_hba.conf")
        _start(primary, ports[0], root / "primary.log")
        running.append(primary)
        # Backed up before the app's database exists: streaming replicates its creation too.
        _run(PG_BIN / "pg_basebackup", "-h", "127.0.0.1", "-p", ports[0], "-U", "postgres",
             "-D", replica, "-R", "-X", "stream", "-c", "fast")
        _start(replica, ports[1], root / "replica.log")
        running.append(replica)
        assert _sql(f"{urls[1]}/postgres", "SELECT pg_is_in_recovery()") is True
        _sql(f"{urls[0]}/postgres", f"CREATE DATABASE {DB_NAME}")
        _migrate(f"{urls[0]}/{DB_NAME}", media_root)
        ready = time.monotonic() - started
        print(f"\nprimary + streaming replica + migrated database ready in {ready:.1f} s")
        yield SimpleNamespace(primary=f"{urls[0]}/{DB_NAME}", replica=f"{urls[1]}/{DB_NAME}",
                              primary_admin=f"{urls[0]}/postgres",
                              replica_admin=f"{urls[1]}/postgres")
    finally:
        for data in reversed(running):
            subprocess.run([*AS_POSTGRES, str(PG_BIN / "pg_ctl"), "-D", str(data), "-m",
                            "immediate", "-w", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def replica_app(cluster, media_root):
    """An app with both URLs; jobs in-process (no Redis: the shared rq worker has another DB)."""
    app = create_app(_config(cluster.primary, media_root, DATABASE_REPLICA_URL=cluster.replica,
                             REDIS_URL=None))
    with app.app_context():
        yield app
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


def caught_up(cluster, timeout=15.0):
    """Wait until the replica has replayed everything the primary has written so far."""
    lsn = _sql(cluster.primary_admin, "SELECT pg_current_wal_insert_lsn()::text")
    deadline = time.monotonic() + timeout
    while not _sql(cluster.replica_admin,
                   "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", lsn):
        assert time.monotonic() < deadline, "the replica did not catch up"
        time.sleep(0.05)


@contextmanager
def replay_paused(cluster):
    """The replica stops applying WAL inside the block (it still receives it)."""
    _sql(cluster.replica_admin, "SELECT pg_wal_replay_pause()::text")
    try:
        deadline = time.monotonic() + 10
        while _sql(cluster.replica_admin, "SELECT pg_get_wal_replay_pause_state()") != "paused":
            assert time.monotonic() < deadline, "the replica did not pause"
            time.sleep(0.05)
        yield
    finally:
        _sql(cluster.replica_admin, "SELECT pg_wal_replay_resume()::text")


def visited(client, headers, hamlet, day):
    """Push a household with one adult whose CKS was done on ``day``; asserts it was stored."""
    h = household(hamlet.id)
    r = resident(h["id"], birth_year=1980)
    code, body = push(client, headers, [h, r, visit(h["id"], when=at(day),
                                                     services=[cks(r["id"], "done")])])
    assert code == 200 and {x["status"] for x in body["results"]} == {"created"}, body


def supported(client, headers, world):
    """The commune's CKS ``supported`` figure from GET /api/v1/coverage (October 2025)."""
    resp = client.get("/api/v1/coverage", headers=headers,
                      query_string={"commune": world.commune.code, **OCT})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["commune"]["services"]["CKS"]["supported"]


def daily_supported(client, headers, world):
    """The last day's CKS ``supported`` of GET /api/v1/coverage/daily (October 2025)."""
    resp = client.get("/api/v1/coverage/daily", headers=headers,
                      query_string={"commune": world.commune.code, "service": "CKS", **OCT})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["days"][-1]["commune"]["supported"]


# --- routing -----------------------------------------------------------------------------------

@needs_postgresql
def test_coverage_reads_the_replica_while_writes_go_to_the_primary(replica_app, cluster):
    client = replica_app.test_client()
    world = make_world()
    member = login(client, world.users["member"])
    officer = login(client, world.users["commune_officer"])
    visited(client, member, world.hamlets[0], date(2025, 10, 3))
    caught_up(cluster)
    assert supported(client, officer, world) == 1
    assert daily_supported(client, officer, world) == 1

    with replay_paused(cluster):
        visited(client, member, world.hamlets[0], date(2025, 10, 4))  # the push wrote the primary
        # The primary has the new figures (the same service, outside an opted-in view)...
        db.session.rollback()
        user = db.session.scalar(select(User).where(User.username == world.users["commune_officer"]))
        on_primary = coverage.coverage(principal_for(user), {"commune": world.commune.code,
                                                             "from": date(2025, 10, 1),
                                                             "to": date(2025, 10, 31)})
        assert on_primary["commune"]["services"]["CKS"]["supported"] == 2
        # ...while the API answers the replica's, a moment behind.
        assert supported(client, officer, world) == 1
        assert daily_supported(client, officer, world) == 1
        # Sign-in writes the primary, and the token authenticates at once: auth reads the primary.
        fresh = login(client, world.users["commune_officer"], device_id="second-device")
        assert supported(client, fresh, world) == 1

    caught_up(cluster)
    assert supported(client, officer, world) == 2
    assert daily_supported(client, officer, world) == 2


@needs_postgresql
def test_province_pull_reads_the_replica_and_audits_on_the_primary(replica_app, cluster):
    client, runner = replica_app.test_client(), replica_app.test_cli_runner()
    world = make_world()
    result = runner.invoke(args=["apikeys", "create", "--province", "75", "--label", "Sở"])
    assert result.exit_code == 0, result.output
    key = result.output.strip()
    key_id = db.session.scalar(select(ApiKey.id).where(ApiKey.prefix == key[:12]))
    actor = f"apikey:{key_id}"
    member = login(client, world.users["member"])
    visited(client, member, world.hamlets[0], date(2025, 10, 3))
    caught_up(cluster)

    def pulled():
        resp = client.get("/api/v1/province/aggregates", headers={"X-API-Key": key},
                          query_string={**OCT, "level": "commune", "state": "live"})
        assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
        row = next(r for r in resp.get_json()["rows"] if r["code"] == world.commune.code)
        return row["services"]["CKS"]["supported"]

    def audited(url):
        return _sql(url, "SELECT count(*) FROM audit_log WHERE action = 'province.pull' "
                         "AND actor = %s", actor)

    assert pulled() == 1
    caught_up(cluster)
    with replay_paused(cluster):
        visited(client, member, world.hamlets[0], date(2025, 10, 5))
        before = _sql(cluster.primary, "SELECT now()")
        assert pulled() == 1  # the replica's figures
        assert audited(cluster.primary) == 2  # this pull's entry is on the primary...
        assert audited(cluster.replica) == 1  # ...and not (yet) on the paused replica
        assert _sql(cluster.primary, "SELECT last_used_at FROM api_keys WHERE id = %s",
                    key_id) >= before
    caught_up(cluster)
    assert pulled() == 2
    db.session.rollback()
    assert len(db.session.scalars(select(AuditEntry).where(AuditEntry.actor == actor)).all()) >= 3
