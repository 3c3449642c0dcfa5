"""Per-hamlet monthly figures, recomputed from visits for the hamlets a push touched.

Recomputing a touched hamlet whole (rather than adding deltas) keeps the job idempotent and
makes the incremental path and ``aggregates rebuild`` produce identical rows by construction.
"""
from datetime import date

from sqlalchemy import delete, distinct, func, select

from server.errors import Invalid
from server.extensions import db
from server.models import (REACHED_OUTCOMES, Commune, Hamlet, HamletMonth, HamletServiceMonth,
                           Visit, VisitService)
from server.models.types import utcnow


def _month(column):
    if db.engine.dialect.name == "postgresql":
        return func.date_trunc("month", column)
    return func.strftime("%Y-%m-01", column)


def _as_date(value):
    if isinstance(value, date):
        return value.replace(day=1) if not hasattr(value, "hour") else value.date().replace(day=1)
    return date.fromisoformat(str(value)[:10])


def refresh_hamlets(hamlet_ids):
    """Recompute the monthly rows of ``hamlet_ids`` from their visits; commits."""
    hamlet_ids = sorted(set(hamlet_ids))
    if not hamlet_ids:
        return
    month = _month(Visit.visited_on).label("month")
    visit_rows = db.session.execute(
        select(Visit.hamlet_id, month, func.count(Visit.id),
               func.count(distinct(Visit.household_id)),
               func.count(distinct(Visit.household_id))
               .filter(Visit.outcome.in_(REACHED_OUTCOMES)))
        .where(Visit.hamlet_id.in_(hamlet_ids)).group_by(Visit.hamlet_id, month)).all()
    subject = func.coalesce(func.cast(VisitService.resident_id, db.String),
                            func.cast(Visit.household_id, db.String))
    service_rows = db.session.execute(
        select(Visit.hamlet_id, month, VisitService.service_code,
               func.count(distinct(subject)).filter(VisitService.result == "done"),
               func.count(distinct(subject)).filter(VisitService.result == "already_had"),
               func.count(distinct(subject)).filter(VisitService.result == "in_progress"))
        .join(Visit, Visit.id == VisitService.visit_id)
        .where(Visit.hamlet_id.in_(hamlet_ids))
        .group_by(Visit.hamlet_id, month, VisitService.service_code)).all()

    db.session.execute(delete(HamletMonth).where(HamletMonth.hamlet_id.in_(hamlet_ids)))
    db.session.execute(delete(HamletServiceMonth).where(HamletServiceMonth.hamlet_id.in_(hamlet_ids)))
    now = utcnow()
    db.session.add_all(
        HamletMonth(hamlet_id=h, month=_as_date(m), visits=v, households_visited=hv,
                    households_reached=hr, refreshed_at=now)
        for h, m, v, hv, hr in visit_rows)
    db.session.add_all(
        HamletServiceMonth(hamlet_id=h, month=_as_date(m), service_code=code, supported=done,
                           already_had=had, in_progress=progress)
        for h, m, code, done, had, progress in service_rows)
    db.session.commit()


def rebuild(commune_code=None):
    """Recompute every hamlet (of one commune, or all); returns how many hamlets."""
    query = select(Hamlet.id)
    if commune_code is not None:
        commune = db.session.scalar(select(Commune).where(Commune.code == commune_code,
                                                          Commune.valid_to.is_(None)))
        if commune is None:
            raise Invalid("Unknown commune", {"commune": ["unknown commune code"]})
        query = query.where(Hamlet.commune_id == commune.id)
    ids = list(db.session.scalars(query))
    refresh_hamlets(ids)
    return len(ids)
