"""What teams and members did over a period, the follow-up backlog and each hamlet's last visit.

Counted visits are the ones coverage counts (not rejected in review, of a live household), so a
team's figures add up to what the coverage table shows for its hamlets. A visit is credited to
the member who recorded it and to that member's *current* team.
"""
import json
from dataclasses import dataclass
from datetime import date
from typing import Optional

from geoalchemy2 import functions as geo
from sqlalchemy import and_, case, distinct, func, select

from server.extensions import db
from server.errors import NotFound
from server.models import (Commune, FollowUp, HamletDay, Hamlet, Household, Team, User, Visit,
                           VisitService, team_hamlets)
from server.services.coverage import scoped_hamlets
from server.services.coverage_targets import campaigns
from server.vocab import REACHED_OUTCOMES

BACKLOG_LIMIT = 200
CKS = "CKS"


@dataclass
class Activity:
    """One team's or member's counts over the period."""

    key: Optional[int]  # team id or user id (None: members without a team)
    name: str
    visits: int
    households_reached: int
    cks_done: int
    team: Optional[str] = None  # a member's team name


def _counted(hamlet_ids, first, last):
    return and_(Visit.hamlet_id.in_(hamlet_ids), Visit.visited_on.between(first, last),
                Visit.review_state != "rejected", Household.deleted.is_(False))


def _counts(group, hamlet_ids, first, last):
    """``{group value: (visits, households reached, residents with a CKS done)}``."""
    visits = dict(((key, (n, reached)) for key, n, reached in db.session.execute(
        select(group, func.count(Visit.id),
               func.count(distinct(case((Visit.outcome.in_(REACHED_OUTCOMES),
                                         Visit.household_id)))))
        .select_from(Visit).join(Household, Household.id == Visit.household_id)
        .join(User, User.id == Visit.member_id)
        .where(_counted(hamlet_ids, first, last)).group_by(group))))
    cks = dict(db.session.execute(
        select(group, func.count(distinct(VisitService.resident_id)))
        .select_from(VisitService).join(Visit, Visit.id == VisitService.visit_id)
        .join(Household, Household.id == Visit.household_id)
        .join(User, User.id == Visit.member_id)
        .where(_counted(hamlet_ids, first, last), VisitService.service_code == CKS,
               VisitService.result == "done").group_by(group)).all())
    return {key: (n, reached, cks.get(key, 0)) for key, (n, reached) in visits.items()}


def team_activity(hamlet_ids, first, last):
    """``(teams, members)``: lists of ``Activity`` over ``first``..``last``, busiest first."""
    hamlet_ids = list(hamlet_ids)
    by_team = _counts(User.team_id, hamlet_ids, first, last)
    by_member = _counts(User.id, hamlet_ids, first, last)
    teams = {t.id: t for t in db.session.scalars(select(Team).where(Team.id.in_(
        [k for k in by_team if k is not None])))}
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(list(by_member))))}
    team_rows = [Activity(key, teams[key].name if key in teams else "Không thuộc tổ nào", *counts)
                 for key, counts in by_team.items()]
    member_rows = [Activity(key, users[key].display_name, *counts,
                            team=teams[users[key].team_id].name
                            if users[key].team_id in teams else "—")
                   for key, counts in by_member.items()]
    order = (lambda a: (-a.visits, a.name))
    return sorted(team_rows, key=order), sorted(member_rows, key=order)


@dataclass
class BacklogItem:
    """An open follow-up with its household, hamlet and the team working that hamlet."""

    followup: FollowUp
    household: Household
    hamlet: Hamlet
    team: Optional[str]
    overdue: bool


def followup_backlog(hamlet_ids, today: date, limit=BACKLOG_LIMIT):
    """``(items, total)``: open follow-ups in ``hamlet_ids``, oldest due day (overdue) first."""
    where = and_(FollowUp.status == "open", FollowUp.hamlet_id.in_(list(hamlet_ids)),
                 Household.deleted.is_(False))
    base = select(FollowUp, Household, Hamlet).join(
        Household, Household.id == FollowUp.household_id).join(
        Hamlet, Hamlet.id == FollowUp.hamlet_id).where(where)
    total = db.session.scalar(select(func.count()).select_from(
        select(FollowUp.id).join(Household, Household.id == FollowUp.household_id)
        .where(where).subquery()))
    rows = db.session.execute(base.order_by(FollowUp.due_on, Hamlet.code, FollowUp.id)
                              .limit(limit)).all()
    team_names = {}
    for hamlet_id, name in db.session.execute(
            select(team_hamlets.c.hamlet_id, Team.name).join(Team, Team.id == team_hamlets.c.team_id)
            .where(team_hamlets.c.hamlet_id.in_({r[2].id for r in rows})).order_by(Team.name)):
        team_names.setdefault(hamlet_id, name)
    items = [BacklogItem(f, h, hamlet, team_names.get(hamlet.id), f.due_on < today)
             for f, h, hamlet in rows]
    return items, total


def last_visit_days(hamlet_ids, last):
    """``{hamlet id: the last day up to ``last`` with a counted visit}`` (coverage's day rows)."""
    return dict(db.session.execute(
        select(HamletDay.hamlet_id, func.max(HamletDay.day))
        .where(HamletDay.hamlet_id.in_(list(hamlet_ids)), HamletDay.day <= last,
               HamletDay.visits > 0).group_by(HamletDay.hamlet_id)).all())


def default_period(principal, today: date):
    """The overview's period when none is asked: the latest campaign begun, else this month."""
    begun = [c for c in campaigns(principal) if c.date_from <= today]
    if begun:
        latest = max(begun, key=lambda c: (c.date_from, c.id))
        return latest.date_from, latest.date_to
    return today.replace(day=1), today


def hamlet_boundaries(principal):
    """A GeoJSON FeatureCollection of the caller's hamlets (boundaries from the database)."""
    commune = db.session.get(Commune, principal.commune_id) if principal.commune_id else None
    if commune is None:
        raise NotFound("No commune")
    _, hamlets = scoped_hamlets(principal, commune.code)
    ids = [h.id for h in hamlets]
    shapes = dict(db.session.execute(
        select(Hamlet.id, geo.ST_AsGeoJSON(Hamlet.boundary, 6))
        .where(Hamlet.id.in_(ids), Hamlet.boundary.isnot(None))).all())
    features = [{"type": "Feature", "id": h.id,
                 "properties": {"hamlet_id": h.id, "code": h.code, "name": h.name},
                 "geometry": json.loads(shapes[h.id])}
                for h in hamlets if shapes.get(h.id)]
    return {"type": "FeatureCollection", "features": features}
