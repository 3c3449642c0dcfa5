"""Operations: health probes, request ids, compression and the shared failed-login budget.

The same checks through a real gunicorn (JSON log lines, the limiter across worker processes,
job ids on the worker's lines) are in ``tests/test_operations_served.py``.
"""
import gzip
import re
from pathlib import Path

import brotli
import pytest

from server import create_app
from server.extensions import db
from server.web.assets import served_bytes
from tests.conftest import REDIS_URL, _config
from tests.factories import PASSWORD
from tests.test_web_office_auth import csrf, text

STATIC = Path(__file__).resolve().parent.parent / "static"
TOKEN_URL = "/api/v1/auth/token"


def _error(resp, status, code):
    assert resp.status_code == status, resp.get_data(as_text=True)[:500]
    body = resp.get_json()
    assert set(body) == {"error"} and body["error"]["code"] == code
    assert set(body["error"]) == {"code", "message", "fields"}
    return body["error"]


# --- /healthz and /readyz ------------------------------------------------------------------

def test_healthz_and_readyz_answer_when_everything_is_reachable(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200 and resp.get_json() == {"status": "ok"}
    assert resp.headers["Cache-Control"] == "no-store"
    resp = client.get("/readyz")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ready", "checks": {
        "database": "ok", "redis": "ok" if REDIS_URL else "not_configured"}}
    assert resp.headers["Cache-Control"] == "no-store"


def test_readyz_is_503_in_the_error_shape_when_database_and_redis_are_down(media_root):
    # Real unreachable endpoints (nothing listens on port 1): no mock of either.
    app = create_app(_config("postgresql://postgres:postgres@127.0.0.1:1/none", media_root,
                             REDIS_URL="redis://127.0.0.1:1/0"))
    client = app.test_client()
    healthy = client.get("/healthz")  # the process is up: it touches neither
    assert healthy.status_code == 200 and healthy.get_json() == {"status": "ok"}
    error = _error(client.get("/readyz"), 503, "service_unavailable")
    assert error["fields"] == {"database": ["unreachable"], "redis": ["unreachable"]}
    assert "127.0.0.1" not in error["message"]  # no server details
    with app.app_context():
        db.engine.dispose()


def test_readyz_names_only_the_dependency_that_is_down(database_url, media_root):
    app = create_app(_config(database_url, media_root, REDIS_URL="redis://127.0.0.1:1/0"))
    error = _error(app.test_client().get("/readyz"), 503, "service_unavailable")
    assert error["fields"] == {"redis": ["unreachable"]}
    with app.app_context():
        db.engine.dispose()


# --- request ids ---------------------------------------------------------------------------

def test_a_sane_request_id_is_echoed_and_any_other_is_replaced(client):
    for sane in ("trace-0123456789", "3f2b8c1e-6a0d-4c1b-9d7e-1f2a3b4c5d6e",
                 "Root=1-67891233-abcdef012345678912345678"):
        assert client.get("/healthz", headers={"X-Request-ID": sane}).headers[
            "X-Request-ID"] == sane
    made = set()
    for insane in ("", "short", "has spaces in it", "<script>alert(1)</script>", "x" * 129,
                   "quote\"inside-123", "Nguyễn-Văn-A-123"):
        headers = {"X-Request-ID": insane} if insane else {}
        rid = client.get("/healthz", headers=headers).headers["X-Request-ID"]
        assert re.fullmatch(r"[0-9a-f]{32}", rid), (insane, rid)
        made.add(rid)
    assert len(made) == 7  # a fresh id each time


def test_errors_and_console_pages_carry_the_request_id_too(client):
    for path in ("/api/v1/no-such-thing", "/api/v1/me", "/office/login"):
        resp = client.get(path, headers={"X-Request-ID": "probe-request-42"})
        assert resp.headers["X-Request-ID"] == "probe-request-42", path


# --- compression ---------------------------------------------------------------------------

GZIP = {"Accept-Encoding": "gzip"}


def _gunzip(resp):
    assert resp.headers.get("Content-Encoding") == "gzip", dict(resp.headers)
    assert "Accept-Encoding" in resp.headers.get("Vary", "")
    assert int(resp.headers["Content-Length"]) == len(resp.data)
    return gzip.decompress(resp.data)


def test_large_json_is_gzipped_when_accepted_and_plain_otherwise(client):
    plain = client.get("/api/v1/openapi.json")
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers
    packed = client.get("/api/v1/openapi.json", headers=GZIP)
    assert packed.status_code == 200
    body = _gunzip(packed)
    assert body == plain.data
    assert len(packed.data) * 4 < len(plain.data)  # JSON shrinks at least fourfold


def test_brotli_when_the_client_prefers_it(client):
    resp = client.get("/api/v1/openapi.json", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert resp.headers["Content-Encoding"] == "br"
    assert brotli.decompress(resp.data) == client.get("/api/v1/openapi.json").data


@pytest.mark.parametrize("path,name", [("/app/rules.js", "app/rules.js"), ("/sw.js", None),
                                       ("/", "index.html"), ("/app.css", "app.css")])
def test_app_files_are_gzipped_and_revalidate_with_304(client, path, name):
    plain = client.get(path)
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers
    if name:
        assert plain.data == served_bytes(STATIC / name)  # the file, minified (web/assets.py)
    packed = client.get(path, headers=GZIP)
    assert packed.status_code == 200 and _gunzip(packed) == plain.data
    etag = packed.headers["ETag"]
    assert etag.endswith(':gzip"') and etag != plain.headers["ETag"]
    # The service worker and the browser revalidate with the ETag they were given.
    again = client.get(path, headers={**GZIP, "If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert client.get(path, headers={"If-None-Match": plain.headers["ETag"]}).status_code == 304


def test_rules_etag_and_304_survive_compression(client):
    plain = client.get("/api/v1/rules")
    packed = client.get("/api/v1/rules", headers=GZIP)
    assert _gunzip(packed) == plain.data
    assert client.get("/api/v1/rules", headers={**GZIP, "If-None-Match": packed.headers["ETag"]}
                      ).status_code == 304
    assert client.get("/api/v1/rules", headers={"If-None-Match": plain.headers["ETag"]}
                      ).status_code == 304


def test_what_is_not_compressed(client, world):
    # Images do not shrink; a partial answer stays a byte range of the file itself.
    icon = client.get("/icons/icon-192.png", headers=GZIP)
    assert icon.status_code == 200 and "Content-Encoding" not in icon.headers
    part = client.get("/app/rules.js", headers={**GZIP, "Range": "bytes=0-99"})
    assert part.status_code == 206 and "Content-Encoding" not in part.headers
    assert part.data == served_bytes(STATIC / "app/rules.js")[:100]
    # Console pages hold a CSRF token beside text the request chose (BREACH): never compressed.
    page = client.get("/office/login", headers=GZIP)
    assert page.status_code == 200 and "Content-Encoding" not in page.headers
    assert 'name="csrf_token"' in text(page)
    # Small answers are not worth it.
    small = client.get("/healthz", headers=GZIP)
    assert "Content-Encoding" not in small.headers and small.get_json() == {"status": "ok"}


def test_personal_api_answers_are_compressed_and_still_never_stored(client, world):
    from tests.factories import login
    from tests.sync_helpers import household, push

    headers = login(client, world.users["member"])
    code, _ = push(client, headers, [household(world.hamlets[0].id) for _ in range(20)])
    assert code == 200
    plain = client.get("/api/v1/sync/pull", headers=headers)
    packed = client.get("/api/v1/sync/pull", headers={**headers, **GZIP})
    assert packed.headers["Cache-Control"] == "no-store"
    assert len(_gunzip(packed)) == len(plain.data)


# --- one failed-login budget for the API and the console ----------------------------------

def _api_login(client, username, password="wrong-password-1"):
    return client.post(TOKEN_URL, json={"username": username, "password": password,
                                        "device_id": "d-1"})


def _console_login(client, username, password="wrong-password-1"):
    token = csrf(client, "/office/login")
    return client.post("/office/login", data={"username": username, "password": password,
                                              "csrf_token": token, "next": ""})


def test_api_and_console_failures_count_against_one_budget_per_username(client, world):
    username = world.users["commune_officer"]  # LOGIN_RATE_LIMIT: 5 per minute
    for _ in range(3):
        assert _api_login(client, username).status_code == 401
    for _ in range(2):
        resp = _console_login(client, username)
        assert resp.status_code == 200 and "Sai tên đăng nhập" in text(resp)
    _error(_api_login(client, username, PASSWORD), 429, "rate_limited")
    resp = _console_login(client, username, PASSWORD)
    assert resp.status_code == 429 and "Thử quá nhiều lần" in text(resp)
    # Another username from the same address still has its own budget.
    assert _api_login(client, world.users["member"], PASSWORD).status_code == 201


def test_api_and_console_share_the_per_address_budget(database_url, media_root, world):
    app = create_app(_config(database_url, media_root, LOGIN_RATE_LIMIT_PER_ADDRESS="4 per minute"))
    client = app.test_client()
    with app.app_context():
        assert _api_login(client, "nobody.1").status_code == 401
        assert _api_login(client, "nobody.2").status_code == 401
        assert _console_login(client, "nobody.3").status_code == 200
        assert _console_login(client, "nobody.4").status_code == 200
        # A right password of a fifth user is refused too: spraying is cut per address.
        _error(_api_login(client, world.users["member"], PASSWORD), 429, "rate_limited")
        assert _console_login(client, world.users["commune_officer"], PASSWORD).status_code == 429
        db.engine.dispose()


def test_successes_and_refused_roles_give_their_attempt_back(client, world):
    officer, member = world.users["commune_officer"], world.users["member"]
    for _ in range(4):
        assert _api_login(client, officer).status_code == 401
    for _ in range(6):  # right passwords: none of these uses up the one attempt left
        assert _api_login(client, officer, PASSWORD).status_code == 201
        assert _console_login(client, officer, PASSWORD).status_code == 302
        assert client.post("/office/logout", data={"csrf_token": csrf(client)}).status_code == 302
    for _ in range(6):  # a member signing in to the console: right password, refused role
        assert _console_login(client, member, PASSWORD).status_code == 403
    assert _api_login(client, member, PASSWORD).status_code == 201
    assert _api_login(client, officer).status_code == 401  # the fifth failure
    _error(_api_login(client, officer, PASSWORD), 429, "rate_limited")


def test_behind_a_trusted_proxy_each_client_has_its_own_budget(database_url, media_root, world):
    def client_of(**extra):
        app = create_app(_config(database_url, media_root,
                                 LOGIN_RATE_LIMIT_PER_ADDRESS="2 per minute", **extra))
        return app, app.test_client()

    def attempt(client, address):
        return client.post(TOKEN_URL, headers={"X-Forwarded-For": address}, json={
            "username": "nobody", "password": "wrong-password-1", "device_id": "d-1"})

    app, client = client_of(TRUSTED_PROXIES=1)  # nginx in front
    assert [attempt(client, "203.0.113.7").status_code for _ in range(3)] == [401, 401, 429]
    assert attempt(client, "198.51.100.9").status_code == 401  # another phone behind nginx
    with app.app_context():
        db.engine.dispose()
    app, client = client_of()  # no proxy trusted: the header is anybody's to forge
    assert attempt(client, "203.0.113.1").status_code == 401
    assert attempt(client, "203.0.113.2").status_code == 401
    assert attempt(client, "203.0.113.3").status_code == 429
    with app.app_context():
        db.engine.dispose()


def test_logins_keep_their_budget_in_memory_while_redis_is_down(database_url, media_root, world):
    app = create_app(_config(database_url, media_root,
                             RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0"))  # nothing listens
    client = app.test_client()
    username = world.users["member"]
    assert [_api_login(client, username).status_code for _ in range(6)] == [401] * 5 + [429]
    assert _console_login(client, world.users["commune_officer"], PASSWORD).status_code == 302
    with app.app_context():
        db.engine.dispose()
