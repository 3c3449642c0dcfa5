"""Lượt thăm: the scoped, filtered, paged visits list; the visit page; review; photos."""
import re
import uuid
from datetime import date
from types import SimpleNamespace

import pytest
from geoalchemy2.shape import to_shape
from sqlalchemy import select

from server.extensions import db
from server.models import AuditEntry, User, Visit
from server.services import review
from tests.conftest import wait_for
from tests.factories import login
from tests.photo_helpers import jpeg_bytes, put_photo
from tests.sync_helpers import household, resident
from tests.sync_helpers import visit as visit_item
from tests.test_coverage_definitions import OCT, at, cks, get, hamlet_row, pushed
from tests.test_web_office_auth import csrf, post_form, sign_in, text


def spot(hamlet, fx=0.5, fy=0.5):
    """A GPS fix at fraction (fx, fy) of a (square) hamlet's bounding box."""
    minx, miny, maxx, maxy = to_shape(hamlet.boundary).bounds
    return {"lat": miny + (maxy - miny) * fy, "lon": minx + (maxx - minx) * fx, "accuracy_m": 10}


@pytest.fixture
def day(client, world):
    """Three visits: two in hamlet 1 (team 1's member), one in hamlet 2 (team 2's member)."""
    h0, h1 = world.hamlets
    member, member2 = login(client, world.users["member"]), login(client, world.users["member2"])
    hh0 = household(h0.id, head_name="Trần Văn Lâm", address="Tổ 3", location=spot(h0, .6, .6))
    r0 = resident(hh0["id"], full_name="Trần Thị Lan", birth_year=1980)
    v0 = visit_item(hh0["id"], when=at(date(2025, 10, 10)), location=spot(h0),
                    services=[cks(r0["id"], "done"),
                              {"code": "VNEID", "resident_id": r0["id"], "result": "already_had"}])
    v0b = visit_item(hh0["id"], when=at(date(2025, 10, 11)), location=spot(h0, .3, .3),
                     outcome="not_home")
    pushed(client, member, [hh0, r0, v0, v0b])
    hh1 = household(h1.id, head_name="Lê Thị Hoa", address="Tổ 1")
    v1 = visit_item(hh1["id"], when=at(date(2025, 10, 12)), location=spot(h1),
                    services=[{"code": "TMDT", "resident_id": None, "result": "in_progress"}])
    pushed(client, member2, [hh1, v1])
    return SimpleNamespace(v0=v0["id"], v0b=v0b["id"], v1=v1["id"], household0=hh0["id"],
                           resident0=r0["id"], member=member, member2=member2)


def browser(app, world, role):
    """A separate browser signed in as ``role`` of ``world``."""
    other = app.test_client()
    assert sign_in(other, world.users[role]).status_code == 302
    return other


def listed(client, **query):
    """Ids of the visits the list page links to (200 asserted)."""
    resp = client.get("/office/visits", query_string=query)
    assert resp.status_code == 200, text(resp)[:2000]
    return re.findall(r'href="/office/visits/([0-9a-f-]{36})"', text(resp))


def _user_id(username):
    return db.session.scalar(select(User.id).where(User.username == username))


def test_officer_sees_the_communes_visits_newest_first(app, world, day):
    officer = browser(app, world, "commune_officer")
    assert listed(officer) == [day.v1, day.v0b, day.v0]


def test_team_lead_sees_only_their_teams_hamlets(app, world, day):
    lead = browser(app, world, "team_lead")
    assert listed(lead) == [day.v0b, day.v0]
    for path in (f"/office/visits/{day.v1}", f"/office/visits/{day.v1}/photos/{uuid.uuid4()}"):
        resp = lead.get(path)
        assert resp.status_code == 404 and "Không tìm thấy" in text(resp)
    resp = post_form(lead, f"/office/visits/{day.v1}/review", {"state": "approved"})
    assert resp.status_code == 404
    assert db.session.get(Visit, uuid.UUID(day.v1)).review_state == "received"


def test_another_communes_officer_sees_nothing(app, world, other_world, day):
    stranger = browser(app, other_world, "commune_officer")
    assert listed(stranger) == []
    assert stranger.get(f"/office/visits/{day.v0}").status_code == 404
    # A hamlet of another commune is not even a valid filter.
    resp = stranger.get("/office/visits", query_string={"hamlet": world.hamlets[0].id})
    assert resp.status_code == 422


@pytest.mark.parametrize("query,expected", [
    ({"outcome": "not_home"}, ["v0b"]),
    ({"service": "CKS"}, ["v0"]),
    ({"service": "TMDT"}, ["v1"]),
    ({"first": "2025-10-11", "last": "2025-10-11"}, ["v0b"]),
    ({"first": "2025-10-11"}, ["v1", "v0b"]),
    ({"review_state": "received"}, ["v1", "v0b", "v0"]),
    ({"review_state": "approved"}, []),
])
def test_filters_narrow_the_list(app, world, day, query, expected):
    officer = browser(app, world, "commune_officer")
    assert listed(officer, **query) == [getattr(day, name) for name in expected]


def test_filters_by_hamlet_team_and_member(app, world, day):
    officer = browser(app, world, "commune_officer")
    assert listed(officer, hamlet=world.hamlets[1].id) == [day.v1]
    assert listed(officer, team=world.teams[0].id) == [day.v0b, day.v0]
    assert listed(officer, member=_user_id(world.users["member2"])) == [day.v1]


def test_a_bad_filter_is_a_422_page_with_the_reason(app, world, day):
    officer = browser(app, world, "commune_officer")
    resp = officer.get("/office/visits", query_string={"first": "2025-10-12",
                                                       "last": "2025-10-01"})
    assert resp.status_code == 422 and "Ngày kết thúc phải sau ngày bắt đầu" in text(resp)
    resp = officer.get("/office/visits", query_string={"first": "hôm qua"})
    assert resp.status_code == 422 and "Ngày không hợp lệ" in text(resp)


def test_pages_follow_a_keyset(app, world, day, monkeypatch):
    monkeypatch.setattr(review, "PAGE_SIZE", 2)
    officer = browser(app, world, "commune_officer")
    first = officer.get("/office/visits", query_string={"review_state": "received"})
    body = text(first)
    assert re.findall(r'href="/office/visits/([0-9a-f-]{36})"', body) == [day.v1, day.v0b]
    next_url = re.search(r'href="([^"]+)">Trang sau', body).group(1).replace("&amp;", "&")
    assert "review_state=received" in next_url
    second = text(officer.get(next_url))
    assert re.findall(r'href="/office/visits/([0-9a-f-]{36})"', second) == [day.v0]
    assert "Trang sau" not in second and "Trang đầu" in second
    # A malformed position starts from the top rather than failing.
    assert listed(officer, after="garbage")[:2] == [day.v1, day.v0b]


def test_visit_page_shows_people_services_map_and_history(app, world, day):
    officer = browser(app, world, "commune_officer")
    resp = officer.get(f"/office/visits/{day.v0}")
    assert resp.status_code == 200
    body = text(resp)
    for words in ("Trần Thị Lan", "1980", "Chữ ký số", "Đã hỗ trợ xong", "Đã có từ trước",
                  "Trần Văn Lâm", "Mới nhận", "Nhận từ điện thoại", 'class="boundary"',
                  'class="marker"', "Hoàn thành"):
        assert words in body, words
    assert "ngoài ranh giới" not in body


def _decide(client, visit_id, state, comment=""):
    token = csrf(client, f"/office/visits/{visit_id}")
    page = text(client.get(f"/office/visits/{visit_id}"))
    expected = re.search(r'name="expected_state" type="hidden" value="([^"]*)"', page).group(1)
    return client.post(f"/office/visits/{visit_id}/review", data={
        "state": state, "comment": comment, "expected_state": expected, "csrf_token": token})


def test_review_needs_a_comment_for_issues_and_rejection(app, world, day):
    officer = browser(app, world, "commune_officer")
    for state in ("has_issues", "rejected"):
        resp = _decide(officer, day.v0, state, "   ")
        assert resp.status_code == 422 and "Cần ghi nhận xét" in text(resp)
    db.session.rollback()
    assert db.session.get(Visit, uuid.UUID(day.v0)).review_state == "received"


def test_review_decisions_change_the_state_and_are_audit_logged(client, app, world, day):
    lead = browser(app, world, "team_lead")
    resp = _decide(lead, day.v0, "has_issues", "Thiếu ảnh xác nhận của hộ")
    assert resp.status_code == 302
    db.session.rollback()
    row = db.session.get(Visit, uuid.UUID(day.v0))
    assert row.review_state == "has_issues" and row.review_comment == "Thiếu ảnh xác nhận của hộ"
    assert row.reviewed_by_id == _user_id(world.users["team_lead"])
    first_seq = row.change_seq
    assert first_seq > 0
    page = text(lead.get(f"/office/visits/{day.v0}"))
    assert "Đã lưu quyết định duyệt" in page and "Thiếu ảnh xác nhận của hộ" in page

    officer = browser(app, world, "commune_officer")
    assert _decide(officer, day.v0, "approved").status_code == 302
    db.session.rollback()
    row = db.session.get(Visit, uuid.UUID(day.v0))
    assert row.review_state == "approved" and row.review_comment is None
    assert row.change_seq > first_seq
    entries = list(db.session.execute(select(AuditEntry.action, AuditEntry.details).where(
        AuditEntry.entity_type == "visit", AuditEntry.entity_id == day.v0)
        .order_by(AuditEntry.id)))
    assert [a for a, _ in entries] == ["visit.review.has_issues", "visit.review.approved"]
    assert entries[0][1] == {"from": "received", "to": "has_issues",
                             "comment": "Thiếu ảnh xác nhận của hộ"}
    history = text(officer.get(f"/office/visits/{day.v0}"))
    assert "Yêu cầu bổ sung" in history and "Duyệt" in history
    # The member reads the state back through the API.
    visits = client.get("/api/v1/visits", query_string={"household_id": day.household0},
                        headers=day.member).get_json()["visits"]
    assert {v["id"]: v["review_state"] for v in visits}[day.v0] == "approved"


def test_a_rejected_visit_leaves_the_figures_and_comes_back_when_approved(client, app, world, day):
    headers = login(client, world.users["commune_officer"])
    query = {"commune": world.commune.code, **OCT}
    before = hamlet_row(get(client, headers, **query), world.hamlets[0].id)
    assert before["visits"] == 2 and before["services"]["CKS"]["supported"] == 1
    officer = browser(app, world, "commune_officer")
    assert _decide(officer, day.v0, "rejected", "Ghi trùng với lượt khác").status_code == 302
    after = hamlet_row(get(client, headers, **query), world.hamlets[0].id)
    assert after["visits"] == 1 and after["services"]["CKS"]["supported"] == 0
    assert _decide(officer, day.v0, "approved").status_code == 302
    again = hamlet_row(get(client, headers, **query), world.hamlets[0].id)
    assert again["visits"] == 2 and again["services"]["CKS"]["supported"] == 1


def test_a_decision_on_a_stale_page_is_refused(app, world, day):
    officer, lead = browser(app, world, "commune_officer"), browser(app, world, "team_lead")
    token = csrf(officer, f"/office/visits/{day.v0}")  # the officer's page says "received"
    assert _decide(lead, day.v0, "rejected", "Không có thật").status_code == 302
    resp = officer.post(f"/office/visits/{day.v0}/review", data={
        "state": "approved", "expected_state": "received", "csrf_token": token})
    assert resp.status_code == 409 and "Dữ liệu vừa thay đổi" in text(resp)
    db.session.rollback()
    assert db.session.get(Visit, uuid.UUID(day.v0)).review_state == "rejected"


def test_a_review_without_the_csrf_token_is_refused(app, world, day):
    officer = browser(app, world, "commune_officer")
    resp = officer.post(f"/office/visits/{day.v0}/review", data={"state": "approved"})
    assert resp.status_code == 400
    db.session.rollback()
    assert db.session.get(Visit, uuid.UUID(day.v0)).review_state == "received"


def test_photos_are_served_to_the_session_in_scope(client, app, world, other_world, day):
    photo_id = str(uuid.uuid4())
    resp = put_photo(client, day.member, day.v0, photo_id, jpeg_bytes((800, 600)))
    assert resp.status_code == 201, resp.get_json()
    assert wait_for(lambda: db.session.get(Visit, uuid.UUID(day.v0)).photos[0].state == "ready")
    officer = browser(app, world, "commune_officer")
    page = text(officer.get(f"/office/visits/{day.v0}"))
    thumb = f"/office/visits/{day.v0}/photos/{photo_id}/thumb"
    assert thumb in page
    for path in (thumb, f"/office/visits/{day.v0}/photos/{photo_id}"):
        got = officer.get(path)
        assert got.status_code == 200 and got.mimetype == "image/jpeg"
        assert got.headers["Cache-Control"] == "no-store"
    assert client.get(thumb).status_code == 302  # no session: sign in first
    stranger = browser(app, other_world, "commune_officer")
    assert stranger.get(thumb).status_code == 404


def test_the_member_pulls_the_review_decision_and_comment(client, app, world, day):
    from tests.sync_helpers import pull_all

    _, cursor, _ = pull_all(client, day.member)
    lead = browser(app, world, "team_lead")
    assert _decide(lead, day.v0, "has_issues", "Chụp lại ảnh giấy hẹn").status_code == 302
    changes, _, _ = pull_all(client, day.member, cursor)
    reviewed = [c for c in changes if c["type"] == "visit"]
    assert [c["id"] for c in reviewed] == [day.v0]
    assert reviewed[0]["data"]["review_state"] == "has_issues"
    assert reviewed[0]["data"]["review_comment"] == "Chụp lại ảnh giấy hẹn"
    # Another team's member learns nothing of it.
    assert not [c for c in pull_all(client, day.member2, None)[0] if c["type"] == "visit"]
