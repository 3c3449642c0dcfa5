"""Each coverage definition on hand-built histories, read through GET /api/v1/coverage.

Also home of the helpers the other coverage tests share: ``settle`` (wait for the refresh jobs),
``summary_rows`` (every coverage row of some hamlets) and ``brute_force`` (the definitions
computed in plain Python from the raw rows).
"""
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import (CampaignHamlet, CampaignHamletService, HamletDay, HamletMonth,
                           HamletServiceDay, HamletServiceMonth, Household, HouseholdDay,
                           Resident, Service, SubjectDay, Visit, VisitService)
from server.models.coverage import HamletHasMonth
from server.services import aggregates, coverage
from server.services.scope_exits import delete_household
from tests.conftest import jobs_settled
from tests.factories import login
from tests.sync_helpers import VN, household, push, resident, visit

YEAR = 2025
OCT = {"from": "2025-10-01", "to": "2025-10-31"}
SUMMARY_MODELS = (HouseholdDay, SubjectDay, HamletDay, HamletServiceDay, HamletHasMonth,
                  HamletMonth, HamletServiceMonth, CampaignHamlet, CampaignHamletService)


def at(day, hour=9):
    """A visit time on ``day`` (local)."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=VN)


def cks(resident_id, result):
    """A CKS service line."""
    line = {"code": "CKS", "resident_id": resident_id, "result": result}
    if result == "done":
        line["provider"] = "VNPT"
    return line


def settle():
    """Wait until the refresh jobs have run (in-process on SQLite: already done)."""
    assert jobs_settled("aggregates")


def pushed(client, headers, items):
    """Push ``items`` (all must be stored) and wait for the refresh."""
    code, body = push(client, headers, items)
    assert code == 200, body
    assert {r["status"] for r in body["results"]} <= {"created", "updated"}, body
    settle()
    return body


def get(client, headers, **query):
    """GET /coverage; returns the body (200 asserted)."""
    resp = client.get("/api/v1/coverage", query_string=query, headers=headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def hamlet_row(body, hamlet_id):
    """The row of one hamlet in a coverage answer."""
    return next(h for h in body["hamlets"] if h["hamlet_id"] == hamlet_id)


def summary_rows(hamlet_ids):
    """Every coverage row of ``hamlet_ids``, comparable across runs."""
    db.session.rollback()
    rows = {}
    for model in SUMMARY_MODELS:
        columns = [c for c in model.__table__.columns if c.name != "refreshed_at"]
        rows[model.__tablename__] = sorted(
            tuple(str(v) for v in r) for r in db.session.execute(
                select(*columns).where(model.hamlet_id.in_(hamlet_ids))))
    return rows


def brute_force(hamlet_ids, first, last, adult_age=18):
    """The coverage definitions, computed in Python from the raw rows."""
    db.session.rollback()
    households = {h.id: h for h in db.session.scalars(
        select(Household).where(Household.hamlet_id.in_(hamlet_ids)))}
    residents = {r.id: r for r in db.session.scalars(
        select(Resident).where(Resident.hamlet_id.in_(hamlet_ids)))}
    units = {s.code: s.unit for s in db.session.scalars(select(Service))}
    visits = {v.id: v for v in db.session.scalars(
        select(Visit).where(Visit.household_id.in_(list(households))))
        if v.review_state != "rejected" and not households[v.household_id].deleted}
    out = {h: {"visits": 0, "reached": set(), "registered": 0, "services": {}}
           for h in hamlet_ids}
    for hh in households.values():
        if not hh.deleted and hh.hamlet_id in out:
            out[hh.hamlet_id]["registered"] += 1
    for v in visits.values():
        hamlet = households[v.household_id].hamlet_id
        if hamlet in out and first <= v.visited_on <= last:
            out[hamlet]["visits"] += 1
            if v.outcome in ("completed", "partial"):
                out[hamlet]["reached"].add(v.household_id)
    history = {}
    for line in db.session.scalars(select(VisitService).where(
            VisitService.visit_id.in_(list(visits)))):
        v = visits[line.visit_id]
        if v is None:
            continue
        if units[line.service_code] == "household":
            subject, hamlet, born = v.household_id, households[v.household_id].hamlet_id, 0
        else:
            r = residents[line.resident_id]
            if r.deleted:
                continue
            subject, hamlet, born = r.id, r.hamlet_id, r.birth_year
        if hamlet not in out:
            continue
        figures = out[hamlet]["services"].setdefault(
            line.service_code, {"supported": set(), "already_had": set(), "has": 0})
        if first <= v.visited_on <= last and line.result in ("done", "already_had"):
            figures["supported" if line.result == "done" else "already_had"].add(subject)
        if v.visited_on <= last:
            history.setdefault((hamlet, line.service_code, subject, born), []).append(
                ((v.visited_at, v.id.hex, line.id), line.result))
    for (hamlet, code, _, born), lines in history.items():
        adult = born is not None and born <= last.year - adult_age
        if adult and max(lines)[1] in ("done", "already_had"):
            out[hamlet]["services"][code]["has"] += 1
    return {h: {"visits": o["visits"], "households_reached": len(o["reached"]),
                "households_registered": o["registered"],
                "services": {code: {"supported": len(f["supported"]),
                                    "already_had": len(f["already_had"]), "has": f["has"]}
                             for code, f in o["services"].items()}}
            for h, o in out.items()}


def api_figures(body):
    """The parts of a coverage answer that ``brute_force`` computes, nonzero services only."""
    return {h["hamlet_id"]: {
        "visits": h["visits"], "households_reached": h["households_reached"],
        "households_registered": h["households_registered"],
        "services": {code: f for code, f in h["services"].items() if any(f.values())}}
        for h in body["hamlets"]}


def nonzero(brute):
    """``brute_force``'s answer without all-zero services."""
    return {h: dict(o, services={c: f for c, f in o["services"].items() if any(f.values())})
            for h, o in brute.items()}


@pytest.fixture
def officer(client, world):
    """The world's commune officer's headers."""
    return login(client, world.users["commune_officer"])


def _home(client, headers, hamlet_id, *births):
    h = household(hamlet_id)
    people = [resident(h["id"], birth_year=b) for b in births]
    pushed(client, headers, [h, *people])
    return h["id"], [p["id"] for p in people]


def test_reached_counts_households_with_a_completed_or_partial_visit(client, world, officer):
    hamlet = world.hamlets[0].id
    a, _ = _home(client, officer, hamlet)
    b, _ = _home(client, officer, hamlet)
    c, _ = _home(client, officer, hamlet)
    day = date(2025, 10, 6)
    pushed(client, officer, [visit(a, when=at(day)), visit(a, when=at(day, 10)),
                             visit(b, outcome="partial", when=at(day)),
                             visit(c, outcome="not_home", when=at(day)),
                             visit(c, outcome="refused", when=at(day + timedelta(days=1)))])
    row = hamlet_row(get(client, officer, commune=world.commune.code, **OCT), hamlet)
    assert (row["households_reached"], row["visits"], row["households_registered"]) == (2, 5, 3)
    assert row["rates"]["households_reached"] == 0.02  # of the baseline of 100 households


def test_supported_and_already_had_are_reported_apart(client, world, officer):
    hamlet = world.hamlets[0].id
    hh, (a, b) = _home(client, officer, hamlet, 1980, 1990)
    pushed(client, officer, [
        visit(hh, when=at(date(2025, 10, 2)), services=[cks(a, "done"), cks(b, "already_had")]),
        visit(hh, when=at(date(2025, 10, 9)), services=[cks(a, "done")]),
        visit(hh, when=at(date(2025, 10, 9)), services=[
            {"code": "TMDT", "resident_id": None, "result": "done"}])])
    row = hamlet_row(get(client, officer, commune=world.commune.code, **OCT), hamlet)
    assert row["services"]["CKS"] == {"supported": 1, "already_had": 1, "has": 2}
    assert row["services"]["TMDT"] == {"supported": 1, "already_had": 0, "has": 1}
    assert row["rates"]["adults_with_CKS"] == round(2 / 250, 4)
    assert "adults_with_TMDT" not in row["rates"]  # household-level: no adult rate


def test_has_follows_the_latest_result_up_to_the_period_end(client, world, officer):
    hamlet = world.hamlets[0].id
    hh, (a, b, c) = _home(client, officer, hamlet, 1970, 1971, 1972)
    pushed(client, officer, [
        visit(hh, when=at(date(2025, 9, 1)), services=[
            cks(a, "already_had"), cks(b, "in_progress"), cks(c, "done")]),
        visit(hh, when=at(date(2025, 10, 3)), services=[
            cks(a, "declined"), cks(b, "done"), cks(c, "declined")]),
        visit(hh, when=at(date(2025, 11, 3)), services=[cks(c, "done")])])
    sept = get(client, officer, commune=world.commune.code, **{"from": "2025-09-01",
                                                                "to": "2025-09-30"})
    assert hamlet_row(sept, hamlet)["services"]["CKS"] == {
        "supported": 1, "already_had": 1, "has": 2}  # a (already had) and c (done)
    october = hamlet_row(get(client, officer, commune=world.commune.code, **OCT), hamlet)
    assert october["services"]["CKS"] == {"supported": 1, "already_had": 0, "has": 1}  # b only
    both = get(client, officer, commune=world.commune.code, **{"from": "2025-09-15",
                                                                "to": "2025-11-30"})
    assert hamlet_row(both, hamlet)["services"]["CKS"] == {
        "supported": 2, "already_had": 0, "has": 2}  # b and c again


def test_same_day_results_are_ordered_by_time(client, world, officer):
    hamlet = world.hamlets[0].id
    hh, (a,) = _home(client, officer, hamlet, 1970)
    day = date(2025, 10, 20)
    pushed(client, officer, [visit(hh, when=at(day, 15), services=[cks(a, "declined")]),
                             visit(hh, when=at(day, 8), services=[cks(a, "done")])])
    row = hamlet_row(get(client, officer, commune=world.commune.code, **OCT), hamlet)
    assert row["services"]["CKS"] == {"supported": 1, "already_had": 0, "has": 0}


def test_adults_are_18_in_the_period_year_and_unknown_years_are_not_counted(
        client, world, officer):
    hamlet = world.hamlets[0].id
    hh, (adult, teen, unknown) = _home(client, officer, hamlet, YEAR - 18, YEAR - 17, None)
    pushed(client, officer, [visit(hh, when=at(date(2025, 10, 1)), services=[
        cks(adult, "done"), cks(teen, "done"), cks(unknown, "done")])])
    row = hamlet_row(get(client, officer, commune=world.commune.code, **OCT), hamlet)
    assert row["services"]["CKS"] == {"supported": 3, "already_had": 0, "has": 1}
    next_year = get(client, officer, commune=world.commune.code, **{"from": "2026-01-01",
                                                                     "to": "2026-01-31"})
    assert hamlet_row(next_year, hamlet)["services"]["CKS"]["has"] == 2  # the teen turned 18


def test_a_corrected_birth_year_moves_the_resident_in_or_out_of_has(client, world, officer):
    hamlet = world.hamlets[0].id
    h = household(hamlet)
    r = resident(h["id"], birth_year=2015)
    pushed(client, officer, [h, r, visit(h["id"], when=at(date(2025, 10, 5)),
                                         services=[cks(r["id"], "done")])])
    assert hamlet_row(get(client, officer, commune=world.commune.code, **OCT),
                      hamlet)["services"]["CKS"]["has"] == 0
    r["base_version"] = 1
    r["data"]["birth_year"] = 1995
    pushed(client, officer, [r])
    assert hamlet_row(get(client, officer, commune=world.commune.code, **OCT),
                      hamlet)["services"]["CKS"]["has"] == 1


def test_visits_rejected_in_review_leave_the_figures(client, world, officer):
    hamlet = world.hamlets[0].id
    hh, (a,) = _home(client, officer, hamlet, 1980)
    v = visit(hh, when=at(date(2025, 10, 5)), services=[cks(a, "done")])
    pushed(client, officer, [v, visit(hh, outcome="not_home", when=at(date(2025, 10, 6)))])
    row = db.session.get(Visit, __import__("uuid").UUID(v["id"]))
    row.review_state = "rejected"
    db.session.commit()
    coverage.visits_changed([v["id"]])
    got = hamlet_row(get(client, officer, commune=world.commune.code, **OCT), hamlet)
    assert (got["visits"], got["households_reached"]) == (1, 0)
    assert got["services"]["CKS"] == {"supported": 0, "already_had": 0, "has": 0}


def test_deleted_households_leave_the_figures(client, world, officer):
    hamlet = world.hamlets[0].id
    hh, (a,) = _home(client, officer, hamlet, 1980)
    keep, _ = _home(client, officer, hamlet)
    pushed(client, officer, [visit(hh, when=at(date(2025, 10, 5)), services=[cks(a, "done")]),
                             visit(keep, when=at(date(2025, 10, 5)))])
    row = db.session.get(Household, __import__("uuid").UUID(hh))
    delete_household(row)
    db.session.commit()
    coverage.households_changed([hh])
    got = hamlet_row(get(client, officer, commune=world.commune.code, **OCT), hamlet)
    assert (got["visits"], got["households_reached"], got["households_registered"]) == (1, 1, 1)
    assert got["services"]["CKS"]["has"] == 0


def test_a_moved_household_takes_its_history_to_its_new_hamlet(client, world, officer):
    first, second = world.hamlet_ids
    h = household(first)
    r = resident(h["id"], birth_year=1980)
    pushed(client, officer, [h, r, visit(h["id"], when=at(date(2025, 10, 5)),
                                         services=[cks(r["id"], "done")])])
    h["base_version"] = 1
    h["data"]["hamlet_id"] = second
    pushed(client, officer, [h])
    body = get(client, officer, commune=world.commune.code, **OCT)
    old, new = hamlet_row(body, first), hamlet_row(body, second)
    assert (old["visits"], old["services"]["CKS"]["has"]) == (0, 0)
    assert (new["visits"], new["households_reached"], new["services"]["CKS"]) == (
        1, 1, {"supported": 1, "already_had": 0, "has": 1})


def test_withdrawn_consent_keeps_the_counts(client, world, officer):
    hamlet = world.hamlets[0].id
    h = household(hamlet)
    r = resident(h["id"], birth_year=1980)
    pushed(client, officer, [h, r, visit(h["id"], when=at(date(2025, 10, 5)),
                                         services=[cks(r["id"], "done")])])
    r["base_version"] = 1
    r["data"]["consent"]["given"] = False
    pushed(client, officer, [r])
    row = hamlet_row(get(client, officer, commune=world.commune.code, **OCT), hamlet)
    assert row["services"]["CKS"] == {"supported": 1, "already_had": 0, "has": 1}


def test_month_campaign_and_any_range_agree_with_the_brute_force(client, world, officer):
    hamlet = world.hamlets[0].id
    hh, (a, b) = _home(client, officer, hamlet, 1980, 2009)
    pushed(client, officer, [
        visit(hh, when=at(date(2025, 9, 30)), services=[cks(a, "in_progress")]),
        visit(hh, when=at(date(2025, 10, 1)), services=[cks(a, "done"), cks(b, "already_had")]),
        visit(hh, when=at(date(2025, 11, 1)), services=[cks(b, "done")]),
        visit(hh, outcome="not_home", when=at(date(2025, 11, 2)))])
    for first, last in [(date(2025, 10, 1), date(2025, 10, 31)),   # a month
                        (date(2025, 10, 1), date(2025, 11, 1)),    # the seeded campaign
                        (date(2025, 9, 30), date(2025, 11, 2)),    # any range
                        (date(2025, 11, 1), date(2025, 11, 1))]:
        body = get(client, officer, commune=world.commune.code, **{"from": first.isoformat(),
                                                                    "to": last.isoformat()})
        assert api_figures(body) == nonzero(brute_force(world.hamlet_ids, first, last))
    assert summary_rows(world.hamlet_ids)["coverage_campaign_hamlets"]  # the campaign is kept


def test_incremental_rows_equal_a_rebuild_after_every_kind_of_change(client, world, officer):
    first, second = world.hamlet_ids
    h = household(first)
    r = resident(h["id"], birth_year=2008)
    pushed(client, officer, [h, r, visit(h["id"], when=at(date(2025, 10, 5)),
                                         services=[cks(r["id"], "done")])])
    h["base_version"], h["data"]["hamlet_id"] = 1, second
    r["base_version"], r["data"]["birth_year"] = 1, 1990
    pushed(client, officer, [h, r])
    incremental = summary_rows(world.hamlet_ids)
    aggregates.rebuild(world.commune.code)
    assert summary_rows(world.hamlet_ids) == incremental
    aggregates.refresh(visit_ids=[], household_ids=[h["id"]], resident_ids=[r["id"]])
    assert summary_rows(world.hamlet_ids) == incremental  # twice is harmless
