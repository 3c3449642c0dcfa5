"""Fixtures: a fresh database per test on SpatiaLite; one migrated PostGIS database per session
with real Redis and a real ``rq worker`` when ``TEST_DATABASE_URL`` points at PostgreSQL."""
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from server import create_app
from server.extensions import db

pytest_plugins = ["tests.photo_helpers"]  # the `member` fixture of the photo tests

REPO = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "") if PG_URL else ""
ENGINE = "postgresql" if PG_URL.startswith("postgresql") else "sqlite"


def _config(url, media_dir, **extra):
    return {
        "TESTING": True, "SECRET_KEY": "test-secret", "SQLALCHEMY_DATABASE_URI": url,
        "MEDIA_DIR": str(media_dir), "REDIS_URL": REDIS_URL or None,
        "RATELIMIT_STORAGE_URI": "memory://", "LOGIN_RATE_LIMIT_PER_ADDRESS": "10000 per minute",
        "COVERAGE_DRAIN_DELAY_SECONDS": 0,  # tests wait for drains; one test checks the delay
        # Cheap hashes keep fixtures fast; production parameters are the defaults.
        "ARGON2_TIME_COST": 1, "ARGON2_MEMORY_KIB": 8192,
        **extra,
    }


def _migrate(url, media_dir):
    from flask_migrate import upgrade

    app = create_app(_config(url, media_dir))
    with app.app_context():
        upgrade()
        db.session.remove()
        db.engine.dispose()  # the last close folds SQLite's WAL into the file we copy


@pytest.fixture(scope="session")
def media_root(tmp_path_factory):
    """Photo storage shared by the app and, on PostgreSQL, the rq worker."""
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def database_template(tmp_path_factory, media_root):
    """A migrated database: a SpatiaLite file to copy, or the session's PostGIS database."""
    if ENGINE == "sqlite":
        path = tmp_path_factory.mktemp("template") / "template.db"
        _migrate(f"sqlite:///{path}", media_root)
        yield path
        return
    import psycopg

    base, _, _ = PG_URL.rpartition("/")
    name = f"cnscd_test_{os.getpid()}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    url = f"{base}/{name}"
    _migrate(url, media_root)
    yield url
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def rq_worker(database_template, media_root):
    """A real ``rq worker`` process on PostgreSQL runs; None on SQLite (jobs run in-process)."""
    if ENGINE == "sqlite" or not REDIS_URL:
        yield None
        return
    from redis import Redis

    Redis.from_url(REDIS_URL).flushdb()
    env = {**os.environ, "DATABASE_URL": database_template, "REDIS_URL": REDIS_URL,
           "MEDIA_DIR": str(media_root), "PYTHONPATH": str(REPO)}
    log = open(media_root / "worker.log", "w")
    # `flask worker` is an rq Worker that loads the app once before forking each job. Its
    # maintenance (photo sweep, coverage drain) runs at start only: tests that hold work
    # pending must not see it taken mid-test (tests/faults exercises it).
    proc = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "photos", "aggregates",
         "default", "--maintenance-seconds", "86400"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    yield proc
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture
def database_url(database_template, tmp_path):
    """This test's database: a fresh copy on SQLite, the shared one on PostgreSQL."""
    if ENGINE == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(database_template, path)
        return f"sqlite:///{path}"
    return database_template


@pytest.fixture
def app(database_url, media_root, rq_worker):
    """A fresh app bound to this test's database."""
    app = create_app(_config(database_url, media_root))
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    """The Flask test client."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """The Flask CLI runner."""
    return app.test_cli_runner()


@pytest.fixture
def world(app):
    """A commune of our own with two hamlets, their teams and one user per role."""
    from tests.factories import make_world

    return make_world()


@pytest.fixture
def other_world(app):
    """Another commune: nothing in it may be visible to ``world``'s users."""
    from tests.factories import make_world

    return make_world()


def wait_for(predicate, timeout=30.0, interval=0.1):
    """Poll ``predicate`` until truthy (jobs run asynchronously on the rq worker)."""
    deadline = time.monotonic() + timeout
    while True:
        db.session.expire_all()
        db.session.rollback()
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def jobs_settled(queue_name="aggregates", timeout=60.0):
    """Wait until no job of ``queue_name`` is waiting or running (real rq worker only).

    Job hashes are written when a job is enqueued, before the request that enqueued it answers,
    and keep their status after finishing, so this cannot miss a job that is between the queue
    and the worker's started registry (a poll of queue length + started registry could).
    """
    if not REDIS_URL:
        db.session.rollback()
        return True
    from redis import Redis

    redis = Redis.from_url(REDIS_URL)
    busy = {b"queued", b"started", b"deferred", b"scheduled"}

    def idle():
        for key in redis.scan_iter(match="rq:job:*", count=1000):
            if key.count(b":") != 2:
                continue  # rq:job:<id>:dependents and the like
            origin, status = redis.hmget(key, "origin", "status")
            if origin == queue_name.encode() and status in busy:
                return False
        return True

    settled = wait_for(idle, timeout=timeout)
    db.session.rollback()
    return settled


def new_id():
    """A client-style UUID string."""
    return str(uuid.uuid4())
