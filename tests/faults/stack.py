"""Throwaway servers for the fault tests: a private PostgreSQL cluster and Redis that the tests may
stop, crash and restart (never the shared ones on 5432/6379), the app under gunicorn and its rq
worker as real processes, and a small HTTP client that reports a cut connection as such."""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PG_BIN = Path("/usr/lib/postgresql/15/bin")
# The worker sweeps photos whose wake-up is older than this (production: 10 minutes) and runs
# its maintenance every WORKER_MAINTENANCE seconds (production: 600): the same recovery,
# with the clock compressed so a test waits seconds.
PHOTO_STALE_MINUTES = 0.02
WORKER_MAINTENANCE = 1


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout=30.0, interval=0.1, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def _as_postgres(args):
    # initdb and postgres refuse to run as root.
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


class Postgres:
    """A private cluster on a free port; ``crash`` is ``pg_ctl stop -m immediate``."""

    def __init__(self, root):
        self.dir = root / "pg"
        self.dir.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self.port = free_port()
        subprocess.run(_as_postgres([str(PG_BIN / "initdb"), "-D", str(self.dir / "data"),
                                     "-U", "postgres", "--auth=trust", "-E", "UTF8",
                                     "--locale=C.UTF-8", "--no-sync"]),
                       check=True, capture_output=True)
        # synchronous_commit and fsync stay on: an acknowledged commit must survive the crash.
        self.start()

    def url(self, database="postgres"):
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _ctl(self, *args):
        subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.dir / "data"),
                                     *args]), check=True, capture_output=True, timeout=60)

    def start(self):
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
        self._ctl("-o", options, "-l", str(self.dir / "log"), "-w", "start")

    def crash(self):
        """Every backend killed at once, no checkpoint: the restart replays the WAL."""
        self._ctl("-m", "immediate", "-w", "stop")

    def stop(self):
        self._ctl("-m", "fast", "-w", "stop")


class RedisServer:
    """A private ``redis-server`` that keeps nothing on disk: a restart comes back empty."""

    def __init__(self, root):
        self.dir = root / "redis"
        self.dir.mkdir()
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        from redis import Redis

        client = Redis.from_url(self.url)

        def up():
            try:
                return client.ping()
            except Exception:  # noqa: BLE001 - not listening yet
                return False

        wait_until(up, 15, what="redis-server")

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=15)
            self.proc = None


def _descendants(pid):
    children = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True,
                              text=True).stdout.split()
    found = []
    for child in map(int, children):
        found += [child, *_descendants(child)]
    return found


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"  # a zombie is dead, not yet reaped
    except FileNotFoundError:
        return False


class Service:
    """A process in its own session; ``kill9`` takes it with all its descendants (rq's work
    horse and scheduler), the way a dying machine or systemd's kill of the unit would."""

    def __init__(self, name, args, env, log_dir):
        self.name, self.args, self.env = name, args, env
        self.log_path = log_dir / f"{name}.log"
        self.proc = None

    def start(self):
        log = open(self.log_path, "a")  # noqa: SIM115 - the child holds it
        log.write(f"--- start {time.strftime('%X')}\n")
        log.flush()
        self.log_start = log.tell()
        self.proc = subprocess.Popen(self.args, cwd=REPO, env=self.env, stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        return self

    def kill9(self):
        """SIGKILL the process and every descendant at once. rq's work horse calls setsid(), so
        killing the process group alone would leave the job running."""
        doomed = _descendants(self.proc.pid) + [self.proc.pid]
        for pid in doomed:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(timeout=15)
        self.proc = None
        wait_until(lambda: not any(_alive(pid) for pid in doomed), 15, what="the killed processes")

    def stop(self):
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=15)
        except ProcessLookupError:
            pass
        self.proc = None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def wait_log(self, text, timeout=60):
        """Wait until this run of the process has logged ``text``; returns that line."""
        def logged():
            with open(self.log_path, errors="replace") as log:
                log.seek(self.log_start)
                return next((line for line in log if text in line), None)

        return wait_until(logged, timeout, what=f"{self.name} to log {text!r}")

    def log_tail(self, chars=4000):
        return self.log_path.read_text(errors="replace")[-chars:]


def app_env(database_url, redis_url, media_dir):
    env = {k: v for k, v in os.environ.items()
           if k not in ("FLASK_APP", "FLASK_DEBUG", "TEST_DATABASE_URL", "TEST_REDIS_URL")}
    env.update(DATABASE_URL=database_url, REDIS_URL=redis_url, MEDIA_DIR=str(media_dir),
               SECRET_KEY="faults-secret", LOG_FORMAT="text", PYTHONUNBUFFERED="1",
               PYTHONPATH=str(REPO))
    return env


def flask_cmd(*args, stale_minutes=PHOTO_STALE_MINUTES):
    factory = (f"server:create_app({{'PHOTO_STALE_MINUTES': {stale_minutes}, "
               "'COVERAGE_DRAIN_DELAY_SECONDS': 0})")
    return [sys.executable, "-m", "flask", "--app", factory, *args]


def gunicorn(env, log_dir, port):
    return Service("gunicorn", [str(Path(sys.executable).parent / "gunicorn"), "-c",
                                str(REPO / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{port}",
                                "--workers", "2", "--timeout", "60",
                                "--no-control-socket",  # its default path is shared per user
                                "wsgi:app"], env, log_dir)


def rq_worker(env, log_dir, production=False):
    """``flask worker`` on every queue; ``production``: with the deployed maintenance period
    and photo threshold, so that nothing but the job it runs touches the database."""
    if production:
        args = flask_cmd("worker", "photos", "aggregates", "default", stale_minutes=10)
        return Service("worker-production", args, env, log_dir)
    args = flask_cmd("worker", "photos", "aggregates", "default",
                     "--maintenance-seconds", str(WORKER_MAINTENANCE))
    return Service("worker", args, env, log_dir)


class Http:
    """JSON over one fresh connection per call; a cut connection raises ``OSError`` or
    ``http.client.HTTPException``, as a phone's fetch would fail."""

    def __init__(self, port, token=None):
        self.port, self.token = port, token

    def call(self, method, path, body=None, data=None, headers=None, timeout=30):
        sent = {"Accept": "application/json", **(headers or {})}
        if self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=data, headers=sent)
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
        kind = resp.getheader("Content-Type", "")
        return resp.status, (json.loads(raw) if kind.startswith("application/json") else raw)
