"""Tài khoản: users created with their role's units, passwords reset, accounts locked — a locked
user's phone gets 401 at once and their console session is signed out — and unlocked."""
from sqlalchemy import select

from server.extensions import db
from server.models import DeviceToken, User
from tests import admin_helpers as ah
from tests.factories import PASSWORD, login
from tests.test_web_office_auth import sign_in as office_sign_in

PULL = "/api/v1/sync/pull"


def _user(username):
    db.session.rollback()
    return db.session.scalar(select(User).where(User.username == username))


def _create(client, **form):
    data = {"username": "", "display_name": "Người Mới", "password": "mat-khau-moi-1",
            "role": "member", "team": "", "commune": "", "province": "", **form}
    return ah.post(client, "/admin/users/new", data)


def test_users_of_every_role_are_created_with_their_scope(client, world):
    ah.admin(client, world)
    team, code = world.teams[1], world.commune.code
    cases = {
        "member": {"team": str(team.id), "commune": str(world.commune.id)},  # commune ignored
        "team_lead": {"team": str(team.id)},
        "commune_officer": {"commune": str(world.commune.id)},
        "province_analyst": {"province": str(world.province.id)},
        "admin": {},
    }
    for role, units in cases.items():
        username = f"moi.{role}.{code}"
        resp = _create(client, username=username, display_name=f"Trần Văn {role}", role=role,
                       **units)
        assert resp.status_code == 302, ah.text(resp)[:1500]
        user = _user(username)
        ah.assert_audited("user.create", user.id, world.users["admin"], role=role,
                          username=username)
        me = client.get("/api/v1/me", headers=login(client, username, "mat-khau-moi-1"))
        body = me.get_json()
        assert body["role"] == role
        if role in ("member", "team_lead"):
            assert body["team_id"] == team.id and body["hamlet_ids"] == [world.hamlets[1].id]
        elif role == "commune_officer":
            assert body["commune_code"] == code and len(body["hamlet_ids"]) == 2
        elif role == "province_analyst":
            assert body["province_code"] == "75" and body["commune_code"] is None
    listed = ah.text(client.get(f"/admin/users?q=moi.&commune={world.commune.id}"))
    assert f">moi.commune_officer.{code}</a>" in listed
    assert f">moi.admin.{code}</a>" not in listed  # no commune


def test_a_user_is_refused_with_vietnamese_messages(client, world):
    ah.admin(client, world)
    cases = [
        ({"username": world.users["member"], "team": str(world.teams[0].id)},
         "Tên đăng nhập này đã có người dùng"),
        ({"username": "khong.co.to"}, "Vai trò này cần chọn tổ"),
        ({"username": "khong.co.xa", "role": "commune_officer"}, "Vai trò này cần chọn xã"),
        ({"username": "mat.khau.ngan", "team": str(world.teams[0].id), "password": "1234"},
         "Mật khẩu cần ít nhất 8 ký tự"),
        ({"username": "co dau cach", "team": str(world.teams[0].id)}, "không có dấu cách"),
    ]
    for form, message in cases:
        resp = _create(client, **form)
        assert resp.status_code == 422 and message in ah.text(resp), form
    assert not ah.audited_by("user.create", world.users["admin"])


def test_a_password_reset_ends_sessions_and_phone_tokens(client, app, world):
    ah.admin(client, world)
    officer = app.test_client()
    office_sign_in(officer, world.users["commune_officer"])
    assert officer.get("/office/visits").status_code == 200
    phone = login(client, world.users["commune_officer"])
    uid = ah.user_id(world.users["commune_officer"])
    resp = ah.post(client, f"/admin/users/{uid}/password",
                   {"password": "mat-khau-khac-2", "sign_out_devices": "y"})
    assert resp.status_code == 302
    ah.assert_audited("user.password", uid, world.users["admin"], tokens_revoked=1)
    assert officer.get("/office/visits").status_code == 302  # signed out
    assert client.get(PULL, headers=phone).status_code == 401
    bad = client.post("/api/v1/auth/token", json={"username": world.users["commune_officer"],
                                                  "password": PASSWORD, "device_id": "d"})
    assert bad.status_code == 401
    login(client, world.users["commune_officer"], "mat-khau-khac-2")

    # Without the box ticked, phones stay signed in.
    phone = login(client, world.users["commune_officer"], "mat-khau-khac-2")
    ah.post(client, f"/admin/users/{uid}/password", {"password": "mat-khau-thu-3"})
    assert client.get(PULL, headers=phone).status_code == 200
    short = ah.post(client, f"/admin/users/{uid}/password", {"password": "ngan"})
    assert short.status_code == 422 and "ít nhất 8 ký tự" in ah.text(short)


def test_a_deactivated_user_is_out_at_once_on_phone_and_console(client, app, world):
    ah.admin(client, world)
    username = world.users["team_lead"]
    phone = login(client, username)
    assert client.get(PULL, headers=phone).status_code == 200
    console = app.test_client()
    office_sign_in(console, username)
    assert console.get("/office/visits").status_code == 200
    uid = ah.user_id(username)

    resp = ah.post(client, f"/admin/users/{uid}/deactivate")
    assert resp.status_code == 302
    assert "Đã khóa tài khoản" in ah.text(client.get(resp.headers["Location"]))
    ah.assert_audited("user.deactivate", uid, world.users["admin"], tokens_revoked=1)
    assert client.get(PULL, headers=phone).status_code == 401
    resp = console.get("/office/visits")
    assert resp.status_code == 302 and "/office/login" in resp.headers["Location"]
    db.session.rollback()
    assert all(t.revoked_at is not None for t in db.session.scalars(
        select(DeviceToken).where(DeviceToken.user_id == uid)))
    assert client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD,
                                                   "device_id": "d"}).status_code == 401
    again = ah.post(client, f"/admin/users/{uid}/deactivate")
    assert again.status_code == 422 and "Tài khoản đã bị khóa" in ah.text(again)

    # Reactivated with a new password: the old token and session stay dead, the new one works.
    resp = ah.post(client, f"/admin/users/{uid}/reactivate", {"password": "mat-khau-moi-9"})
    assert resp.status_code == 302 and _user(username).active
    ah.assert_audited("user.reactivate", uid, world.users["admin"])
    assert client.get(PULL, headers=phone).status_code == 401
    assert console.get("/office/visits").status_code == 302
    fresh = login(client, username, "mat-khau-moi-9")
    assert client.get(PULL, headers=fresh).status_code == 200


def test_an_admin_cannot_lock_themself_out(client, world):
    ah.admin(client, world)
    uid = ah.user_id(world.users["admin"])
    resp = ah.post(client, f"/admin/users/{uid}/deactivate")
    assert resp.status_code == 422 and "Không thể tự khóa" in ah.text(resp)
    assert _user(world.users["admin"]).active
