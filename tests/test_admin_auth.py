"""The admin console's gate: admins only, the office console's sessions and CSRF, Vietnamese."""
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import AuditEntry, Team, User
from tests import admin_helpers as ah
from tests.factories import PASSWORD
from tests.test_web_office_auth import sign_in as office_sign_in

TEMPLATES = Path(__file__).resolve().parent.parent / "server" / "templates" / "admin"


def _pages(world):
    hamlet, team = world.hamlets[0], world.teams[0]
    uid = ah.user_id(world.users["member"])
    return ["/admin/", "/admin/units", f"/admin/communes/{world.commune.id}",
            f"/admin/hamlets/{hamlet.id}", "/admin/teams", f"/admin/teams/{team.id}",
            "/admin/users", "/admin/users/new", f"/admin/users/{uid}", "/admin/services",
            "/admin/services/new", "/admin/services/CKS", "/admin/targets", "/admin/campaigns",
            "/admin/keys"]


def _forms(world):
    """Every POST endpoint with a body that would change something if allowed."""
    hamlet, team = world.hamlets[0], world.teams[0]
    uid = ah.user_id(world.users["member"])
    return [
        (f"/admin/communes/{world.commune.id}/hamlets",
         {"code": f"{world.commune.code}-099", "name": "Ấp Lạ", "kind": "ap",
          "valid_from": "2025-07-01"}),
        (f"/admin/hamlets/{hamlet.id}", {"name": "Đổi tên", "kind": "ap",
                                         "valid_from": "2025-07-01"}),
        (f"/admin/hamlets/{hamlet.id}/close", {"valid_to": "2025-08-01"}),
        (f"/admin/hamlets/{hamlet.id}/boundary", {}),
        (f"/admin/hamlets/{hamlet.id}/boundary/clear", {}),
        ("/admin/teams", {"commune": str(world.commune.id), "name": "Tổ lạ"}),
        (f"/admin/teams/{team.id}/rename", {"name": "Tổ đổi tên"}),
        (f"/admin/teams/{team.id}/hamlets", {"hamlets": []}),
        ("/admin/users/new", {"username": "x.y", "display_name": "X", "password": "12345678",
                              "role": "admin"}),
        (f"/admin/users/{uid}/password", {"password": "another-pass-1"}),
        (f"/admin/users/{uid}/deactivate", {}),
        (f"/admin/users/{uid}/reactivate", {"password": "another-pass-1"}),
        ("/admin/services/new", {"code": "ZZZ", "label": "Lạ", "unit": "person"}),
        ("/admin/services/CKS", {"label": "Đổi tên"}),
        ("/admin/services/CKS/retire", {}),
        ("/admin/services/CKS/restore", {}),
        ("/admin/targets", {"province_code": "75", "indicator": "households_reached",
                            "value": "50", "due": "2030-12-31"}),
        ("/admin/campaigns", {"province_code": "75", "name": "Lạ", "date_from": "2025-01-01",
                              "date_to": "2025-01-31", "services": ["CKS"]}),
        ("/admin/keys", {"province": "75", "label": "lạ"}),
        ("/admin/keys/1/revoke", {}),
    ]


def _admin_writes():
    db.session.rollback()
    return db.session.scalar(select(AuditEntry.id).where(
        AuditEntry.entity_type != "session").order_by(AuditEntry.id.desc()).limit(1))


def test_admin_signs_in_sees_the_vietnamese_console_and_signs_out(client, world):
    resp = ah.sign_in(client, world.users["admin"])
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/admin/")
    for path in _pages(world):
        page = client.get(path)
        assert page.status_code == 200, path
        body = ah.text(page)
        assert '<html lang="vi">' in body and "Quản trị hệ thống" in body, path
        assert page.headers["Cache-Control"] == "no-store"
    body = ah.text(client.get("/admin/"))
    for label in ("Tổng quan", "Đơn vị hành chính", "Tổ CNSCĐ", "Tài khoản", "Danh mục dịch vụ",
                  "Chỉ tiêu", "Chiến dịch", "Khóa API", "Đăng xuất"):
        assert label in body
    out = ah.post(client, "/admin/logout")
    assert out.status_code == 302 and out.headers["Location"].endswith("/admin/login")
    assert client.get("/admin/units").status_code == 302
    admin_id = ah.user_id(world.users["admin"])
    sessions = list(db.session.execute(select(AuditEntry.action, AuditEntry.entity_id).where(
        AuditEntry.actor_user_id == admin_id, AuditEntry.entity_type == "session")))
    assert sessions == [("login", "admin"), ("logout", "admin")]


@pytest.mark.parametrize("role", ["commune_officer", "province_analyst", "member"])
def test_other_roles_cannot_sign_in_to_the_admin_console(client, world, role):
    resp = ah.sign_in(client, world.users[role])
    assert resp.status_code == 403 and "Không có quyền truy cập" in ah.text(resp)
    assert client.get("/admin/").status_code == 302  # not signed in


def test_a_signed_in_officer_is_refused_every_admin_page_and_form(client, world):
    assert office_sign_in(client, world.users["commune_officer"]).status_code == 302
    for path in _pages(world):
        resp = client.get(path)
        assert resp.status_code == 403 and "Không có quyền truy cập" in ah.text(resp), path
    before = _admin_writes()
    token = ah.csrf(client, "/office/guide")
    for path, data in _forms(world):
        resp = client.post(path, data={**data, "csrf_token": token})
        assert resp.status_code == 403, path
    assert _admin_writes() == before  # nothing was written


def test_an_admin_demoted_meanwhile_is_refused_on_the_next_request(client, world):
    ah.admin(client, world)
    user = db.session.scalar(select(User).where(User.username == world.users["admin"]))
    user.role = "province_analyst"
    db.session.commit()
    resp = client.get("/admin/users")
    assert resp.status_code == 403


def test_anonymous_pages_redirect_to_the_admin_sign_in_and_come_back(client, world):
    resp = client.get("/admin/users?role=member")
    assert resp.status_code == 302 and "/admin/login?next=" in resp.headers["Location"]
    token = ah.csrf(client, resp.headers["Location"])
    back = client.post("/admin/login", data={"username": world.users["admin"],
                                             "password": PASSWORD, "csrf_token": token,
                                             "next": "/admin/users?role=member"})
    assert back.headers["Location"].endswith("/admin/users?role=member")
    evil = ah.sign_in(client, world.users["admin"])
    assert evil.headers["Location"].endswith("/admin/")
    assert client.post("/admin/teams", data={"name": "x"}).status_code == 400  # CSRF, no session


def test_a_form_without_or_with_a_forged_csrf_token_is_refused(client, world):
    ah.admin(client, world)
    for data in ({}, {"csrf_token": "forged"}):
        resp = client.post("/admin/teams", data={"commune": str(world.commune.id),
                                                 "name": "Tổ không CSRF", **data})
        assert resp.status_code == 400 and "Yêu cầu không hợp lệ" in ah.text(resp)
        uid = ah.user_id(world.users["member"])
        assert client.post(f"/admin/users/{uid}/deactivate", data=data).status_code == 400
    assert db.session.scalar(select(Team.id).where(Team.name == "Tổ không CSRF")) is None
    db.session.rollback()
    assert db.session.scalar(select(User.active).where(
        User.username == world.users["member"])) is True
    assert client.get("/admin/").status_code == 200  # still signed in


def test_wrong_password_shows_one_vietnamese_message(client, world):
    resp = ah.sign_in(client, world.users["admin"], "wrong-password-1")
    assert resp.status_code == 200 and "Sai tên đăng nhập hoặc mật khẩu" in ah.text(resp)
    resp = ah.sign_in(client, "quan\x00tri", "wrong-password-1")  # PostgreSQL refuses NUL
    assert resp.status_code == 200 and "Sai tên đăng nhập hoặc mật khẩu" in ah.text(resp)


def test_unknown_records_answer_a_vietnamese_404_page_and_odd_input_no_5xx(client, world):
    ah.admin(client, world)
    huge = 10**20  # beyond PostgreSQL's INTEGER: must not reach the database
    for path in ("/admin/hamlets/999999", "/admin/teams/999999", "/admin/users/999999",
                 "/admin/services/NOPE", "/admin/targets/999999", "/admin/campaigns/999999",
                 f"/admin/hamlets/{huge}", f"/admin/communes/{huge}", f"/admin/teams/{huge}",
                 f"/admin/users/{huge}", f"/admin/targets/{huge}", f"/admin/campaigns/{huge}",
                 "/admin/services/" + "X" * 500):
        resp = client.get(path)
        assert resp.status_code == 404 and "Không tìm thấy" in ah.text(resp), path
    for path in (f"/admin/keys/{huge}/revoke", f"/admin/users/{huge}/deactivate"):
        assert ah.post(client, path).status_code == 404, path
    for query in (f"province={huge}", "province=x", f"commune={huge}", "page=99999999",
                  "q=%00%ff", "role=god"):
        for page in ("/admin/units", "/admin/teams", "/admin/users"):
            assert client.get(f"{page}?{query}").status_code == 200, (page, query)
    odd = ah.post(client, "/admin/users/new", {
        "username": "la\x00", "display_name": "X\u202eY", "password": "12345678",
        "role": "member", "team": str(huge), "commune": str(huge), "province": "-1"})
    assert odd.status_code == 422
    odd = ah.post(client, "/admin/campaigns", {
        "province_code": "75", "name": "X", "date_from": "0001-01-01", "date_to": "9999-12-31",
        "services": ["CKS"], "target": "nan"})
    assert odd.status_code == 422


def test_templates_have_no_inline_script_or_style_nor_external_resources():
    for path in TEMPLATES.glob("*.html"):
        source = path.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)", source), path.name
        assert "<style" not in source and "style=" not in source, path.name
        assert not re.search(r"""(src|href)=["']https?://""", source), path.name
        assert not re.search(r"\bon[a-z]+=", source), path.name
