"""Trang của tỉnh (``/province/``): every commune of the province for province analysts and
admins — a sortable table of the coverage indicators and gaps to target with each commune's
approval of the period, a map of the communes coloured by an indicator, and the API's downloads.

Same sign-in and session as the office console (``session_auth``: the same password check,
session, CSRF and ``office_view`` role gate); its own sign-in page because the console's refuses
province roles. Figures come from ``services.province`` — the function the province API
answers from — so the page, its downloads and ``GET /api/v1/province/aggregates`` agree.
"""
from datetime import datetime
from pathlib import Path

from flask import Blueprint, current_app, render_template, request
from sqlalchemy import select

from server.errors import Invalid
from server.extensions import db
from server.models import Province
from server.models.types import utcnow
from server.replica import reads_from_replica
from server.services import province, province_export, reports
from server.vocab import LOCAL_TIMEZONE, Role, local_day
from server.web import console_errors, console_pages, labels
from server.web.forms import EmptyForm, PeriodForm
from server.web.session_auth import current_office_principal, office_view

bp = Blueprint("province", __name__, url_prefix="/province")
STATIC_DIR = Path(__file__).resolve().parents[2] / "static" / "province"
ROLES = (Role.PROVINCE_ANALYST.value, Role.ADMIN.value)
NAV = [("province.index", "Số liệu các xã")]
STATE_LABELS = {"approved": "Số liệu đã duyệt", "live": "Số liệu hiện tại"}
LEVEL_LABELS = {"commune": "Từng xã", "hamlet": "Từng ấp", "province": "Toàn tỉnh"}


@bp.context_processor
def _shell():
    me = current_office_principal(optional=True)
    return {"me": me, "nav": NAV if me and me.role in ROLES else [], "labels": labels,
            "logout_form": EmptyForm()}


@bp.app_template_filter("vn_iso_time")
def _vn_iso_time(text):
    """An ISO time (as the pull's rows carry it) as ``dd/mm/yyyy HH:MM`` in Vietnam's time."""
    try:
        return datetime.fromisoformat(text).astimezone(LOCAL_TIMEZONE).strftime("%d/%m/%Y %H:%M")
    except (TypeError, ValueError):
        return ""


console_errors.install(bp, "province", "province.login")
console_pages.install_headers(bp)
console_pages.install_static(bp, STATIC_DIR)
console_pages.install_sign_in(bp, ROLES, ("/province/", "province.index"))


# --- the communes ---------------------------------------------------------------------------

def _query(me):
    """``(province, first, last, state, form)`` of the page's query string."""
    unit = province.province_of(me, request.args.get("province") or None)
    form = PeriodForm(formdata=request.args)
    if (request.args.get("first") or request.args.get("last")) and form.validate() \
            and form.first.data and form.last.data:
        first, last = form.first.data, form.last.data
    else:
        first, last = province.default_period(local_day(utcnow()))
        form.first.data, form.last.data = first, last
    state = request.args.get("state")
    return unit, first, last, state if state in province.STATES else "approved", form


def _columns(pull):
    """The table's columns: the console's indicator columns, for communes."""
    services = reports.catalogue()
    targets = sorted({c.split(".")[1] for c in pull.columns if c.startswith("targets.")})
    columns = reports.summary_columns(services, targets)
    unit = province_export.UNIT_LABELS["commune"]
    return [reports.Column("code", *unit["code"], "text"),
            reports.Column("name", *unit["name"], "text")] + columns[2:]


@bp.route("/")
@office_view(*ROLES)
@reads_from_replica
def index(me):
    """Every commune of the province over a period: table, map, approval, downloads."""
    unit, first, last, state, form = _query(me)
    try:
        pull = province.aggregates_of(unit, {"level": "commune", "from": first, "to": last,
                                             "state": state})
    except Invalid:  # a period over 366 days, or ``first`` after ``last``
        first, last = province.default_period(local_day(utcnow()))
        form.first.data, form.last.data = first, last
        form.last.errors = ["Kỳ không hợp lệ (tối đa 366 ngày, ngày đầu trước ngày cuối); "
                            "đang hiện tháng trước."]
        pull = province.aggregates_of(unit, {"level": "commune", "from": first, "to": last,
                                             "state": state})
    provinces = list(db.session.scalars(select(Province).where(Province.valid_to.is_(None))
                                        .order_by(Province.code))) \
        if me.role == Role.ADMIN else []
    query = {"first": first.isoformat(), "last": last.isoformat(), "state": state}
    if me.role == Role.ADMIN:
        query["province"] = unit.code
    return render_template(
        "province/index.html", pull=pull, unit=unit, form=form, state=state, first=first,
        last=last, columns=_columns(pull), query=query, provinces=provinces,
        services={code: reports.short_name(s) for code, s in reports.catalogue().items()},
        state_labels=STATE_LABELS, level_labels=LEVEL_LABELS)


@bp.route("/communes.geojson")
@office_view(*ROLES)
@reads_from_replica
def communes_geojson(me):
    """The boundaries of the province's communes (the map's only layer)."""
    unit = province.province_of(me, request.args.get("province") or None)
    return current_app.json.response(province.boundaries(unit))


@bp.route("/download")
@office_view(*ROLES)
@reads_from_replica
def download(me):
    """The API's CSV or XLSX (same rows, same columns) for the signed-in analyst."""
    unit, first, last, state, _ = _query(me)
    fmt = request.args.get("format")
    level = request.args.get("level", "commune")
    if fmt not in ("csv", "xlsx") or level not in province.LEVELS:
        raise Invalid(fields={"format": ["csv or xlsx"], "level": list(province.LEVELS)})
    pull = province.aggregates_of(unit, {"level": level, "from": first, "to": last,
                                         "state": state})
    body, mimetype = province_export.render(pull, fmt)
    province.record_pull(me.actor, pull, fmt, 200, user_id=me.user.id, via="page")
    response = current_app.response_class(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{province_export.filename(pull, fmt)}"')
    return response
