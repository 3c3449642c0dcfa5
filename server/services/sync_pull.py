"""Pull: what changed in the caller's hamlets since a cursor, oldest first, in pages.

Records that left the caller's hamlets (moved, merged, erased) come from ``scope_exits`` as
deletion notices, interleaved with the live records by the same commune change counter.
"""
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from server.errors import Forbidden
from server.extensions import db
from server.models import FollowUp, Hamlet, Household, Resident, Service, Visit
from server.models.scope import ScopeExit
from server.services import followup_closers, scope_exits, sync_cursor

# (change type, model, its hamlet column)
SCOPED = (
    ("hamlet", Hamlet, Hamlet.id),
    ("household", Household, Household.hamlet_id),
    ("resident", Resident, Resident.hamlet_id),
    ("followup", FollowUp, FollowUp.hamlet_id),
    ("exit", ScopeExit, ScopeExit.hamlet_id),
    # Only reviewed visits have a change_seq: the member learns the office's decision.
    ("visit", Visit, Visit.hamlet_id),
)


def _change(kind, row):
    if kind == "service":
        return {"type": kind, "id": row.code, "version": row.change_seq, "deleted": False,
                "data": row}
    deleted = bool(getattr(row, "deleted", False)) or getattr(row, "valid_to", None) is not None
    # A deleted record's data is not the phone's business any more: only its id is sent.
    return {"type": kind, "id": str(row.id), "version": getattr(row, "version", 1),
            "deleted": deleted, "data": None if deleted else row}


def _scoped_rows(model, hamlet_column, principal, after):
    """The rows of ``model`` in the caller's hamlets changed after ``after`` (unordered)."""
    query = select(model).where(principal.hamlet_filter(hamlet_column), model.change_seq > after)
    if model in (Household, Resident):
        # Erased and merged records are announced by their scope exits instead.
        query = query.where(model.deleted.is_(False))
    elif model is FollowUp:
        query = (query.join(Household, Household.id == FollowUp.household_id)
                 .where(Household.deleted.is_(False)))
    return query


def _scoped_query(model, hamlet_column, principal, after, upto):
    """The rows of ``model`` changed after ``after`` up to ``upto`` (None: no bound), in order."""
    query = _scoped_rows(model, hamlet_column, principal, after)
    if upto is not None:
        query = query.where(model.change_seq <= upto)
    query = query.order_by(model.change_seq)
    if model is Hamlet:
        query = query.options(selectinload(Hamlet.commune))
    elif model is Visit:
        query = query.options(selectinload(Visit.services), selectinload(Visit.photos))
    return query


def _page_bound(principal, after, room):
    """``(upto, more)``: the change number the page ends at (None: everything left fits) and
    whether more changes wait. Only change numbers are read here (the scope indexes answer);
    whole rows are then loaded for this page alone, not ``room`` rows of every kind."""
    seqs = []
    for _, model, hamlet_column in SCOPED:
        query = (_scoped_rows(model, hamlet_column, principal, after)
                 .with_only_columns(model.change_seq).order_by(model.change_seq).limit(room + 1))
        seqs += db.session.scalars(query).all()
    if len(seqs) <= room:
        return None, False
    seqs.sort()
    return seqs[room - 1], True


def pull(principal, cursor, limit):
    """One page of changes: ``{"changes", "cursor", "more"}``."""
    if principal.commune_id is None or principal.hamlet_ids is None:
        raise Forbidden("Only users of a commune can pull")
    commune_seq, catalogue_seq = sync_cursor.decode(cursor, principal)
    scope_exits.check_cursor(principal.commune_id, commune_seq)

    services = list(db.session.scalars(
        select(Service).where(Service.change_seq > catalogue_seq)
        .order_by(Service.change_seq).limit(limit + 1)))
    more = len(services) > limit
    services = services[:limit]
    if services:
        catalogue_seq = services[-1].change_seq
    room = limit - len(services)

    candidates = []
    if room > 0:
        upto, later = _page_bound(principal, commune_seq, room)
        for kind, model, hamlet_column in SCOPED:
            query = _scoped_query(model, hamlet_column, principal, commune_seq, upto)
            candidates += [(row.change_seq, kind, row) for row in db.session.scalars(query)]
        candidates.sort(key=lambda c: c[0])
        more = more or later or len(candidates) > room
        candidates = candidates[:room]
        if candidates:
            # The cursor passes skipped exits too: they were decided, not forgotten.
            commune_seq = candidates[-1][0]
    elif not more:
        more = True  # the page filled with catalogue entries; scoped changes may still wait

    notices = scope_exits.exit_notices(
        principal, [row for _, kind, row in candidates if kind == "exit"])
    # A follow-up says when it was promised and which visit settled it (FollowUpOut reads these).
    followups = [row for _, kind, row in candidates if kind == "followup"]
    promised = followup_closers.promise_times(followups)
    settled = followup_closers.closers(followups)
    for row in followups:
        row.promised_at, row.closed_by = promised.get(row.id), settled.get(row.id)
    changes = [_change("service", s) for s in services]
    for _, kind, row in candidates:
        if kind != "exit":
            changes.append(_change(kind, row))
        elif notices[row.id] is not None:
            changes.append(notices[row.id])
    fingerprint = sync_cursor.scope_fingerprint(principal)
    return {"changes": changes, "cursor": sync_cursor.encode(commune_seq, catalogue_seq, fingerprint),
            "more": more,
            "remaining": _remaining(principal, commune_seq, catalogue_seq) if more else 0}


def _remaining(principal, commune_seq, catalogue_seq):
    """About how many changes later pages hold, so the phone can show the first pull's progress.

    An estimate: scope exits that turn out to need no notice are counted too.
    """
    total = db.session.scalar(select(func.count()).select_from(Service)
                              .where(Service.change_seq > catalogue_seq))
    for _, model, hamlet_column in SCOPED:
        query = _scoped_rows(model, hamlet_column, principal, commune_seq)
        total += db.session.scalar(select(func.count()).select_from(query.subquery()))
    return total
