"""Browser end-to-end fixtures: the real Flask server on a temp SQLite database with the demo seed,
Debian's Chromium through Playwright (never a downloaded browser), a phone-sized context, and a
small API client to check what the server really stored."""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE = {"width": 390, "height": 844}
PASSWORD = "demo-2025"
# A door in ấp Bảo Định (Xuân Lộc); only used as the phone's GPS fix.
GEO = {"latitude": 10.9312, "longitude": 107.4011, "accuracy": 12}


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _flask(env, *args, **kwargs):
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=REPO, env=env,
                          check=True, capture_output=True, text=True, timeout=600, **kwargs)


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """Base URL of a real server (migrated, seeded) running in a subprocess for the session."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's Chromium is not installed (scripts/setup.sh --test)")
    tmp = tmp_path_factory.mktemp("e2e-server")
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "FLASK_DEBUG", "FLASK_APP")}
    env.update(DATABASE_URL=f"sqlite:///{tmp / 'app.db'}", MEDIA_DIR=str(tmp / "media"), PYTHONUNBUFFERED="1")
    _flask(env, "db", "upgrade")
    _flask(env, "seed-demo")
    port = _free_port()
    log = open(tmp / "server.log", "w")  # noqa: SIM115 - closed at teardown
    proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "run", "--port", str(port), "--no-reload"],
                            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://localhost:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(base + "/", timeout=2) as r:
                if r.status == 200:
                    break
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"server did not start; log:\n{(tmp / 'server.log').read_text()[-4000:]}")
        time.sleep(0.2)
    yield base
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()


class Api:
    """Just enough of the HTTP contract to check the server's side of a test."""

    def __init__(self, base):
        self.base = base + "/api/v1"

    def call(self, method, path, token=None, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")

    def token(self, username):
        status, body = self.call("POST", "/auth/token", body={"username": username, "password": PASSWORD,
                                                              "device_id": f"e2e-{uuid.uuid4()}"})
        assert status == 201, body
        return body["token"]

    def pull_all(self, token):
        """Every change in the caller's scope, latest per (type, id)."""
        changes, cursor = {}, None
        for _ in range(200):
            status, body = self.call("GET", "/sync/pull?limit=1000" + (f"&cursor={cursor}" if cursor else ""), token)
            assert status == 200, body
            for c in body["changes"]:
                changes[(c["type"], c["id"])] = c
            cursor = body["cursor"]
            if not body["more"]:
                break
        return changes

    def push(self, token, items):
        status, body = self.call("POST", "/sync/push", token, {"device_id": "e2e-lead", "items": items})
        assert status == 200, body
        return body["results"]

    def visits(self, token, household_id):
        status, body = self.call("GET", f"/visits?household_id={household_id}", token)
        assert status == 200, body
        return body["visits"]


@pytest.fixture(scope="session")
def api(server):
    return Api(server)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Remember each phase's outcome so `context` can screenshot the pages of a failed test."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def context(browser, server, request):
    """A fresh phone: its own IndexedDB, caches and service worker."""
    ctx = browser.new_context(viewport=PHONE, device_scale_factor=1, is_mobile=True, has_touch=True,
                              locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh", base_url=server,
                              geolocation=GEO, permissions=["geolocation"])
    ctx.set_default_timeout(15000)
    yield ctx
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for n, pg in enumerate(ctx.pages):
            try:
                pg.screenshot(path=str(ARTIFACTS / f"FAILED-{request.node.name}-{n}.png"))
            except Exception:  # noqa: BLE001 - best effort: the page may be gone
                pass
    ctx.close()


@pytest.fixture
def page(context):
    pg = context.new_page()
    errors = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    assert not errors, f"uncaught errors in the page: {errors}"


@pytest.fixture(scope="session")
def artifacts():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def jpeg(tmp_path):
    """A 2400×1800 camera-like JPEG (bigger than the app's 1600 px limit, so it gets downscaled)."""
    from PIL import Image, ImageDraw

    path = tmp_path / "camera.jpg"
    img = Image.new("RGB", (2400, 1800), (30, 110, 60))
    draw = ImageDraw.Draw(img)
    for i in range(0, 2400, 60):
        draw.rectangle([i, 0, i + 30, 1800], fill=(200, (i // 10) % 255, 80))
    img.save(path, "JPEG", quality=90)
    return path
