"""Phones: push records made offline, pull what changed in their hamlets."""

from schemas.sync import PullArgs, PullOut, PushIn, PushOut
from server.api import Blueprint, body_limit
from server.auth import FIELD_ROLES, current_principal, require
from server.services import sync_pull, sync_push

bp = Blueprint("sync", __name__, url_prefix="/api/v1/sync", description="Offline sync")


@bp.route("/push", methods=["POST"])
@body_limit("SYNC_MAX_BYTES")
@require(*FIELD_ROLES)
@bp.arguments(PushIn)
@bp.response(200, PushOut)
@bp.doc(security=[{"bearer": []}])
def push(body):
    """Apply a batch of records; one result per item, in order."""
    results, cursor = sync_push.push(current_principal(), body["device_id"], body["items"])
    return {"results": results, "cursor": cursor}


@bp.route("/pull", methods=["GET"])
@require(*FIELD_ROLES)
@bp.arguments(PullArgs, location="query")
@bp.response(200, PullOut)
@bp.doc(security=[{"bearer": []}])
def pull(args):
    """Changes in the caller's hamlets since ``cursor``."""
    return sync_pull.pull(current_principal(), args["cursor"], args["limit"])
