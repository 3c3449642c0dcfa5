"""Merging two records of one household (found by ``quality.duplicate_groups``) into one.

The survivor keeps its id; the other household's visits, residents and follow-ups move to it,
and the other is marked ``deleted`` with ``merged_into_id``. Phones learn it through pull: the
survivor and the moved residents and follow-ups get new change sequence numbers (the survivor and
residents a new version too), and ``scope_exits.delete_household`` announces the merged-away id
as deleted. Visits keep the hamlet they happened in; coverage is recomputed for both households.
"""
import uuid

from sqlalchemy import select

from server.errors import Invalid, NotFound
from server.extensions import db
from server.models import Hamlet, Household, Resident, Visit
from server.models.types import utcnow
from server.services import audit, coverage, scope_exits
from server.services.changes import ChangeClock, commune_scope


def _as_uuid(value):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def household_in_scope(principal, household_id):
    """A live household the caller may see; 404 otherwise."""
    household_uuid = _as_uuid(household_id)
    household = db.session.get(Household, household_uuid) if household_uuid else None
    if household is None or household.deleted or not principal.can_see_hamlet(household.hamlet_id):
        raise NotFound("No such household")
    return household


def preview(principal, survivor_id, other_id):
    """``(survivor, other, counts)`` for the confirm page; the same checks as ``merge``."""
    survivor, other = _pair(principal, survivor_id, other_id)
    counts = {
        "visits": db.session.query(Visit).filter(Visit.household_id == other.id).count(),
        "residents": db.session.query(Resident).filter(Resident.household_id == other.id,
                                                       Resident.deleted.is_(False)).count(),
        "followups": len(scope_exits.followups_of(other.id)),
    }
    return survivor, other, counts


def _pair(principal, survivor_id, other_id):
    survivor = household_in_scope(principal, survivor_id)
    other = household_in_scope(principal, other_id)
    if survivor.id == other.id:
        raise Invalid(fields={"other": ["a household cannot be merged into itself"]})
    return survivor, other


def merge(principal, survivor_id, other_id):
    """Merge household ``other_id`` into ``survivor_id``; commits, then recomputes coverage."""
    survivor, other = _pair(principal, survivor_id, other_id)
    commune_id = db.session.scalar(select(Hamlet.commune_id).where(Hamlet.id == survivor.hamlet_id))
    clock = ChangeClock(commune_scope(commune_id))  # one merge (or push) of the commune at a time
    db.session.refresh(survivor)
    db.session.refresh(other)
    if survivor.deleted or other.deleted:
        db.session.rollback()
        raise NotFound("No such household")
    now, actor, user_id = utcnow(), principal.actor, principal.user.id
    moved_visits = list(db.session.scalars(select(Visit).where(Visit.household_id == other.id)))
    for visit in moved_visits:
        visit.household_id = survivor.id
        audit.record(actor, "visit.move", "visit", visit.id,
                     {"from_household": str(other.id), "to_household": str(survivor.id)},
                     user_id=user_id)
    residents = list(db.session.scalars(select(Resident).where(
        Resident.household_id == other.id, Resident.deleted.is_(False))))
    for resident in residents:
        if resident.hamlet_id != survivor.hamlet_id:
            scope_exits.record_exit(clock, "resident", resident.id, resident.hamlet_id, now)
            resident.hamlet_id = survivor.hamlet_id
        resident.household_id = survivor.id
        resident.version += 1
        resident.change_seq = clock.next()
        resident.updated_at = now
    followups = scope_exits.followups_of(other.id)
    for followup in followups:
        if followup.hamlet_id != survivor.hamlet_id:
            scope_exits.record_exit(clock, "followup", followup.id, followup.hamlet_id, now)
            followup.hamlet_id = survivor.hamlet_id
        followup.household_id = survivor.id
        followup.change_seq = clock.next()
    survivor.version += 1
    survivor.change_seq = clock.next()
    survivor.updated_at = now
    db.session.flush()  # the moves first: delete_household then finds nothing left to delete
    scope_exits.delete_household(other, clock=clock, merged_into_id=survivor.id, actor=actor,
                                 user_id=user_id)
    audit.record(actor, "household.merge_into", "household", survivor.id,
                 {"merged": str(other.id), "visits": len(moved_visits),
                  "residents": len(residents), "followups": len(followups)}, user_id=user_id)
    clock.save()
    db.session.commit()
    coverage.households_changed([survivor.id, other.id])
    return survivor
