"""Keeping the coverage rows: incrementally after each push, and rebuilt whole from the visits.

Both paths run the same set-based SQL and differ only in their WHERE clause, so the rows they
produce are identical by construction (the property test checks it anyway):

1. the compact layer — ``coverage_household_days`` (per household and day) and
   ``coverage_subject_days`` (per resident or household, service and day) — is recomputed whole
   for the households and subjects touched (cost: their own history, never the hamlet's);
2. every summary key those rows fed before or feed now — a hamlet's day, month, campaign — is
   deleted and recomputed from the compact layer (cost: one day, month or campaign of a hamlet).

Nothing is added blindly, so a job run twice, or jobs run out of order, leave the same rows.
Runs are serialised by a PostgreSQL advisory lock (SQLite's ``BEGIN IMMEDIATE`` already does).
"""
from datetime import date, timedelta

from sqlalchemy import (Date, Integer, and_, case, cast, delete, distinct, false, func, literal,
                        literal_column, or_, select, text, true, tuple_, union_all)

from server.errors import Invalid
from server.extensions import db
from server.models import (Campaign, CampaignHamlet, CampaignHamletService, Commune, Hamlet,
                           HamletDay, HamletMonth, HamletServiceDay, HamletServiceMonth,
                           Household, HouseholdDay, Resident, Service, SubjectDay, Visit,
                           VisitService)
from server.models.coverage import (ALWAYS_ADULT_BIRTH_YEAR, FOLDED_BORN_BY,
                                    HOUSEHOLD_BIRTH_YEAR, UNKNOWN_BIRTH_YEAR, HamletHasMonth)
from server.vocab import REACHED_OUTCOMES

HAS_RESULTS = ("done", "already_had")
COVERAGE_MODELS = (HouseholdDay, SubjectDay, HamletDay, HamletServiceDay, HamletHasMonth,
                   HamletMonth, HamletServiceMonth, CampaignHamlet, CampaignHamletService)
LOCK_KEY = 26425_0003  # pg_advisory_xact_lock key of coverage maintenance
CHUNK = 500  # ids per IN list


def _flag(condition):
    return case((condition, 1), else_=0)


def _counted_visits():
    """Visits that count: not rejected in review, of a live household."""
    return and_(Visit.review_state != "rejected", Household.deleted.is_(False))


def household_day_rows(where):
    """``SELECT`` of coverage_household_days rows for the households matched by ``where``."""
    return (select(Visit.household_id, Visit.visited_on.label("day"), Household.hamlet_id,
                   func.count(Visit.id).label("visits"),
                   func.max(_flag(Visit.outcome.in_(REACHED_OUTCOMES))).label("reached"))
            .join(Household, Household.id == Visit.household_id)
            .where(_counted_visits(), where)
            .group_by(Visit.household_id, Visit.visited_on, Household.hamlet_id))


def _lines(person_where, household_where):
    """Every counted service line with its subject, the subject's hamlet and birth year."""
    columns = (VisitService.service_code, Visit.visited_on.label("day"), Visit.visited_at,
               Visit.id.label("visit_id"), VisitService.id.label("line_id"), VisitService.result)
    person = (select(VisitService.resident_id.label("subject_id"), *columns,
                     Resident.hamlet_id.label("hamlet_id"),
                     func.coalesce(Resident.birth_year, UNKNOWN_BIRTH_YEAR).label("birth_year"))
              .join(Visit, Visit.id == VisitService.visit_id)
              .join(Household, Household.id == Visit.household_id)
              .join(Resident, Resident.id == VisitService.resident_id)
              .join(Service, Service.code == VisitService.service_code)
              .where(_counted_visits(), Service.unit == "person", Resident.deleted.is_(False),
                     person_where))
    household = (select(Visit.household_id.label("subject_id"), *columns,
                        Household.hamlet_id.label("hamlet_id"),
                        literal(HOUSEHOLD_BIRTH_YEAR, Integer).label("birth_year"))
                 .join(Visit, Visit.id == VisitService.visit_id)
                 .join(Household, Household.id == Visit.household_id)
                 .join(Service, Service.code == VisitService.service_code)
                 .where(_counted_visits(), Service.unit == "household", household_where))
    return union_all(person, household).subquery("lines")


def subject_day_rows(person_where, household_where):
    """``SELECT`` of coverage_subject_days rows for the subjects matched by the two clauses."""
    lines = _lines(person_where, household_where)
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
                                       ranked.c.result.in_(HAS_RESULTS)))).label("has"))
            .group_by(ranked.c.subject_id, ranked.c.service_code, ranked.c.day,
                      ranked.c.hamlet_id, ranked.c.birth_year)).subquery("days")
    previous = func.lag(days.c.has, 1, 0).over(partition_by=(days.c.subject_id,
                                                             days.c.service_code),
                                               order_by=days.c.day)
    return select(days, (days.c.has - previous).label("has_delta"))


def _insert(model, query):
    db.session.execute(model.__table__.insert().from_select(
        [c.name for c in query.selected_columns], query))


def _chunks(values):
    values = sorted(values)
    return [values[i:i + CHUNK] for i in range(0, len(values), CHUNK)]


def _postgresql():
    return db.session.get_bind().dialect.name == "postgresql"


def _lock():
    if _postgresql():
        db.session.execute(select(func.pg_advisory_xact_lock(LOCK_KEY)))


def _month_start(column):
    """SQL: the first day of ``column``'s month, as a date."""
    if _postgresql():
        return cast(func.date_trunc("month", column), Date)
    return func.date(column, "start of month")


# --- summary keys -------------------------------------------------------------------------

def _month_of(day):
    return day.replace(day=1)


def _month_end(month):
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def _campaigns():
    return [(c.id, c.date_from, c.date_to) for c in db.session.scalars(select(Campaign))]


def _day_rows(where):
    """``SELECT`` of coverage_days rows from the household days matched by ``where``."""
    h = HouseholdDay
    return (select(h.hamlet_id, h.day, func.sum(h.visits).label("visits"),
                   func.sum(h.reached).label("households_reached"))
            .where(where).group_by(h.hamlet_id, h.day))


def _folded_birth_year(column):
    """Birth years adult at every accepted date become one bucket (models.coverage)."""
    # Literal constants: PostgreSQL matches the GROUP BY expression only without parameters.
    return case((column <= literal_column(str(int(FOLDED_BORN_BY))),
                 literal_column(str(int(ALWAYS_ADULT_BIRTH_YEAR)))), else_=column)


def _service_day_rows(where):
    """``SELECT`` of coverage_service_days rows from the subject days matched by ``where``."""
    s = SubjectDay
    total = (func.sum(s.done), func.sum(s.already_had), func.sum(s.has_delta))
    birth_year = _folded_birth_year(s.birth_year)
    return (select(s.hamlet_id, s.service_code, s.day, birth_year.label("birth_year"),
                   total[0].label("supported"), total[1].label("already_had"),
                   total[2].label("has_delta"))
            .where(where).group_by(s.hamlet_id, s.service_code, s.day, birth_year)
            .having(or_(*(t != 0 for t in total))))


def _has_month_rows(where):
    """``SELECT`` of coverage_has_months rows from the service days matched by ``where``."""
    d = HamletServiceDay
    month, total = _month_start(d.day), func.sum(d.has_delta)
    return (select(d.hamlet_id, d.service_code, month.label("month"), d.birth_year,
                   total.label("has_delta"))
            .where(where).group_by(d.hamlet_id, d.service_code, month, d.birth_year)
            .having(total != 0))


def _refresh_days(hamlet_days):
    """Recompute coverage_days for ``{(hamlet, day)}`` from the household days."""
    for chunk in _chunks(hamlet_days):
        db.session.execute(delete(HamletDay).where(
            tuple_(HamletDay.hamlet_id, HamletDay.day).in_(chunk)))
        _insert(HamletDay, _day_rows(tuple_(HouseholdDay.hamlet_id, HouseholdDay.day).in_(chunk)))


def _refresh_service_days(keys):
    """Recompute coverage_service_days for ``{(hamlet, service, day)}`` from the subject days,
    then coverage_has_months for the months they fall in."""
    d, s, m = HamletServiceDay, SubjectDay, HamletHasMonth
    for chunk in _chunks(keys):
        db.session.execute(delete(d).where(tuple_(d.hamlet_id, d.service_code, d.day).in_(chunk)))
        _insert(d, _service_day_rows(tuple_(s.hamlet_id, s.service_code, s.day).in_(chunk)))
    by_month = {}
    for hamlet_id, code, day in keys:
        by_month.setdefault(_month_of(day), set()).add((hamlet_id, code))
    for month, pairs in sorted(by_month.items()):
        for chunk in _chunks(pairs):
            db.session.execute(delete(m).where(m.month == month,
                                               tuple_(m.hamlet_id, m.service_code).in_(chunk)))
            _insert(m, _has_month_rows(and_(d.day.between(month, _month_end(month)),
                                            tuple_(d.hamlet_id, d.service_code).in_(chunk))))


def period_visit_counts(where, first, last):
    """``SELECT hamlet_id, visits, households_visited, households_reached`` over a period."""
    h = HouseholdDay
    return (select(h.hamlet_id, func.sum(h.visits).label("visits"),
                   func.count(distinct(h.household_id)).label("households_visited"),
                   func.count(distinct(case((h.reached == 1, h.household_id))))
                   .label("households_reached"))
            .where(where, h.day.between(first, last)).group_by(h.hamlet_id))


def period_service_counts(where, first, last):
    """``SELECT hamlet_id, service_code, supported, already_had, in_progress`` over a period."""
    s = SubjectDay
    counts = [func.count(distinct(case((flag == 1, s.subject_id))))
              for flag in (s.done, s.already_had, s.in_progress)]
    return (select(s.hamlet_id, s.service_code, counts[0].label("supported"),
                   counts[1].label("already_had"), counts[2].label("in_progress"))
            .where(where, s.day.between(first, last)).group_by(s.hamlet_id, s.service_code)
            .having(or_(*(c != 0 for c in counts))))


def _refresh_periods(hamlet_ids, first, last, month=None, campaign_id=None):
    """Recompute one month's (or one campaign's) distinct rows of ``hamlet_ids``."""
    if month is not None:
        visit_model, service_model, marker = HamletMonth, HamletServiceMonth, ("month", month)
    else:
        visit_model, service_model = CampaignHamlet, CampaignHamletService
        marker = ("campaign_id", campaign_id)
    for chunk in _chunks(hamlet_ids):
        for model, rows, where in (
                (visit_model, period_visit_counts, HouseholdDay.hamlet_id.in_(chunk)),
                (service_model, period_service_counts, SubjectDay.hamlet_id.in_(chunk))):
            column = getattr(model, marker[0])
            db.session.execute(delete(model).where(column == marker[1],
                                                   model.hamlet_id.in_(chunk)))
            query = rows(where, first, last).add_columns(
                literal(marker[1], column.type).label(marker[0]))
            _insert(model, query)


def _refresh_periods_of(days, hamlets_of):
    """Recompute the months and campaigns containing ``days``; ``hamlets_of(day)``: whose."""
    by_month, by_campaign = {}, {}
    campaigns = _campaigns()
    for day in days:
        by_month.setdefault(_month_of(day), set()).update(hamlets_of(day))
        for campaign in campaigns:
            if campaign[1] <= day <= campaign[2]:
                by_campaign.setdefault(campaign, set()).update(hamlets_of(day))
    for month, hamlet_ids in sorted(by_month.items()):
        _refresh_periods(hamlet_ids, month, _month_end(month), month=month)
    for (campaign_id, first, last), hamlet_ids in sorted(by_campaign.items()):
        _refresh_periods(hamlet_ids, first, last, campaign_id=campaign_id)


def _refresh_summaries(day_keys, service_keys):
    """Recompute every summary row fed by ``(hamlet, day)`` and ``(hamlet, service, day)``."""
    _refresh_days(day_keys)
    _refresh_service_days(service_keys)
    hamlets_by_day = {}
    for hamlet_id, day in day_keys | {(h, d) for h, _, d in service_keys}:
        hamlets_by_day.setdefault(day, set()).add(hamlet_id)
    _refresh_periods_of(hamlets_by_day, hamlets_by_day.__getitem__)


# --- the two entry points -----------------------------------------------------------------

def _ids(values):
    import uuid

    return {v if isinstance(v, uuid.UUID) else uuid.UUID(str(v)) for v in values or ()}


def _affected(visit_ids, household_ids, resident_ids):
    """The households and residents whose compact rows a change may alter."""
    households, residents = set(household_ids), set(resident_ids)
    for chunk in _chunks(visit_ids):
        households |= set(db.session.scalars(select(Visit.household_id).where(Visit.id.in_(chunk))))
        residents |= set(db.session.scalars(select(VisitService.resident_id).where(
            VisitService.visit_id.in_(chunk), VisitService.resident_id.isnot(None))))
    # A household that moved or left takes every line of its visits, and its residents, along.
    for chunk in _chunks(household_ids):
        residents |= set(db.session.scalars(select(Resident.id).where(
            Resident.household_id.in_(chunk))))
        residents |= set(db.session.scalars(
            select(VisitService.resident_id).join(Visit, Visit.id == VisitService.visit_id)
            .where(Visit.household_id.in_(chunk), VisitService.resident_id.isnot(None))))
    return households, residents


def _compact_rows(households, subjects):
    """``(household day rows, subject day rows)`` of these households and subjects, as sets of
    tuples led by their summary key: (hamlet, day) and (hamlet, service, day)."""
    h, s = HouseholdDay, SubjectDay
    day_rows, subject_rows = set(), set()
    for chunk in _chunks(households):
        day_rows |= {tuple(r) for r in db.session.execute(
            select(h.hamlet_id, h.day, h.household_id, h.visits, h.reached)
            .where(h.household_id.in_(chunk)))}
    for chunk in _chunks(subjects):
        subject_rows |= {tuple(r) for r in db.session.execute(
            select(s.hamlet_id, s.service_code, s.day, s.subject_id, s.birth_year, s.done,
                   s.already_had, s.in_progress, s.has, s.has_delta)
            .where(s.subject_id.in_(chunk)))}
    return day_rows, subject_rows


def refresh(visit_ids=(), household_ids=(), resident_ids=()):
    """Bring the coverage rows up to date after these records changed; commits."""
    _lock()
    households, residents = _affected(_ids(visit_ids), _ids(household_ids), _ids(resident_ids))
    if not households and not residents:
        db.session.commit()
        return
    subjects = households | residents
    old_days, old_subjects = _compact_rows(households, subjects)
    for chunk in _chunks(households):
        db.session.execute(delete(HouseholdDay).where(HouseholdDay.household_id.in_(chunk)))
        _insert(HouseholdDay, household_day_rows(Visit.household_id.in_(chunk)))
    for chunk in _chunks(subjects):
        db.session.execute(delete(SubjectDay).where(SubjectDay.subject_id.in_(chunk)))
    for chunk in _chunks(residents):
        _insert(SubjectDay, subject_day_rows(VisitService.resident_id.in_(chunk), false()))
    for chunk in _chunks(households):
        _insert(SubjectDay, subject_day_rows(false(), Visit.household_id.in_(chunk)))
    new_days, new_subjects = _compact_rows(households, subjects)
    # Only the keys of compact rows that changed: every other summary row is already right.
    _refresh_summaries({r[:2] for r in old_days ^ new_days},
                       {r[:3] for r in old_subjects ^ new_subjects})
    db.session.commit()


def _commune_hamlets(commune_code):
    if commune_code is None:
        return None
    commune = db.session.scalar(select(Commune).where(Commune.code == commune_code,
                                                      Commune.valid_to.is_(None)))
    if commune is None:
        raise Invalid("Unknown commune", {"commune": ["unknown commune code"]})
    return list(db.session.scalars(select(Hamlet.id).where(Hamlet.commune_id == commune.id)))


def rebuild_hamlets(hamlet_ids=None):
    """Recompute every coverage row of ``hamlet_ids`` (None: all) from the visits; commits."""
    _lock()
    _analyze(["services"])
    scoped = (lambda column: column.in_(hamlet_ids)) if hamlet_ids is not None \
        else (lambda column: true())
    for model in COVERAGE_MODELS:
        where = scoped(model.hamlet_id)
        db.session.execute(delete(model).where(where) if hamlet_ids is not None else delete(model))
    _insert(HouseholdDay, household_day_rows(scoped(Household.hamlet_id)))
    _insert(SubjectDay, subject_day_rows(scoped(Resident.hamlet_id), scoped(Household.hamlet_id)))
    _insert(HamletDay, _day_rows(scoped(HouseholdDay.hamlet_id)))
    _insert(HamletServiceDay, _service_day_rows(scoped(SubjectDay.hamlet_id)))
    _insert(HamletHasMonth, _has_month_rows(scoped(HamletServiceDay.hamlet_id)))
    days = set(db.session.scalars(select(HouseholdDay.day).distinct()
                                  .where(scoped(HouseholdDay.hamlet_id))))
    days |= set(db.session.scalars(select(SubjectDay.day).distinct()
                                   .where(scoped(SubjectDay.hamlet_id))))
    every = hamlet_ids if hamlet_ids is not None else list(db.session.scalars(select(Hamlet.id)))
    _refresh_periods_of(days, lambda day: every)
    if hamlet_ids is None:  # every row was just replaced: fresh planner statistics
        _analyze([m.__tablename__ for m in COVERAGE_MODELS])
    db.session.commit()


def _analyze(tables):
    """PostgreSQL: ``ANALYZE`` these tables. ``services`` (a dozen rows, below autovacuum's
    threshold) goes first in every rebuild: misjudged, the planner turns a commune rebuild into a
    scan of every visit line."""
    if _postgresql():
        for table in tables:
            db.session.execute(text(f"ANALYZE {table}"))


def rebuild(commune_code=None):
    """Recompute every hamlet (of one commune, or all); returns how many hamlets."""
    hamlet_ids = _commune_hamlets(commune_code)
    rebuild_hamlets(hamlet_ids)
    if hamlet_ids is None:
        return db.session.scalar(select(func.count()).select_from(Hamlet))
    return len(hamlet_ids)


def refresh_campaign(campaign_id):
    """Fill a (new or changed) campaign's rows from the compact layer; commits."""
    _lock()
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is not None:
        hamlet_ids = list(db.session.scalars(select(Hamlet.id)))
        _refresh_periods(hamlet_ids, campaign.date_from, campaign.date_to, campaign_id=campaign.id)
    db.session.commit()


def month_bounds(day: date):
    """``(first, last)`` day of ``day``'s month."""
    return _month_of(day), _month_end(_month_of(day))
