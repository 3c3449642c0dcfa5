"""Pull: what changed in the caller's hamlets since a cursor, oldest first, in pages."""
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from server.errors import Forbidden
from server.extensions import db
from server.models import FollowUp, Hamlet, Household, Resident, Service
from server.services import sync_cursor

# (change type, model, its hamlet column)
SCOPED = (
    ("hamlet", Hamlet, Hamlet.id),
    ("household", Household, Household.hamlet_id),
    ("resident", Resident, Resident.hamlet_id),
    ("followup", FollowUp, FollowUp.hamlet_id),
)


def _change(kind, row):
    if kind == "service":
        return {"type": kind, "id": row.code, "version": row.change_seq, "deleted": False,
                "data": row}
    deleted = bool(getattr(row, "deleted", False)) or getattr(row, "valid_to", None) is not None
    return {"type": kind, "id": str(row.id), "version": getattr(row, "version", 1),
            "deleted": deleted, "data": row}


def pull(principal, cursor, limit):
    """One page of changes: ``{"changes", "cursor", "more"}``."""
    if principal.commune_id is None or principal.hamlet_ids is None:
        raise Forbidden("Only users of a commune can pull")
    commune_seq, catalogue_seq = sync_cursor.decode(cursor, principal)

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
        for kind, model, hamlet_column in SCOPED:
            query = (select(model).where(principal.hamlet_filter(hamlet_column),
                                         model.change_seq > commune_seq)
                     .order_by(model.change_seq).limit(room + 1))
            if model is Hamlet:
                query = query.options(selectinload(Hamlet.commune))
            candidates += [(row.change_seq, kind, row) for row in db.session.scalars(query)]
        candidates.sort(key=lambda c: c[0])
        more = more or len(candidates) > room
        candidates = candidates[:room]
        if candidates:
            commune_seq = candidates[-1][0]
    elif not more:
        more = True  # the page filled with catalogue entries; scoped changes may still wait

    changes = [_change("service", s) for s in services]
    changes += [_change(kind, row) for _, kind, row in candidates]
    fingerprint = sync_cursor.scope_fingerprint(principal)
    return {"changes": changes, "cursor": sync_cursor.encode(commune_seq, catalogue_seq, fingerprint),
            "more": more}
