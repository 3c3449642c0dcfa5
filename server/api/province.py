"""The province pull: every commune's figures for the province's API key (no personal data)."""
import hashlib

from flask import current_app, request

from schemas.province import ProvinceAggregatesOut, ProvinceQuery
from server.api import Blueprint
from server.auth import current_principal, require
from server.extensions import limiter
from server.replica import reads_from_replica
from server.services import province, province_export

bp = Blueprint("province_pull", __name__, url_prefix="/api/v1/province",
               description="Province pull (API key)")
KEY_ROLE = "province_key"
OK_DOC = {
    "description": "The rows; `format=csv` answers text/csv (UTF-8 with BOM) and `format=xlsx` "
                   "an Excel workbook, with the same rows and columns.",
    "content": {"application/json": {"schema": ProvinceAggregatesOut},
                "text/csv": {"schema": {"type": "string"}},
                province_export.XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}}}}
NOT_MODIFIED_DOC = {"description": "`If-None-Match` holds the current `ETag`: nothing changed."}


def key_bucket():
    """The rate limit counts per API key (its hash: the plain key is kept nowhere)."""
    key = request.headers.get("X-API-Key", "")
    if key:
        return "apikey:" + hashlib.sha256(key.encode()).hexdigest()[:32]
    return "addr:" + (request.remote_addr or "")


def respond(pull, fmt, etag):
    """The pull in ``fmt`` with its validator; 304 when the client has this version."""
    if request.if_none_match and request.if_none_match.contains_weak(etag):
        response = current_app.response_class(status=304)
    else:
        body, mimetype = province_export.render(pull, fmt)
        response = current_app.response_class(body, mimetype=mimetype)
        if fmt != "json":
            response.headers["Content-Disposition"] = (
                f'attachment; filename="{province_export.filename(pull, fmt)}"')
    response.set_etag(etag)
    # Figures of units, nothing personal: a client may keep them and revalidate.
    response.headers["Cache-Control"] = "private, no-cache"
    response.vary.add("X-API-Key")
    return response


@bp.route("/aggregates", methods=["GET"])
@limiter.limit(lambda: current_app.config["PROVINCE_API_RATE_LIMIT"], key_func=key_bucket)
@require(KEY_ROLE)
@bp.arguments(ProvinceQuery, location="query")
@bp.response(200, ProvinceAggregatesOut)
@bp.doc(security=[{"apiKey": []}], responses={"200": OK_DOC, "304": NOT_MODIFIED_DOC})
@reads_from_replica
def aggregates(args):
    """Every commune's (or hamlet's, or the province's) figures over ``from``..``to``."""
    principal = current_principal()
    args["from"] = args.pop("from_", None)
    unit = province.province_of(principal, args.get("province"))
    pull = province.aggregates_of(unit, args)
    fmt = args["format"]
    response = respond(pull, fmt, pull.etag(fmt))
    province.record_pull(principal.actor, pull, fmt, response.status_code,
                         commune=args.get("commune"))
    return response
