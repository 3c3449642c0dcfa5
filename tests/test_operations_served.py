"""Operations through a real gunicorn with several worker processes (and, on PostgreSQL runs, the
real Redis and the real rq worker of the session): JSON log lines with request and job ids and
nothing personal in them; failed logins limited across worker processes.

Each test talks from its own loopback address (127.0.0.x), so the per-address login budgets of
the tests do not mix.
"""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from server import create_app
from server.extensions import db
from tests.conftest import ENGINE, REDIS_URL, REPO, _config, jobs_settled
from tests.factories import PASSWORD, make_world
from tests.sync_helpers import household, visit

WORKERS = 3
PER_USERNAME, PER_ADDRESS = 5, 12
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="the shared limiter store is Redis "
                                 "(PostgreSQL runs)")


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Served:
    """The gunicorn under test, its log files and a way to call it from a chosen address."""

    def __init__(self, port, out, err, world):
        self.port, self.out, self.err, self.world = port, out, err, world

    def call(self, method, path, body=None, headers=None, source="127.0.0.1"):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60,
                                          source_address=(source, 0))
        try:
            data = json.dumps(body).encode() if body is not None else None
            hdrs = {"Content-Type": "application/json", **(headers or {})} if data else \
                dict(headers or {})
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            raw = resp.read()
            return resp.status, dict(resp.getheaders()), raw
        finally:
            conn.close()

    def login(self, username, password, source, request_id=None):
        headers = {"X-Request-ID": request_id} if request_id else {}
        return self.call("POST", "/api/v1/auth/token",
                         {"username": username, "password": password, "device_id": "d-1"},
                         headers, source)

    def log_lines(self):
        """Every line gunicorn and the app wrote so far, each parsed as JSON (asserted)."""
        time.sleep(0.3)  # lines are flushed per record; give the last request's a moment
        parsed = []
        for path in (self.out, self.err):
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    entry = json.loads(line)  # every line is one JSON object
                    assert {"time", "level", "logger", "message"} <= set(entry), line
                    parsed.append(entry)
        return parsed

    def raw_logs(self):
        return self.out.read_text(encoding="utf-8") + self.err.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def served(database_template, media_root, rq_worker, tmp_path_factory):
    """gunicorn with WORKERS sync workers over the session's database (a copy on SQLite)."""
    home = tmp_path_factory.mktemp("served")
    url = database_template
    if ENGINE == "sqlite":
        shutil.copy(database_template, home / "served.db")
        url = f"sqlite:///{home / 'served.db'}"
    app = create_app(_config(url, media_root))
    ctx = app.app_context()
    ctx.push()
    world = make_world()
    port = _free_port()
    overrides = {"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_KIB": 8192,
                 "LOGIN_RATE_LIMIT": f"{PER_USERNAME} per minute",
                 "LOGIN_RATE_LIMIT_PER_ADDRESS": f"{PER_ADDRESS} per minute"}
    env = {**os.environ, "DATABASE_URL": url, "MEDIA_DIR": str(media_root),
           "SECRET_KEY": "served-test-secret", "PYTHONPATH": str(REPO)}
    env.pop("LOG_FORMAT", None)
    env.pop("REDIS_URL", None)
    if REDIS_URL:
        env["REDIS_URL"] = REDIS_URL
    out, err = home / "stdout.log", home / "stderr.log"
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "--config", "gunicorn.conf.py",
         "--workers", str(WORKERS), "--no-control-socket", "--bind", f"127.0.0.1:{port}",
         f"server:create_app({overrides!r})"],
        cwd=REPO, env=env, stdout=out.open("w"), stderr=err.open("w"))
    server = Served(port, out, err, world)
    deadline = time.monotonic() + 60
    while True:
        try:
            if server.call("GET", "/healthz")[0] == 200:
                break
        except OSError:
            pass
        assert proc.poll() is None, err.read_text()
        assert time.monotonic() < deadline, "gunicorn did not start"
        time.sleep(0.2)
    yield server
    proc.send_signal(signal.SIGINT)  # gunicorn's quick shutdown
    proc.wait(timeout=30)
    db.session.remove()
    db.engine.dispose()
    ctx.pop()


def test_every_line_is_json_with_the_request_id_and_nothing_personal(served):
    source = "127.0.0.11"
    status, headers, _ = served.call("GET", "/healthz", headers={"X-Request-ID": "ops-trace-0001"},
                                     source=source)
    assert status == 200 and headers["X-Request-ID"] == "ops-trace-0001"
    status, headers, _ = served.call(
        "GET", "/api/v1/coverage?commune=26425&q=Nguyen+SECRETNAME", source=source)
    assert status == 401
    anonymous_id = headers["X-Request-ID"]
    status, headers, body = served.login("SECRETUSER", "SECRETPASS-123", source,
                                         request_id="ops-trace-0002")
    assert status == 401 and headers["X-Request-ID"] == "ops-trace-0002"

    lines = served.log_lines()
    access = {e.get("request_id"): e for e in lines if e["logger"] == "gunicorn.access"}
    assert access["ops-trace-0001"]["path"] == "/healthz"
    assert access["ops-trace-0001"]["status"] == 200
    assert access[anonymous_id]["path"] == "/api/v1/coverage"  # no query string
    assert access[anonymous_id]["status"] == 401
    login_line = access["ops-trace-0002"]
    assert (login_line["method"], login_line["status"]) == ("POST", 401)
    assert isinstance(login_line["duration_ms"], float) and login_line["remote_addr"] == source
    # The app's own line about that request carries the same id.
    failed = [e for e in lines if e.get("event") == "login_failed"
              and e.get("request_id") == "ops-trace-0002"]
    assert len(failed) == 1 and failed[0]["logger"] == "server.login_limits"
    # gunicorn's own lines are JSON too.
    assert any(e["logger"] == "gunicorn.error" and "Booting worker" in e["message"] for e in lines)
    raw = served.raw_logs()
    for secret in ("SECRETNAME", "SECRETUSER", "SECRETPASS", "Nguyen"):
        assert secret not in raw


def _parallel(calls):
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(lambda call: call(), calls))


@needs_redis
def test_failed_logins_of_one_username_are_limited_across_worker_processes(served):
    source, username = "127.0.0.12", served.world.users["member"]
    ids = [f"spray-user-{i:04d}" for i in range(15)]
    results = _parallel([lambda rid=rid: served.login(username, "wrong-password", source, rid)
                         for rid in ids])
    statuses = sorted(status for status, _, _ in results)
    # Exactly the budget, not the budget times the number of workers, even all at once.
    assert statuses == [401] * PER_USERNAME + [429] * (15 - PER_USERNAME)
    pids = {e["pid"] for e in served.log_lines()
            if e["logger"] == "gunicorn.access" and e.get("request_id") in ids}
    assert len(pids) >= 2  # the attempts were served by several worker processes
    # The right password is refused too while the budget is spent.
    assert served.login(username, PASSWORD, source)[0] == 429
    # Another address has its own budget.
    assert served.login(username, PASSWORD, "127.0.0.15")[0] == 201


@needs_redis
def test_password_spraying_is_cut_per_address_across_worker_processes(served):
    source = "127.0.0.13"
    results = _parallel([lambda i=i: served.login(f"spray.{uuid.uuid4().hex[:8]}.{i}",
                                                  "Password123!", source)
                         for i in range(20)])
    statuses = sorted(status for status, _, _ in results)
    assert statuses == [401] * PER_ADDRESS + [429] * (20 - PER_ADDRESS)
    status, _, body = results[[s for s, _, _ in results].index(429)]
    assert json.loads(body)["error"]["code"] == "rate_limited"


@pytest.mark.skipif(ENGINE == "sqlite" or not REDIS_URL, reason="jobs run in-process on SQLite")
def test_lines_a_job_logs_carry_the_job_id(served, media_root):
    status, _, body = served.login(served.world.users["member"], PASSWORD, "127.0.0.14")
    assert status == 201
    token = json.loads(body)["token"]
    home = household(served.world.hamlets[0].id)
    status, _, body = served.call(
        "POST", "/api/v1/sync/push",
        {"device_id": "served-1", "items": [home, visit(home["id"])]},
        {"Authorization": f"Bearer {token}"}, "127.0.0.14")
    assert status == 200, body
    assert jobs_settled()
    time.sleep(0.5)
    entries = [json.loads(line) for line in
               (media_root / "worker.log").read_text(encoding="utf-8").splitlines()
               if line.strip()]  # the session's rq worker: every line JSON as well
    job_lines = [e for e in entries if e["message"].startswith("[job ")]  # jobs.job_log
    assert job_lines  # the push's coverage job (its message is the job's business)
    for entry in job_lines:
        assert entry["message"].startswith(f"[job {entry['job_id']}] "), entry
        assert {"time", "level", "logger", "message", "pid"} <= set(entry)
