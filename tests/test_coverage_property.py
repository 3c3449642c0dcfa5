"""Random histories through the real push endpoint: the incrementally kept rows equal a rebuild,
and the API's figures equal a brute-force computation from the raw rows, on both engines."""
import random
import uuid
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.extensions import db
from server.models import Household, Visit
from server.services import aggregates, coverage
from server.services.scope_exits import delete_household
from tests.conftest import ENGINE
from tests.factories import login, make_world
from tests.sync_helpers import household, push, resident, visit
from tests.test_coverage_definitions import (api_figures, at, brute_force, get, nonzero, settle,
                                             summary_rows)

RESULTS = ("done", "already_had", "in_progress", "declined", "failed")
OUTCOMES = ("completed", "partial", "not_home", "refused")
START = date(2025, 9, 25)  # visits fall in late September .. mid November 2025
EXAMPLES = 12 if ENGINE == "sqlite" else 4


class History:
    """A random field history, pushed in random batches; remembers what it pushed."""

    def __init__(self, rng, client, world):
        self.rng, self.client, self.world = rng, client, world
        self.headers = login(client, world.users["commune_officer"])
        self.households, self.people, self.version = {}, {}, {}
        self.pending, self.visit_ids, self.touched = [], [], []

    def add_household(self):
        h = household(self.rng.choice(self.world.hamlet_ids))
        self.households[h["id"]] = h
        self.people[h["id"]] = []
        self.pending.append(h)
        for _ in range(self.rng.randint(1, 3)):
            born = self.rng.choice([None, 2007, 2008, 2009]) if self.rng.random() < 0.3 \
                else self.rng.randint(1950, 2006)
            r = resident(h["id"], birth_year=born)
            self.people[h["id"]].append(r)
            self.pending.append(r)

    def add_visit(self):
        hid = self.rng.choice(list(self.households))
        lines = []
        for r in self.people[hid]:
            for code in ("CKS", "VNEID"):
                if self.rng.random() < 0.6:
                    result = self.rng.choice(RESULTS)
                    lines.append({"code": code, "resident_id": r["id"], "result": result,
                                  "provider": "VNPT" if code == "CKS" and result == "done"
                                  else None})
        if self.rng.random() < 0.3:
            lines.append({"code": "TMDT", "resident_id": None, "result": self.rng.choice(RESULTS)})
        day = START + timedelta(days=self.rng.randint(0, 50))
        v = visit(hid, when=at(day, self.rng.randint(7, 18)), services=lines,
                  outcome=self.rng.choice(OUTCOMES))
        self.visit_ids.append(v["id"])
        self.pending.append(v)

    def edit_resident(self):
        hid = self.rng.choice(list(self.households))
        people = [r for r in self.people[hid] if r["data"]["consent"]["given"]]
        if not people:
            return
        r = self.rng.choice(people)
        if any(i["id"] == r["id"] for i in self.pending):
            return  # one edit per record per batch: the next base version is the server's
        r["base_version"] = self.version.get(r["id"], 1)
        if self.rng.random() < 0.3:
            r["data"]["consent"] = dict(r["data"]["consent"], given=False)
        else:
            r["data"]["birth_year"] = self.rng.choice([None, 2007, 2008, 1990])
        self.pending.append(dict(r, data=dict(r["data"])))

    def move_household(self):
        h = self.households[self.rng.choice(list(self.households))]
        if any(i["id"] == h["id"] for i in self.pending):
            return
        h["base_version"] = self.version.get(h["id"], 1)
        h["data"]["hamlet_id"] = self.rng.choice(self.world.hamlet_ids)
        h["data"]["address"] = f"Tổ {self.rng.randint(1, 99)}"  # always a change
        self.pending.append(dict(h, data=dict(h["data"])))

    def flush(self):
        """Push what is pending in one batch and note the versions the server gave."""
        if not self.pending:
            return
        code, body = push(self.client, self.headers, self.pending)
        assert code == 200, body
        for result in body["results"]:
            assert result["status"] in ("created", "updated", "duplicate"), result
            self.version[result["id"]] = result["version"]
        self.touched.append({"visits": [i["id"] for i in self.pending if i["type"] == "visit"],
                             "households": [i["id"] for i in self.pending
                                            if i["type"] == "household"],
                             "residents": [i["id"] for i in self.pending
                                           if i["type"] == "resident"]})
        self.pending = []

    def review_or_erase(self):
        """What a reviewer or a merge would do: reject a visit, erase a household."""
        settle()
        if self.visit_ids and self.rng.random() < 0.5:
            vid = self.rng.choice(self.visit_ids)
            db.session.get(Visit, uuid.UUID(vid)).review_state = "rejected"
            db.session.commit()
            coverage.visits_changed([vid])
        if len(self.households) > 1 and self.rng.random() < 0.5:
            hid = self.rng.choice(list(self.households))
            delete_household(db.session.get(Household, uuid.UUID(hid)))
            db.session.commit()
            coverage.households_changed([hid])
            del self.households[hid]


def _play(rng, client, world):
    history = History(rng, client, world)
    for _ in range(rng.randint(2, 4)):
        history.add_household()
    history.flush()
    for _ in range(rng.randint(2, 5)):
        for _ in range(rng.randint(1, 6)):
            rng.choice([history.add_visit, history.add_visit, history.add_visit,
                        history.edit_resident, history.move_household])()
        history.flush()
    if rng.random() < 0.5:
        history.review_or_erase()
        history.add_visit()
        history.flush()
    settle()
    return history


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_incremental_equals_rebuild_and_the_api_equals_brute_force(client, app, seed):
    rng = random.Random(seed)
    world = make_world(hamlets=2)
    history = _play(rng, client, world)
    incremental = summary_rows(world.hamlet_ids)

    # Jobs replayed late and out of order change nothing.
    for touched in rng.sample(history.touched, len(history.touched)):
        aggregates.refresh(touched["visits"], touched["households"], touched["residents"])
    assert summary_rows(world.hamlet_ids) == incremental
    aggregates.rebuild(world.commune.code)
    assert summary_rows(world.hamlet_ids) == incremental

    first = START + timedelta(days=rng.randint(0, 40))
    periods = [(date(2025, 10, 1), date(2025, 10, 31)), (date(2025, 10, 1), date(2025, 11, 1)),
               (first, first + timedelta(days=rng.randint(0, 20))),
               (date(2026, 1, 1), date(2026, 1, 31))]
    for first, last in periods:
        body = get(client, history.headers, commune=world.commune.code,
                   **{"from": first.isoformat(), "to": last.isoformat()})
        assert api_figures(body) == nonzero(brute_force(world.hamlet_ids, first, last)), \
            (seed, first, last)
