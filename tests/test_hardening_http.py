"""Hostile HTTP input never becomes a 5xx: crafted cursors and query strings, deep or non-standard
JSON, lone surrogates; every answer carries the security headers, personal data is never cached,
and gunicorn's own refusals are JSON in the contract's shape too."""
import base64
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from server.vocab import JSON_MAX_DEPTH
from tests.conftest import wait_for
from tests.factories import login
from tests.photo_helpers import jpeg_bytes, photo_row, put_photo
from tests.sync_helpers import household, new_id, push, statuses, visit
from tests.test_errors import assert_error_shape

REPO = Path(__file__).resolve().parent.parent
PULL = "/api/v1/sync/pull"
PUSH = "/api/v1/sync/push"
TOKEN = "/api/v1/auth/token"


def _cursor(text):
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.fixture
def puller(client, world):
    """The member's headers and the scope fingerprint of their cursors."""
    headers = login(client, world.users["member"])
    resp = client.get(PULL, headers=headers, query_string={"limit": 1})
    issued = json.loads(base64.urlsafe_b64decode(resp.get_json()["cursor"] + "=="))
    return headers, issued["h"]


# ---- pull cursors --------------------------------------------------------------------------

@pytest.mark.parametrize("raw", [
    '{"v":1,"c":1000000000000000000000000000000,"s":0,"h":"%s"}',  # 10**30: BIGINT overflow
    '{"v":1,"c":0,"s":1000000000000000000000000000000,"h":"%s"}',
    '{"v":1,"c":9223372036854775808,"s":0,"h":"%s"}',  # 2**63
    '{"v":1,"c":1e400,"s":0,"h":"%s"}',  # float infinity
    '{"v":1,"c":0,"s":-1e400,"h":"%s"}',
    '{"v":1,"c":NaN,"s":0,"h":"%s"}',
    '{"v":1,"c":Infinity,"s":0,"h":"%s"}',
    '{"v":1,"c":1.0,"s":0,"h":"%s"}',
    '{"v":1,"c":true,"s":0,"h":"%s"}',
    '{"v":1,"c":"5","s":0,"h":"%s"}',
    '{"v":1,"c":null,"s":0,"h":"%s"}',
    '{"v":1,"c":-1,"s":0,"h":"%s"}',
    '{"v":1,"s":0,"h":"%s"}',
    '{"v":1,"c":[1],"s":0,"h":"%s"}',
    '{"v":true,"c":0,"s":0,"h":"%s"}',
    '{"v":2,"c":0,"s":0,"h":"%s"}',
    '{"v":1,"c":0,"s":0,"h":5}',
    '[1, 2, 3]',
    '"a string"',
    '{"v":1,"c":0,"s":0,"h":"%s"',  # truncated
], ids=lambda raw: raw[:40])
def test_crafted_cursor_is_422(client, puller, raw):
    headers, fingerprint = puller
    cursor = _cursor(raw.replace("%s", fingerprint))
    resp = client.get(PULL, headers=headers, query_string={"cursor": cursor})
    error = assert_error_shape(resp, 422)
    assert "cursor" in error["fields"]


@pytest.mark.parametrize("cursor", [
    "!!!not base64!!!", "ä" * 10, "%00", "\x00", _cursor("[" * 300 + "]" * 300), "A" * 5000,
    base64.urlsafe_b64encode(b"\xff\xfe\xfd").decode(),
], ids=["not-base64", "non-ascii", "percent", "nul", "deep", "long", "binary"])
def test_garbage_cursor_is_422_not_500(client, puller, cursor):
    headers, _ = puller
    resp = client.get(PULL, headers=headers, query_string={"cursor": cursor})
    assert resp.status_code == 422, resp.get_data(as_text=True)
    assert_error_shape(resp, 422)


def test_cursor_at_the_largest_bigint_is_accepted(client, puller):
    headers, fingerprint = puller
    top = 2**63 - 1
    cursor = _cursor(json.dumps({"v": 1, "c": top, "s": top, "h": fingerprint}))
    resp = client.get(PULL, headers=headers, query_string={"cursor": cursor})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["changes"] == [] and resp.get_json()["more"] is False


# ---- query strings -------------------------------------------------------------------------

@pytest.mark.parametrize("limit", ["0", "-1", "1001", str(10**30), "1e400", "1.5", "abc", "",
                                   "NaN", "true"])
def test_pull_limit_out_of_range_or_garbage_is_422(client, puller, limit):
    headers, _ = puller
    resp = client.get(PULL, headers=headers, query_string={"limit": limit})
    assert "limit" in assert_error_shape(resp, 422)["fields"]


@pytest.mark.parametrize("value", ["", "garbage", str(10**30), "-1", "1e400", "\x00",
                                   "' OR 1=1 --", "ä" * 3000, new_id() + "x"])
def test_visits_household_id_garbage_is_422(client, puller, value):
    headers, _ = puller
    resp = client.get("/api/v1/visits", headers=headers, query_string={"household_id": value})
    assert "household_id" in assert_error_shape(resp, 422)["fields"]


def test_visits_unknown_household_is_404_and_repeated_parameter_is_not_500(client, puller):
    headers, _ = puller
    assert_error_shape(client.get("/api/v1/visits", headers=headers,
                                  query_string={"household_id": new_id()}), 404)
    resp = client.get(f"/api/v1/visits?household_id={new_id()}&household_id=x", headers=headers)
    assert resp.status_code in (404, 422)
    assert_error_shape(resp, resp.status_code)


@pytest.mark.parametrize("authorization", [
    "Bearer", "Bearer ", "Bearer " + "x" * 5000, "Basic dXNlcjpwdw==", "bearer\tabc",
    "Bearer \u00ff\u00fe", "Bearer a b c",
])
def test_odd_authorization_headers_are_401(client, authorization):
    resp = client.get("/api/v1/me", headers={"Authorization": authorization})
    assert_error_shape(resp, 401)


# ---- JSON bodies ---------------------------------------------------------------------------

def _deep_list(depth):
    return "[" * depth + "]" * depth


def _deep_push(depth):
    # {"device_id", "items": [{"type", "id", "data": {"a": {"a": ...}}}]}: data is level 4
    inner = '{"a":' * (depth - 3) + "1" + "}" * (depth - 3)
    return ('{"device_id":"d","items":[{"type":"household","id":"%s","data":%s}]}'
            % (new_id(), inner))


@pytest.mark.parametrize("url, body", [
    (TOKEN, _deep_list(100_000)),
    (TOKEN, '{"username":' + _deep_list(50_000) + "}"),
    (PUSH, _deep_push(100_000)),
    (PUSH, _deep_push(2_000)),
    (PUSH, _deep_push(JSON_MAX_DEPTH + 1)),
], ids=["list-100000", "token-field-50000", "push-100000", "push-2000", "push-limit+1"])
def test_body_nested_too_deep_is_400_malformed_json(client, puller, url, body):
    headers, _ = puller
    resp = client.post(url, data=body, content_type="application/json", headers=headers)
    error = assert_error_shape(resp, 400)
    assert error["code"] == "malformed_json"
    assert str(JSON_MAX_DEPTH) in error["message"]


def test_body_nested_exactly_to_the_limit_is_parsed(client, puller):
    headers, _ = puller
    resp = client.post(PUSH, data=_deep_push(JSON_MAX_DEPTH), content_type="application/json",
                       headers=headers)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert statuses(resp.get_json()) == ["rejected"]


def test_deep_body_on_the_login_rate_limit_key_is_400_not_500(client):
    # The login rate limit reads the body for its key before the view: it must not choke either.
    resp = client.post(TOKEN, data='{"username":' + _deep_list(5000) + "}",
                       content_type="application/json")
    assert assert_error_shape(resp, 400)["code"] == "malformed_json"


@pytest.mark.parametrize("body", [
    '{"username": NaN, "password": "p", "device_id": "d"}',
    '{"username": Infinity, "password": "p", "device_id": "d"}',
    '{"username": -Infinity, "password": "p", "device_id": "d"}',
    b'{"username": "\xff\xfe", "password": "p", "device_id": "d"}',
    '{"username": "a"} trailing',
], ids=["nan", "infinity", "-infinity", "bad-utf8", "trailing"])
def test_non_json_bodies_are_400_malformed_json(client, body):
    resp = client.post(TOKEN, data=body, content_type="application/json")
    assert assert_error_shape(resp, 400)["code"] == "malformed_json"


def test_empty_json_body_is_422_with_the_required_fields(client):
    resp = client.post(TOKEN, data=b"", content_type="application/json")
    assert set(assert_error_shape(resp, 422)["fields"]) >= {"username", "password"}


def test_huge_number_in_the_envelope_is_not_500(client, puller):
    headers, _ = puller
    body = '{"device_id": %s, "items": [%s]}' % (10**30, "1e400")
    resp = client.post(PUSH, data=body, content_type="application/json", headers=headers)
    assert_error_shape(resp, 422)


def test_lone_surrogate_echoed_in_an_error_is_still_valid_json(client):
    # An unknown field named "\ud800" comes back as a key of `fields`: the answer must encode.
    body = '{"username": "a", "password": "b", "device_id": "c", "\\ud800": 1}'
    resp = client.post(TOKEN, data=body, content_type="application/json")
    error = assert_error_shape(resp, 422)
    assert "\ud800" in error["fields"]
    resp.get_data().decode("utf-8")  # strict UTF-8: the surrogate travels as an escape


def test_json_provider_escapes_only_what_utf8_cannot_carry(app):
    assert app.json.dumps({"name": "Nguyễn"}) == '{"name": "Nguyễn"}'
    text = app.json.dumps({"name": "Nguyễn\ud800"})
    text.encode("utf-8")
    assert json.loads(text) == {"name": "Nguyễn\ud800"}
    response = app.json.response({"bad": "\udfff"})
    assert json.loads(response.get_data()) == {"bad": "\udfff"}


# ---- headers -------------------------------------------------------------------------------

SECURITY_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options",
                    "Referrer-Policy", "Permissions-Policy")


def assert_security_headers(resp):
    """The headers every response carries."""
    for name in SECURITY_HEADERS:
        assert resp.headers.get(name), f"{name} missing on {resp.request.path}"
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp and "'unsafe-eval'" not in csp
    assert "script-src 'self'" in csp and "script-src 'self' 'unsafe-inline'" not in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"
    # The consoles send same-origin: their CSRF check over HTTPS compares the Referer.
    assert resp.headers["Referrer-Policy"] in ("no-referrer", "strict-origin", "same-origin")
    policy = resp.headers["Permissions-Policy"]
    assert "camera=(self)" in policy and "geolocation=(self)" in policy


@pytest.mark.parametrize("method, path", [
    ("get", "/"), ("get", "/sw.js"), ("get", "/office/login"), ("get", "/no/such/page"),
    ("get", "/app/no-such-module.js"), ("get", "/api/v1/openapi.json"), ("get", "/api/v1/me"),
    ("put", "/api/v1/me"), ("get", "/api/v1/rules"),
])
def test_every_response_carries_the_security_headers(client, method, path):
    assert_security_headers(getattr(client, method)(path))


@pytest.mark.parametrize("path", ["/app/main.js", "/app.css", "/manifest.webmanifest",
                                  "/icons/icon-192.png", "/office/static/office.css"])
def test_the_app_files_carry_only_the_headers_that_apply_to_them(client, path):
    """A module, stylesheet, icon or manifest: nosniff and the referrer rule (a stylesheet's
    own fetches use it); the document-only policies would be ignored bytes on every file."""
    resp = client.get(path)
    assert resp.status_code == 200
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] in ("no-referrer", "same-origin")
    for name in ("Content-Security-Policy", "X-Frame-Options", "Permissions-Policy"):
        assert name not in resp.headers, f"{name} on {path}"


def test_personal_data_is_never_stored_by_caches(client, world):
    headers = login(client, world.users["member"])
    h = household(world.hamlets[0].id)
    push_resp = client.post(PUSH, json={"device_id": "d", "items": [h]}, headers=headers)
    token_resp = client.post(TOKEN, json={"username": world.users["member"],
                                          "password": "correct-horse-42", "device_id": "x"})
    answers = {
        "token": token_resp,
        "me": client.get("/api/v1/me", headers=headers),
        "push": push_resp,
        "pull": client.get(PULL, headers=headers),
        "visits": client.get("/api/v1/visits", headers=headers,
                             query_string={"household_id": h["id"]}),
        "error": client.get("/api/v1/me"),
    }
    for name, resp in answers.items():
        assert resp.status_code < 500, name
        assert "no-store" in resp.headers.get("Cache-Control", ""), name
        assert_security_headers(resp)


def test_photos_are_private_and_never_stored(client, world):
    headers = login(client, world.users["member"])
    h = household(world.hamlets[0].id)
    v = visit(h["id"])
    code, body = push(client, headers, [h, v])
    assert code == 200 and statuses(body) == ["created", "created"], body
    photo_id = new_id()
    uploaded = put_photo(client, headers, v["id"], photo_id, jpeg_bytes((64, 64)))
    assert uploaded.status_code == 201 and "no-store" in uploaded.headers["Cache-Control"]
    assert wait_for(lambda: photo_row(photo_id).state == "ready")
    for suffix in ("", "/thumb"):
        resp = client.get(f"/api/v1/visits/{v['id']}/photos/{photo_id}{suffix}", headers=headers)
        assert resp.status_code == 200
        cache = {part.strip() for part in resp.headers["Cache-Control"].split(",")}
        assert {"private", "no-store"} <= cache and not any("max-age" in p for p in cache)
        assert_security_headers(resp)


def test_every_personal_data_endpoint_named_exists(app):
    from server.security import PERSONAL_ENDPOINTS

    assert PERSONAL_ENDPOINTS <= {rule.endpoint for rule in app.url_map.iter_rules()}


def test_the_app_shell_keeps_its_own_revalidation(client):
    assert client.get("/").headers["Cache-Control"] == "no-cache"


# ---- gunicorn ------------------------------------------------------------------------------

def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _exchange(port, raw):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


@pytest.fixture(scope="module")
def gunicorn_port(tmp_path_factory):
    """A real gunicorn with the repo's gunicorn.conf.py, on a free port."""
    tmp = tmp_path_factory.mktemp("gunicorn")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(DATABASE_URL=f"sqlite:///{tmp / 'app.db'}", MEDIA_DIR=str(tmp / "media"))
    log = open(tmp / "gunicorn.log", "w")  # noqa: SIM115 - closed at teardown
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "--workers", "1",
         "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                log.close()
                pytest.fail((tmp / "gunicorn.log").read_text())
            time.sleep(0.2)
    yield port
    proc.terminate()
    proc.wait(timeout=20)
    log.close()


def _assert_json_error(status, headers, body, expected_status, code):
    assert status == expected_status
    assert headers["content-type"] == "application/json"
    assert int(headers["content-length"]) == len(body)
    error = json.loads(body)["error"]
    assert set(json.loads(body)) == {"error"} and set(error) == {"code", "message", "fields"}
    assert error["code"] == code and error["message"] and error["fields"] == {}


@pytest.mark.parametrize("raw, status, code", [
    (b"GET /api/v1/sync/pull?cursor=" + b"A" * 10_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414,
     "uri_too_long"),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 10_000 + b"\r\n\r\n", 431,
     "header_fields_too_large"),
    (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: 1\r\n" % i for i in range(80))
     + b"\r\n", 431, "header_fields_too_large"),
    (b"NOT A REQUEST LINE <script>\r\n\r\n", 400, "bad_request"),
], ids=["414-line", "431-field", "431-count", "400-garbage"])
def test_gunicorn_refusals_are_json_errors(gunicorn_port, raw, status, code):
    got_status, headers, body = _exchange(gunicorn_port, raw)
    _assert_json_error(got_status, headers, body, status, code)
    assert b"<script>" not in body  # nothing of the request is echoed


def test_gunicorn_serves_the_app_with_its_headers(gunicorn_port):
    status, headers, body = _exchange(
        gunicorn_port, b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status == 401 and json.loads(body)["error"]["code"] == "unauthorized"
    assert headers["cache-control"] == "no-store" and headers["x-frame-options"] == "DENY"
