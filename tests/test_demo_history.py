"""seed-demo's campaign history: the October 2025 digital-signature campaign in Xuân Lộc."""
import os
import shutil
from collections import Counter
from datetime import date

import pytest
from geoalchemy2.shape import to_shape
from sqlalchemy import func, select

from server import create_app
from server.extensions import db
from server.models import (ChangeCounter, Commune, FollowUp, Hamlet, Household, Resident,
                           Service, User, Visit, VisitService)
from server.services import aggregates
from server.services.changes import commune_scope
from server.vocab import LOCAL_TIMEZONE, REACHED_OUTCOMES, local_day
from tests.conftest import ENGINE, PG_URL, _config, _migrate
from tests.factories import login
from tests.sync_helpers import pull_all, push, statuses

DEMO_COMMUNE = "26425"
DEMO_PASSWORD = "demo-2025"
ADULT_BORN_BY = 2025 - 18


def _seed(runner):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    return result


@pytest.fixture
def seeded(runner):
    _seed(runner)


def _hamlets():
    return list(db.session.scalars(select(Hamlet).join(Commune)
                                   .where(Commune.code == DEMO_COMMUNE).order_by(Hamlet.code)))


def _visits():
    ids = [h.id for h in _hamlets()]
    return list(db.session.scalars(select(Visit).where(Visit.hamlet_id.in_(ids))
                                   .order_by(Visit.visited_at, Visit.id)))


def _lines():
    ids = [h.id for h in _hamlets()]
    return list(db.session.scalars(select(VisitService).join(Visit)
                                   .where(Visit.hamlet_id.in_(ids))))


def _followups():
    ids = [h.id for h in _hamlets()]
    return list(db.session.scalars(select(FollowUp).where(FollowUp.hamlet_id.in_(ids))))


def _cks_share_by_hamlet():
    """Per hamlet code: the share of registered adults with a CKS done or already had."""
    ids = {h.id: h.code for h in _hamlets()}
    adults = db.session.execute(select(Resident.id, Resident.hamlet_id).where(
        Resident.hamlet_id.in_(ids), Resident.birth_year <= ADULT_BORN_BY)).all()
    with_cks = set(db.session.scalars(select(VisitService.resident_id).where(
        VisitService.service_code == "CKS", VisitService.result.in_(["done", "already_had"]))))
    totals, covered = Counter(), Counter()
    for resident_id, hamlet_id in adults:
        totals[ids[hamlet_id]] += 1
        covered[ids[hamlet_id]] += resident_id in with_cks
    return {code: covered[code] / totals[code] for code in totals}


def _history_counts():
    ids = [h.id for h in _hamlets()]
    users = db.session.scalar(select(func.count()).select_from(User)
                              .where(User.username.like("to.%")))
    counter = db.session.scalar(select(ChangeCounter.value).where(
        ChangeCounter.scope == commune_scope(_hamlets()[0].commune_id)))
    return {"visits": len(_visits()), "lines": len(_lines()), "followups": len(_followups()),
            "users": users, "hamlets": len(ids), "counter": counter}


def test_seed_demo_visits_every_hamlet_but_one_or_two(seeded):
    hamlets = _hamlets()
    visited = {v.hamlet_id for v in _visits()}
    assert len(hamlets) - 2 <= len(visited) <= len(hamlets) - 1
    households = {}
    for visit in _visits():
        households.setdefault(visit.hamlet_id, set()).add(visit.household_id)
    assert min(len(h) for h in households.values()) <= 2  # one hamlet has barely started


def test_seed_demo_coverage_is_uneven_across_hamlets(seeded):
    visited_ids = {v.hamlet_id for v in _visits()}
    visited = {h.code for h in _hamlets() if h.id in visited_ids}
    shares = {code: share for code, share in _cks_share_by_hamlet().items() if code in visited}
    assert max(shares.values()) - min(shares.values()) >= 0.4
    assert max(shares.values()) >= 0.6  # a leading hamlet near the 70% of 2030
    assert sum(share < 0.2 for share in shares.values()) >= 2  # lagging hamlets


def test_seed_demo_service_lines_name_residents_of_the_visited_household(seeded):
    units = {s.code: s for s in db.session.scalars(select(Service))}
    home = dict(db.session.execute(select(Resident.id, Resident.household_id)).all())
    visits = {v.id: v for v in _visits()}
    lines = _lines()
    assert len(lines) > len(visits)
    for line in lines:
        visit = visits[line.visit_id]
        if units[line.service_code].unit == "person":
            assert home[line.resident_id] == visit.household_id, line.id
        else:
            assert line.resident_id is None, line.id
        if line.provider is not None:
            assert line.provider in units[line.service_code].providers
    per_visit = Counter((line.visit_id, line.service_code, line.resident_id) for line in lines)
    assert max(per_visit.values()) == 1  # no repeated line, as push requires
    assert all(visit.outcome in REACHED_OUTCOMES for visit in
               (visits[line.visit_id] for line in lines))


def test_seed_demo_visits_fall_in_the_campaign_during_working_hours(seeded):
    visits = _visits()
    assert all(date(2025, 9, 1) <= v.visited_on <= date(2025, 11, 30) for v in visits)
    assert all(v.visited_on == local_day(v.visited_at) for v in visits)
    assert all(7 <= v.visited_at.astimezone(LOCAL_TIMEZONE).hour <= 17 for v in visits)
    assert all(v.received_at > v.visited_at for v in visits)
    months = Counter(v.visited_on.month for v in visits)
    assert months[10] >= 0.75 * len(visits) and months[9] > 0 and months[11] > 0


def test_seed_demo_history_is_varied_like_a_real_month(seeded):
    visits = _visits()
    outcomes = Counter(v.outcome for v in visits)
    assert outcomes.most_common(1)[0][0] == "completed" and set(outcomes) == {
        "completed", "partial", "not_home", "refused"}
    cks = Counter(line.result for line in _lines() if line.service_code == "CKS")
    assert {"done", "already_had", "in_progress", "declined"} <= set(cks)
    cks_providers = {line.provider for line in _lines()
                     if line.service_code == "CKS" and line.result == "done"}
    assert {"VNPT", "Viettel"} <= cks_providers and None not in cks_providers
    vneid = Counter(line.result for line in _lines() if line.service_code == "VNEID")
    assert vneid["already_had"] + vneid["done"] >= 0.8 * sum(vneid.values())
    assert {"DVCTT", "TTKDTM", "ATTT", "TMDT", "KYNANGSO"} <= {
        line.service_code for line in _lines()}
    assert Counter(f.status for f in _followups()).keys() == {"open", "done"}
    reviews = Counter(v.review_state for v in visits)
    assert 0 < reviews["approved"] < reviews["received"]
    members = {v.member_id for v in visits}
    assert len(members) >= len({v.hamlet_id for v in visits})  # each team its own member


def test_seed_demo_done_followups_were_closed_by_a_later_reaching_visit(seeded):
    visits = {v.id: v for v in _visits()}
    by_household = {}
    for visit in visits.values():
        by_household.setdefault(visit.household_id, []).append(visit)
    for followup in _followups():
        promised = visits[followup.visit_id]
        assert followup.due_on >= promised.visited_on and followup.change_seq > 0
        closers = sorted((v for v in by_household[followup.household_id]
                          if v.visited_at > promised.visited_at
                          and v.outcome in REACHED_OUTCOMES), key=lambda v: v.visited_at)
        if followup.status == "done":
            assert followup.closed_at == closers[0].received_at
        else:
            assert not closers and followup.closed_at is None


def test_seed_demo_gps_points_lie_mostly_in_their_hamlet(seeded):
    shapes = {h.id: to_shape(h.boundary) for h in _hamlets()}
    located = [v for v in _visits() if v.location is not None]
    inside = sum(shapes[v.hamlet_id].contains(to_shape(v.location)) for v in located)
    assert inside >= 0.9 * len(located)
    assert inside < len(located)  # a few outside: material for data-quality flags


def test_a_seeded_visit_pushed_again_by_its_phone_is_a_duplicate(seeded, client):
    visit = next(v for v in _visits() if v.location is not None and v.follow_up_on
                 and len(v.services) > 1)
    member = db.session.get(User, visit.member_id)
    point = to_shape(visit.location)
    data = {
        "household_id": str(visit.household_id),
        "visited_at": visit.visited_at.astimezone(LOCAL_TIMEZONE).isoformat(),
        "location": {"lat": point.y, "lon": point.x, "accuracy_m": visit.location_accuracy_m},
        "outcome": visit.outcome, "notes": visit.notes,
        "follow_up_on": visit.follow_up_on.isoformat(),
        "services": [{"code": s.service_code, "result": s.result, "provider": s.provider,
                      "detail": s.detail,
                      "resident_id": str(s.resident_id) if s.resident_id else None}
                     for s in visit.services],
    }
    headers = login(client, member.username, DEMO_PASSWORD)
    status, body = push(client, headers, [{"type": "visit", "id": str(visit.id), "data": data}],
                        device_id=visit.device_id)
    assert status == 200 and statuses(body) == ["duplicate"], body


def test_seeded_followups_reach_the_demo_members_phone(seeded, client):
    headers = login(client, "demo.member", DEMO_PASSWORD)
    changes, _, _ = pull_all(client, headers)
    pulled = {c["id"] for c in changes if c["type"] == "followup"}
    hamlet_id = _hamlets()[0].id
    stored = {str(f.id) for f in _followups() if f.hamlet_id == hamlet_id}
    assert stored and pulled == stored


def test_seed_demo_twice_creates_nothing_twice(runner):
    _seed(runner)
    first = _history_counts()
    _seed(runner)
    assert _history_counts() == first
    assert first["visits"] > 200 and first["followups"] > 0 and first["users"] == first["hamlets"]


def test_seed_demo_rebuilds_the_commune_figures_and_survives_a_failing_rebuild(runner,
                                                                                monkeypatch):
    calls = []

    def broken(*args, **kwargs):
        calls.append(args)
        raise RuntimeError("aggregates are being rewritten")

    monkeypatch.setattr(aggregates, "rebuild", broken)
    _seed(runner)
    assert calls == [(DEMO_COMMUNE,)]
    assert len(_visits()) > 200


# --- determinism: two fresh databases -------------------------------------------------------

@pytest.fixture
def fresh_database(database_template, media_root, tmp_path):
    """Makes empty migrated databases (SQLite copies, or new PostgreSQL databases)."""
    made = []

    def make(n):
        if ENGINE == "sqlite":
            path = tmp_path / f"fresh-{n}.db"
            shutil.copy(database_template, path)
            return f"sqlite:///{path}"
        import psycopg

        name = f"cnscd_history_{os.getpid()}_{n}"
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name}")
            conn.execute(f"CREATE DATABASE {name}")
        made.append(name)
        url = f"{PG_URL.rpartition('/')[0]}/{name}"
        _migrate(url, media_root)
        return url

    yield make
    if made:
        import psycopg

        with psycopg.connect(PG_URL, autocommit=True) as conn:
            for name in made:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _snapshot():
    """Every history row, keyed by stable values (codes and usernames, not serial ids)."""
    users = dict(db.session.execute(select(User.id, User.username)).all())
    codes = {h.id: h.code for h in _hamlets()}

    def wkt(geometry):
        return None if geometry is None else to_shape(geometry).wkt

    visits = sorted(
        (str(v.id), str(v.household_id), codes[v.hamlet_id], users[v.member_id], v.device_id,
         v.visited_at.isoformat(), v.visited_on.isoformat(), wkt(v.location),
         v.location_accuracy_m, v.outcome, v.notes, str(v.follow_up_on), v.content_sha256,
         v.review_state, v.revision, v.received_at.isoformat()) for v in _visits())
    lines = sorted((str(s.visit_id), s.service_code, str(s.resident_id), s.result,
                    str(s.provider), str(s.detail)) for s in _lines())
    followups = sorted(
        (str(f.id), str(f.visit_id), str(f.household_id), codes[f.hamlet_id],
         f.due_on.isoformat(), f.status, f.note, f.change_seq, f.created_at.isoformat(),
         str(f.closed_at)) for f in _followups())
    members = sorted((u.username, u.role, str(u.team_id is not None)) for u in
                     db.session.scalars(select(User).where(User.username.like("to.%"))))
    households = db.session.scalar(select(func.count()).select_from(Household))
    return visits, lines, followups, members, households


def _seed_fresh(url, media_root):
    app = create_app(_config(url, media_root))
    with app.app_context():
        _seed(app.test_cli_runner())
        snapshot = _snapshot()
        db.session.remove()
        db.engine.dispose()
    return snapshot


def test_seed_demo_history_is_the_same_on_every_fresh_database(fresh_database, media_root):
    first = _seed_fresh(fresh_database(1), media_root)
    second = _seed_fresh(fresh_database(2), media_root)
    assert len(first[0]) > 200 and len(first[1]) > len(first[0])
    assert first == second
