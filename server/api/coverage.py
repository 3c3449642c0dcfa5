"""Coverage figures per hamlet for the commune office, team leads, members and the province."""
from schemas.coverage import CampaignListOut, CoverageOut, CoverageQuery, DailyOut, DailyQuery
from server.api import Blueprint
from server.auth import current_principal, require
from server.replica import reads_from_replica
from server.services import coverage, coverage_targets
from server.vocab import Role

bp = Blueprint("coverage", __name__, url_prefix="/api/v1", description="Coverage")
READERS = (Role.MEMBER, Role.TEAM_LEAD, Role.COMMUNE_OFFICER, Role.PROVINCE_ANALYST, Role.ADMIN)


@bp.route("/coverage", methods=["GET"])
@require(*READERS)
@bp.arguments(CoverageQuery, location="query")
@bp.response(200, CoverageOut)
@bp.doc(security=[{"bearer": []}])
@reads_from_replica
def get_coverage(args):
    """Per-hamlet figures of a commune over ``from``..``to`` or a campaign's period."""
    return coverage.coverage(current_principal(), _period(args))


@bp.route("/coverage/daily", methods=["GET"])
@require(*READERS)
@bp.arguments(DailyQuery, location="query")
@bp.response(200, DailyOut)
@bp.doc(security=[{"bearer": []}])
@reads_from_replica
def get_daily(args):
    """One service's cumulative figures per day (trend charts, campaign burn-up)."""
    return coverage.daily(current_principal(), _period(args))


@bp.route("/campaigns", methods=["GET"])
@require(*READERS)
@bp.response(200, CampaignListOut)
@bp.doc(security=[{"bearer": []}])
def list_campaigns():
    """The campaigns of the caller's province."""
    return {"campaigns": coverage_targets.campaigns(current_principal())}


def _period(args):
    args["from"] = args.pop("from_", None)
    return args
