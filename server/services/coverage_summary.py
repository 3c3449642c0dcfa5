"""A drain's summary rows: the compact layer's difference applied as exact increments.

Each summary figure is a function of the compact rows, so a drain moves it by what its own
difference (``coverage_compact.Difference``: rows gone, rows added) changes:

- sums — visits and reached households per hamlet and day, the service figures per hamlet,
  service, day and folded birth year, ``has`` per month — move by the added rows' values minus
  the gone rows';
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

from sqlalchemy import (Text, Uuid, and_, any_, bindparam, case, cast, delete, distinct, func,
                        literal, or_, select, union_all)
from sqlalchemy.dialects import postgresql, sqlite

from server.extensions import db
from server.models import (Campaign, CampaignHamlet, CampaignHamletService, HamletDay,
                           HamletMonth, HamletServiceDay, HamletServiceMonth, HouseholdDay,
                           SubjectDay)
from server.models.coverage import ALWAYS_ADULT_BIRTH_YEAR, FOLDED_BORN_BY, HamletHasMonth
from server.models.types import utcnow
from server.services.coverage_compact import array_literal, unnest

CHUNK = 2000  # ids per IN list
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


def fold(birth_year):
    """The summary's birth-year bucket (models.coverage: adults at every accepted date → 0)."""
    return ALWAYS_ADULT_BIRTH_YEAR if birth_year <= FOLDED_BORN_BY else birth_year


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


def _rows(*differences):
    return [row for d in differences for row in (*d.gone, *d.added)]


def _chunks(values):
    values = sorted(values)
    return [values[i:i + CHUNK] for i in range(0, len(values), CHUNK)]


def _postgresql():
    return db.session.get_bind().dialect.name == "postgresql"


def _among(column):
    """``column`` in the ``ids`` parameter: one array on PostgreSQL (not a parameter per id)."""
    if _postgresql():
        return column == any_(cast(bindparam("ids", type_=Text), postgresql.ARRAY(Uuid)))
    return column.in_(bindparam("ids", expanding=True))


def _ids(chunk):
    """The ``ids`` parameter's value: an array literal on PostgreSQL, a list on SQLite."""
    return array_literal(chunk) if _postgresql() else chunk


def _period_counts(household_days, subject_days, periods):
    """``{(period, hamlet): visit counts}``, ``{(period, hamlet, service): service counts}`` of
    the changed records alone, in each period (``period_*_counts`` with one more key: the
    period; chunks hold distinct records, so their counts add up)."""
    if not periods:
        return {}, {}
    periods = sorted(periods, key=lambda p: (p.first, p.last, p.campaign_id or 0))
    within = union_all(*(select(literal(i).label("period"), literal(p.first).label("first"),
                                literal(p.last).label("last")) for i, p in enumerate(periods))
                       ).subquery("periods")
    h, s = HouseholdDay, SubjectDay
    visits = (select(within.c.period, h.hamlet_id, *_visit_figures())
              .join(within, h.day.between(within.c.first, within.c.last))
              .where(_among(h.household_id)).group_by(within.c.period, h.hamlet_id))
    services = (select(within.c.period, s.hamlet_id, s.service_code, *_service_figures())
                .join(within, s.day.between(within.c.first, within.c.last))
                .where(_among(s.subject_id))
                .group_by(within.c.period, s.hamlet_id, s.service_code))
    out = ({}, {})
    for query, records, found, names in (
            (visits, {r["household_id"] for r in _rows(household_days)}, out[0], VISIT_COUNTS),
            (services, {r["subject_id"] for r in _rows(subject_days)}, out[1], SERVICE_COUNTS)):
        for chunk in _chunks(records):
            for row in db.session.execute(query, {"ids": _ids(chunk)}):
                key = (periods[row[0]], *row[1:len(row) - len(names)])
                counts = found.setdefault(key, dict.fromkeys(names, 0))
                for name, value in zip(names, row[len(row) - len(names):]):
                    counts[name] += value
    return out


def counts_before(household_days, subject_days):
    """Before the compact rows are written: the periods the difference touches and the changed
    records' counts in them."""
    periods = _periods({row["day"] for row in _rows(household_days, subject_days)})
    return periods, _period_counts(household_days, subject_days, periods)


def _add_to(totals, key, values, sign):
    row = totals.setdefault(key, dict.fromkeys(values, 0))
    for name, value in values.items():
        row[name] += sign * value


def _changes(before, after):
    changed = {}
    for key in before.keys() | after.keys():
        old, new = before.get(key, {}), after.get(key, {})
        delta = {name: new.get(name, 0) - old.get(name, 0) for name in old.keys() | new.keys()}
        if any(delta.values()):
            changed[key] = delta
    return changed


def apply(household_days, subject_days, before):
    """After the compact rows are written: move the summary rows by what changed."""
    periods, (visits_before, services_before) = before
    days, service_days, has_months = {}, {}, {}
    for sign, rows in ((-1, household_days.gone), (1, household_days.added)):
        for r in rows:
            _add_to(days, (r["hamlet_id"], r["day"]),
                    {"visits": r["visits"], "households_reached": r["reached"]}, sign)
    for sign, rows in ((-1, subject_days.gone), (1, subject_days.added)):
        for r in rows:
            year = fold(r["birth_year"])
            _add_to(service_days, (r["hamlet_id"], r["service_code"], r["day"], year),
                    {"supported": r["done"], "already_had": r["already_had"],
                     "has_delta": r["has_delta"]}, sign)
            _add_to(has_months, (r["hamlet_id"], r["service_code"], _month(r["day"]).first,
                                 year), {"has_delta": r["has_delta"]}, sign)
    _add(HamletDay, days)
    _add(HamletServiceDay, service_days)
    _add(HamletHasMonth, has_months)
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

