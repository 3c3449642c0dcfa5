"""Records leaving a hamlet, and the deletion notices pull derives from them.

When a household moves to another hamlet, is merged into another household or is erased, the
phones of its old hamlet must drop their copy (name, phone, notes). Each such exit is a row in
``scope_exits`` numbered by the commune's change counter, so it pages with the records; pull
turns the exits in the caller's hamlets into ``{"deleted": true, "data": null}`` changes unless
the record is back in the caller's scope.

Exits are kept ``SCOPE_EXIT_RETENTION_DAYS`` (``prune``, run by the worker's maintenance and
``flask sync prune-exits``). A phone whose cursor predates an exit that was pruned can no
longer be told what to drop, so its pull is refused as for any cursor the server cannot follow
(422 on ``cursor``) and the phone pulls its copy again from the start (its outbox is kept).
"""
from datetime import timedelta

from sqlalchemy import delete, func, literal, select

from server.errors import Invalid
from server.extensions import db
from server.models import ChangeCounter, FollowUp, Hamlet, Household, Resident
from server.models.scope import EXIT_KINDS, ScopeExit
from server.models.types import utcnow
from server.services import audit
from server.services.changes import ChangeClock, commune_scope


def record_exit(clock, kind, record_id, hamlet_id, at=None):
    """Note that record ``kind``/``record_id`` left ``hamlet_id``; added to the transaction."""
    if kind not in EXIT_KINDS:
        raise ValueError(f"unknown record kind {kind!r}")
    row = ScopeExit(kind=kind, record_id=record_id, hamlet_id=hamlet_id,
                    change_seq=clock.next(), at=at or utcnow())
    db.session.add(row)
    return row


def followups_of(household_id, pending=()):
    """Every follow-up of a household: stored ones and ``pending`` ones not written yet."""
    rows = {f.id: f for f in db.session.scalars(
        select(FollowUp).where(FollowUp.household_id == household_id))}
    rows.update({f.id: f for f in pending
                 if isinstance(f, FollowUp) and f.household_id == household_id})
    return list(rows.values())


def household_moved(batch, household, from_hamlet_id):
    """Carry a moved household's residents and follow-ups along; each leaves its old hamlet."""
    clock, now, to_hamlet_id = batch.clock, batch.now, household.hamlet_id
    record_exit(clock, "household", household.id, from_hamlet_id, now)
    for resident in batch.residents_of(household.id):
        resident.hamlet_id = to_hamlet_id
        resident.change_seq = clock.next()
        if not resident.deleted:
            record_exit(clock, "resident", resident.id, from_hamlet_id, now)
    # Follow-ups (open or done) go too: their note is about the household, and a phone of the
    # old hamlet must not keep it. Visits stay where they happened (aggregates count them there).
    for followup in followups_of(household.id, batch.new.get(FollowUp, ())):
        if followup.hamlet_id != to_hamlet_id:
            record_exit(clock, "followup", followup.id, followup.hamlet_id, now)
            followup.hamlet_id = to_hamlet_id
            followup.change_seq = clock.next()


def delete_household(household, clock=None, merged_into_id=None, actor="system", user_id=None):
    """Erase a household (or mark it merged): it, its residents and follow-ups leave its hamlet.

    Residents still in the household are deleted with it (a merge moves them first). Pass the
    commune's ``clock`` when inside a push; otherwise one is taken and saved here. The caller
    commits.
    """
    own_clock = clock is None
    if own_clock:
        commune_id = db.session.scalar(
            select(Hamlet.commune_id).where(Hamlet.id == household.hamlet_id))
        clock = ChangeClock(commune_scope(commune_id))
    now = utcnow()
    household.deleted = True
    household.merged_into_id = merged_into_id
    household.version += 1
    household.change_seq = clock.next()
    household.updated_at = now
    record_exit(clock, "household", household.id, household.hamlet_id, now)
    for resident in db.session.scalars(select(Resident).where(
            Resident.household_id == household.id, Resident.deleted.is_(False))):
        resident.deleted = True
        resident.version += 1
        resident.change_seq = clock.next()
        resident.updated_at = now
        record_exit(clock, "resident", resident.id, resident.hamlet_id, now)
    for followup in followups_of(household.id):
        record_exit(clock, "followup", followup.id, followup.hamlet_id, now)
    audit.record(actor, "household.merge" if merged_into_id else "household.delete", "household",
                 household.id, {"merged_into": str(merged_into_id) if merged_into_id else None},
                 user_id=user_id)
    if own_clock:
        clock.save()


def _current(kind, ids):
    """``id -> (hamlet_id, version, alive)`` of the stored records of ``kind`` among ``ids``."""
    if kind == "household":
        query = select(Household.id, Household.hamlet_id, Household.version,
                       Household.deleted).where(Household.id.in_(ids))
    elif kind == "resident":
        query = select(Resident.id, Resident.hamlet_id, Resident.version,
                       Resident.deleted).where(Resident.id.in_(ids))
    else:
        # A follow-up has no version and lives as long as its household does.
        query = (select(FollowUp.id, FollowUp.hamlet_id, literal(1), Household.deleted)
                 .join(Household, Household.id == FollowUp.household_id)
                 .where(FollowUp.id.in_(ids)))
    return {row_id: (hamlet_id, version, not deleted)
            for row_id, hamlet_id, version, deleted in db.session.execute(query)}


def exit_notices(principal, exits):
    """``exit id -> change`` for the exits worth telling; an exit maps to None when skipped.

    Skipped: the record is (again) in the caller's scope, so its live row is what counts, or a
    later exit of the same record from the caller's hamlets will tell it once, later.
    """
    if not exits:
        return {}
    ids = {e.record_id for e in exits}
    latest = dict(((kind, record_id), seq) for kind, record_id, seq in db.session.execute(
        select(ScopeExit.kind, ScopeExit.record_id, func.max(ScopeExit.change_seq))
        .where(ScopeExit.record_id.in_(ids), principal.hamlet_filter(ScopeExit.hamlet_id))
        .group_by(ScopeExit.kind, ScopeExit.record_id)))
    current = {kind: _current(kind, {e.record_id for e in exits if e.kind == kind})
               for kind in {e.kind for e in exits}}
    notices = {}
    for e in exits:
        hamlet_id, version, alive = current[e.kind].get(e.record_id, (None, None, False))
        if (alive and principal.can_see_hamlet(hamlet_id)) \
                or latest.get((e.kind, e.record_id), e.change_seq) > e.change_seq:
            notices[e.id] = None
            continue
        notices[e.id] = {"type": e.kind, "id": str(e.record_id), "version": version or 1,
                         "deleted": True, "data": None}
    return notices


def _pruned_scope(commune_id):
    """The counter row holding the newest change number of the commune's pruned exits."""
    return "exits-pruned:" + commune_scope(commune_id)


def prune(retention_days, now=None):
    """Forget the exits older than ``retention_days``; commits. Returns how many went."""
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    old = ScopeExit.at < cutoff
    newest = db.session.execute(
        select(Hamlet.commune_id, func.max(ScopeExit.change_seq))
        .join(Hamlet, Hamlet.id == ScopeExit.hamlet_id).where(old).group_by(Hamlet.commune_id))
    for commune_id, seq in newest.all():
        scope = _pruned_scope(commune_id)
        row = db.session.get(ChangeCounter, scope, with_for_update=True)
        if row is None:
            db.session.add(ChangeCounter(scope=scope, value=seq))
        else:
            row.value = max(row.value, seq)
    gone = db.session.execute(delete(ScopeExit).where(old)
                              .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return gone


def check_cursor(commune_id, commune_seq):
    """Refuse a cursor older than an exit of the commune that was pruned (see above)."""
    if not commune_seq:
        return
    horizon = db.session.scalar(select(ChangeCounter.value)
                                .where(ChangeCounter.scope == _pruned_scope(commune_id)))
    if horizon is not None and commune_seq < horizon:
        raise Invalid("Cursor too old", {"cursor": [
            "older than the deletions this server keeps: pull again from the start"]})
