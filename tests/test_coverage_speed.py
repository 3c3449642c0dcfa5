"""What keeps coverage fast without changing a figure: monthly ``has`` rows, folded adult birth
years and refreshes that touch only the rows of the changed days (docs/decisions.md)."""
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import HamletServiceDay
from server.models.coverage import FOLDED_BORN_BY, MAX_ADULT_AGE, HamletHasMonth
from server.services import aggregates, coverage_summary
from tests.test_coverage_definitions import (_home, api_figures, at, brute_force, cks, get,
                                             nonzero, officer, pushed, summary_rows)  # noqa: F401
from tests.sync_helpers import visit

BIRTHS = (1950, FOLDED_BORN_BY, FOLDED_BORN_BY + 1, 2004, 2008, None)
DAYS = (date(2025, 9, 3), date(2025, 9, 28), date(2025, 10, 2), date(2025, 10, 30),
        date(2025, 11, 4), date(2025, 11, 20))


def _history(client, world, officer):
    """Two hamlets, residents of every kind of birth year, results over three months."""
    for n, hamlet in enumerate(world.hamlet_ids):
        hh, people = _home(client, officer, hamlet, *BIRTHS)
        results = ("done", "in_progress", "already_had", "declined", "done", "failed")
        pushed(client, officer, [
            visit(hh, when=at(day), services=[
                cks(p, results[(i + k + n) % len(results)]) for i, p in enumerate(people)]
            + [{"code": "TMDT", "resident_id": None, "result": results[(k + n) % 6]}])
            for k, day in enumerate(DAYS)])
        yield hh, people


def _month_sums_of_days(hamlet_ids):
    d = HamletServiceDay
    sums = {}
    for hamlet, code, day, year, delta in db.session.execute(
            select(d.hamlet_id, d.service_code, d.day, d.birth_year, d.has_delta)
            .where(d.hamlet_id.in_(hamlet_ids))):
        key = (hamlet, code, day.replace(day=1), year)
        sums[key] = sums.get(key, 0) + delta
    return {k: v for k, v in sums.items() if v}


def _month_rows(hamlet_ids):
    m = HamletHasMonth
    return {(h, c, month, y): delta for h, c, month, y, delta in db.session.execute(
        select(m.hamlet_id, m.service_code, m.month, m.birth_year, m.has_delta)
        .where(m.hamlet_id.in_(hamlet_ids)))}


def test_month_rows_are_the_sums_of_their_day_rows(client, world, officer):
    list(_history(client, world, officer))
    months = _month_rows(world.hamlet_ids)
    assert months == _month_sums_of_days(world.hamlet_ids)
    assert months  # (a month whose changes cancel out has no row)
    aggregates.rebuild(world.commune.code)
    assert _month_rows(world.hamlet_ids) == months


def test_adult_birth_years_share_one_bucket_and_the_rest_stay_apart(client, world, officer):
    list(_history(client, world, officer))
    years = set(db.session.scalars(select(HamletServiceDay.birth_year).distinct().where(
        HamletServiceDay.hamlet_id.in_(world.hamlet_ids))))
    assert 0 in years and 1950 not in years and FOLDED_BORN_BY not in years
    assert years - {0} <= {FOLDED_BORN_BY + 1, 2004, 2008, 9999}


@pytest.mark.parametrize("last", [date(2025, 9, 30), date(2025, 10, 1), date(2025, 10, 29),
                                  date(2025, 10, 30), date(2025, 11, 19), date(2025, 12, 31),
                                  date(2026, 1, 15)])
def test_has_at_any_date_reads_months_then_days(client, world, officer, last):
    list(_history(client, world, officer))
    first = last - timedelta(days=20)
    body = get(client, officer, commune=world.commune.code,
               **{"from": first.isoformat(), "to": last.isoformat()})
    assert api_figures(body) == nonzero(brute_force(world.hamlet_ids, first, last))


@pytest.mark.parametrize("age", [15, MAX_ADULT_AGE])
def test_any_adult_age_up_to_the_maximum_needs_no_rebuild(app, client, world, officer, age):
    list(_history(client, world, officer))
    app.config["ADULT_AGE"] = age
    for first, last in ((date(2025, 10, 1), date(2025, 10, 31)),
                        (date(2025, 11, 1), date(2025, 11, 30))):
        body = get(client, officer, commune=world.commune.code,
                   **{"from": first.isoformat(), "to": last.isoformat()})
        assert api_figures(body) == nonzero(brute_force(world.hamlet_ids, first, last, age))


def test_an_adult_age_above_the_maximum_is_refused_not_miscounted(app, world):
    from server.services import coverage

    app.config["ADULT_AGE"] = MAX_ADULT_AGE + 1
    with pytest.raises(RuntimeError, match="aggregates rebuild"):
        coverage.has_counts(world.hamlet_ids, date(2025, 10, 31))


def test_a_refresh_changes_only_the_rows_of_the_changed_days(client, world, officer, monkeypatch):
    (hh, people), _ = _history(client, world, officer)
    before = summary_rows(world.hamlet_ids)
    calls = []
    real = coverage_summary.apply
    # The differences live in the drain's scratch tables: read them while they exist.
    monkeypatch.setattr(coverage_summary, "apply",
                        lambda days, subjects, stored: (calls.append((days.rows(), subjects.rows())),
                                                        real(days, subjects, stored)))
    # Run again, nothing changed: no compact row differs, nothing is written, nothing moves.
    aggregates.refresh(household_ids=[hh], resident_ids=people)
    assert calls == [(([], []), ([], []))]
    assert summary_rows(world.hamlet_ids) == before
    # A new visit on a new day, then rejected: only that day's rows change, though the
    # household has three months of history.
    new_day = date(2025, 12, 2)
    pushed(client, officer, [visit(hh, when=at(new_day), services=[cks(people[0], "done")])])
    calls.clear()
    from server.models import Visit
    from server.services import coverage
    vid = db.session.scalar(select(Visit.id).where(Visit.household_id == uuid.UUID(hh),
                                                   Visit.visited_on == new_day))
    db.session.get(Visit, vid).review_state = "rejected"
    db.session.commit()
    coverage.visits_changed([vid])
    (days_gone, days_added), (subjects_gone, subjects_added) = calls[0]
    assert days_added == [] and {r["day"] for r in days_gone} == {new_day}
    assert subjects_added == [] and {(r["service_code"], r["day"]) for r in subjects_gone} \
        == {("CKS", new_day)}
    incremental = summary_rows(world.hamlet_ids)
    aggregates.rebuild(world.commune.code)
    assert summary_rows(world.hamlet_ids) == incremental
