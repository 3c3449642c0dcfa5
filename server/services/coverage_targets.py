"""Targets and campaigns: which target applies to a period, and the gap to it."""
from sqlalchemy import select

from server.extensions import db
from server.models import Campaign, Target
from server.vocab import Role


def applicable_targets(province_code):
    """``{indicator: [(due, value), ...]}`` of a province, each list by due date."""
    targets = {}
    for row in db.session.scalars(select(Target).where(Target.province_code == province_code)
                                  .order_by(Target.indicator, Target.due)):
        targets.setdefault(row.indicator, []).append((row.due, row.value))
    return targets


def target_for(targets, indicator, rate, last):
    """The target due soonest on or after ``last`` (else the last one), with ``rate``'s gap.

    ``gap`` is how far the rate is below the target (0 once reached); None without a rate.
    """
    dues = targets.get(indicator)
    if not dues:
        return None
    due, value = next(((d, v) for d, v in dues if d >= last), dues[-1])
    gap = None if rate is None else round(max(0.0, value - rate), 4)
    return {"target": value, "due": due, "gap": gap}


def campaigns(principal):
    """The campaigns of the caller's province (every campaign for an admin)."""
    query = select(Campaign).order_by(Campaign.date_from, Campaign.id)
    if principal.role != Role.ADMIN:
        from server.models import Province

        code = db.session.scalar(select(Province.code).where(Province.id == principal.province_id))
        query = query.where(Campaign.province_code == code)
    return list(db.session.scalars(query))
