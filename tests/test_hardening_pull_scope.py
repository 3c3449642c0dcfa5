"""Pull tells a phone once to drop a record that left its hamlets (moved, merged, erased)."""
from datetime import datetime, timedelta
from uuid import UUID

from server.extensions import db
from server.models import Household
from server.services import scope_exits
from tests.factories import login
from tests.sync_helpers import VN, household, pull_all, push, resident, statuses, visit


def _about(changes, ids):
    return [c for c in changes if c["id"] in ids]


def _household_with_people(client, headers, hamlet_id):
    """A household with two residents and an open follow-up; returns their ids by kind."""
    h = household(hamlet_id)
    residents = [resident(h["id"]), resident(h["id"], full_name="Lương Văn Tùng")]
    when = datetime.now(VN) - timedelta(hours=2)
    v = visit(h["id"], when=when, outcome="partial",
              follow_up_on=(when + timedelta(days=5)).date().isoformat())
    body = push(client, headers, [h, *residents, v])[1]
    assert statuses(body) == ["created"] * 4, body
    changes, _, _ = pull_all(client, headers)
    (followup,) = [c["id"] for c in changes if c["type"] == "followup"
                   and c["data"]["household_id"] == h["id"]]
    return h, {"household": {h["id"]}, "resident": {r["id"] for r in residents},
               "followup": {followup}}


def _move(client, world, h, to_hamlet, base_version=1):
    officer = login(client, world.users["commune_officer"], device_id="office")
    moved = household(to_hamlet.id, item_id=h["id"], base_version=base_version,
                      **{k: v for k, v in h["data"].items() if k != "hamlet_id"})
    body = push(client, officer, [moved], device_id="office")[1]
    assert statuses(body) == ["updated"], body


def _notices(changes):
    return {(c["type"], c["id"]) for c in changes if c["deleted"]}


def _expected(ids):
    return {(kind, i) for kind, values in ids.items() for i in values}


def test_a_household_moved_away_is_dropped_by_the_old_hamlet_once(client, world):
    member_a = login(client, world.users["member"])
    member_b = login(client, world.users["member2"], device_id="phone-b")
    h, ids = _household_with_people(client, member_a, world.hamlets[0].id)
    everything = set().union(*ids.values())
    _, cursor_a, _ = pull_all(client, member_a)
    _, cursor_b, _ = pull_all(client, member_b)

    _move(client, world, h, world.hamlets[1])

    changes, cursor_a, _ = pull_all(client, member_a, cursor=cursor_a)
    about = _about(changes, everything)
    assert _notices(about) == _expected(ids) and len(about) == len(_expected(ids))
    for notice in about:
        assert notice["data"] is None and notice["deleted"] is True
    (house,) = [c for c in about if c["type"] == "household"]
    assert house["version"] == 2
    again, _, _ = pull_all(client, member_a, cursor=cursor_a)
    assert again == []

    arrived, _, _ = pull_all(client, member_b, cursor=cursor_b)
    got = {(c["type"], c["id"]): c for c in _about(arrived, everything)}
    assert set(got) == _expected(ids)
    assert not any(c["deleted"] for c in got.values())
    assert got[("household", h["id"])]["data"]["hamlet_id"] == world.hamlets[1].id
    assert got[("household", h["id"])]["data"]["head_name"] == h["data"]["head_name"]

    # A phone of hamlet A starting over gets no live copy; one that sees both hamlets no notice.
    fresh, _, _ = pull_all(client, member_a)
    assert all(c["deleted"] and c["data"] is None for c in _about(fresh, everything))
    officer = login(client, world.users["commune_officer"], device_id="office-2")
    seen, _, _ = pull_all(client, officer)
    assert {(c["type"], c["id"]) for c in _about(seen, everything)} == _expected(ids)
    assert not any(c["deleted"] for c in _about(seen, everything))


def test_a_household_moved_back_is_live_again(client, world):
    member_a = login(client, world.users["member"])
    h, ids = _household_with_people(client, member_a, world.hamlets[0].id)
    _, before, _ = pull_all(client, member_a)
    _move(client, world, h, world.hamlets[1])
    dropped, between, _ = pull_all(client, member_a, cursor=before)
    assert _notices(dropped) == _expected(ids)

    _move(client, world, h, world.hamlets[0], base_version=2)

    for cursor in (before, between):
        changes, _, _ = pull_all(client, member_a, cursor=cursor)
        about = _about(changes, set().union(*ids.values()))
        assert {(c["type"], c["id"]) for c in about} == _expected(ids)
        assert not any(c["deleted"] for c in about)


def test_an_erased_household_is_announced_with_its_residents_and_followups(client, world):
    member_a = login(client, world.users["member"])
    member_b = login(client, world.users["member2"], device_id="phone-b")
    h, ids = _household_with_people(client, member_a, world.hamlets[0].id)
    _, cursor_a, _ = pull_all(client, member_a)
    _, cursor_b, _ = pull_all(client, member_b)

    scope_exits.delete_household(db.session.get(Household, UUID(h["id"])))
    db.session.commit()

    changes, cursor_a, _ = pull_all(client, member_a, cursor=cursor_a)
    assert _notices(changes) == _expected(ids) and len(changes) == len(_expected(ids))
    assert all(c["data"] is None for c in changes)
    assert pull_all(client, member_a, cursor=cursor_a)[0] == []
    assert pull_all(client, member_b, cursor=cursor_b)[0] == []
    fresh, _, _ = pull_all(client, member_a)
    assert all(c["deleted"] for c in _about(fresh, set().union(*ids.values())))
    # The household is gone for pushes too.
    late = push(client, member_a, [visit(h["id"])])[1]["results"][0]
    assert late["status"] == "rejected" and "household_id" in late["errors"]


def test_notices_page_with_the_cursor(client, world):
    member_a = login(client, world.users["member"])
    households = [household(world.hamlets[0].id) for _ in range(3)]
    residents = [resident(h["id"]) for h in households]
    push(client, member_a, [*households, *residents])
    _, cursor, _ = pull_all(client, member_a)
    officer = login(client, world.users["commune_officer"], device_id="office")
    moves = [household(world.hamlets[1].id, item_id=h["id"], base_version=1)
             for h in households]
    push(client, officer, moves, device_id="office")

    changes, cursor, pages = pull_all(client, member_a, cursor=cursor, limit=2)
    assert pages >= 3
    expected = {("household", h["id"]) for h in households} | \
        {("resident", r["id"]) for r in residents}
    assert all(c["deleted"] and c["data"] is None for c in changes)
    assert sorted((c["type"], c["id"]) for c in changes) == sorted(expected)  # each once
    assert pull_all(client, member_a, cursor=cursor, limit=2)[0] == []


def test_a_resident_moved_to_a_household_of_another_hamlet_is_dropped(client, world):
    member_a = login(client, world.users["member"])
    member_b = login(client, world.users["member2"], device_id="phone-b")
    home, elsewhere = household(world.hamlets[0].id), household(world.hamlets[1].id)
    r = resident(home["id"])
    push(client, member_a, [home, r])
    push(client, member_b, [elsewhere], device_id="phone-b")
    _, cursor_a, _ = pull_all(client, member_a)
    officer = login(client, world.users["commune_officer"], device_id="office")
    moved = resident(elsewhere["id"], item_id=r["id"], base_version=1)
    assert statuses(push(client, officer, [moved], device_id="office")[1]) == ["updated"]

    changes, _, _ = pull_all(client, member_a, cursor=cursor_a)
    assert [(c["type"], c["id"], c["deleted"], c["data"]) for c in changes] == [
        ("resident", r["id"], True, None)]


def test_pruned_notices_send_a_phone_that_missed_them_back_to_a_full_pull(client, runner, world):
    """Notices are kept SCOPE_EXIT_RETENTION_DAYS; a phone whose cursor predates a pruned one
    is refused (422 on ``cursor``, which makes the phone pull its copy again from the start),
    while a phone that already had them pulls on as before."""
    from sqlalchemy import func, select, update

    from server.models.scope import ScopeExit
    from server.models.types import utcnow

    member_a = login(client, world.users["member"])
    h, ids = _household_with_people(client, member_a, world.hamlets[0].id)
    everything = set().union(*ids.values())
    _, behind, _ = pull_all(client, member_a)
    _move(client, world, h, world.hamlets[1])
    _, current, _ = pull_all(client, member_a, cursor=behind)  # this phone got the notices

    ours = ScopeExit.hamlet_id.in_(world.hamlet_ids)
    runner.invoke(args=["sync", "prune-exits"])
    assert db.session.scalar(select(func.count()).where(ours)) == len(_expected(ids))  # kept
    db.session.execute(update(ScopeExit).where(ours).values(at=utcnow() - timedelta(days=181)))
    db.session.commit()
    result = runner.invoke(args=["sync", "prune-exits"])
    assert result.exit_code == 0 and "older than 180 days pruned" in result.output, result.output
    assert db.session.scalar(select(func.count()).where(ours)) == 0

    resp = client.get("/api/v1/sync/pull", query_string={"cursor": behind}, headers=member_a)
    assert resp.status_code == 422 and "cursor" in resp.get_json()["error"]["fields"]
    assert pull_all(client, member_a, cursor=current)[0] == []
    fresh, _, _ = pull_all(client, member_a)  # starting over: no copy, nothing to drop
    assert _about(fresh, everything) == []
