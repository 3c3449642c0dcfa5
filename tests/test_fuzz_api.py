"""Fuzzing: no generated request is a 5xx, and every error is the documented JSON shape.

Two generators, bounded and derandomised so a run is reproducible and takes well under a minute
per engine:
- schemathesis reads the app's own ``/api/v1/openapi.json`` and sends, to every operation, data
  that fits the document and data that breaks it, with a real member's token; each operation's
  answers must be documented (status, content type, body schema);
- hypothesis builds push batches of valid records with ONE poisoned item at a random position:
  only that item is rejected (with ``errors`` and ``codes``), every other one is stored.
"""
import json
import shutil
import uuid

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (content_type_conformance, not_a_server_error,
                                 response_schema_conformance, status_code_conformance)

from server import create_app
from server.extensions import db
from server.models import Household, Resident, Visit
from server.vocab import ERROR_CODES, JSON_MAX_DEPTH
from tests.conftest import ENGINE, _config
from tests.factories import login, make_world
from tests.sync_helpers import household, resident, soon, visit

SPEC_URL = "/api/v1/openapi.json"
PUSH = "/api/v1/sync/push"
FUZZ = settings(max_examples=15, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck), print_blob=True)
POISON = settings(max_examples=50, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck), print_blob=True)


# ---- schemathesis against the OpenAPI document ---------------------------------------------

def _operations():
    # The document, not a list kept here, says what to fuzz: a new endpoint is fuzzed at once.
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    spec = app.test_client().get(SPEC_URL).get_json()
    return sorted((method.upper(), path) for path, item in spec["paths"].items()
                  for method in item if method in ("get", "put", "post", "patch", "delete"))


class Target:
    """One app for the whole module (a fresh one per operation would double the run time)."""

    def __init__(self, app, world):
        self.app, self.world, self.client = app, world, app.test_client()
        self.headers = login(self.client, world.users["member"])
        self.schema = schemathesis.openapi.from_wsgi(SPEC_URL, app)


@pytest.fixture(scope="module")
def target(database_template, media_root, rq_worker, tmp_path_factory):
    """The app, a world with a household in it, a member's token and the loaded schema."""
    url = database_template
    if ENGINE == "sqlite":
        path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
        shutil.copy(database_template, path)
        url = f"sqlite:///{path}"
    app = create_app(_config(url, media_root))
    with app.app_context():
        made = Target(app, make_world())
        resp = made.client.post(PUSH, headers=made.headers, json={
            "device_id": "fuzz", "items": [household(made.world.hamlets[0].id)]})
        assert resp.status_code == 200
        yield made
        db.session.remove()
        db.engine.dispose()


def _check_error_shape(response):
    if response.status_code >= 400:
        content_type = (response.headers.get("content-type") or [""])[0]
        assert content_type.startswith("application/json"), f"{response.status_code} is not JSON"
        body = json.loads(response.content)
        assert set(body) == {"error"}
        assert set(body["error"]) == {"code", "message", "fields"}
        assert isinstance(body["error"]["code"], str) and body["error"]["code"]
        assert isinstance(body["error"]["fields"], dict)


@pytest.mark.parametrize("method, path", _operations())
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_openapi_operations_never_fail_with_5xx(target, method, path, mode):
    operation = target.schema[path][method]
    seen = set()

    @FUZZ
    @given(case=operation.as_strategy(generation_mode=mode))
    def fuzz(case):
        headers = dict(target.headers)
        if (method, path) == ("DELETE", "/api/v1/auth/token"):
            headers = login(target.client, target.world.users["member"])  # it revokes its token
        # Schemathesis's WSGI transport offers gzip like `requests` but does not decode it.
        headers["Accept-Encoding"] = "identity"
        response = case.call(headers=headers)
        seen.add(response.status_code)
        case.validate_response(response, headers=headers, checks=[
            not_a_server_error, status_code_conformance, content_type_conformance,
            response_schema_conformance])
        _check_error_shape(response)

    try:
        fuzz()
    except Unsatisfiable:
        assert mode == GenerationMode.NEGATIVE  # nothing to break: no parameters, no body
        pytest.skip("the operation takes nothing that could be invalid")
    # The "default" response covers anything; each status seen must also be named on its own.
    documented = {int(s) for s in target.schema.raw_schema["paths"][path][method.lower()]
                  ["responses"] if s != "default"}
    assert seen <= documented, f"undocumented statuses {seen - documented}"


# ---- push batches with one poisoned item ---------------------------------------------------

RAW = "@@raw:"  # a string standing for a raw JSON token that Python cannot produce (1e400)
BAD_CHARACTERS = ["\x00", "\x07", "\x1b", "\x7f", "\ud800", "\udfff", "\u202e", "\u2066"]
HUGE_NUMBERS = [2**31, -(2**31) - 1, 2**63, 10**30, -(10**30), RAW + "1e400", RAW + "-1e400"]


def _deep(depth):
    value = 1
    for _ in range(depth):
        value = {"x_deep": value}
    return value


letters = st.text(st.characters(categories=["L"]), max_size=8)
poisoned_text = st.one_of(
    st.builds(lambda before, bad, after: before + bad + after,
              letters, st.sampled_from(BAD_CHARACTERS), letters),
    st.just("x" * 5000),  # longer than any text field
)
nasty_scalar = st.one_of(st.sampled_from(HUGE_NUMBERS), poisoned_text)
# Each value below is invalid wherever a record field is expected (booleans and null only where
# the paths say so): a list or object is never a scalar, and a list or object made of nasty
# values is no valid list or object either.
poison_value = st.one_of(
    nasty_scalar,
    st.lists(nasty_scalar, min_size=1, max_size=3),
    st.dictionaries(st.sampled_from(["x_a", "x_\ud800", "x_\u202e", "x_\x00"]), nasty_scalar,
                    min_size=1, max_size=2),
    st.integers(min_value=1, max_value=20).map(_deep),
)

# path in the item -> (may be null, may be a boolean)
ITEM_PATHS = {"type": (False, True), "id": (False, True), "data": (False, True),
              "base_version": (True, True)}
DATA_PATHS = {
    "household": {"hamlet_id": (False, True), "address": (False, True),
                  "head_name": (True, True), "members_count": (True, True),
                  "adults_count": (True, True), "phone": (True, True), "location": (True, True),
                  "location.lat": (False, True), "location.lon": (False, True),
                  "location.accuracy_m": (True, True)},
    "resident": {"household_id": (False, True), "full_name": (True, True),
                 "birth_year": (True, True), "sex": (True, True), "phone": (True, True),
                 "consent": (False, True), "consent.given": (False, False),
                 "consent.purposes": (False, True), "consent.at": (False, True)},
    "visit": {"household_id": (False, True), "visited_at": (False, True),
              "location.lon": (False, True), "outcome": (False, True), "notes": (True, True),
              "services": (False, True), "services.0": (False, True),
              "services.0.code": (False, True), "services.0.result": (False, True),
              "services.0.provider": (True, True), "follow_up_on": (True, True)},
}


def _paths(kind):
    return {**ITEM_PATHS, **{f"data.{path}": rule for path, rule in DATA_PATHS[kind].items()}}


def _set(item, path, value):
    node = item
    *parents, last = path.split(".")
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


@st.composite
def poisoned_item(draw, household_id, resident_id, hamlet_id):
    """One item that no server may store: a record with one field poisoned, or not a record."""
    kind = draw(st.sampled_from(["household", "resident", "visit", "extra_key", "not_object"]))
    item_id = str(uuid.uuid4())
    if kind == "not_object":
        return draw(st.one_of(st.none(), st.booleans(), nasty_scalar,
                              st.lists(nasty_scalar, max_size=2)))
    template = draw(st.sampled_from(["household", "resident", "visit"])) \
        if kind == "extra_key" else kind
    item = {
        "household": lambda: household(hamlet_id, item_id=item_id),
        "resident": lambda: resident(household_id, item_id=item_id),
        "visit": lambda: visit(household_id, item_id=item_id, services=[
            {"code": "VNEID", "resident_id": resident_id, "result": "done"}]),
    }[template]()
    if kind == "extra_key":
        key = "x_" + draw(st.text(max_size=6))
        where = item if draw(st.booleans()) else item["data"]
        where[key] = draw(st.one_of(st.none(), st.booleans(), poison_value))
        return item
    paths = _paths(kind)
    path = draw(st.sampled_from(sorted(paths)))
    nullable, boolable = paths[path]
    choices = [poison_value]
    if not nullable:
        choices.append(st.none())
    if boolable:
        choices.append(st.booleans())
    _set(item, path, draw(st.one_of(*choices)))
    return item


def _encode(body):
    text = json.dumps(body)  # ASCII: lone surrogates travel as \ud800 escapes
    for number in HUGE_NUMBERS:
        if isinstance(number, str):
            text = text.replace(json.dumps(number), number[len(RAW):])
    return text


def _stored(item):
    model = {"household": Household, "resident": Resident, "visit": Visit}[item["type"]]
    return db.session.get(model, uuid.UUID(item["id"])) is not None


def test_one_poisoned_item_is_rejected_and_every_other_item_stored(client, world):
    headers = login(client, world.users["member"])
    hamlet_id = world.hamlets[0].id

    @POISON
    @given(data=st.data())
    def check(data):
        # Fresh ids each time (ids never decide validity): replayed examples must not collide.
        ids = [str(uuid.uuid4()) for _ in range(5)]
        h1 = household(hamlet_id, item_id=ids[0])
        r1 = resident(ids[0], item_id=ids[1])
        good = [
            h1, r1,
            visit(ids[0], item_id=ids[2], follow_up_on=soon(), services=[
                {"code": "CKS", "resident_id": ids[1], "result": "done", "provider": "VNPT"},
                {"code": "VNEID", "resident_id": ids[1], "result": "already_had"},
                {"code": "TMDT", "resident_id": None, "result": "in_progress"}]),
            household(hamlet_id, item_id=ids[3], phone=None, location=None),
            visit(ids[3], item_id=ids[4], outcome="not_home"),
        ]
        bad = data.draw(poisoned_item(ids[0], ids[1], hamlet_id), label="poisoned")
        at = data.draw(st.integers(min_value=0, max_value=len(good)), label="position")
        items = good[:at] + [bad] + good[at:]

        resp = client.post(PUSH, data=_encode({"device_id": "fuzz", "items": items}),
                           content_type="application/json", headers=headers)

        assert resp.status_code == 200, resp.get_data(as_text=True)[:2000]
        results = resp.get_json()["results"]
        assert len(results) == len(items)
        rejected = results.pop(at)
        assert rejected["status"] == "rejected", rejected
        assert rejected["errors"] and rejected["codes"], rejected
        assert set(rejected["codes"]) == set(rejected["errors"])
        assert {c for codes in rejected["codes"].values() for c in codes} <= set(ERROR_CODES)
        assert [r["status"] for r in results] == ["created"] * len(good), results
        db.session.rollback()
        assert all(_stored(item) for item in good)

    check()


def test_poison_values_fit_in_the_depth_limit():
    # A poisoned field sits at most 6 levels down (envelope, items, item, data, services, line);
    # deeper poison would make the whole body a 400, which is a different test.
    assert 6 + 20 <= JSON_MAX_DEPTH
