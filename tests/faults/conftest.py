"""Fixtures of the fault tests: one private stack for the whole run (PostgreSQL/PostGIS cluster,
Redis without persistence, gunicorn, an rq worker), which the tests crash and restart; the test
process reaches the same database through an app of its own, for factories and assertions."""
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from server import create_app
from server.extensions import db
from tests.conftest import _migrate
from tests.factories import PASSWORD
from tests.faults import stack
from tests.faults.stack import Http, wait_until


class Stack:
    """The running servers and how to reach them."""

    def __init__(self, root):
        self.root = root
        self.media = root / "media"
        self.media.mkdir()
        self.logs = root / "logs"
        self.logs.mkdir()
        self.pg = self.redis = self.web = self.worker = None
        try:
            self._start()
        except BaseException:
            for part in (self.web, self.worker):
                if part is not None:
                    print(f"--- {part.name} log ---\n" + part.log_tail())
            self.close()
            raise

    def _start(self):
        self.pg = stack.Postgres(self.root)
        self.database_url = self.pg.url("postgres")
        self.redis = stack.RedisServer(self.root)
        self.env = stack.app_env(self.database_url, self.redis.url, self.media)
        self.port = stack.free_port()
        # gunicorn boots while the schema is made (it touches the database only per request).
        self.web = stack.gunicorn(self.env, self.logs, self.port).start()
        _migrate(self.database_url, self.media)  # what `flask db upgrade` runs
        self.worker = stack.rq_worker(self.env, self.logs).start()
        wait_until(self.ready, 60, what="gunicorn /readyz")

    def http(self, token=None):
        return Http(self.port, token)

    def ready(self):
        try:
            return self.http().call("GET", "/readyz", timeout=5)[0] == 200
        except OSError:
            return False

    def login(self, username, device_id="fault-phone"):
        status, body = self.http().call("POST", "/api/v1/auth/token", {
            "username": username, "password": PASSWORD, "device_id": device_id})
        assert status == 201, body
        return self.http(body["token"])

    def heal(self):
        """Bring back whatever a test left down, so the next one starts from a whole stack."""
        if subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(self.pg.port)]
                          ).returncode != 0:
            self.pg.start()
        if self.redis.proc is None:
            self.redis.start()
        if not self.worker.running():
            self.worker.start()
        wait_until(self.ready, 60, what="the stack to be ready again")

    def close(self):
        for part in (self.worker, self.web, self.redis):
            if part is not None:
                part.stop()
        if self.pg is not None:
            try:
                self.pg.stop()
            except subprocess.CalledProcessError:
                pass  # not running


@pytest.fixture(scope="session")
def faults_stack():
    # Not pytest's tmp dir: the postgres user must reach the cluster's directory.
    root = Path(tempfile.mkdtemp(prefix="cnscd-faults-"))
    root.chmod(0o755)
    made = None
    try:
        made = Stack(root)  # closes what it started if it fails
        yield made
    finally:
        if made is not None:
            made.close()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def faults(faults_stack, request):
    """The stack, healed after the test; on failure the server and worker logs are printed."""
    yield faults_stack
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        print("--- gunicorn log ---\n" + faults_stack.web.log_tail())
        print("--- worker log ---\n" + faults_stack.worker.log_tail())
    faults_stack.heal()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.rep_call = report
    return report


@pytest.fixture
def app(faults_stack):
    """The test process's app on the private database (overrides the suite's ``app``)."""
    app = create_app({
        "TESTING": True, "SECRET_KEY": "faults-secret",
        "SQLALCHEMY_DATABASE_URI": faults_stack.database_url,
        "REDIS_URL": faults_stack.redis.url, "MEDIA_DIR": str(faults_stack.media),
        "RATELIMIT_STORAGE_URI": "memory://", "ARGON2_TIME_COST": 1, "ARGON2_MEMORY_KIB": 8192,
        "COVERAGE_DRAIN_DELAY_SECONDS": 0,
    })
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()
