"""The office console's sign-in, sessions, CSRF and shell (``/office/``).

Helpers here (``sign_in``, ``csrf``, ``post_form``) are shared by the other office test modules.
CSRF stays on in every office test (Flask-WTF's default): forms are posted with the token a page
gave, as a browser does.
"""
import re
from pathlib import Path

import pytest
from flask import g
from sqlalchemy import select

from server import create_app
from server.extensions import db
from server.models import AuditEntry, User
from tests.conftest import _config
from tests.factories import PASSWORD, login
from tests.sync_helpers import household, push

TEMPLATES = Path(__file__).resolve().parent.parent / "server" / "templates" / "office"
_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf(client, path="/office/guide"):
    """The CSRF token of this browser's session, read off a page's form as a browser would."""
    # Requests of the test client share the test's app context, so Flask-WTF's per-request
    # cache of the token (on ``g``) would leak from one session (or client) to the next.
    g.pop("csrf_token", None)
    page = client.get(path)
    match = _TOKEN.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path} ({page.status_code})"
    return match.group(1)


def sign_in(client, username, password=PASSWORD):
    """Post the sign-in form; returns the response."""
    token = csrf(client, "/office/login")
    return client.post("/office/login", data={"username": username, "password": password,
                                              "csrf_token": token, "next": ""})


def post_form(client, path, data, token_page="/office/guide"):
    """POST a form with a valid CSRF token of the session."""
    return client.post(path, data={**data, "csrf_token": csrf(client, token_page)})


def text(resp):
    """The response body as text."""
    return resp.get_data(as_text=True)


@pytest.mark.parametrize("role", ["commune_officer", "team_lead"])
def test_officer_and_lead_sign_in_see_the_vietnamese_shell_and_sign_out(client, world, role):
    resp = sign_in(client, world.users[role])
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/office/")
    page = client.get("/office/")
    assert page.status_code == 200
    body = text(page)
    for label in ("Tổng quan", "Lượt thăm", "Cảnh báo dữ liệu", "Hộ trùng", "Số liệu nền",
                  "Hướng dẫn", "Đăng xuất"):
        assert label in body
    assert '<html lang="vi">' in body
    assert page.headers["Cache-Control"] == "no-store"

    out = post_form(client, "/office/logout", {})
    assert out.status_code == 302 and out.headers["Location"].endswith("/office/login")
    again = client.get("/office/visits")
    assert again.status_code == 302 and "/office/login" in again.headers["Location"]


def test_sign_in_and_out_are_audit_logged(client, world):
    sign_in(client, world.users["commune_officer"])
    post_form(client, "/office/logout", {})
    user = db.session.scalar(select(User).where(User.username == world.users["commune_officer"]))
    actions = list(db.session.scalars(select(AuditEntry.action).where(
        AuditEntry.actor_user_id == user.id, AuditEntry.entity_type == "session")))
    assert actions == ["login", "logout"]


def test_wrong_password_shows_one_vietnamese_message_and_no_session(client, world):
    for username in (world.users["commune_officer"], "no.such.user"):
        resp = sign_in(client, username, "wrong-password-1")
        assert resp.status_code == 200
        assert "Sai tên đăng nhập hoặc mật khẩu" in text(resp)
    assert client.get("/office/visits").status_code == 302


@pytest.mark.parametrize("role", ["member", "province_analyst", "admin"])
def test_other_roles_are_refused_with_a_vietnamese_403_page(client, world, role):
    resp = sign_in(client, world.users[role])
    assert resp.status_code == 403
    assert "Không có quyền truy cập" in text(resp)
    assert client.get("/office/visits").status_code == 302  # not signed in


def test_anonymous_pages_redirect_to_sign_in_and_come_back(client, world):
    resp = client.get("/office/visits?review_state=received")
    assert resp.status_code == 302
    assert "/office/login?next=" in resp.headers["Location"]
    token = csrf(client, resp.headers["Location"])
    back = client.post("/office/login", data={
        "username": world.users["commune_officer"], "password": PASSWORD, "csrf_token": token,
        "next": "/office/visits?review_state=received"})
    assert back.headers["Location"].endswith("/office/visits?review_state=received")


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/api/v1/me",
                                    "javascript:alert(1)"])
def test_next_never_leaves_the_console(client, world, target):
    token = csrf(client, "/office/login")
    resp = client.post("/office/login", data={"username": world.users["commune_officer"],
                                              "password": PASSWORD, "csrf_token": token,
                                              "next": target})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/office/")


def test_a_post_without_the_csrf_token_is_refused(client, world):
    assert client.application.config.get("WTF_CSRF_ENABLED", True)
    resp = client.post("/office/login", data={"username": world.users["commune_officer"],
                                              "password": PASSWORD})
    assert resp.status_code == 400
    assert "Yêu cầu không hợp lệ" in text(resp)
    assert client.get("/office/visits").status_code == 302  # not signed in
    sign_in(client, world.users["commune_officer"])
    assert client.post("/office/logout").status_code == 400
    assert client.post("/office/logout", data={"csrf_token": "forged"}).status_code == 400
    assert client.get("/office/visits").status_code == 200  # still signed in


def test_the_json_api_needs_no_csrf_token(client, world):
    headers = login(client, world.users["member"])
    code, body = push(client, headers, [household(world.hamlets[0].id)])
    assert code == 200 and body["results"][0]["status"] == "created"


def test_a_deactivated_user_loses_the_session_at_once(client, world):
    sign_in(client, world.users["commune_officer"])
    assert client.get("/office/visits").status_code == 200
    user = db.session.scalar(select(User).where(User.username == world.users["commune_officer"]))
    user.active = False
    db.session.commit()
    assert client.get("/office/visits").status_code == 302
    user.active = True
    db.session.commit()
    assert client.get("/office/visits").status_code == 302  # the session was cleared


def test_a_password_change_ends_the_session(client, world):
    from server.services.accounts import hash_password

    sign_in(client, world.users["team_lead"])
    user = db.session.scalar(select(User).where(User.username == world.users["team_lead"]))
    user.password_hash = hash_password("another-password-9")
    db.session.commit()
    assert client.get("/office/visits").status_code == 302


def test_a_role_change_takes_effect_on_the_next_request(client, world):
    sign_in(client, world.users["team_lead"])
    user = db.session.scalar(select(User).where(User.username == world.users["team_lead"]))
    user.role = "member"
    db.session.commit()
    resp = client.get("/office/visits")
    assert resp.status_code == 403 and "Không có quyền truy cập" in text(resp)


def test_failed_sign_ins_are_rate_limited_like_the_api(client, world):
    username = world.users["commune_officer"]
    for _ in range(5):
        assert sign_in(client, username, "wrong-password-1").status_code == 200
    resp = sign_in(client, username, "wrong-password-1")
    assert resp.status_code == 429
    assert "Thử quá nhiều lần" in text(resp)
    assert sign_in(client, username).status_code == 429  # even the right password, for now


def test_successful_sign_ins_are_not_counted(client, world):
    for _ in range(7):
        assert sign_in(client, world.users["commune_officer"]).status_code == 302


def test_session_cookie_is_httponly_lax_and_secure_when_configured(client, world, database_url,
                                                                    media_root, monkeypatch):
    resp = sign_in(client, world.users["commune_officer"])
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "true")
    app = create_app(_config(database_url, media_root))
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_pages_send_same_origin_referrer_for_the_https_csrf_check(client, world):
    resp = client.get("/office/login")
    assert resp.headers["Referrer-Policy"] == "same-origin"
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]


def test_stylesheet_and_script_are_served_by_the_app(client):
    for name, kind in (("office.css", "text/css"), ("office.js", "javascript")):
        resp = client.get(f"/office/static/{name}")
        assert resp.status_code == 200 and kind in resp.headers["Content-Type"]
    assert client.get("/office/static/../sw.js").status_code == 404


def test_templates_have_no_inline_script_or_style_nor_external_resources():
    for path in TEMPLATES.glob("*.html"):
        source = path.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)", source), path.name
        assert "<style" not in source and "style=" not in source, path.name
        assert not re.search(r"""(src|href)=["']https?://""", source), path.name
        assert not re.search(r"\bon[a-z]+=", source), path.name


def test_guide_explains_install_offline_sync_and_review_states(client, world):
    sign_in(client, world.users["team_lead"])
    body = text(client.get("/office/guide"))
    for words in ("Chrome", "Thêm vào màn hình chính", "không có mạng", "Đồng bộ",
                  "Cần bổ sung", "Đã duyệt", "Không chấp nhận"):
        assert words in body
