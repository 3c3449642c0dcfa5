"""Pull: pages through everything in scope, nothing outside it, and carries consent changes."""
from tests.factories import login
from tests.sync_helpers import soon, household, pull_all, push, resident, visit


def _ids(changes, kind):
    return {c["id"] for c in changes if c["type"] == kind}


def test_first_pull_has_catalogue_hamlets_and_only_own_records(client, world, other_world):
    mine = login(client, world.users["member"])
    theirs = login(client, other_world.users["member"])
    own = household(world.hamlets[0].id)
    neighbour_team = household(world.hamlets[1].id)
    foreign = household(other_world.hamlets[0].id)
    push(client, mine, [own, resident(own["id"])])
    push(client, login(client, world.users["member2"]), [neighbour_team])
    push(client, theirs, [foreign, resident(foreign["id"])])

    changes, cursor, _ = pull_all(client, mine)
    services = {c["id"]: c["data"] for c in changes if c["type"] == "service"}
    assert {"VNEID", "CKS", "TMDT", "KHAC"} <= set(services)
    assert services["CKS"]["providers"][:3] == ["VNPT", "Viettel", "FPT"]
    assert _ids(changes, "hamlet") == {str(world.hamlets[0].id)}
    assert _ids(changes, "household") == {own["id"]}
    assert len(_ids(changes, "resident")) == 1
    assert foreign["id"] not in str(changes) and neighbour_team["id"] not in str(changes)
    hamlet = next(c for c in changes if c["type"] == "hamlet")["data"]
    assert hamlet["commune_code"] == world.commune.code

    again, _, _ = pull_all(client, mine, cursor=cursor)
    assert again == []


def test_pull_pages_through_everything_in_order(client, world):
    headers = login(client, world.users["member"])
    households = [household(world.hamlets[0].id) for _ in range(23)]
    push(client, headers, households)
    changes, _, pages = pull_all(client, headers, limit=5)
    assert _ids(changes, "household") == {h["id"] for h in households}
    assert pages >= 8
    ids = [(c["type"], c["id"]) for c in changes]
    assert len(ids) == len(set(ids))  # each change once


def test_pull_after_cursor_returns_only_new_changes(client, world):
    headers = login(client, world.users["member"])
    first = household(world.hamlets[0].id)
    push(client, headers, [first])
    _, cursor, _ = pull_all(client, headers)
    second = household(world.hamlets[0].id)
    edit = household(world.hamlets[0].id, item_id=first["id"], base_version=1, address="Tổ 7")
    push(client, headers, [second, edit])
    changes, _, _ = pull_all(client, headers, cursor=cursor)
    assert [(c["id"], c["version"]) for c in changes] == [(second["id"], 1), (first["id"], 2)]
    assert changes[1]["data"]["address"] == "Tổ 7"


def test_consent_withdrawal_reaches_other_phones(client, world):
    member = login(client, world.users["member"])
    lead = login(client, world.users["team_lead"], device_id="lead-phone")
    h = household(world.hamlets[0].id)
    r = resident(h["id"], phone="0987654321")
    push(client, member, [h, r])
    _, lead_cursor, _ = pull_all(client, lead)
    push(client, member, [resident(h["id"], item_id=r["id"], base_version=1, given=False)])
    changes, _, _ = pull_all(client, lead, cursor=lead_cursor)
    (change,) = [c for c in changes if c["id"] == r["id"]]
    assert change["data"]["full_name"] is None and change["data"]["phone"] is None
    assert change["data"]["anonymised"] is True
    assert change["data"]["consent"]["given"] is False
    assert change["data"]["consent"]["withdrawn_at"]


def test_followups_are_pulled_and_closed_by_a_later_visit(client, world):
    headers = login(client, world.users["member"])
    h = household(world.hamlets[0].id)
    push(client, headers, [h, visit(h["id"], outcome="partial", follow_up_on=soon())])
    changes, cursor, _ = pull_all(client, headers)
    (followup,) = [c for c in changes if c["type"] == "followup"]
    assert followup["data"]["status"] == "open" and followup["data"]["household_id"] == h["id"]
    push(client, headers, [visit(h["id"], outcome="completed")])
    changes, _, _ = pull_all(client, headers, cursor=cursor)
    assert [(c["id"], c["data"]["status"]) for c in changes if c["type"] == "followup"] == [
        (followup["id"], "done")]


def test_bad_cursor_is_422_and_roles_are_enforced(client, world):
    headers = login(client, world.users["member"])
    resp = client.get("/api/v1/sync/pull?cursor=bogus", headers=headers)
    assert resp.status_code == 422 and "cursor" in resp.get_json()["error"]["fields"]
    resp = client.get("/api/v1/sync/pull", headers=login(client, world.users["province_analyst"]))
    assert resp.status_code == 403
    assert client.get("/api/v1/sync/pull").status_code == 401


def test_commune_officer_pulls_every_hamlet_of_the_commune(client, world, other_world):
    push(client, login(client, world.users["member"]), [household(world.hamlets[0].id)])
    push(client, login(client, world.users["member2"]), [household(world.hamlets[1].id)])
    push(client, login(client, other_world.users["member"]), [household(other_world.hamlets[0].id)])
    changes, _, _ = pull_all(client, login(client, world.users["commune_officer"]))
    assert {c["data"]["hamlet_id"] for c in changes if c["type"] == "household"} == set(
        world.hamlet_ids)


def test_visits_endpoint_is_scoped(client, world, other_world):
    mine = login(client, world.users["member"])
    h = household(world.hamlets[0].id)
    v = visit(h["id"], services=[{"code": "TMDT", "resident_id": None, "result": "done"}])
    push(client, mine, [h, v])
    resp = client.get(f"/api/v1/visits?household_id={h['id']}", headers=mine)
    assert resp.status_code == 200
    (got,) = resp.get_json()["visits"]
    assert got["id"] == v["id"] and got["services"][0]["code"] == "TMDT"
    other = login(client, other_world.users["member"])
    assert client.get(f"/api/v1/visits?household_id={h['id']}", headers=other).status_code == 403
