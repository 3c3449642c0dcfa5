"""Any reordering, duplication or splitting of the same phones' batches gives the same database.

Two phones work one commune: both registered the households (synced), then each recorded visits
offline, some to the same households. Whatever order their batches reach the server in — the
other phone first, a batch sent twice (a retry after a lost answer), a batch split in two (the
5xx set-aside of the PWA) — the stored records, the follow-ups left open and the coverage figures
are the same. Each phone's own items keep their order: that is the outbox's promise.
"""
import random
import uuid
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from server.extensions import db
from server.models import FollowUp, Household, Resident, Visit, VisitService
from tests.conftest import ENGINE
from tests.factories import login, make_world
from tests.sync_helpers import household, push, resident, visit
from tests.test_coverage_definitions import at, get, settle

EXAMPLES = 8 if ENGINE == "sqlite" else 3
RESULTS = ("done", "already_had", "in_progress", "declined")
OUTCOMES = ("completed", "partial", "not_home", "refused")
START = date(2025, 10, 1)


def _history(rng):
    """A logical history: households (keys 0..n) and two phones' visit streams, in batches."""
    households = [{"hamlet": rng.randrange(2), "people": [rng.randint(1950, 2008)
                                                        for _ in range(rng.randint(1, 3))]}
                  for _ in range(rng.randint(2, 4))]
    streams, n = [], 0
    for _phone in range(2):
        visits = []
        for _ in range(rng.randint(2, 6)):
            h = rng.randrange(len(households))
            lines = [{"code": "CKS", "person": p, "result": rng.choice(RESULTS)}
                     for p in range(len(households[h]["people"])) if rng.random() < 0.6]
            n += 1
            visits.append({"n": n, "household": h, "day": rng.randint(0, 20), "hour": rng.randint(7, 18),
                           "outcome": rng.choice(OUTCOMES), "lines": lines,
                           "follow_up": rng.random() < 0.5})
        cuts = sorted(rng.sample(range(1, len(visits)), rng.randint(0, len(visits) - 1)))
        streams.append([visits[a:b] for a, b in zip([0, *cuts], [*cuts, len(visits)])])
    return households, streams


def _arrivals(rng, streams):
    """The batches in an arrival order: interleaved, some split, some sent twice."""
    queues = [[list(batch) for batch in stream] for stream in streams]
    order = []
    while any(queues):
        phone = rng.choice([i for i, q in enumerate(queues) if q])
        batch = queues[phone].pop(0)
        if len(batch) > 1 and rng.random() < 0.3:  # split: the first half, the rest later
            cut = rng.randrange(1, len(batch))
            queues[phone].insert(0, batch[cut:])
            batch = batch[:cut]
        order.append((phone, batch))
        if rng.random() < 0.25:  # the answer was lost: the phone sends it again, maybe later
            queues[phone].insert(rng.randrange(len(queues[phone]) + 1), batch)
    return order


class Replay:
    """One world that receives the history in one arrival order; knows its ids by logical key."""

    def __init__(self, client, households):
        self.client, self.world = client, make_world(hamlets=2)
        self.headers = login(client, self.world.users["commune_officer"])
        self.keys, self.households, self.people = {}, [], []
        items = []
        for key, spec in enumerate(households):
            h = household(self.world.hamlet_ids[spec["hamlet"]])
            people = [resident(h["id"], birth_year=born) for born in spec["people"]]
            self.households.append(h["id"])
            self.people.append([p["id"] for p in people])
            self.keys[h["id"]] = ("household", key)
            for i, p in enumerate(people):
                self.keys[p["id"]] = ("resident", key, i)
            items += [h, *people]
        status, body = push(client, self.headers, items, device_id="registration")
        assert status == 200 and {r["status"] for r in body["results"]} == {"created"}, body
        self.visit_items = {}

    def visit_item(self, spec):
        """The push item of a logical visit: the same id and content every time it is sent."""
        key = id(spec)
        if key not in self.visit_items:
            hid = self.households[spec["household"]]
            when = at(START + timedelta(days=spec["day"]), spec["hour"])
            lines = [{"code": line["code"], "result": line["result"], "provider": None,
                      "resident_id": self.people[spec["household"]][line["person"]]}
                     for line in spec["lines"]]
            item = visit(hid, when=when, outcome=spec["outcome"], services=lines,
                         follow_up_on=(when.date() + timedelta(days=30)).isoformat()
                         if spec["follow_up"] else None)
            self.keys[item["id"]] = ("visit", spec["n"])
            self.visit_items[key] = item
        return self.visit_items[key]

    def play(self, arrivals):
        for phone, batch in arrivals:
            items = [self.visit_item(spec) for spec in batch]
            status, body = push(self.client, self.headers, items, device_id=f"phone-{phone}")
            assert status == 200, body
            assert {r["status"] for r in body["results"]} <= {"created", "duplicate"}, body
        settle()

    def state(self):
        """Every stored row of this world, with ids replaced by their logical keys."""
        k = lambda value: self.keys.get(str(value), value)  # noqa: E731
        hamlets = {h: i for i, h in enumerate(self.world.hamlet_ids)}
        ids = [uuid.UUID(i) for i in self.households]
        households = sorted((k(h.id), hamlets[h.hamlet_id], h.version, h.deleted)
                            for h in db.session.scalars(select(Household).where(Household.id.in_(ids))))
        residents = sorted((k(r.id), k(r.household_id), r.birth_year, r.version)
                           for r in db.session.scalars(select(Resident).where(
                               Resident.household_id.in_(ids))))
        visits = db.session.scalars(select(Visit).where(Visit.household_id.in_(ids))).all()
        lines = sorted((k(s.visit_id), s.service_code, k(s.resident_id), s.result)
                       for s in db.session.scalars(select(VisitService).where(
                           VisitService.visit_id.in_([v.id for v in visits]))))
        followups = sorted((k(f.visit_id), f.due_on, f.status)
                           for f in db.session.scalars(select(FollowUp).where(
                               FollowUp.household_id.in_(ids))))
        coverage = get(self.client, self.headers, commune=self.world.commune.code,
                       **{"from": "2025-10-01", "to": "2025-10-31"})
        figures = sorted((hamlets[h["hamlet_id"]], repr(sorted(
            (name, value) for name, value in h.items() if name not in ("hamlet_id", "name", "code"))))
            for h in coverage["hamlets"])
        return {"households": households, "residents": residents, "lines": lines,
                "visits": sorted((k(v.id), k(v.household_id), v.outcome, v.revision)
                                 for v in visits),
                "followups": followups, "coverage": figures}


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_batch_order_duplicates_and_splits_do_not_change_the_outcome(client, app, seed):
    rng = random.Random(seed)
    households, streams = _history(rng)
    in_order = [(phone, batch) for phone, stream in enumerate(streams) for batch in stream]

    reference = Replay(client, households)
    reference.play(in_order)
    shuffled = Replay(client, households)
    shuffled.play(_arrivals(rng, streams))

    assert shuffled.state() == reference.state(), seed


def test_an_earlier_visit_synced_late_does_not_reopen_a_settled_follow_up(client, app):
    """Phone B's later visit reached the server first: phone A's older promise is already kept."""
    replay = Replay(client, [{"hamlet": 0, "people": [1980]}])
    earlier = {"n": 1, "household": 0, "day": 1, "hour": 9, "outcome": "not_home", "lines": [],
               "follow_up": True}
    later = {"n": 2, "household": 0, "day": 3, "hour": 10, "outcome": "completed", "lines": [],
             "follow_up": False}
    replay.play([(1, [later]), (0, [earlier])])
    assert replay.state()["followups"] == [(replay.keys[replay.visit_item(earlier)["id"]],
                                            START + timedelta(days=31), "done")]
