"""The office's review of visits: the filtered list, one visit with its history, and decisions.

A decision (``has_issues`` "cần bổ sung", ``approved`` "đã duyệt", ``rejected`` "không chấp
nhận") sets the visit's state and comment, is audit-logged, and takes a new ``change_seq`` from
the commune's change counter so phones can learn it by pull. A rejected visit stops counting in
the coverage figures (and counts again if a later decision un-rejects it).
"""
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Optional

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import selectinload

from server.errors import Conflict, Invalid, NotFound
from server.extensions import db
from server.models import (AuditEntry, Hamlet, Household, Resident, Service, Team, User, Visit,
                           VisitService, team_hamlets)
from server.models.types import utcnow
from server.services import audit, coverage, quality
from server.services.changes import ChangeClock, commune_scope
from server.vocab import REVIEW_STATES, day_start

DECISIONS = ("has_issues", "approved", "rejected")
COMMENT_REQUIRED = ("has_issues", "rejected")  # the member must learn what to fix or why
PAGE_SIZE = 50


@dataclass
class VisitFilter:
    """What the visits list is narrowed to; every field optional."""

    hamlet_id: Optional[int] = None
    team_id: Optional[int] = None
    member_id: Optional[int] = None
    first: Optional[date] = None
    last: Optional[date] = None
    outcome: Optional[str] = None
    service: Optional[str] = None
    review_state: Optional[str] = None
    flag: Optional[str] = None


@dataclass
class VisitPage:
    """One page of the list and the keyset of the next one (None: this is the last)."""

    visits: list
    next_after: Optional[str]
    households: dict = field(default_factory=dict)
    members: dict = field(default_factory=dict)


def _as_uuid(value):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def encode_after(visit):
    """The keyset position just after ``visit`` in the list's order."""
    return f"{visit.visited_at.isoformat()}_{visit.id.hex}"


def _decode_after(after):
    """``(visited_at, id)`` of a keyset position, or None when absent or malformed."""
    if not after or "_" not in after:
        return None
    moment, _, visit_id = after.rpartition("_")
    try:
        when = datetime.fromisoformat(moment)
    except ValueError:
        return None
    visit_uuid = _as_uuid(visit_id)
    if visit_uuid is None or when.tzinfo is None:
        return None
    return when, visit_uuid


def _filtered(principal, f):
    query = select(Visit).where(principal.hamlet_filter(Visit.hamlet_id))
    if f.hamlet_id is not None:
        query = query.where(Visit.hamlet_id == f.hamlet_id)
    if f.team_id is not None:
        # A team's work: the visits its members recorded.
        query = query.where(Visit.member_id.in_(select(User.id).where(User.team_id == f.team_id)))
    if f.member_id is not None:
        query = query.where(Visit.member_id == f.member_id)
    # Days as bounds on visited_at, the column the list is ordered and indexed by: a filter on
    # visited_on would make PostgreSQL walk the time index from the newest visit of the province.
    if f.first is not None:
        query = query.where(Visit.visited_at >= day_start(f.first))
    if f.last is not None:
        query = query.where(Visit.visited_at < day_start(f.last + timedelta(days=1)))
    if f.outcome:
        query = query.where(Visit.outcome == f.outcome)
    if f.review_state:
        query = query.where(Visit.review_state == f.review_state)
    if f.service:
        query = query.where(Visit.id.in_(select(VisitService.visit_id).where(
            VisitService.service_code == f.service)))
    if f.flag:
        query = query.where(quality.flag_condition(principal, f.flag, f.first, f.last))
    return query


def list_visits(principal, f, after=None, limit=None):
    """A page of the visits in scope matching ``f``, newest first (keyset pagination)."""
    limit = limit or PAGE_SIZE
    query = _filtered(principal, f)
    position = _decode_after(after)
    if position is not None:
        query = query.where(tuple_(Visit.visited_at, Visit.id) < tuple_(*position))
    query = (query.options(selectinload(Visit.services))
             .order_by(Visit.visited_at.desc(), Visit.id.desc()).limit(limit + 1))
    rows = list(db.session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    households = {h.id: h for h in db.session.scalars(select(Household).where(
        Household.id.in_({v.household_id for v in rows})))} if rows else {}
    members = {u.id: u for u in db.session.scalars(select(User).where(
        User.id.in_({v.member_id for v in rows})))} if rows else {}
    return VisitPage(rows, encode_after(rows[-1]) if more else None, households, members)


def count_by_state(principal):
    """``{review state: visits}`` in the caller's scope."""
    counts = dict.fromkeys(REVIEW_STATES, 0)
    counts.update(db.session.execute(
        select(Visit.review_state, func.count()).where(principal.hamlet_filter(Visit.hamlet_id))
        .group_by(Visit.review_state)).all())
    return counts


def choices(principal):
    """``(hamlets, teams, members, services)`` of the caller's scope, for the list's filters."""
    hamlets = list(db.session.scalars(select(Hamlet).where(principal.hamlet_filter(Hamlet.id))
                                      .order_by(Hamlet.code)))
    team_ids = select(team_hamlets.c.team_id).where(
        principal.hamlet_filter(team_hamlets.c.hamlet_id))
    teams = list(db.session.scalars(select(Team).where(Team.id.in_(team_ids)).order_by(Team.name)))
    members = list(db.session.scalars(select(User).where(User.team_id.in_(team_ids))
                                      .order_by(User.display_name)))
    services = list(db.session.scalars(select(Service).order_by(Service.sort_order, Service.code)))
    return hamlets, teams, members, services


def visit_in_scope(principal, visit_id):
    """A visit the caller may see; 404 otherwise (another scope's visit is not confirmed)."""
    visit_uuid = _as_uuid(visit_id)
    visit = db.session.get(Visit, visit_uuid) if visit_uuid else None
    if visit is None or not principal.can_see_hamlet(visit.hamlet_id):
        raise NotFound("No such visit")
    return visit


@dataclass
class VisitDetail:
    """Everything the visit page shows."""

    visit: Visit
    household: Household
    hamlet: Hamlet
    member: User
    reviewer: Optional[User]
    lines: list  # (VisitService, Resident or None)
    photos: list
    history: list  # AuditEntry rows, oldest first
    flags: list
    service_labels: dict  # code -> the catalogue's label
    actors: dict  # user id -> User, of the history's entries


def detail(principal, visit_id):
    """The visit page's data: services per person, photos, history and current flags."""
    visit = visit_in_scope(principal, visit_id)
    residents = {r.id: r for r in db.session.scalars(select(Resident).where(Resident.id.in_(
        {s.resident_id for s in visit.services if s.resident_id})))}
    photo_ids = [str(p.id) for p in visit.photos]
    history = list(db.session.scalars(
        select(AuditEntry).where(
            ((AuditEntry.entity_type == "visit") & (AuditEntry.entity_id == str(visit.id)))
            | ((AuditEntry.entity_type == "photo") & AuditEntry.entity_id.in_(photo_ids)))
        .order_by(AuditEntry.at, AuditEntry.id)))
    return VisitDetail(
        visit=visit, household=db.session.get(Household, visit.household_id),
        hamlet=db.session.get(Hamlet, visit.hamlet_id),
        member=db.session.get(User, visit.member_id),
        reviewer=db.session.get(User, visit.reviewed_by_id) if visit.reviewed_by_id else None,
        lines=[(s, residents.get(s.resident_id)) for s in visit.services],
        photos=[p for p in visit.photos if p.state == "ready"], history=history,
        flags=quality.flags_of(principal, visit),
        service_labels=dict(db.session.execute(select(Service.code, Service.label)).all()),
        actors={u.id: u for u in db.session.scalars(select(User).where(User.id.in_(
            {e.actor_user_id for e in history if e.actor_user_id})))})


def decide(principal, visit_id, state, comment="", expected_state=None):
    """Record a review decision on a visit in scope; returns the visit.

    ``expected_state`` is the state the reviewer saw: if another reviewer decided meanwhile, the
    decision is refused (409) rather than silently overwriting theirs.
    """
    if state not in DECISIONS:
        raise Invalid(fields={"state": ["not a review decision"]})
    comment = (comment or "").strip()
    if state in COMMENT_REQUIRED and not comment:
        raise Invalid(fields={"comment": ["a comment is required for this decision"]})
    visit = visit_in_scope(principal, visit_id)
    commune_id = db.session.scalar(select(Hamlet.commune_id).where(Hamlet.id == visit.hamlet_id))
    clock = ChangeClock(commune_scope(commune_id))  # locks the counter: decisions queue here
    db.session.refresh(visit)
    if expected_state is not None and visit.review_state != expected_state:
        db.session.rollback()
        raise Conflict("The visit was reviewed by someone else meanwhile")
    before = visit.review_state
    visit.review_state = state
    visit.review_comment = comment or None
    visit.reviewed_by_id = principal.user.id
    visit.reviewed_at = utcnow()
    visit.change_seq = clock.next()
    clock.save()
    audit.record(principal.actor, f"visit.review.{state}", "visit", visit.id,
                 {"from": before, "to": state, "comment": comment}, user_id=principal.user.id)
    db.session.commit()
    if "rejected" in (before, state) and before != state:
        coverage.visits_changed([visit.id])  # the figures leave (or regain) this visit
    return visit
