"""Reading stored visits within the caller's scope."""
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from server.errors import Forbidden, NotFound
from server.extensions import db
from server.models import Household, Visit


def visits_of_household(principal, household_id):
    """The visits of one household, newest first; 404 unknown, 403 outside scope."""
    household = db.session.get(Household, household_id)
    if household is None:
        raise NotFound("Unknown household")
    if not principal.can_see_hamlet(household.hamlet_id):
        raise Forbidden("Household outside your hamlets")
    query = (select(Visit).where(Visit.household_id == household_id)
             .options(selectinload(Visit.services), selectinload(Visit.photos))
             .order_by(Visit.visited_at.desc()))
    return list(db.session.scalars(query))
