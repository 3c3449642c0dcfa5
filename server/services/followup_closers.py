"""When a follow-up was promised and which visit settled it, for the phone to show ("Đã thăm
ngày …") and to tell offline which of its own visits will settle it.

A follow-up is settled by a reaching visit to its household made after the visit that promised
it (sync_push). Nothing stores which one, so it is read back from the visits: the reaching visits
made after the promise that had reached the server by the time it closed. One that arrived in
the closing push itself (``received_at == closed_at``) is the closer; failing that (the follow-up
was stored settled because a later visit had arrived first) the earliest of them. The rare case
this cannot tell apart: two such visits in one push, the first of which kept the follow-up open
(``keep_open``); the earlier one is named.
"""
from sqlalchemy import and_, select
from sqlalchemy.orm import aliased

from server.extensions import db
from server.models import FollowUp, Visit
from server.vocab import REACHED_OUTCOMES


def promise_times(followups):
    """``{followup id: visited_at of the visit that promised it}`` (one query)."""
    by_visit = {f.visit_id: f.id for f in followups}
    if not by_visit:
        return {}
    query = select(Visit.id, Visit.visited_at).where(Visit.id.in_(list(by_visit)))
    return {by_visit[visit_id]: visited_at for visit_id, visited_at in db.session.execute(query)}


def closers(followups):
    """``{followup id: {"visit_id", "visited_at", "outcome"}}`` for the done ones given."""
    done = {f.id: f for f in followups if f.status == "done" and f.closed_at is not None}
    if not done:
        return {}
    promise, later = aliased(Visit), aliased(Visit)
    query = (
        select(FollowUp.id, later.id, later.visited_at, later.outcome, later.received_at)
        .join(promise, promise.id == FollowUp.visit_id)
        .join(later, and_(later.household_id == FollowUp.household_id,
                          later.visited_at > promise.visited_at,
                          later.outcome.in_(REACHED_OUTCOMES),
                          later.received_at <= FollowUp.closed_at))
        .where(FollowUp.id.in_(list(done))))
    best = {}
    for followup_id, visit_id, visited_at, outcome, received_at in db.session.execute(query):
        # Same push as the closing first, then the earliest visit.
        key = (received_at != done[followup_id].closed_at, visited_at)
        if followup_id not in best or key < best[followup_id][0]:
            best[followup_id] = (key, {"visit_id": str(visit_id), "visited_at": visited_at,
                                       "outcome": outcome})
    return {fid: value for fid, (_, value) in best.items()}
