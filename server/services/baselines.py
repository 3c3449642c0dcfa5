"""The commune's baseline figures per hamlet (households, adults), over which rates are taken."""
from sqlalchemy import select

from server.errors import Invalid, NotFound
from server.extensions import db
from server.models import Hamlet
from server.services import audit
from server.services.changes import ChangeClock, commune_scope

MAX_BASELINE = 1_000_000  # far above any hamlet; catches a typo of extra digits


def hamlets(principal):
    """The hamlets whose baselines the caller may read, by code."""
    return list(db.session.scalars(select(Hamlet).where(principal.hamlet_filter(Hamlet.id))
                                   .order_by(Hamlet.code)))


def update(principal, figures):
    """Set ``{hamlet_id: (households_total, adults_total)}``; audit-logs each change; commits.

    Returns how many hamlets changed. Hamlets get a new change sequence, so phones pull the new
    figures. Rates are read live, so nothing else is recomputed.
    """
    rows = {h.id: h for h in db.session.scalars(select(Hamlet).where(
        Hamlet.id.in_(sorted(figures))))}
    errors = {}
    for hamlet_id, values in figures.items():
        if hamlet_id not in rows or not principal.can_see_hamlet(hamlet_id):
            raise NotFound("No such hamlet")
        if any(not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= MAX_BASELINE
               for v in values):
            errors[str(hamlet_id)] = [f"must be whole numbers from 0 to {MAX_BASELINE}"]
    if errors:
        raise Invalid(fields=errors)
    changed = [(rows[h], v) for h, v in sorted(figures.items())
               if (rows[h].households_total, rows[h].adults_total) != tuple(v)]
    if not changed:
        return 0
    clock = ChangeClock(commune_scope(changed[0][0].commune_id))
    for hamlet, (households, adults) in changed:
        before = {"households_total": hamlet.households_total, "adults_total": hamlet.adults_total}
        hamlet.households_total, hamlet.adults_total = households, adults
        hamlet.change_seq = clock.next()
        audit.record(principal.actor, "hamlet.baselines", "hamlet", hamlet.id,
                     {"before": before, "after": {"households_total": households,
                                                  "adults_total": adults}},
                     user_id=principal.user.id)
    clock.save()
    db.session.commit()
    return len(changed)
