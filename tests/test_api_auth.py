"""Sign-in, token lifecycle and the current user."""
import time
from datetime import datetime, timedelta, timezone

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from server import create_app
from server.auth import hash_secret
from server.config import Defaults
from server.extensions import db
from server.models import DeviceToken, User
from tests.conftest import _config
from tests.factories import PASSWORD, login

TOKEN_URL = "/api/v1/auth/token"
USER_KEYS = {"id", "username", "display_name", "role", "province_code", "commune_code", "team_id",
             "hamlet_ids"}


def _credentials(username, password=PASSWORD, device_id="phone-1"):
    return {"username": username, "password": password, "device_id": device_id}


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


def _assert_error(resp, status, code):
    assert resp.status_code == status, resp.get_data(as_text=True)
    body = resp.get_json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


def test_login_returns_token_and_user_with_hamlets(client, world):
    resp = client.post(TOKEN_URL, json=_credentials(world.users["member"]))
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["token"] and body["expires_at"]
    assert body["user"]["role"] == "member"
    assert body["user"]["commune_code"] == world.commune.code
    assert body["user"]["hamlet_ids"] == [world.hamlets[0].id]

    me = client.get("/api/v1/me", headers=_bearer(body["token"]))
    assert me.status_code == 200
    assert me.get_json() == body["user"]


def test_login_user_object_has_every_contract_field(client, world):
    body = client.post(TOKEN_URL, json=_credentials(world.users["member"])).get_json()
    user = body["user"]
    assert set(user) == USER_KEYS
    member = db.session.execute(
        select(User).where(User.username == world.users["member"])).scalar_one()
    assert user["id"] == member.id
    assert user["username"] == world.users["member"]
    assert user["display_name"]
    assert user["province_code"] == "75"
    assert user["team_id"] == world.teams[0].id


def test_login_expiry_is_in_the_future_with_an_offset(client, world):
    body = client.post(TOKEN_URL, json=_credentials(world.users["member"])).get_json()
    expires_at = datetime.fromisoformat(body["expires_at"])
    assert expires_at.tzinfo is not None
    assert expires_at > datetime.now(timezone.utc) + timedelta(days=1)


def test_wrong_password_and_unknown_user_get_the_same_401(client, world):
    wrong = client.post(TOKEN_URL, json=_credentials(world.users["member"], "not-the-password"))
    unknown = client.post(TOKEN_URL, json=_credentials(f"nobody.{world.commune.code}"))
    _assert_error(wrong, 401, "unauthorized")
    assert unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json()
    assert "token" not in wrong.get_json()


def test_login_with_missing_fields_is_422_naming_them(client):
    resp = client.post(TOKEN_URL, json={"username": "someone"})
    error = _assert_error(resp, 422, "validation_error")
    assert set(error["fields"]) == {"password", "device_id"}


def test_login_with_empty_body_names_every_field(client):
    error = _assert_error(client.post(TOKEN_URL, json={}), 422, "validation_error")
    assert set(error["fields"]) == {"username", "password", "device_id"}


def test_me_without_credentials_is_401_in_the_error_shape(client):
    _assert_error(client.get("/api/v1/me"), 401, "unauthorized")


def test_me_with_garbage_bearer_token_is_401(client):
    _assert_error(client.get("/api/v1/me", headers=_bearer("not-a-token")), 401, "unauthorized")


def test_me_with_non_bearer_authorization_is_401(client):
    headers = {"Authorization": "Basic bWVtYmVyOnB3"}
    _assert_error(client.get("/api/v1/me", headers=headers), 401, "unauthorized")


def test_revoked_token_is_refused(client, world):
    headers = login(client, world.users["member"])
    assert client.get("/api/v1/me", headers=headers).status_code == 200

    resp = client.delete(TOKEN_URL, headers=headers)
    assert resp.status_code == 204
    assert resp.get_data() == b""

    _assert_error(client.get("/api/v1/me", headers=headers), 401, "unauthorized")
    _assert_error(client.delete(TOKEN_URL, headers=headers), 401, "unauthorized")


def test_revoking_one_token_leaves_the_users_other_devices_signed_in(client, world):
    phone = login(client, world.users["member"], device_id="phone")
    tablet = login(client, world.users["member"], device_id="tablet")
    assert client.delete(TOKEN_URL, headers=phone).status_code == 204
    assert client.get("/api/v1/me", headers=tablet).status_code == 200


def test_revoke_without_token_is_401(client):
    _assert_error(client.delete(TOKEN_URL), 401, "unauthorized")


def test_expired_token_is_refused(client, world):
    headers = login(client, world.users["member"])
    token = headers["Authorization"].split(" ", 1)[1]
    row = db.session.execute(
        select(DeviceToken).where(DeviceToken.token_hash == hash_secret(token))).scalar_one()
    row.expires_at = datetime.now(timezone.utc) - timedelta(seconds=1)
    db.session.commit()

    _assert_error(client.get("/api/v1/me", headers=headers), 401, "unauthorized")


def test_disabled_user_cannot_sign_in_or_use_old_tokens(client, world):
    headers = login(client, world.users["member"])
    user = db.session.execute(
        select(User).where(User.username == world.users["member"])).scalar_one()
    user.active = False
    db.session.commit()

    _assert_error(client.get("/api/v1/me", headers=headers), 401, "unauthorized")
    _assert_error(client.post(TOKEN_URL, json=_credentials(world.users["member"])),
                  401, "unauthorized")


def test_password_is_stored_as_argon2id(client, world):
    password_hash = db.session.execute(
        select(User.password_hash).where(User.username == world.users["member"])).scalar_one()
    assert password_hash.startswith("$argon2id$")
    assert PASSWORD not in password_hash
    assert PasswordHasher().verify(password_hash, PASSWORD)


def test_production_argon2_cost_is_not_below_the_library_default():
    library = PasswordHasher()
    assert Defaults.ARGON2_TIME_COST >= library.time_cost
    assert Defaults.ARGON2_MEMORY_KIB >= library.memory_cost


def test_token_is_stored_only_as_its_hash(client, world):
    resp = client.post(TOKEN_URL, json=_credentials(world.users["member"], device_id="hash-check"))
    token = resp.get_json()["token"]
    user_id = resp.get_json()["user"]["id"]
    rows = db.session.execute(
        select(DeviceToken).where(DeviceToken.user_id == user_id)).scalars().all()
    assert rows
    for row in rows:
        stored = [str(getattr(row, c.key)) for c in DeviceToken.__table__.columns]
        assert not any(token in value for value in stored)
    assert hash_secret(token) in {row.token_hash for row in rows}


# --- rate limiting -------------------------------------------------------------------------

@pytest.fixture
def limited(database_url, media_root):
    """Build a client of a fresh app whose failed-login limit is ``limit``."""
    apps = []

    def make(limit):
        apps.append(create_app(_config(database_url, media_root, LOGIN_RATE_LIMIT=limit)))
        return apps[-1].test_client()

    yield make
    for app in apps:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def limited_client(limited, world):
    """A client of an app allowing 3 failed logins per username and address per minute."""
    return limited("3 per minute")


def test_repeated_failed_logins_are_rate_limited(limited_client, world):
    username = world.users["member"]
    for _ in range(3):
        _assert_error(limited_client.post(TOKEN_URL, json=_credentials(username, "wrong-pass")),
                      401, "unauthorized")
    resp = limited_client.post(TOKEN_URL, json=_credentials(username, "wrong-pass"))
    _assert_error(resp, 429, "rate_limited")
    assert int(resp.headers["Retry-After"]) > 0


def test_correct_password_is_refused_while_rate_limited(limited_client, world):
    username = world.users["member"]
    for _ in range(3):
        limited_client.post(TOKEN_URL, json=_credentials(username, "wrong-pass"))
    resp = limited_client.post(TOKEN_URL, json=_credentials(username))
    _assert_error(resp, 429, "rate_limited")
    assert "token" not in resp.get_json()


def test_rate_limit_is_per_username(limited_client, world):
    for _ in range(4):
        limited_client.post(TOKEN_URL, json=_credentials(world.users["member"], "wrong-pass"))
    resp = limited_client.post(TOKEN_URL, json=_credentials(world.users["member2"]))
    assert resp.status_code == 201


def test_successful_logins_do_not_use_up_the_failure_budget(limited_client, world):
    username = world.users["member"]
    for _ in range(5):
        assert limited_client.post(TOKEN_URL, json=_credentials(username)).status_code == 201
    for _ in range(2):
        assert limited_client.post(
            TOKEN_URL, json=_credentials(username, "wrong-pass")).status_code == 401
    assert limited_client.post(TOKEN_URL, json=_credentials(username)).status_code == 201


def test_rate_limit_lifts_when_the_window_passes(limited, world):
    client = limited("2 per 2 seconds")
    username = world.users["member"]
    client.post(TOKEN_URL, json=_credentials(username, "wrong-pass"))
    window_opened = time.monotonic()  # the window starts when the first failure is counted
    client.post(TOKEN_URL, json=_credentials(username, "wrong-pass"))
    assert client.post(TOKEN_URL, json=_credentials(username)).status_code == 429
    time.sleep(max(0.0, 2.1 - (time.monotonic() - window_opened)))
    assert client.post(TOKEN_URL, json=_credentials(username)).status_code == 201
