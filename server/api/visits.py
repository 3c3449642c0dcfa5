"""Stored visits, as the phone and reviewers read them back."""
from marshmallow import Schema, fields

from schemas.records import VisitListOut
from server.api import Blueprint
from server.auth import FIELD_ROLES, current_principal, require
from server.services import visits

bp = Blueprint("visits", __name__, url_prefix="/api/v1", description="Visits")


class VisitQuery(Schema):
    """Which household's visits."""

    household_id = fields.UUID(required=True)


@bp.route("/visits", methods=["GET"])
@require(*FIELD_ROLES)
@bp.arguments(VisitQuery, location="query")
@bp.response(200, VisitListOut)
@bp.doc(security=[{"bearer": []}])
def list_visits(args):
    """Visits of one household in the caller's hamlets, newest first."""
    return {"visits": visits.visits_of_household(current_principal(), args["household_id"])}
