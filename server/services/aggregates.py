"""Keeping the coverage rows: drained per commune after pushes, and rebuilt whole from the visits.

Two layers (docs/decisions.md, "Coverage"):

1. the compact layer — ``coverage_household_days`` and ``coverage_subject_days`` — kept by
   ``server/services/coverage_compact.py``: a drain computes the rows of the records its pending
   rows name, from each one's changed day on, compares them with the stored ones in SQL and
   writes only the difference;
2. every summary key a changed compact row fed before or feeds now — a hamlet's day, month,
   campaign — is deleted and recomputed from the compact layer (cost: one day, month or
   campaign of a hamlet).

``aggregates rebuild`` runs the same ``SELECT``s with a wider ``WHERE``, so the rows of both
paths are identical by construction (the property test checks it anyway). Nothing is added
blindly, so a drain run twice, or drains run out of order, leave the same rows. Maintenance is
serialised by a PostgreSQL advisory lock (SQLite's ``BEGIN IMMEDIATE`` already does).
"""
from datetime import date, timedelta

from sqlalchemy import delete, func, literal, or_, select, text, true

from server.errors import Invalid
from server.extensions import db
from server.models import (Campaign, CampaignHamlet, CampaignHamletService, Commune, Hamlet,
                           HamletDay, HamletMonth, HamletServiceDay, HamletServiceMonth,
                           Household, HouseholdDay, Resident, SubjectDay)
from server.models.coverage import HamletHasMonth
from server.services import coverage_compact, coverage_queue, coverage_summary
from server.services.coverage_compact import household_day_rows, subject_day_rows
from server.services.coverage_summary import (folded_birth_year, month_start, period_service_counts,
                                              period_visit_counts)

COVERAGE_MODELS = (HouseholdDay, SubjectDay, HamletDay, HamletServiceDay, HamletHasMonth,
                   HamletMonth, HamletServiceMonth, CampaignHamlet, CampaignHamletService)
LOCK_KEY = 26425_0003  # pg_advisory_xact_lock key of coverage maintenance
CHUNK = 500  # keys per IN list


def _insert(model, query):
    db.session.execute(model.__table__.insert().from_select(
        [c.name for c in query.selected_columns], query))


def _chunks(values):
    values = sorted(values)
    return [values[i:i + CHUNK] for i in range(0, len(values), CHUNK)]


def _postgresql():
    return db.session.get_bind().dialect.name == "postgresql"


def _lock(small=False):
    """Take the maintenance lock; ``small``: a drain's transaction, whose statements each read a
    few thousand rows by index, where parallel workers cost more than they save."""
    if _postgresql():
        db.session.execute(select(func.pg_advisory_xact_lock(LOCK_KEY)))
        if small:
            db.session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))


# --- summary rows recomputed from the compact layer (rebuild, campaigns) ----------------

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


def _service_day_rows(where):
    """``SELECT`` of coverage_service_days rows from the subject days matched by ``where``."""
    s = SubjectDay
    total = (func.sum(s.done), func.sum(s.already_had), func.sum(s.has_delta))
    birth_year = folded_birth_year(s.birth_year)
    return (select(s.hamlet_id, s.service_code, s.day, birth_year.label("birth_year"),
                   total[0].label("supported"), total[1].label("already_had"),
                   total[2].label("has_delta"))
            .where(where).group_by(s.hamlet_id, s.service_code, s.day, birth_year)
            .having(or_(*(t != 0 for t in total))))


def _has_month_rows(where):
    """``SELECT`` of coverage_has_months rows from the service days matched by ``where``."""
    d = HamletServiceDay
    month, total = month_start(d.day), func.sum(d.has_delta)
    return (select(d.hamlet_id, d.service_code, month.label("month"), d.birth_year,
                   total.label("has_delta"))
            .where(where).group_by(d.hamlet_id, d.service_code, month, d.birth_year)
            .having(total != 0))


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


# --- the entry points ---------------------------------------------------------------------

def _refresh_claimed(claimed):
    """Bring the compact rows of the claimed pending records up to date and move the summary
    rows by their difference; deletes the pending rows. Returns whether any row changed."""
    household_days, subject_days = coverage_compact.differences(claimed)
    before = coverage_summary.counts_before(household_days, subject_days)
    coverage_compact.write(household_days)
    coverage_compact.write(subject_days)
    coverage_queue.release(claimed)
    coverage_summary.apply(household_days, subject_days, before)
    return bool(household_days or subject_days)


def drain():
    """Bring the coverage rows up to date for every record pending, of every commune (one
    drain for any number of pushes); commits. Returns ``(communes drained, whether any row
    changed)``."""
    _lock(small=True)
    claimed, communes = coverage_queue.claim()
    changed = _refresh_claimed(claimed)
    db.session.commit()
    return communes, changed


def drain_pending():
    """Drain now whatever pushes left pending (after a lost job); returns the communes."""
    return drain()[0]


def refresh(visit_ids=(), household_ids=(), resident_ids=()):
    """Bring the coverage rows up to date after these records changed, now; commits."""
    _lock(small=True)
    if coverage_queue.record(None, visit_ids, household_ids, resident_ids, claimed=True):
        _refresh_claimed(coverage_queue.claimed_inline())
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
