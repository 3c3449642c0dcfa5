"""Every failure, from any layer, leaves the server in the contract's one JSON error shape."""
import pytest
from flask import abort
from marshmallow import ValidationError
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import default_exceptions

from server import create_app
from server.errors import Conflict, Invalid
from server.extensions import db
from tests.conftest import _config

TOKEN_URL = "/api/v1/auth/token"

# The codes API.md promises for the statuses it names.
CONTRACT_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
    415: "unsupported_media_type", 422: "validation_error", 429: "rate_limited",
    500: "internal_error", 503: "service_unavailable",
}


def assert_error_shape(resp, status):
    """The response is ``{"error": {"code", "message", "fields"}}`` with ``status``."""
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/json"
    body = resp.get_json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "fields"}
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["fields"], dict)
    return error


@pytest.fixture
def make_app(database_url, media_root):
    """Build a fresh app with config overrides; routes may be added before its first request."""
    made = []

    def make(**overrides):
        new = create_app(_config(database_url, media_root, **overrides))
        made.append(new)
        return new

    yield make
    for new in made:
        with new.app_context():
            db.engine.dispose()


def test_malformed_json_is_400_malformed_json(client):
    resp = client.post(TOKEN_URL, data='{"username": "a",', content_type="application/json")
    error = assert_error_shape(resp, 400)
    assert error["code"] == "malformed_json"


def test_text_body_where_json_is_expected_is_415(client):
    resp = client.post(TOKEN_URL, data="username=a&password=b", content_type="text/plain")
    error = assert_error_shape(resp, 415)
    assert error["code"] == "unsupported_media_type"
    assert "Content-Type" in error["fields"]


def test_body_without_content_type_is_415(client):
    resp = client.post(TOKEN_URL, data='{"username": "a", "password": "b", "device_id": "c"}')
    assert assert_error_shape(resp, 415)["code"] == "unsupported_media_type"


def test_unknown_api_route_is_404_json(client):
    error = assert_error_shape(client.get("/api/v1/no-such-thing"), 404)
    assert error["code"] == "not_found"


def test_unknown_route_outside_the_api_is_404_json(client):
    assert assert_error_shape(client.get("/no/such/page"), 404)["code"] == "not_found"


def test_wrong_method_is_405_json_with_allow_header(client):
    resp = client.put(TOKEN_URL, json={})
    assert assert_error_shape(resp, 405)["code"] == "method_not_allowed"
    allowed = {m.strip() for m in resp.headers["Allow"].split(",")}
    assert {"POST", "DELETE"} <= allowed


def test_unknown_api_route_with_a_non_json_body_is_still_404(client):
    resp = client.put("/api/v1/visits/x/photoz/y", data=b"\xff\xd8\xff", content_type="image/jpeg")
    assert assert_error_shape(resp, 404)["code"] == "not_found"


def test_wrong_method_with_a_non_json_body_is_still_405(client):
    resp = client.post("/api/v1/me", data="hello", content_type="text/plain")
    assert assert_error_shape(resp, 405)["code"] == "method_not_allowed"


def test_body_over_max_content_length_is_413_json(make_app):
    app = make_app(MAX_CONTENT_LENGTH=1024)
    body = '{"username": "%s", "password": "p", "device_id": "d"}' % ("x" * 2048)
    resp = app.test_client().post(TOKEN_URL, data=body, content_type="application/json")
    assert assert_error_shape(resp, 413)["code"] == "payload_too_large"


def test_body_under_max_content_length_is_read(make_app):
    app = make_app(MAX_CONTENT_LENGTH=1024)
    resp = app.test_client().post(TOKEN_URL, json={"username": "x" * 100})
    assert assert_error_shape(resp, 422)["code"] == "validation_error"


@pytest.mark.parametrize("status", sorted(default_exceptions))
def test_every_werkzeug_http_exception_is_json(make_app, status):
    app = make_app()
    app.add_url_rule("/test/abort/<int:code>", "test_abort", lambda code: abort(code))

    resp = app.test_client().get(f"/test/abort/{status}")

    error = assert_error_shape(resp, status)
    if status in CONTRACT_CODES:
        assert error["code"] == CONTRACT_CODES[status]


def test_domain_error_keeps_its_status_code_and_fields(make_app):
    app = make_app()

    def view():
        raise Invalid("Cannot create user", {"role": ["must be one of member, admin"]})

    app.add_url_rule("/test/invalid", "test_invalid", view)
    error = assert_error_shape(app.test_client().get("/test/invalid"), 422)
    assert error == {"code": "validation_error", "message": "Cannot create user",
                     "fields": {"role": ["must be one of member, admin"]}}


def test_domain_error_subclass_maps_to_its_status(make_app):
    app = make_app()

    def view():
        raise Conflict()

    app.add_url_rule("/test/conflict", "test_conflict", view)
    assert assert_error_shape(app.test_client().get("/test/conflict"), 409)["code"] == "conflict"


def test_marshmallow_validation_error_in_a_view_is_422_with_fields(make_app):
    app = make_app()

    def view():
        raise ValidationError({"birth_year": ["Not a valid integer."]})

    app.add_url_rule("/test/marshmallow", "test_marshmallow", view)
    error = assert_error_shape(app.test_client().get("/test/marshmallow"), 422)
    assert error["code"] == "validation_error"
    assert error["fields"] == {"birth_year": ["Not a valid integer."]}


def _production_like(make_app):
    return make_app(TESTING=False, PROPAGATE_EXCEPTIONS=False, PHOTO_SWEEP_IN_WEB=False)


def test_unhandled_exception_is_500_internal_error_without_details(make_app):
    app = _production_like(make_app)

    def view():
        raise RuntimeError("db password is hunter2 at /srv/secret.py")

    app.add_url_rule("/test/crash", "test_crash", view)
    resp = app.test_client().get("/test/crash")

    error = assert_error_shape(resp, 500)
    assert error["code"] == "internal_error"
    text = resp.get_data(as_text=True)
    assert "hunter2" not in text and "RuntimeError" not in text and "secret.py" not in text


def test_unhandled_exception_leaves_no_partial_write(make_app):
    from server.models import Province

    app = _production_like(make_app)

    def view():
        db.session.add(Province(code="zz", name="Never stored", settings={}))
        db.session.flush()
        raise RuntimeError("after a write")

    def count():
        return str(db.session.query(Province).filter_by(code="zz").count())

    app.add_url_rule("/test/write-then-crash", "test_write_then_crash", view)
    app.add_url_rule("/test/count", "test_count", count)
    client = app.test_client()
    assert client.get("/test/write-then-crash").status_code == 500
    assert client.get("/test/count").get_data(as_text=True) == "0"


@pytest.mark.parametrize("exc", [
    OperationalError("SELECT 1", {}, Exception("could not connect to server")),
    RedisConnectionError("Error 111 connecting to localhost:6379"),
], ids=["database", "redis"])
def test_dependency_down_is_503(make_app, exc):
    app = _production_like(make_app)

    def view():
        raise exc

    app.add_url_rule("/test/dependency", "test_dependency", view)
    resp = app.test_client().get("/test/dependency")
    error = assert_error_shape(resp, 503)
    assert error["code"] == "service_unavailable"
    assert "6379" not in resp.get_data(as_text=True)
    assert "could not connect" not in resp.get_data(as_text=True)


def test_gunicorn_refuses_with_the_apps_codes():
    import runpy
    from pathlib import Path

    from server.errors import _CODES

    conf = runpy.run_path(str(Path(__file__).resolve().parent.parent / "gunicorn.conf.py"))
    assert conf["CODES"] == {status: _CODES[status] for status in conf["CODES"]}
    assert conf["limit_request_line"] >= 1024  # a pull with a 512-character cursor fits
