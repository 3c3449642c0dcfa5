"""A stored visit is corrected by its own member: a push item with `base_version` == its current
revision stores a new revision (same id, lines replaced), a retry is `duplicate`, a stale base is
a conflict, and the coverage figures follow the revision exactly."""
import uuid
from datetime import date

from server.extensions import db
from server.models import Visit
from tests.factories import login
from tests.sync_helpers import household, pull_all, push, resident, statuses, visit
from tests.test_coverage_definitions import (OCT, api_figures, at, brute_force, cks, get,
                                             nonzero, pushed, settle, summary_rows)
from tests.test_web_office_auth import text
from tests.test_web_office_visits import _decide, browser, listed

FIRST, LAST = date(2025, 10, 1), date(2025, 10, 31)


def _revision(item, base_version, **data):
    return {**item, "base_version": base_version, "data": {**item["data"], **data}}


def _figures(client, world):
    officer = login(client, world.users["commune_officer"])
    return api_figures(get(client, officer, commune=world.commune.code, **OCT))


def _home(client, headers, world):
    h = household(world.hamlets[0].id)
    adult, other = resident(h["id"], birth_year=1970), resident(h["id"], birth_year=1980)
    v = visit(h["id"], when=at(date(2025, 10, 10)), outcome="partial", follow_up_on="2025-10-20",
              services=[cks(adult["id"], "done"), cks(other["id"], "in_progress"),
                        {"code": "TMDT", "resident_id": None, "result": "done"}])
    pushed(client, headers, [h, adult, other, v])
    return h, adult, other, v


def test_a_revision_replaces_the_visit_and_the_figures_follow(client, world, runner):
    member = login(client, world.users["member"])
    h, adult, other, v = _home(client, headers=member, world=world)
    before = _figures(client, world)
    assert before[world.hamlets[0].id]["services"]["CKS"]["supported"] == 1

    # Another day, another result, one person and the household service dropped, no follow-up.
    revised = _revision(v, 1, visited_at=at(date(2025, 10, 14)).isoformat(), outcome="completed",
                        follow_up_on=None, services=[cks(other["id"], "done")])
    _, body = push(client, member, [revised])
    assert body["results"][0]["status"] == "updated" and body["results"][0]["version"] == 2
    settle()
    _, body = push(client, member, [revised])  # the phone never heard the answer: a retry
    assert statuses(body) == ["duplicate"] and body["results"][0]["version"] == 2

    stored = client.get(f"/api/v1/visits?household_id={h['id']}", headers=member).get_json()
    (only,) = stored["visits"]
    assert only["id"] == v["id"] and only["revision"] == 2 and only["outcome"] == "completed"
    assert [(s["code"], s["resident_id"], s["result"]) for s in only["services"]] == [
        ("CKS", other["id"], "done")]

    after = _figures(client, world)
    assert after != before
    assert after == nonzero(brute_force(world.hamlet_ids, FIRST, LAST))
    assert after[world.hamlets[0].id]["services"]["CKS"] == {"supported": 1, "already_had": 0,
                                                              "has": 1}
    assert "TMDT" not in after[world.hamlets[0].id]["services"]
    incremental = summary_rows(world.hamlet_ids)
    result = runner.invoke(args=["aggregates", "rebuild", "--commune", world.commune.code])
    assert result.exit_code == 0, result.output
    assert summary_rows(world.hamlet_ids) == incremental

    # The follow-up it promised is withdrawn (closed); pull says so.
    changes, _, _ = pull_all(client, member)
    (followup,) = [c["data"] for c in changes if c["type"] == "followup"
                   and c["data"]["visit_id"] == v["id"]]
    assert followup["status"] == "done"


def test_a_stale_base_is_a_conflict_with_the_server_copy(client, world):
    member = login(client, world.users["member"])
    h, adult, _, v = _home(client, member, world)
    first = _revision(v, 1, notes="Sửa lần một")
    assert statuses(push(client, member, [first])[1]) == ["updated"]
    second = _revision(v, 1, notes="Sửa từ bản cũ")
    _, body = push(client, member, [second])
    (result,) = body["results"]
    assert result["status"] == "conflict" and result["version"] == 2
    assert result["server"]["version"] == 2 and result["server"]["data"]["revision"] == 2
    assert result["server"]["data"]["notes"] == "Sửa lần một"
    assert not result.get("errors")
    # Without base_version a different content under a taken id stays what it was.
    _, body = push(client, member, [{**second, "base_version": None}])
    assert body["results"][0]["status"] == "conflict"
    assert body["results"][0]["codes"] == {"id": ["id_taken"]}
    # Against the current revision it goes through.
    assert statuses(push(client, member, [_revision(v, 2, notes="Sửa từ bản cũ")])[1]) == ["updated"]


def test_only_its_member_revises_and_not_after_a_final_review(app, client, world):
    member = login(client, world.users["member"])
    h, _, _, v = _home(client, member, world)
    lead = login(client, world.users["team_lead"])
    _, body = push(client, lead, [_revision(v, 1, notes="Tổ trưởng sửa")])
    assert body["results"][0]["status"] == "rejected"
    assert body["results"][0]["codes"] == {"id": ["not_your_visit"]}
    moved = _revision(v, 1, household_id=household(world.hamlets[0].id)["id"])
    other_home = {**household(world.hamlets[0].id), "id": moved["data"]["household_id"]}
    _, body = push(client, member, [other_home, moved])
    assert body["results"][1]["codes"] == {"household_id": ["household_changed"]}

    # The office asks for more: a correction goes back to "received" and shows as corrected.
    officer = browser(app, world, "commune_officer")
    assert _decide(officer, v["id"], "has_issues", "Thiếu ảnh").status_code == 302
    assert statuses(push(client, member, [_revision(v, 1, notes="Đã bổ sung")])[1]) == ["updated"]
    db.session.rollback()
    row = db.session.get(Visit, uuid.UUID(v["id"]))
    assert (row.review_state, row.revision) == ("received", 2)
    page = text(officer.get("/office/visits"))
    assert v["id"] in listed(officer) and "Đã sửa (1 lần)" in page
    assert "Thành viên đã sửa lượt thăm" in text(officer.get(f"/office/visits/{v['id']}"))

    assert _decide(officer, v["id"], "approved").status_code == 302
    _, body = push(client, member, [_revision(v, 2, notes="Sửa sau khi duyệt")])
    assert body["results"][0]["codes"] == {"id": ["visit_reviewed"]}


def test_a_visit_made_and_revised_in_one_push(client, world):
    member = login(client, world.users["member"])
    h = household(world.hamlets[0].id)
    v = visit(h["id"], when=at(date(2025, 10, 10)))
    _, body = push(client, member, [h, v, _revision(v, 1, notes="Sửa ngay")])
    assert statuses(body) == ["created", "created", "updated"]
    settle()
    assert _figures(client, world) == nonzero(brute_force(world.hamlet_ids, FIRST, LAST))
