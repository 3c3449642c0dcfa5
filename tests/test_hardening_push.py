"""One bad item never costs the others: hostile numbers, strings, dates and shapes in a push are
each one ``rejected`` result with a field error and a stable code, and every good item is stored."""
import json
import uuid

import pytest
from sqlalchemy import func, select, text

from server.extensions import db
from server.models import Household, Resident, Visit
from server.vocab import ERROR_CODES
from tests.conftest import ENGINE
from tests.factories import login
from tests.sync_helpers import household, push, resident, soon, statuses, visit


def _raw_push(client, headers, items):
    """POST items serialised by hand, so lone surrogates and NULs reach the server as JSON escapes."""
    body = json.dumps({"device_id": "phone-1", "items": items}, ensure_ascii=True)
    resp = client.post("/api/v1/sync/push", data=body, content_type="application/json",
                       headers=headers)
    return resp.status_code, resp.get_json()


def _stored(model, item):
    db.session.rollback()
    return db.session.get(model, uuid.UUID(item["id"])) is not None


def _poisoned_batch(client, headers, world, poison):
    """``poison`` between two good households; asserts the good ones are stored."""
    before, after = household(world.hamlets[0].id), household(world.hamlets[0].id)
    code, body = _raw_push(client, headers, [before, poison, after])
    assert code == 200, body
    assert statuses(body)[0] == "created" and statuses(body)[2] == "created", body
    assert _stored(Household, before) and _stored(Household, after)
    result = body["results"][1]
    assert result["status"] == "rejected", result
    assert result["errors"] and set(result["codes"]) == set(result["errors"])
    assert all(code in ERROR_CODES for codes in result["codes"].values() for code in codes)
    return result


@pytest.mark.parametrize("hamlet_id", [99999999999999999999999, 2**31, -2**31 - 1, 2**63])
def test_integers_beyond_the_columns_range_are_one_rejected_item(client, world, hamlet_id):
    headers = login(client, world.users["member"])
    result = _poisoned_batch(client, headers, world, household(hamlet_id))
    assert result["codes"] == {"hamlet_id": ["out_of_range"]}


@pytest.mark.parametrize("field", ["address", "head_name", "phone"])
@pytest.mark.parametrize("poison", ["\ud800", "Nguy\udfffn", "A\x00B", "\x00"])
def test_lone_surrogates_and_nul_in_any_string_are_rejected(client, world, field, poison):
    headers = login(client, world.users["member"])
    result = _poisoned_batch(client, headers, world,
                             household(world.hamlets[0].id, **{field: poison}))
    assert result["codes"][field] == ["bad_characters"]


def test_surrogates_in_a_visit_note_a_service_detail_and_a_resident_name(client, world):
    headers = login(client, world.users["member"])
    h = household(world.hamlets[0].id)
    r = resident(h["id"])
    assert statuses(push(client, headers, [h, r])[1]) == ["created", "created"]
    bad = [visit(h["id"], notes="ghi chú \ud83d"),
           visit(h["id"], services=[{"code": "KHAC", "resident_id": r["id"], "result": "done",
                                     "detail": "x\udc00"}]),
           resident(h["id"], full_name="Lê \ud800Văn")]
    good = visit(h["id"])
    code, body = _raw_push(client, headers, bad + [good])
    assert code == 200
    assert statuses(body) == ["rejected"] * 3 + ["created"]
    assert body["results"][0]["codes"] == {"notes": ["bad_characters"]}
    assert body["results"][1]["codes"] == {"services.0.detail": ["bad_characters"]}
    assert body["results"][2]["codes"] == {"full_name": ["bad_characters"]}
    assert _stored(Visit, good)


@pytest.mark.parametrize("name,code", [
    ("Nguyễn\u202eVăn A", "bad_characters"),      # right-to-left override
    ("Nguyễn\u200bVăn A", "bad_characters"),      # zero-width space
    ("Trần\u0007Thị", "bad_characters"),          # a control character
    ("   ", "blank"),
    ("\t \u3000", "blank"),
    ("A" * 161, "too_long"),
])
def test_names_refuse_invisible_control_and_empty_text(client, world, name, code):
    headers = login(client, world.users["member"])
    result = _poisoned_batch(client, headers, world,
                             household(world.hamlets[0].id, head_name=name))
    assert result["codes"] == {"head_name": [code]}


def test_names_are_stored_nfc_and_tidy_so_a_retry_in_another_normal_form_is_a_duplicate(
        client, world):
    headers = login(client, world.users["member"])
    composed = "Nguyễn Thị Ánh"
    decomposed = "Nguye\u0302\u0303n \t Thi\u0323\nA\u0301nh\u00a0"  # NFD, odd spaces, a line
    h = household(world.hamlets[0].id, head_name=decomposed)
    assert statuses(push(client, headers, [h])[1]) == ["created"]
    row = db.session.get(Household, uuid.UUID(h["id"]))
    assert row.head_name == composed
    retry = dict(h, data=dict(h["data"], head_name=composed))
    assert statuses(push(client, headers, [retry])[1]) == ["duplicate"]


@pytest.mark.parametrize("change,path,code", [
    ({"birth_year": 2100}, "birth_year", "out_of_range"),
    ({"birth_year": 1850}, "birth_year", "out_of_range"),
    ({"birth_year": "1968"}, "birth_year", "wrong_type"),
    ({"birth_year": True}, "birth_year", "wrong_type"),
    ({"birth_year": 1968.0}, "birth_year", "wrong_type"),
    ({"sex": "male"}, "sex", "not_allowed"),
    ({"phone": "0123456789"}, "phone", "invalid_phone"),
    ({"consent": {"given": True, "purposes": ["support"], "at": "0001-01-01T00:00:00+07:00"}},
     "consent.at", None),
    ({"consent": {"given": True, "purposes": ["support"], "at": "9999-12-31T23:59:59+07:00"}},
     "consent.at", None),
    ({"consent": {"given": True, "purposes": ["support"], "at": "2025-10-05T09:10:00"}},
     "consent.at", "not_datetime"),
    ({"consent": {"given": "yes", "purposes": [], "at": "2025-10-05T09:10:00+07:00"}},
     "consent.given", "wrong_type"),
    ({"consent": {"given": True, "purposes": ["sell"], "at": "2025-10-05T09:10:00+07:00"}},
     "consent.purposes.0", "not_allowed"),
])
def test_resident_values_out_of_bounds_are_rejected_with_a_code(client, world, change, path, code):
    headers = login(client, world.users["member"])
    h = household(world.hamlets[0].id)
    push(client, headers, [h])
    good = resident(h["id"])
    code_, body = _raw_push(client, headers, [resident(h["id"], **change), good])
    assert code_ == 200
    assert statuses(body) == ["rejected", "created"], body
    codes = body["results"][0]["codes"]
    assert path in codes, codes
    if code is not None:
        assert codes[path] == [code]
    else:  # year 1 and 9999: either bound or out of range, never stored
        assert codes[path][0] in ("too_old", "in_future", "out_of_range")


@pytest.mark.parametrize("change,path,code", [
    ({"follow_up_on": "9999-12-31"}, "follow_up_on", "too_far_ahead"),
    ({"follow_up_on": "0001-01-01"}, "follow_up_on", "too_old"),
    ({"follow_up_on": "2020-01-01"}, "follow_up_on", "before_visit"),
    ({"follow_up_on": soon(400)}, "follow_up_on", "too_far_ahead"),
    ({"visited_at": "2019-12-31T10:00:00+07:00"}, "visited_at", "too_old"),
    ({"visited_at": "2025-10-05 09:12"}, "visited_at", "not_datetime"),
    ({"location": {"lat": 1e400, "lon": 107.4}}, "location.lat", "out_of_range"),
    ({"location": {"lat": "10.9", "lon": 107.4}}, "location.lat", "wrong_type"),
    ({"outcome": None}, "outcome", "null"),
    ({"notes": "x" * 4001}, "notes", "too_long"),
    ({"services": "CKS"}, "services", "wrong_type"),
    ({"services": [None]}, "services.0", None),
    ({"extra": 1}, "extra", "unknown_field"),
])
def test_visit_values_out_of_bounds_are_rejected_with_a_code(client, world, change, path, code):
    headers = login(client, world.users["member"])
    h = household(world.hamlets[0].id)
    push(client, headers, [h])
    good = visit(h["id"])
    poisoned = visit(h["id"])
    poisoned["data"].update(change)
    body_text = json.dumps({"device_id": "p", "items": [poisoned, good]})
    body_text = body_text.replace('"lat": Infinity', '"lat": 1e400')  # json.dumps writes inf so
    resp = client.post("/api/v1/sync/push", data=body_text, content_type="application/json",
                       headers=headers)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert statuses(body) == ["rejected", "created"], body
    codes = body["results"][0]["codes"]
    assert path in codes, codes
    if code is not None:
        assert codes[path] == [code]


def test_a_null_or_non_object_item_is_one_rejected_result(client, world):
    headers = login(client, world.users["member"])
    good = household(world.hamlets[0].id)
    code, body = push(client, headers, [None, 7, [], "x", good])
    assert code == 200
    assert statuses(body) == ["rejected"] * 4 + ["created"]
    assert body["results"][0]["codes"] == {"_item": ["not_object"]}


def test_hostile_keys_and_ids_are_echoed_safely(client, world):
    headers = login(client, world.users["member"])
    good = household(world.hamlets[0].id)
    weird = household(world.hamlets[0].id)
    weird["data"]["\ud800\x00" + "k" * 5000] = 1
    many = household(world.hamlets[0].id)
    for i in range(3000):
        many["data"][f"f{i}"] = i
    odd_id = {"type": "\ud800", "id": "\x00" * 10000, "data": {}}
    code, body = _raw_push(client, headers, [weird, many, odd_id, good])
    assert code == 200, body
    assert statuses(body) == ["rejected", "rejected", "rejected", "created"]
    (key,) = body["results"][0]["errors"]
    assert len(key) <= 200 and key.isprintable()
    assert len(body["results"][1]["errors"]) <= 50
    assert len(body["results"][2]["id"]) <= 300


def test_login_with_nul_or_surrogates_is_a_422_not_a_500(client, world):
    for username, password in [("demo\x00", "x"), ("\ud800", "x"), ("member", "pw\ud800")]:
        body = json.dumps({"username": username, "password": password, "device_id": "d"})
        resp = client.post("/api/v1/auth/token", data=body, content_type="application/json")
        assert resp.status_code == 422, resp.get_data(as_text=True)
        assert resp.get_json()["error"]["code"] == "validation_error"


@pytest.fixture
def poisoned_address(app):
    """A database trigger that refuses one address: a value only the database objects to."""
    if ENGINE == "sqlite":
        db.session.execute(text(
            "CREATE TRIGGER poison BEFORE INSERT ON households WHEN NEW.address = 'poison' "
            "BEGIN SELECT RAISE(ABORT, 'poisoned row'); END"))
        db.session.commit()
        yield
        return
    db.session.execute(text(
        "CREATE OR REPLACE FUNCTION poison() RETURNS trigger AS $$ BEGIN "
        "IF NEW.address = 'poison' THEN RAISE EXCEPTION 'poisoned row' USING ERRCODE = '22000'; "
        "END IF; RETURN NEW; END $$ LANGUAGE plpgsql"))
    db.session.execute(text("CREATE TRIGGER poison BEFORE INSERT ON households "
                            "FOR EACH ROW EXECUTE FUNCTION poison()"))
    db.session.commit()
    yield
    db.session.rollback()
    db.session.execute(text("DROP TRIGGER poison ON households"))
    db.session.execute(text("DROP FUNCTION poison()"))
    db.session.commit()


def test_a_row_the_database_refuses_costs_only_its_own_item(client, world, poisoned_address):
    headers = login(client, world.users["member"])
    good = [household(world.hamlets[0].id) for _ in range(3)]
    h = good[0]
    items = [good[0], resident(h["id"]), household(world.hamlets[0].id, address="poison"),
             good[1], visit(h["id"]), good[2]]
    code, body = push(client, headers, items)
    assert code == 200, body
    assert statuses(body) == ["created", "created", "rejected", "created", "created", "created"]
    assert body["results"][2]["codes"]["_item"][0] in ("unstorable", "concurrent_change")
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Household)
                             .where(Household.hamlet_id == world.hamlets[0].id)) == 3
    assert _stored(Resident, items[1]) and _stored(Visit, items[4])
    # The phone's retry of the same batch: the good items are duplicates, the bad one still refused.
    again = push(client, headers, items)[1]
    assert statuses(again) == ["duplicate", "duplicate", "rejected", "duplicate", "duplicate",
                               "duplicate"]



@pytest.mark.parametrize("notes", ["", None, "   "])
def test_empty_optional_text_is_stored_empty(client, world, notes):
    headers = login(client, world.users["member"])
    h = household(world.hamlets[0].id, head_name="", phone="")
    v = visit(h["id"], notes=notes)
    code, body = push(client, headers, [h, v])
    assert code == 200
    if notes == "   ":
        assert statuses(body) == ["created", "rejected"]
        assert body["results"][1]["codes"] == {"notes": ["blank"]}
    else:
        assert statuses(body) == ["created", "created"], body
        db.session.rollback()
        assert db.session.get(Visit, uuid.UUID(v["id"])).notes == ""
    stored = db.session.get(Household, uuid.UUID(h["id"]))
    assert stored.head_name is None and stored.phone is None
