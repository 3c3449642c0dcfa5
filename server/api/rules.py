"""The input rules, so the phone checks a record exactly as the server will."""
from schemas.rules import RulesOut
from server.api import Blueprint
from server.services.rules import current_rules

bp = Blueprint("rules", __name__, url_prefix="/api/v1", description="Input rules")


@bp.route("/rules", methods=["GET"])
@bp.etag
@bp.response(200, RulesOut)
def rules():
    """Vocabularies, text and number limits, the phone pattern and every rejection code."""
    return current_rules()
