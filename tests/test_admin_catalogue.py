"""Danh mục dịch vụ: a service added, relabelled, retired and restored by the admin; phones learn
each change through pull, and a retired code stays valid on visits recorded before it retired.

The test adds its own service and leaves it retired: PostgreSQL's test database is shared by the
whole session, and the seeded catalogue must stay as the other tests expect it.
"""
import uuid
from datetime import datetime, timedelta

from server.extensions import db
from server.models import Service
from tests import admin_helpers as ah
from tests.factories import login
from tests.sync_helpers import VN, household, pull_all, push, visit


def _services(changes):
    return {c["id"]: c["data"] for c in changes if c["type"] == "service"}


def _line(code):
    return {"code": code, "resident_id": None, "result": "done", "provider": None,
            "detail": None}


def test_catalogue_changes_reach_phones_and_a_retired_code_stays_on_old_visits(client, world):
    ah.admin(client, world)
    member = login(client, world.users["member"])
    home = household(world.hamlets[0].id)
    push(client, member, [home])
    _, cursor, _ = pull_all(client, member)
    code = "T" + uuid.uuid4().hex[:8].upper()

    resp = ah.post(client, "/admin/services/new", {
        "code": code.lower(), "label": "Hỗ trợ thử nghiệm", "unit": "household", "skill": "2",
        "providers": "Nhà mạng A\nNhà mạng B, Khác", "sort_order": "50"})
    assert resp.status_code == 302, ah.text(resp)[:1500]
    ah.assert_audited("service.create", code, world.users["admin"], unit="household",
                      label="Hỗ trợ thử nghiệm")
    changes, cursor, _ = pull_all(client, member, cursor)
    new = _services(changes)[code]
    assert new["active"] is True and new["providers"] == ["Nhà mạng A", "Nhà mạng B", "Khác"]
    assert new["unit"] == "household" and new["skill"] == "2" and new["sort_order"] == 50

    resp = ah.post(client, f"/admin/services/{code}", {
        "label": "Hỗ trợ thử nghiệm (đổi tên)", "skill": "2", "providers": "Nhà mạng A",
        "sort_order": "50"})
    assert resp.status_code == 302
    entry = ah.assert_audited("service.update", code, world.users["admin"])
    assert entry.details["changed"]["label"] == ["Hỗ trợ thử nghiệm", "Hỗ trợ thử nghiệm (đổi tên)"]
    changes, cursor, _ = pull_all(client, member, cursor)
    assert list(_services(changes)) == [code]  # only the changed service
    assert _services(changes)[code]["label"] == "Hỗ trợ thử nghiệm (đổi tên)"

    before_retirement = datetime.now(VN) - timedelta(minutes=30)
    resp = ah.post(client, f"/admin/services/{code}/retire", token_page="/admin/services")
    assert resp.status_code == 302
    ah.assert_audited("service.retire", code, world.users["admin"], visit_lines=0)
    changes, cursor, _ = pull_all(client, member, cursor)
    assert _services(changes)[code]["active"] is False  # the phone drops it from the form
    listing = ah.text(client.get("/admin/services"))
    assert "Đã ngừng" in listing and "Hỗ trợ thử nghiệm (đổi tên)" in listing

    # A phone offline since before the retirement delivers its visit: accepted.
    old = visit(home["id"], services=[_line(code)], when=before_retirement)
    # A visit recorded after the retirement may not carry the code.
    late = visit(home["id"], services=[_line(code)], when=datetime.now(VN))
    status, body = push(client, member, [old, late])
    assert status == 200
    assert [r["status"] for r in body["results"]] == ["created", "rejected"], body
    assert body["results"][1]["codes"]["services.0.code"] == ["unknown_service"]
    mine = client.get("/api/v1/visits", headers=member, query_string={
        "household_id": home["id"]}).get_json()["visits"]
    assert [s["code"] for v in mine for s in v["services"]] == [code]

    resp = ah.post(client, f"/admin/services/{code}/restore", token_page="/admin/services")
    assert resp.status_code == 302
    ah.assert_audited("service.restore", code, world.users["admin"])
    changes, cursor, _ = pull_all(client, member, cursor)
    assert _services(changes)[code]["active"] is True
    status, body = push(client, member, [visit(home["id"], services=[_line(code)])])
    assert body["results"][0]["status"] == "created", body

    # Retired again (see the module's docstring); the count of its visit lines is recorded.
    ah.post(client, f"/admin/services/{code}/retire", token_page="/admin/services")
    assert ah.audit("service.retire", code)[-1].details == {"visit_lines": 2}
    db.session.rollback()
    assert db.session.get(Service, code).active is False


def test_bad_catalogue_input_is_refused_in_vietnamese(client, world):
    ah.admin(client, world)
    cases = [
        ({"code": "VNEID", "label": "Trùng", "unit": "person"}, "Mã này đã có trong danh mục"),
        ({"code": "9ABC", "label": "Mã sai", "unit": "person"}, "Mã gồm 2–16 chữ in hoa"),
        ({"code": "TKHONGTEN", "label": "  ", "unit": "person"}, "Bắt buộc nhập"),
        ({"code": "TDOIT", "label": "Sai đối tượng", "unit": "village"}, "Lựa chọn không hợp lệ"),
    ]
    for form, message in cases:
        resp = ah.post(client, "/admin/services/new", form)
        assert resp.status_code == 422 and message in ah.text(resp), form
    assert not ah.audited_by("service.create", world.users["admin"])
    done = ah.post(client, "/admin/services/VNEID/restore", token_page="/admin/services")
    assert "Dịch vụ này đang được dùng" in ah.text(client.get(done.headers["Location"]))
    assert not ah.audit("service.restore", "VNEID")
