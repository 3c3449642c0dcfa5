"""Push: per-item results, idempotency, validation, versions, consent, scope, limits."""
import uuid
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from server.extensions import db
from server.models import AuditEntry, FollowUp, Household, Resident, Visit, VisitService
from tests.conftest import wait_for
from tests.factories import login
from tests.sync_helpers import soon, household, new_id, push, resident, statuses, visit


def _count(model, **where):
    query = select(func.count()).select_from(model)
    for key, value in where.items():
        query = query.where(getattr(model, key) == value)
    db.session.rollback()
    return db.session.scalar(query)


def test_household_resident_and_visit_in_one_batch(client, world):
    headers = login(client, world.users["member"])
    h = household(world.hamlets[0].id)
    r = resident(h["id"])
    v = visit(h["id"], services=[
        {"code": "CKS", "resident_id": r["id"], "result": "done", "provider": "VNPT"},
        {"code": "VNEID", "resident_id": r["id"], "result": "already_had"},
        {"code": "TMDT", "resident_id": None, "result": "in_progress"}],
        follow_up_on=soon())
    code, body = push(client, headers, [h, r, v])
    assert code == 200
    assert statuses(body) == ["created", "created", "created"], body
    assert [x["id"] for x in body["results"]] == [h["id"], r["id"], v["id"]]
    assert body["cursor"]
    stored = db.session.get(Household, uuid.UUID(h["id"]))
    assert stored.phone == "+84912345678" and stored.version == 1
    assert _count(VisitService, visit_id=uuid.UUID(v["id"])) == 3
    assert _count(FollowUp, household_id=stored.id) == 1


def test_mixed_batch_stores_exactly_the_valid_items(client, world):
    headers = login(client, world.users["member"])
    h = household(world.hamlets[0].id)
    first = push(client, headers, [h])[1]
    assert statuses(first) == ["created"]
    stale = household(world.hamlets[0].id, item_id=h["id"], base_version=1, address="Tổ 9")
    push(client, headers, [stale])  # version 2 now
    good_visit = visit(h["id"])
    items = [
        good_visit,
        household(world.hamlets[0].id, item_id=h["id"], base_version=1, address="Tổ 5"),
        visit(h["id"], services=[{"code": "NOPE", "resident_id": None, "result": "done"}]),
        h,                                        # an old create, content differs now → conflict
        dict(good_visit),                         # same visit again in the batch → duplicate
        {"type": "visit", "id": "not-a-uuid", "data": {}},
        "garbage",
        household(world.hamlets[0].id, members_count="four"),
        household(world.hamlets[0].id),           # valid after the broken ones
    ]
    code, body = push(client, headers, items)
    assert code == 200
    assert statuses(body) == ["created", "conflict", "rejected", "conflict", "duplicate",
                              "rejected", "rejected", "rejected", "created"]
    conflict = body["results"][1]
    assert conflict["version"] == 2
    assert conflict["server"]["version"] == 2
    assert conflict["server"]["data"]["address"] == "Tổ 9"
    assert body["results"][2]["codes"] == {"services.0.code": ["unknown_service"]}
    assert "id" in body["results"][5]["errors"]
    assert "members_count" in body["results"][7]["errors"]
    assert _count(Visit, household_id=uuid.UUID(h["id"])) == 1
    assert _count(Household, hamlet_id=world.hamlets[0].id) == 2


def test_retry_of_the_same_push_is_all_duplicate(client, world):
    headers = login(client, world.users["member"])
    h = household(world.hamlets[0].id)
    r = resident(h["id"])
    v = visit(h["id"], services=[{"code": "VNEID", "resident_id": r["id"], "result": "done"}])
    assert statuses(push(client, headers, [h, r, v])[1]) == ["created"] * 3
    code, body = push(client, headers, [h, r, v])
    assert statuses(body) == ["duplicate"] * 3
    assert _count(Visit, household_id=uuid.UUID(h["id"])) == 1
    assert _count(Resident, household_id=uuid.UUID(h["id"])) == 1


def test_visit_id_reused_with_other_content_is_conflict(client, world):
    headers = login(client, world.users["member"])
    h = household(world.hamlets[0].id)
    v = visit(h["id"])
    push(client, headers, [h, v])
    changed = visit(h["id"], item_id=v["id"], outcome="refused")
    body = push(client, headers, [changed])[1]
    assert statuses(body) == ["conflict"]
    assert body["results"][0]["server"]["data"]["outcome"] == "completed"


def test_parallel_identical_pushes_store_once(app, world):
    headers = login(app.test_client(), world.users["member"])
    h = household(world.hamlets[0].id)
    items = [h] + [visit(h["id"]) for _ in range(20)]
    db.session.rollback()  # the test's own session must not hold SQLite's write lock

    def send(_):
        with app.app_context():
            return push(app.test_client(), headers, items)

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(send, range(4)))
    assert all(code == 200 for code, _ in answers)
    created = sum(statuses(body).count("created") for _, body in answers)
    assert created == len(items)
    for _, body in answers:
        assert set(statuses(body)) <= {"created", "duplicate"}
    assert _count(Visit, household_id=uuid.UUID(h["id"])) == 20


def test_validation_names_field_and_reason(client, world):
    headers = login(client, world.users["member"])
    h = household(world.hamlets[0].id)
    r = resident(h["id"])
    push(client, headers, [h, r])
    from datetime import datetime, timedelta, timezone
    future = datetime.now(timezone.utc) + timedelta(days=2)
    items = [
        visit(h["id"], when=future),
        visit(h["id"], location={"lat": 123, "lon": 107.4}),
        visit(h["id"], services=[{"code": "CKS", "resident_id": new_id(), "result": "done"}]),
        visit(h["id"], services=[{"code": "CKS", "resident_id": None, "result": "done"}]),
        visit(h["id"], services=[{"code": "CKS", "resident_id": r["id"], "result": "done",
                                  "provider": "Acme"}]),
        visit(h["id"], outcome="maybe"),
        household(world.hamlets[0].id, phone="12"),
        household(99999999),
        resident(new_id()),
        visit(new_id()),
    ]
    body = push(client, headers, items)[1]
    assert statuses(body) == ["rejected"] * len(items)
    errors = [r["errors"] for r in body["results"]]
    codes = [r["codes"] for r in body["results"]]
    assert codes[0] == {"visited_at": ["in_future"]} and "future" in errors[0]["visited_at"][0]
    assert "location.lat" in errors[1]
    assert codes[2] == {"services.0.resident_id": ["not_household_member"]}
    assert "services.0.resident_id" in errors[3]
    assert "services.0.provider" in errors[4]
    assert "outcome" in errors[5]
    assert codes[6] == {"phone": ["invalid_phone"]}
    assert codes[7] == {"hamlet_id": ["unknown_hamlet"]}
    assert "household_id" in errors[8] and "household_id" in errors[9]


def test_household_edit_with_current_base_updates(client, world):
    headers = login(client, world.users["member"])
    h = household(world.hamlets[0].id)
    push(client, headers, [h])
    edit = household(world.hamlets[0].id, item_id=h["id"], base_version=1, members_count=5)
    body = push(client, headers, [edit])[1]
    assert statuses(body) == ["updated"] and body["results"][0]["version"] == 2
    assert statuses(push(client, headers, [edit])[1]) == ["duplicate"]  # retried edit


def test_consent_withdrawal_erases_name_and_phone_and_is_audited(client, world):
    headers = login(client, world.users["member"])
    h = household(world.hamlets[0].id)
    r = resident(h["id"], phone="0987654321")
    push(client, headers, [h, r])
    withdraw = resident(h["id"], item_id=r["id"], base_version=1, given=False,
                        phone="0987654321")
    body = push(client, headers, [withdraw])[1]
    assert statuses(body) == ["updated"]
    row = db.session.get(Resident, uuid.UUID(r["id"]))
    db.session.refresh(row)
    assert row.full_name is None and row.phone is None and row.anonymised
    assert row.birth_year == 1968 and row.sex == "F"
    assert _count(AuditEntry, action="consent.withdraw", entity_id=r["id"]) == 1
    assert statuses(push(client, headers, [withdraw])[1]) == ["duplicate"]


def test_scope_escapes_are_rejected_and_reveal_nothing(client, world, other_world):
    mine = login(client, world.users["member"])
    theirs = login(client, other_world.users["member"])
    h = household(other_world.hamlets[0].id)
    push(client, theirs, [h])
    # Another hamlet of my own commune but not my team's, another commune's hamlet and household.
    items = [household(world.hamlets[1].id), household(other_world.hamlets[0].id),
             visit(h["id"]), resident(h["id"]),
             household(world.hamlets[0].id, item_id=h["id"])]
    body = push(client, mine, items)[1]
    assert statuses(body) == ["rejected"] * 5
    assert all(r["server"] is None for r in body["results"])
    assert body["results"][0]["codes"] == {"hamlet_id": ["out_of_scope"]}


def test_province_analyst_cannot_push(client, world):
    headers = login(client, world.users["province_analyst"])
    code, body = push(client, headers, [household(world.hamlets[0].id)])
    assert code == 403 and body["error"]["code"] == "forbidden"


def test_limits_give_413(client, world, app):
    headers = login(client, world.users["member"])
    code, body = push(client, headers, [household(world.hamlets[0].id)] * 501)
    assert code == 413 and body["error"]["code"] == "payload_too_large"
    big = household(world.hamlets[0].id, address="x" * 200)
    many = [dict(big, id=new_id()) for _ in range(500)]
    many[0]["data"] = dict(big["data"], notes="y" * (2 * 1024 * 1024))
    code, body = push(client, headers, many)
    assert code == 413
    assert _count(Household, hamlet_id=world.hamlets[0].id) == 0


def test_broken_envelope_stores_nothing(client, world):
    headers = login(client, world.users["member"])
    resp = client.post("/api/v1/sync/push", data="{nope", headers=headers,
                       content_type="application/json")
    assert resp.status_code == 400
    resp = client.post("/api/v1/sync/push", json={"device_id": "x", "items": "many"},
                       headers=headers)
    assert resp.status_code == 422 and "items" in resp.get_json()["error"]["fields"]
    resp = client.post("/api/v1/sync/push", json={"items": [household(world.hamlets[0].id)]},
                       headers=headers)
    assert resp.status_code == 422
    assert _count(Household, hamlet_id=world.hamlets[0].id) == 0


def test_push_refreshes_hamlet_aggregates(client, world):
    from server.models import HamletMonth
    headers = login(client, world.users["member"])
    h = household(world.hamlets[0].id)
    push(client, headers, [h, visit(h["id"]), visit(h["id"], outcome="not_home")])
    row = wait_for(lambda: db.session.scalar(
        select(HamletMonth).where(HamletMonth.hamlet_id == world.hamlets[0].id)))
    assert row is not None and row.visits == 2 and row.households_reached == 1


def test_pulled_data_can_be_pushed_back_as_an_edit(client, world):
    from tests.sync_helpers import pull_all
    headers = login(client, world.users["member"])
    h = household(world.hamlets[0].id)
    r = resident(h["id"])
    push(client, headers, [h, r])
    changes, _, _ = pull_all(client, headers)
    pulled = {c["id"]: c for c in changes}
    hh, rr = pulled[h["id"]], pulled[r["id"]]
    hh["data"]["address"] = "Tổ 8"
    rr["data"]["birth_year"] = 1969
    body = push(client, headers, [
        {"type": "household", "id": h["id"], "base_version": hh["version"], "data": hh["data"]},
        {"type": "resident", "id": r["id"], "base_version": rr["version"], "data": rr["data"]},
        household(world.hamlets[0].id, typo_field=1)])[1]
    assert statuses(body) == ["updated", "updated", "rejected"]
    assert body["results"][2]["codes"] == {"typo_field": ["unknown_field"]}


def test_same_ids_racing_from_two_communes_are_stored_once(app, world, other_world):
    """Two communes push the same visit id at once: one stores it, the other is refused."""
    client = app.test_client()
    ours, theirs = login(client, world.users["member"]), login(client, other_world.users["member"])
    h_ours, h_theirs = household(world.hamlets[0].id), household(other_world.hamlets[0].id)
    push(client, ours, [h_ours])
    push(client, theirs, [h_theirs])
    shared = [new_id() for _ in range(400)]
    batches = {
        "ours": (ours, [visit(h_ours["id"], item_id=i) for i in shared]),
        "theirs": (theirs, [visit(h_theirs["id"], item_id=i) for i in shared]),
    }
    db.session.rollback()

    def send(name):
        headers, items = batches[name]
        with app.app_context():
            return push(app.test_client(), headers, items)

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = dict(zip(batches, pool.map(send, batches)))
    per_id = list(zip(statuses(answers["ours"][1]), statuses(answers["theirs"][1])))
    assert all(sorted(pair) == ["created", "rejected"] for pair in per_id), per_id
    stored = _count(Visit, household_id=uuid.UUID(h_ours["id"])) + _count(
        Visit, household_id=uuid.UUID(h_theirs["id"]))
    assert stored == len(shared)


def test_moving_a_household_moves_its_residents(client, world):
    headers = login(client, world.users["commune_officer"])
    h = household(world.hamlets[0].id)
    stored, fresh = resident(h["id"]), resident(h["id"], full_name="Lê Văn D")
    push(client, headers, [h, stored])
    moved = household(world.hamlets[1].id, item_id=h["id"], base_version=1)
    assert statuses(push(client, headers, [fresh, moved])[1]) == ["created", "updated"]
    db.session.rollback()
    hamlets = set(db.session.scalars(select(Resident.hamlet_id).where(
        Resident.household_id == uuid.UUID(h["id"]))))
    assert hamlets == {world.hamlets[1].id}
