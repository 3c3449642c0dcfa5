"""A drain's summary rows: the compact layer's difference applied as exact increments.

Each summary figure is a function of the compact rows, so a drain moves it by what its own
difference (``coverage_compact.Difference``: rows gone, rows added) changes:

- sums — visits and reached households per hamlet and day, the service figures per hamlet,
  service, day and folded birth year, ``has`` per month — move by the added rows' values minus
  the gone rows' (one ``INSERT … SELECT sum(sign * figure) … ON CONFLICT DO UPDATE`` per table,
  from the difference's scratch table);
- distinct counts over a month or a campaign — households visited/reached, subjects
  supported/already had/in progress, and the period's visits with them — move by the change in
  the changed records' own counts: ``period_visit_counts``/``period_service_counts`` over just
  those records, before the write (``counts_before``) and after it. Records the drain did not
  change count the same before and after, so the difference is exact.

Only the changed records' rows are read, never the hamlet's: the cost does not grow with the
hamlet's history. A row whose figures all return to 0 is deleted (a rebuild never writes one),
so the rows stay equal to what ``aggregates rebuild`` computes; a drain that changes nothing
writes nothing. Runs under the maintenance lock.
"""
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import (Date, and_, bindparam, case, cast, delete, distinct, func, literal,
                        literal_column, or_, select, true, tuple_, union_all)
from sqlalchemy.dialects import postgresql, sqlite

from server.extensions import db
from server.models import (Campaign, CampaignHamlet, CampaignHamletService, HamletDay,
                           HamletMonth, HamletServiceDay, HamletServiceMonth, HouseholdDay,
                           SubjectDay)
from server.models.coverage import ALWAYS_ADULT_BIRTH_YEAR, FOLDED_BORN_BY, HamletHasMonth
from server.models.types import utcnow
from server.services.coverage_compact import unnest

VISIT_COUNTS = ("visits", "households_visited", "households_reached")
SERVICE_COUNTS = ("supported", "already_had", "in_progress")


def _visit_figures():
    h = HouseholdDay
    return (func.sum(h.visits).label("visits"),
            func.count(distinct(h.household_id)).label("households_visited"),
            func.count(distinct(case((h.reached == 1, h.household_id))))
            .label("households_reached"))


def _service_figures():
    s = SubjectDay
    return [func.count(distinct(case((flag == 1, s.subject_id)))).label(name)
            for flag, name in zip((s.done, s.already_had, s.in_progress), SERVICE_COUNTS)]


def period_visit_counts(where, first, last):
    """``SELECT hamlet_id, visits, households_visited, households_reached`` over a period."""
    h = HouseholdDay
    return (select(h.hamlet_id, *_visit_figures())
            .where(where, h.day.between(first, last)).group_by(h.hamlet_id))


def period_service_counts(where, first, last):
    """``SELECT hamlet_id, service_code, supported, already_had, in_progress`` over a period."""
    s = SubjectDay
    counts = _service_figures()
    return (select(s.hamlet_id, s.service_code, *counts)
            .where(where, s.day.between(first, last)).group_by(s.hamlet_id, s.service_code)
            .having(or_(*(c != 0 for c in counts))))


def folded_birth_year(column):
    """SQL: birth years adult at every accepted date become one bucket (models.coverage)."""
    # Literal constants: PostgreSQL matches the GROUP BY expression only without parameters.
    return case((column <= literal_column(str(int(FOLDED_BORN_BY))),
                 literal_column(str(int(ALWAYS_ADULT_BIRTH_YEAR)))), else_=column)


def month_start(column):
    """SQL: the first day of ``column``'s month, as a date."""
    if _postgresql():
        return cast(func.date_trunc("month", column), Date)
    return func.date(column, "start of month")


@dataclass(frozen=True)
class Period:
    """A calendar month (``campaign_id`` None) or a campaign: ``[first, last]``."""

    first: object
    last: object
    campaign_id: int | None = None


def _month(day):
    first = day.replace(day=1)
    return Period(first, (first.replace(day=28) + timedelta(days=4)).replace(day=1)
                  - timedelta(days=1))


def _periods(days):
    """Every month and campaign that contains one of ``days``."""
    campaigns = [Period(c.date_from, c.date_to, c.id) for c in db.session.execute(
        select(Campaign.id, Campaign.date_from, Campaign.date_to))]
    return {_month(day) for day in days} | {c for c in campaigns
                                             if any(c.first <= day <= c.last for day in days)}


def _postgresql():
    return db.session.get_bind().dialect.name == "postgresql"


def _period_counts(household_days, subject_days, periods):
    """``{(period, hamlet): visit counts}``, ``{(period, hamlet, service): service counts}`` of
    the changed records alone, in each period (``period_*_counts`` with one more key: the
    period)."""
    if not periods:
        return {}, {}
    periods = sorted(periods, key=lambda p: (p.first, p.last, p.campaign_id or 0))
    within = union_all(*(select(literal(i).label("period"), literal(p.first).label("first"),
                                literal(p.last).label("last")) for i, p in enumerate(periods))
                       ).subquery("periods")
    h, s = HouseholdDay, SubjectDay
    changed_households = select(household_days.table.c.household_id)
    changed_subjects = select(subject_days.table.c.subject_id)
    visits = (select(within.c.period, h.hamlet_id, *_visit_figures())
              .join(within, h.day.between(within.c.first, within.c.last))
              .where(h.household_id.in_(changed_households))
              .group_by(within.c.period, h.hamlet_id))
    services = (select(within.c.period, s.hamlet_id, s.service_code, *_service_figures())
                .join(within, s.day.between(within.c.first, within.c.last))
                .where(s.subject_id.in_(changed_subjects))
                .group_by(within.c.period, s.hamlet_id, s.service_code))
    out = ({}, {})
    for query, found, names, changed in ((visits, out[0], VISIT_COUNTS, household_days),
                                         (services, out[1], SERVICE_COUNTS, subject_days)):
        if not changed:
            continue
        for row in db.session.execute(query):
            found[(periods[row[0]], *row[1:len(row) - len(names)])] = dict(
                zip(names, row[len(row) - len(names):]))
    return out


def counts_before(household_days, subject_days):
    """Before the compact rows are written: the periods the difference touches and the changed
    records' counts in them."""
    periods = _periods(household_days.days | subject_days.days)
    return periods, _period_counts(household_days, subject_days, periods)


def _changes(before, after):
    changed = {}
    for key in before.keys() | after.keys():
        old, new = before.get(key, {}), after.get(key, {})
        delta = {name: new.get(name, 0) - old.get(name, 0) for name in old.keys() | new.keys()}
        if any(delta.values()):
            changed[key] = delta
    return changed


def _sums(difference, keys, figures):
    """``SELECT keys…, figures…``: the difference's signed sums per summary key, nonzero only."""
    t = difference.table
    keys = keys(t)  # built once: PostgreSQL matches the GROUP BY only to the same parameters
    sums = [func.sum(t.c.sign * column).label(name) for name, column in figures(t)]
    return (select(*(k.label(name) for name, k in keys), *sums).where(true())
            .group_by(*(k for _, k in keys)).having(or_(*(total != 0 for total in sums))))


def apply(household_days, subject_days, before):
    """After the compact rows are written: move the summary rows by what changed."""
    periods, (visits_before, services_before) = before
    by_year = lambda t: folded_birth_year(t.c.birth_year)  # noqa: E731
    if household_days:
        _add_sums(HamletDay, _sums(
            household_days, lambda t: (("hamlet_id", t.c.hamlet_id), ("day", t.c.day)),
            lambda t: (("visits", t.c.visits), ("households_reached", t.c.reached))),
            # Visits and reached are never negative: a row can only empty if a row went.
            may_empty=household_days.has_gone)
    if subject_days:
        _add_sums(HamletServiceDay, _sums(
            subject_days, lambda t: (("hamlet_id", t.c.hamlet_id),
                                     ("service_code", t.c.service_code), ("day", t.c.day),
                                     ("birth_year", by_year(t))),
            lambda t: (("supported", t.c.done), ("already_had", t.c.already_had),
                       ("has_delta", t.c.has_delta))))
        _add_sums(HamletHasMonth, _sums(
            subject_days, lambda t: (("hamlet_id", t.c.hamlet_id),
                                     ("service_code", t.c.service_code),
                                     ("month", month_start(t.c.day)),
                                     ("birth_year", by_year(t))),
            lambda t: (("has_delta", t.c.has_delta),)))
    visits_after, services_after = _period_counts(household_days, subject_days, periods)
    by_model = {}
    for before_, after_, models, keys in (
            (visits_before, visits_after, (HamletMonth, CampaignHamlet), ("hamlet_id",)),
            (services_before, services_after, (HamletServiceMonth, CampaignHamletService),
             ("hamlet_id", "service_code"))):
        for (period, *key), delta in _changes(before_, after_).items():
            month = period.campaign_id is None
            target = (models[0 if month else 1], (*keys, "month" if month else "campaign_id"))
            by_model.setdefault(target, {})[(*key, period.first if month
                                             else period.campaign_id)] = delta
    for (model, key_names), totals in by_model.items():
        _add(model, totals, key_names)


def _add_sums(model, sums, may_empty=True):
    """Add the rows of ``sums`` (a ``SELECT`` of key and figure columns) to ``model``'s rows (a
    new row starts at 0), then, if ``may_empty``, delete the rows of these keys whose figures
    are all 0."""
    table = model.__table__
    names = [c.name for c in sums.selected_columns]
    key_names = [c.name for c in table.primary_key.columns]
    figures = [n for n in names if n not in key_names]
    insert = (postgresql.insert(table) if _postgresql() else sqlite.insert(table)) \
        .from_select(names, sums)
    db.session.execute(insert.on_conflict_do_update(
        index_elements=key_names,
        set_={f: table.c[f] + getattr(insert.excluded, f) for f in figures}))
    if not may_empty:
        return
    touched = sums.subquery("touched")
    db.session.execute(
        delete(table).where(tuple_(*(table.c[k] for k in key_names))
                            .in_(select(*(touched.c[k] for k in key_names))),
                            *(table.c[f] == 0 for f in figures))
        .execution_options(synchronize_session=False))


def _add(model, totals, key_names=None):
    """Add ``{key: {column: delta}}`` to ``model``'s rows (a new row starts at 0), then delete
    the rows of these keys whose figures are all 0."""
    table = model.__table__
    key_names = list(key_names or (c.name for c in table.primary_key.columns))
    rows = [dict(zip(key_names, key), **values)
            for key, values in sorted(totals.items(), key=lambda kv: [str(k) for k in kv[0]])
            if any(values.values())]
    if not rows:
        return
    figures = sorted(rows[0].keys() - set(key_names))
    # A row can only reach 0 if none of its never-negative figures grew (has_delta is signed).
    emptied = [row for row in rows if not any(row[f] > 0 for f in figures if f != "has_delta")]
    if "refreshed_at" in table.c:
        now = utcnow()
        for row in rows:
            row["refreshed_at"] = now
    if _postgresql():
        updates = [f"{f} = {table.name}.{f} + excluded.{f}" for f in figures]
        if "refreshed_at" in table.c:
            updates.append("refreshed_at = excluded.refreshed_at")
        names = key_names + figures + (["refreshed_at"] if "refreshed_at" in table.c else [])
        unnest(table, names, rows, "INSERT INTO {t} ({names}) SELECT * FROM {rows} "
               f"ON CONFLICT ({', '.join(key_names)}) DO UPDATE SET {', '.join(updates)}")
        if emptied:
            unnest(table, key_names, emptied, "DELETE FROM {t} USING {rows} WHERE {match} AND "
                   + " AND ".join(f"{table.name}.{f} = 0" for f in figures))
        return
    insert = sqlite.insert(table)
    updates = {f: table.c[f] + insert.excluded[f] for f in figures}
    if "refreshed_at" in table.c:
        updates["refreshed_at"] = insert.excluded.refreshed_at
    db.session.execute(insert.on_conflict_do_update(index_elements=key_names, set_=updates), rows)
    if emptied:
        db.session.execute(
            delete(table).where(*(table.c[k] == bindparam(f"k_{k}") for k in key_names),
                                and_(*(table.c[f] == 0 for f in figures))),
            [{f"k_{k}": row[k] for k in key_names} for row in emptied])

