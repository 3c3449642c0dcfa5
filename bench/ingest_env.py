"""What the ingest benchmark runs against: a throwaway database, one commune, the transports.

A transport pushes bodies either through the Flask test client (in-process WSGI: the app and the
database, no network) or over HTTP to gunicorn (spawned here, or already running).
"""
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
PASSWORD = "bench-password-42"
COMMUNE_CODE = "26041"
HAMLET_NAMES = ("Bảo Định", "Bảo Thị", "Bình Xuân", "Chiến Thắng", "Tân Hữu", "Trung Lương",
                "Gia Ray", "Suối Cát", "Hòa Hợp", "Bình Tân", "Tân Bình", "Nam Hà")
HAMLET_SIZE = 0.01  # degrees: hamlets are squares side by side


class Throwaway:
    """A database made for one run and dropped after it."""

    def __init__(self, url, name=None):
        if url.startswith("sqlite"):
            path = url.split("///", 1)[1] if "///" in url else ""
            self.path = Path(path or Path(tempfile.gettempdir()) / f"cnscd_bench_{os.getpid()}.db")
            self.url = f"sqlite:///{self.path}"
            return
        self.path = None
        self.name = name or f"cnscd_bench_{os.getpid()}"
        if not re.fullmatch(r"cnscd_bench_\w+", self.name):
            raise SystemExit("--db-name must start with cnscd_bench_ (it is dropped afterwards)")
        base, _, _ = url.rpartition("/")
        self.server_url = url
        self.url = f"{base}/{self.name}"

    def _admin(self):
        import psycopg

        return psycopg.connect(re.sub(r"^postgresql\+\w+://", "postgresql://", self.server_url),
                               autocommit=True)

    def create(self):
        """Create the empty database (a new SQLite file must not exist yet)."""
        if self.path:
            if self.path.exists():
                raise SystemExit(f"{self.path} exists; give a new file")
            return
        with self._admin() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {self.name}")

    def drop(self, keep=False):
        """Remove the database, unless ``keep``."""
        if keep:
            print(f"kept the database: {self.url}")
            return
        if self.path:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            return
        with self._admin() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")


@dataclass
class World:
    """The bench commune: hamlets (id -> (name, box)), one member per team, their ids."""

    hamlet_info: dict
    teams: list  # [(username, [hamlet ids])], one per pushing client
    member_ids: dict = field(default_factory=dict)  # client index -> user id
    password: str = PASSWORD


def make_commune(hamlets, teams):
    """One commune of ``hamlets`` square hamlets; ``teams`` teams share them out round-robin."""
    from geoalchemy2.shape import from_shape
    from shapely.geometry import MultiPolygon, box

    from server.extensions import db
    from server.models import Commune, Hamlet, Province, Team
    from server.services import accounts
    from server.services.changes import ChangeClock, commune_scope

    lon0, lat0 = 107.30, 10.90
    province = Province(code="75", name="Đồng Nai", settings={})
    commune = Commune(province=province, code=COMMUNE_CODE, name="Xã Xuân Lộc",
                      boundary=from_shape(MultiPolygon([box(
                          lon0, lat0, lon0 + HAMLET_SIZE * hamlets, lat0 + HAMLET_SIZE)]),
                          srid=4326))
    db.session.add(commune)
    db.session.flush()
    clock = ChangeClock(commune_scope(commune.id))
    rows, boxes = [], []
    for i in range(hamlets):
        square = (lon0 + HAMLET_SIZE * i, lat0, lon0 + HAMLET_SIZE * (i + 1), lat0 + HAMLET_SIZE)
        name = f"Ấp {HAMLET_NAMES[i % len(HAMLET_NAMES)]}" + (
            f" {i // len(HAMLET_NAMES) + 1}" if i >= len(HAMLET_NAMES) else "")
        rows.append(Hamlet(commune_id=commune.id, code=f"{COMMUNE_CODE}-{i + 1:03d}", name=name,
                           boundary=from_shape(MultiPolygon([box(*square)]), srid=4326),
                           households_total=1000, adults_total=2500, change_seq=clock.next()))
        boxes.append(square)
    db.session.add_all(rows)
    made = [Team(commune_id=commune.id, name=f"Tổ CNSCĐ số {k + 1}") for k in range(teams)]
    for i, hamlet in enumerate(rows):
        made[i % teams].hamlets.append(hamlet)
    db.session.add_all(made)
    clock.save()
    db.session.commit()
    world = World(hamlet_info={h.id: (h.name, b) for h, b in zip(rows, boxes)}, teams=[])
    for k, team in enumerate(made):
        username = f"bench.member{k + 1}"
        user = accounts.create_user(username, PASSWORD, "member", team_id=team.id)
        world.teams.append((username, [h.id for h in team.hamlets]))
        world.member_ids[k] = user.id
    return world


def make_clients(world, count):
    """One pushing client per team."""
    from ingest_data import Client

    return [Client(index=k, username=world.teams[k][0], hamlet_ids=world.teams[k][1])
            for k in range(count)]


class InProcess:
    """Pushes through the Flask test client; each request gets its own app context and session."""

    def __init__(self, app):
        self.client = app.test_client()
        self.headers = {}

    def login(self, username, password, device_id):
        """Get a device token for later pushes."""
        resp = self.client.post("/api/v1/auth/token", json={
            "username": username, "password": password, "device_id": device_id})
        if resp.status_code != 201:
            raise SystemExit(f"login failed: {resp.status_code} {resp.get_data(as_text=True)}")
        self.headers = {"Authorization": f"Bearer {resp.get_json()['token']}"}

    def post(self, path, body):
        """POST a pre-encoded JSON body; returns (status code, decoded answer)."""
        resp = self.client.post(path, data=body, headers=self.headers,
                                content_type="application/json")
        return resp.status_code, json.loads(resp.get_data())


class Http:
    """Pushes over one keep-alive HTTP connection (one per client thread)."""

    def __init__(self, base_url):
        parts = urlsplit(base_url)
        self.https = parts.scheme == "https"
        self.host, self.port = parts.hostname, parts.port
        self.prefix = parts.path.rstrip("/")
        self.conn = None
        self.headers = {}

    def _request(self, method, path, body, headers):
        for attempt in (1, 2):
            if self.conn is None:
                factory = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
                self.conn = factory(self.host, self.port, timeout=600)
            try:
                self.conn.request(method, self.prefix + path, body=body, headers=headers)
                resp = self.conn.getresponse()
                data = resp.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # An idle keep-alive connection the server closed; a push may be re-sent safely.
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
                continue
            if resp.will_close:
                self.conn.close()
                self.conn = None
            return resp.status, json.loads(data) if data else None

    def login(self, username, password, device_id):
        """Get a device token for later pushes."""
        body = json.dumps({"username": username, "password": password, "device_id": device_id})
        code, answer = self._request("POST", "/api/v1/auth/token", body,
                                     {"Content-Type": "application/json"})
        if code != 201:
            raise SystemExit(f"login failed: {code} {answer}")
        self.headers = {"Authorization": f"Bearer {answer['token']}",
                        "Content-Type": "application/json"}

    def post(self, path, body):
        """POST a pre-encoded JSON body; returns (status code, decoded answer)."""
        return self._request("POST", path, body, self.headers)


@dataclass
class Server:
    """A gunicorn this script started; ``stop`` ends it (and only it)."""

    proc: subprocess.Popen
    url: str
    log: Path

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def spawn_gunicorn(database_url, redis_url, media, workers, threads):
    """Start gunicorn on a free port against the throwaway database; wait until it answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "bench-secret",
           "MEDIA_DIR": str(media), "PYTHONPATH": str(REPO)}
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    log = Path(media) / "gunicorn.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--threads", str(threads),
         "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=REPO, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    server = Server(proc, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited: {log.read_text()[-2000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/api/v1/openapi.json")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    server.stop()
    raise SystemExit("gunicorn did not answer within 60 s")
