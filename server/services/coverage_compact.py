"""The compact coverage layer: one row per (household, day) and per (subject, service, day).

``household_day_rows`` and ``subject_day_rows`` are the ``SELECT``s that compute these rows from
the visits; a rebuild inserts them whole, a drain (``differences``, then ``write``) compares them,
in one statement per table, with the stored rows of the records its pending rows name, into a
temporary table of its transaction, and writes only that difference. Both use the same
expressions, so their rows are identical by construction.

What a drain recomputes (``ranges``): for each pending visit, its household's and its subjects'
rows from the visit's day on — a row's ``has_delta`` depends on the row before it, which is read
from the stored rows (``_previous_has``), so rows before that day need no work; for each pending
household or resident, all of its rows (a move, an erasure or a birth year changes every one).
A push of fresh visits thus writes only its own days' rows (it still reads each touched
resident's lines, whose day only their visit knows, to find them).
"""
import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import (Column, Integer, MetaData, Table, and_, case, delete, except_, func,
                        literal, select, text, true, tuple_, union_all)
from sqlalchemy.schema import CreateTable

from server.extensions import db
from server.models import Household, HouseholdDay, Resident, Service, SubjectDay, Visit, VisitService
from server.models.coverage import HOUSEHOLD_BIRTH_YEAR, UNKNOWN_BIRTH_YEAR, CoveragePending
from server.vocab import REACHED_OUTCOMES

HAS_RESULTS = ("done", "already_had")
ALL_DAYS = date.min  # a range's first day when every row of the record is recomputed


def _flag(condition):
    return case((condition, 1), else_=0)


def _counted_visits():
    """Visits that count: not rejected in review, of a live household."""
    return and_(Visit.review_state != "rejected", Household.deleted.is_(False))


# --- the rows, computed from the visits ---------------------------------------------------

def household_day_rows(where, scope=None):
    """``SELECT`` of coverage_household_days rows for the households matched by ``where``, or,
    with ``scope`` (``ranges()``' household side), for each one's days from its range's start."""
    query = (select(Visit.household_id, Visit.visited_on.label("day"), Household.hamlet_id,
                    func.count(Visit.id).label("visits"),
                    func.max(_flag(Visit.outcome.in_(REACHED_OUTCOMES))).label("reached"))
             .join(Household, Household.id == Visit.household_id))
    if scope is not None:
        query = query.join(scope, and_(scope.c.id == Visit.household_id,
                                       Visit.visited_on >= scope.c.first_day))
    return (query.where(_counted_visits(), where)
            .group_by(Visit.household_id, Visit.visited_on, Household.hamlet_id))


def _lines(person_where, household_where, scopes=None):
    """Every counted service line with its subject, the subject's hamlet and birth year (and,
    with ``scopes`` — (residents, households) ranges — the first day of the subject's range)."""
    columns = (VisitService.service_code, Visit.visited_on.label("day"), Visit.visited_at,
               Visit.id.label("visit_id"), VisitService.id.label("line_id"), VisitService.result)
    everything = literal(ALL_DAYS).label("first_day")
    residents, households = scopes if scopes is not None else (None, None)
    person = (select(VisitService.resident_id.label("subject_id"), *columns,
                     Resident.hamlet_id.label("hamlet_id"),
                     func.coalesce(Resident.birth_year, UNKNOWN_BIRTH_YEAR).label("birth_year"),
                     residents.c.first_day if residents is not None else everything)
              .join(Visit, Visit.id == VisitService.visit_id)
              .join(Household, Household.id == Visit.household_id)
              .join(Resident, Resident.id == VisitService.resident_id)
              .join(Service, Service.code == VisitService.service_code))
    household = (select(Visit.household_id.label("subject_id"), *columns,
                        Household.hamlet_id.label("hamlet_id"),
                        literal(HOUSEHOLD_BIRTH_YEAR, Integer).label("birth_year"),
                        households.c.first_day if households is not None else everything)
                 .join(Visit, Visit.id == VisitService.visit_id)
                 .join(Household, Household.id == Visit.household_id)
                 .join(Service, Service.code == VisitService.service_code))
    if scopes is not None:
        person = person.join(residents, and_(residents.c.id == VisitService.resident_id,
                                             Visit.visited_on >= residents.c.first_day))
        household = household.join(households, and_(households.c.id == Visit.household_id,
                                                    Visit.visited_on >= households.c.first_day))
    person = person.where(_counted_visits(), Service.unit == "person", Resident.deleted.is_(False),
                          person_where)
    household = household.where(_counted_visits(), Service.unit == "household", household_where)
    return union_all(person, household).subquery("lines")


def _previous_has(days):
    """The stored ``has`` of a subject's last row before its range (0 if none)."""
    s = SubjectDay
    return (select(s.has).where(s.subject_id == days.c.subject_id,
                                s.service_code == days.c.service_code,
                                s.day < days.c.first_day)
            .order_by(s.day.desc()).limit(1).scalar_subquery())


def subject_day_rows(person_where, household_where, scopes=None):
    """``SELECT`` of coverage_subject_days rows for the subjects matched by the two clauses, or,
    with ``scopes`` (``ranges()``' residents and households), for each one's days from its
    range's start."""
    lines = _lines(person_where, household_where, scopes)
    key = (lines.c.subject_id, lines.c.service_code)
    # The latest line of each day decides whether the subject "has" the service at its end;
    # ties in visited_at fall to the larger visit id, then line id (the brute force agrees).
    ranked = select(lines, func.row_number().over(
        partition_by=(*key, lines.c.day),
        order_by=(lines.c.visited_at.desc(), lines.c.visit_id.desc(), lines.c.line_id.desc()),
    ).label("rank")).subquery("ranked")
    days = (select(ranked.c.subject_id, ranked.c.service_code, ranked.c.day, ranked.c.hamlet_id,
                   ranked.c.birth_year,
                   func.max(_flag(ranked.c.result == "done")).label("done"),
                   func.max(_flag(ranked.c.result == "already_had")).label("already_had"),
                   func.max(_flag(ranked.c.result == "in_progress")).label("in_progress"),
                   func.max(_flag(and_(ranked.c.rank == 1,
                                       ranked.c.result.in_(HAS_RESULTS)))).label("has"),
                   func.min(ranked.c.first_day).label("first_day"))
            .group_by(ranked.c.subject_id, ranked.c.service_code, ranked.c.day,
                      ranked.c.hamlet_id, ranked.c.birth_year)).subquery("days")
    before = _previous_has(days) if scopes is not None else literal(0)
    previous = func.coalesce(func.lag(days.c.has).over(
        partition_by=(days.c.subject_id, days.c.service_code), order_by=days.c.day), before, 0)
    return select(*(c for c in days.c if c.name != "first_day"),
                  (days.c.has - previous).label("has_delta"))


# --- a drain: the pending records' ranges, the difference, the writes ----------------------

def ranges(claimed):
    """``(households, residents)``: CTEs of ``(id, first_day)`` — whose compact rows the pending
    rows selected by ``claimed`` may change, and from which day. A household's range is both
    its household days' and its household-level subject rows'."""
    p, v, line = CoveragePending, Visit, VisitService
    pending = lambda kind: select(p.record_id).where(claimed, p.kind == kind)  # noqa: E731
    everything = literal(ALL_DAYS).label("first_day")
    visits = (select(v.id, v.household_id, v.visited_on).where(v.id.in_(pending("visit")))
              .cte("pending_visits"))
    households = pending("household").cte("pending_households")

    def grouped(name, *parts):
        both = union_all(*parts).subquery()
        return (select(both.c.id, func.min(both.c.first_day).label("first_day"))
                .group_by(both.c.id).cte(name))

    household_side = grouped(
        "household_ranges",
        select(visits.c.household_id.label("id"), visits.c.visited_on.label("first_day")),
        select(households.c.record_id.label("id"), everything))
    resident_side = grouped(
        "resident_ranges",
        select(line.resident_id.label("id"), visits.c.visited_on.label("first_day"))
        .join(visits, visits.c.id == line.visit_id).where(line.resident_id.isnot(None)),
        # A household that moved or left takes its residents and every line of its visits along.
        select(Resident.id.label("id"), everything)
        .where(Resident.household_id.in_(select(households.c.record_id))),
        select(line.resident_id.label("id"), everything)
        .join(v, v.id == line.visit_id)
        .where(v.household_id.in_(select(households.c.record_id)), line.resident_id.isnot(None)),
        select(p.record_id.label("id"), everything).where(claimed, p.kind == "resident"))
    return household_side, resident_side


def _stored(model, key, scope):
    """The stored rows of ``model`` in ``scope``'s ranges (``key``: the record's column)."""
    columns = [c for c in model.__table__.columns]
    return (select(*columns).join(scope, and_(scope.c.id == key, model.day >= scope.c.first_day)))


def _difference(computed, stored):
    """``SELECT sign, row…``: rows to write (sign 1) and stored rows to delete (sign -1)."""
    new, old = computed.cte("computed_rows"), stored.cte("stored_rows")
    added = except_(select(new), select(old)).subquery("added")
    gone = except_(select(old), select(new)).subquery("gone")
    return union_all(select(literal(1).label("sign"), added),
                     select(literal(-1).label("sign"), gone))


_SCRATCH = MetaData()


def _scratch_table(model):
    """The drain's temporary copy of ``model``'s columns with a ``sign``: its difference."""
    name = f"drain_{model.__tablename__}"
    if name not in _SCRATCH.tables:
        Table(name, _SCRATCH, Column("sign", Integer),
              *(Column(c.name, c.type) for c in model.__table__.columns),
              prefixes=["TEMPORARY"], postgresql_on_commit="DROP")
    return _SCRATCH.tables[name]


@dataclass
class Difference:
    """One compact table's change, held in a temporary table of the drain's transaction (rows
    with ``sign`` -1: stored rows to delete; 1: computed rows to insert), so the writes and the
    summary's increments are computed by the database, never shipped through Python."""

    model: type
    table: Table
    days: set  # the days of its rows
    has_gone: bool  # whether any stored row goes

    def __bool__(self):
        return bool(self.days)

    def rows(self):
        """``(gone, added)`` as lists of dicts (for inspection)."""
        names = [c.name for c in self.model.__table__.columns]
        out = ([], [])
        for row in db.session.execute(select(self.table)):
            out[0 if row.sign < 0 else 1].append({n: getattr(row, n) for n in names})
        return out


def _fill(model, query):
    """Fill ``model``'s scratch table with ``query``'s rows. The table is made once per
    transaction on PostgreSQL (``ON COMMIT DROP``) and once per connection on SQLite, and
    emptied first: no drop, no statement a drain does not need."""
    table = _scratch_table(model)
    db.session.execute(CreateTable(table, if_not_exists=True))
    db.session.execute(delete(table))
    db.session.execute(table.insert().from_select([c.name for c in table.c], query))
    days = db.session.execute(select(table.c.day, func.min(table.c.sign)).group_by(table.c.day))
    days = dict(days.all())
    return Difference(model, table, set(days), any(sign < 0 for sign in days.values()))


def differences(claimed):
    """``(household days, subject days)``: how the compact rows of the claimed pending records
    differ from what their visits give now, each in a scratch table; nothing else written."""
    households, residents = ranges(claimed)
    h, s = HouseholdDay, SubjectDay
    days = _fill(h, _difference(household_day_rows(true(), households),
                                _stored(h, h.household_id, households)))
    stored = union_all(_stored(s, s.subject_id, residents), _stored(s, s.subject_id, households))
    subjects = _fill(s, _difference(subject_day_rows(true(), true(), (residents, households)),
                                    stored))
    return days, subjects


def write(difference):
    """Delete the gone rows (by primary key), then insert the added ones."""
    if not difference:
        return
    table, scratch = difference.model.__table__, difference.table
    keys = [c.name for c in table.primary_key.columns]
    db.session.execute(delete(table).where(tuple_(*(table.c[k] for k in keys)).in_(
        select(*(scratch.c[k] for k in keys)).where(scratch.c.sign < 0)))
        .execution_options(synchronize_session=False))
    names = [c.name for c in table.columns]
    db.session.execute(table.insert().from_select(
        names, select(*(scratch.c[n] for n in names)).where(scratch.c.sign > 0)))


def _postgresql():
    return db.session.get_bind().dialect.name == "postgresql"


def unnest(table, names, rows, template):
    """PostgreSQL: run ``template`` with ``{rows}`` as ``unnest(…) AS rows(names)`` of these
    rows' columns (each column one array parameter), ``{t}`` the table, ``{names}`` the column
    list and ``{match}`` ``t.name = rows.name`` for each name."""
    dialect = db.session.get_bind().dialect
    arrays = ", ".join(f"CAST(CAST(:c{i} AS TEXT) AS {table.c[n].type.compile(dialect)}[])"
                       for i, n in enumerate(names))
    sql = template.format(
        t=table.name, names=", ".join(names),
        rows=f"unnest({arrays}) AS rows({', '.join(names)})",
        match=" AND ".join(f"{table.name}.{n} = rows.{n}" for n in names))
    db.session.execute(text(sql), {f"c{i}": array_literal(row[n] for row in rows)
                                   for i, n in enumerate(names)})


def array_literal(values):
    """A PostgreSQL array literal (``{a,b,NULL}``) of ``values``: one string that the server
    parses, where a Python list would cost psycopg a dumper call per element."""
    return "{" + ",".join(map(_element, values)) + "}"


def _element(value):
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, (int, uuid.UUID)):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
