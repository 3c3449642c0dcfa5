"""Cảnh báo dữ liệu and Hộ trùng: each flag on hand-built data, and merging duplicates."""
import re
import unicodedata
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from server.auth import principal_for
from server.extensions import db
from server.models import AuditEntry, FollowUp, Household, Resident, User, Visit
from server.services import quality
from tests.factories import login
from tests.sync_helpers import household, pull_all, resident, visit
from tests.test_coverage_definitions import OCT, at, cks, get, hamlet_row, pushed
from tests.test_web_office_auth import csrf, post_form, text
from tests.test_web_office_visits import browser, listed, spot


def officer_principal(world):
    user = db.session.scalar(select(User).where(User.username == world.users["commune_officer"]))
    return principal_for(user)


@pytest.mark.parametrize("a,b", [
    ("Tổ 3, ấp Bảo Định", "tổ 03 - Ấp  bảo định"),
    ("Nguyễn Văn Đức", "NGUYEN   VAN DUC"),
    ("Nguyễn Văn Đức", unicodedata.normalize("NFD", "nguyễn văn đức")),
    ("Số 007 Tổ 10", "so 7 to 10"),
])
def test_normalise_folds_case_diacritics_spaces_and_leading_zeros(a, b):
    assert quality.normalise(a) == quality.normalise(b)


@pytest.mark.parametrize("a,b", [("Tổ 3", "Tổ 30"), ("Nguyễn Văn Đức", "Nguyễn Văn Được"),
                                 ("Tổ 1", "Tổ 10")])
def test_normalise_keeps_different_things_apart(a, b):
    assert quality.normalise(a) != quality.normalise(b)


@pytest.fixture
def twins(client, world):
    """In hamlet 1: A and B are one household written twice; C and D (hamlet 2) are not."""
    h0, h1 = world.hamlets
    member = login(client, world.users["member"])
    a = household(h0.id, head_name="Nguyễn Văn Đức", address="Tổ 3, ấp Thử", location=spot(h0))
    b = household(h0.id, head_name="nguyễn  văn đức", address="tổ 03 - Ấp thử",
                  location=spot(h0))
    c = household(h0.id, head_name="Nguyễn Văn Đức", address="Tổ 4, ấp Thử", location=spot(h0))
    ra = resident(a["id"], full_name="Nguyễn Văn Đức", birth_year=1970)
    rb = resident(b["id"], full_name="Phạm Thị Mai", birth_year=1975)
    va = visit(a["id"], when=at(date(2025, 10, 3)), location=spot(h0),
               services=[cks(ra["id"], "done")])
    vb = visit(b["id"], when=at(date(2025, 10, 5)), location=spot(h0, .4, .4),
               services=[cks(rb["id"], "done")], follow_up_on="2025-10-20", outcome="partial")
    pushed(client, member, [a, b, c, ra, rb, va, vb])
    officer = login(client, world.users["commune_officer"])
    d = household(h1.id, head_name="Nguyễn Văn Đức", address="Tổ 3, ấp Thử", location=spot(h1))
    pushed(client, officer, [d])
    return {"a": a["id"], "b": b["id"], "c": c["id"], "d": d["id"], "ra": ra["id"],
            "rb": rb["id"], "va": va["id"], "vb": vb["id"], "member": member}


def test_duplicates_are_grouped_within_a_hamlet(app, world, twins):
    groups = quality.duplicate_groups(officer_principal(world))
    assert [{str(h.id) for h in g} for g in groups] == [{twins["a"], twins["b"]}]
    first, second = (str(h.id) for h in groups[0])  # oldest first; the first is offered to keep
    officer = browser(app, world, "commune_officer")
    page = text(officer.get("/office/duplicates"))
    assert f"/office/merge?survivor={first}&amp;other={second}" in page
    assert twins["c"] not in page and twins["d"] not in page
    assert listed(officer, flag="duplicate") == [twins["vb"], twins["va"]]


def test_gps_outside_the_hamlet_is_flagged(client, app, world, twins):
    h0, h1 = world.hamlets
    member = twins["member"]
    outside = visit(twins["c"], when=at(date(2025, 10, 7)), location=spot(h1))  # in hamlet 2
    no_fix = visit(twins["c"], when=at(date(2025, 10, 8)), location=None)
    pushed(client, member, [outside, no_fix])
    flagged = quality.gps_outside_visits(officer_principal(world), date(2025, 10, 1),
                                         date(2025, 10, 31))
    assert [str(v.id) for v in flagged] == [outside["id"]]
    officer = browser(app, world, "commune_officer")
    assert listed(officer, flag="gps_outside") == [outside["id"]]
    page = text(officer.get("/office/flags", query_string={"first": "2025-10-01",
                                                           "last": "2025-10-31"}))
    assert f'/office/visits/{outside["id"]}' in page
    visit_page = text(officer.get(f"/office/visits/{outside['id']}"))
    assert "Vị trí GPS ngoài địa bàn ấp" in visit_page and "ngoài ranh giới" in visit_page


def test_a_member_at_two_places_too_fast_is_flagged(client, app, world, twins):
    h0 = world.hamlets[0]
    member = twins["member"]
    start = at(date(2025, 10, 9), 9)
    first = visit(twins["c"], when=start, location=spot(h0, .05, .05))
    # About 1.4 km in one minute: ~84 km/h.
    fast = visit(twins["c"], when=start + timedelta(minutes=1), location=spot(h0, .95, .95))
    # Then an hour later nearby, and 70 m in 10 seconds (GPS noise between neighbours).
    slow = visit(twins["c"], when=start + timedelta(hours=1), location=spot(h0, .9, .9))
    jitter = visit(twins["c"], when=start + timedelta(hours=1, seconds=10),
                   location=spot(h0, .95, .95))
    pushed(client, member, [first, fast, slow, jitter])
    pairs = quality.speed_pairs(officer_principal(world), date(2025, 10, 9), date(2025, 10, 9))
    assert [(str(p.earlier.id), str(p.later.id)) for p in pairs] == [(first["id"], fast["id"])]
    assert 75 < pairs[0].kmh < 95 and 1300 < pairs[0].metres < 1500
    officer = browser(app, world, "commune_officer")
    assert set(listed(officer, flag="speed", first="2025-10-09", last="2025-10-09")) == {
        first["id"], fast["id"]}
    page = text(officer.get("/office/flags", query_string={"first": "2025-10-09",
                                                           "last": "2025-10-09"}))
    assert "Di chuyển nhanh bất thường" in page and fast["id"] in page


@pytest.mark.parametrize("metres,seconds,flagged", [
    (2100, 120, True),  # over 2 km within 2 minutes
    (2100, 130, False),  # 58 km/h
    (400, 1, False),  # under 500 m: GPS noise, however fast
    (600, 0, True),  # two places at the same second
    (600, 60, False),  # 36 km/h: a motorbike
])
def test_the_speed_rule(app, metres, seconds, flagged):
    from sqlalchemy import literal

    rule = quality._too_fast(literal(float(metres) ** 2), literal(float(seconds)))
    assert bool(db.session.scalar(select(rule))) is flagged


def _merge(client, survivor, other):
    confirm = client.get("/office/merge", query_string={"survivor": survivor, "other": other})
    assert confirm.status_code == 200, text(confirm)[:500]
    assert "Xác nhận gộp hộ" in text(confirm)
    return post_form(client, "/office/merge", {"survivor": survivor, "other": other},
                     token_page=f"/office/merge?survivor={survivor}&other={other}")


def test_merge_moves_records_marks_the_other_deleted_and_phones_learn_it(client, app, world,
                                                                         twins):
    member = twins["member"]
    _, cursor, _ = pull_all(client, member)
    survivor_before = db.session.get(Household, uuid.UUID(twins["a"])).version
    headers = login(client, world.users["commune_officer"])
    before = hamlet_row(get(client, headers, commune=world.commune.code, **OCT),
                        world.hamlets[0].id)
    assert before["households_registered"] == 3 and before["households_reached"] == 2

    officer = browser(app, world, "commune_officer")
    resp = _merge(officer, twins["a"], twins["b"])
    assert resp.status_code == 302
    db.session.rollback()
    a, b = (db.session.get(Household, uuid.UUID(twins[k])) for k in ("a", "b"))
    assert b.deleted and b.merged_into_id == a.id
    assert a.version == survivor_before + 1 and not a.deleted
    assert db.session.get(Visit, uuid.UUID(twins["vb"])).household_id == a.id
    moved = db.session.get(Resident, uuid.UUID(twins["rb"]))
    assert moved.household_id == a.id and not moved.deleted
    followup = db.session.scalar(select(FollowUp).where(
        FollowUp.visit_id == uuid.UUID(twins["vb"])))
    assert followup.household_id == a.id
    actions = set(db.session.scalars(select(AuditEntry.action).where(
        AuditEntry.entity_id.in_([twins["a"], twins["b"], twins["vb"]]))))
    assert {"household.merge", "household.merge_into", "visit.move"} <= actions

    after = hamlet_row(get(client, headers, commune=world.commune.code, **OCT),
                       world.hamlets[0].id)
    assert after["households_registered"] == 2 and after["households_reached"] == 1
    assert after["services"]["CKS"]["supported"] == 2  # both people, now in one household

    changes, _, _ = pull_all(client, member, cursor)
    by_id = {(c["type"], c["id"]): c for c in changes}
    assert by_id[("household", twins["b"])]["deleted"] is True
    assert by_id[("household", twins["b"])]["data"] is None
    assert by_id[("household", twins["a"])]["version"] == a.version
    assert by_id[("resident", twins["rb"])]["data"]["household_id"] == twins["a"]
    assert by_id[("followup", str(followup.id))]["data"]["household_id"] == twins["a"]
    assert quality.duplicate_groups(officer_principal(world)) == []


def test_merge_is_for_the_commune_office_with_a_csrf_token(app, world, twins):
    lead = browser(app, world, "team_lead")
    assert lead.get("/office/merge", query_string={"survivor": twins["a"],
                                                   "other": twins["b"]}).status_code == 403
    assert post_form(lead, "/office/merge", {"survivor": twins["a"],
                                             "other": twins["b"]}).status_code == 403
    assert "/office/merge" not in text(lead.get("/office/duplicates"))
    officer = browser(app, world, "commune_officer")
    resp = officer.post("/office/merge", data={"survivor": twins["a"], "other": twins["b"]})
    assert resp.status_code == 400
    assert officer.get("/office/merge", query_string={"survivor": twins["a"],
                                                      "other": twins["a"]}).status_code == 422
    db.session.rollback()
    assert not db.session.get(Household, uuid.UUID(twins["b"])).deleted


def test_merge_across_communes_is_not_found(app, world, other_world, twins):
    stranger = browser(app, other_world, "commune_officer")
    resp = stranger.get("/office/merge", query_string={"survivor": twins["a"],
                                                       "other": twins["b"]})
    assert resp.status_code == 404
    token = csrf(stranger)
    resp = stranger.post("/office/merge", data={"survivor": twins["a"], "other": twins["b"],
                                                "csrf_token": token})
    assert resp.status_code == 404
    db.session.rollback()
    assert not db.session.get(Household, uuid.UUID(twins["b"])).deleted


def test_flags_page_defaults_to_the_last_30_days(app, world):
    officer = browser(app, world, "commune_officer")
    page = officer.get("/office/flags")
    assert page.status_code == 200
    body = text(page)
    assert re.search(r'name="first" type="date" value="\d{4}-\d{2}-\d{2}"', body)
    assert "Vị trí GPS ngoài địa bàn ấp" in body and "Hộ nghi trùng" in body
