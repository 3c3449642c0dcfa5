"""Tổng quan: the commune's map, indicator table, campaign trend, team activity and follow-ups.

Every figure comes from ``server.services.coverage`` (the functions the API answers from), so the
page's numbers are the API's. The map is Leaflet (vendored) drawing the hamlets' boundaries from
``/office/overview/hamlets.geojson`` with no tile layer; the trend is an SVG drawn here.
"""
import math
from dataclasses import dataclass

from flask import jsonify, render_template, request

from server.models.types import utcnow
from server.replica import reads_from_replica
from server.services import activity, coverage, coverage_targets, reports, review
from server.vocab import local_day
from server.web.forms import PeriodForm
from server.web.office import bp
from server.web.session_auth import office_view

TREND_SERVICE = "CKS"
CHART_W, CHART_H, PAD_L, PAD_B, PAD_T, PAD_R = 760, 240, 52, 28, 12, 16


@dataclass
class Trend:
    """The campaign chart: SVG polyline points and axis labels."""

    width: int
    height: int
    has_points: str
    supported_points: str
    target_y: float | None
    target_count: int | None
    target: dict | None
    ticks: list  # (y, label)
    x_labels: list  # (x, label)
    last: dict  # the last day's figures
    adults_total: int


def _trend(daily, adults_total):
    days = daily["days"]
    target = daily["target"]
    target_count = math.ceil(target["target"] * adults_total) if target and adults_total else None
    top = max([d["commune"]["has"] for d in days] + [d["commune"]["supported"] for d in days]
              + [target_count or 0, 1])
    top = int(math.ceil(top * 1.1))
    inner_w, inner_h = CHART_W - PAD_L - PAD_R, CHART_H - PAD_T - PAD_B

    def x(i):
        return round(PAD_L + inner_w * (i / max(len(days) - 1, 1)), 1)

    def y(v):
        return round(PAD_T + inner_h * (1 - v / top), 1)

    def points(key):
        return " ".join(f"{x(i)},{y(d['commune'][key])}" for i, d in enumerate(days))

    ticks = [(y(v), f"{v:,}".replace(",", ".")) for v in sorted({0, top // 2, top})]
    step = max(1, len(days) // 6)
    x_labels = [(x(i), days[i]["date"].strftime("%d/%m")) for i in range(0, len(days), step)]
    return Trend(CHART_W, CHART_H, points("has"), points("supported"),
                 y(target_count) if target_count is not None else None, target_count, target,
                 ticks, x_labels, days[-1]["commune"] if days else {"has": 0, "supported": 0},
                 adults_total)


def _period(me, form):
    if request.args.get("first") or request.args.get("last"):
        if form.validate() and form.first.data and form.last.data:
            return form.first.data, form.last.data
    first, last = activity.default_period(me, local_day(utcnow()))
    form.first.data, form.last.data = first, last
    return first, last


@bp.route("/overview")
@bp.route("/")  # registered first: url_for builds the console's home, /office/
@office_view()
@reads_from_replica
def overview(me):
    """The map, table, trend, activity and backlog of the caller's hamlets over a period."""
    form = PeriodForm(formdata=request.args)
    first, last = _period(me, form)
    data = reports.report(me, first, last)
    commune = data.figures["commune"]
    daily = coverage.daily(me, {"commune": commune["code"], "from": first, "to": last,
                                "service": TREND_SERVICE})
    ids = [h["hamlet_id"] for h in data.figures["hamlets"]]
    teams, members = activity.team_activity(ids, first, last)
    backlog, backlog_total = activity.followup_backlog(ids, local_day(utcnow()))
    return render_template(
        "office/overview.html", form=form, report=data, first=first, last=last,
        trend=_trend(daily, commune["adults_total"]), teams=teams, members=members,
        backlog=backlog, backlog_total=backlog_total,
        last_visits=activity.last_visit_days(ids, last),
        campaigns=coverage_targets.campaigns(me), trend_service=data.services.get(TREND_SERVICE),
        waiting=review.count_by_state(me))


@bp.route("/overview/hamlets.geojson")
@office_view()
@reads_from_replica
def hamlets_geojson(me):
    """The boundaries of the caller's hamlets as GeoJSON (the map's only layer)."""
    return jsonify(activity.hamlet_boundaries(me))


@bp.app_template_global("figure")
def _figure(row, key):
    """A coverage row's value at a dotted path (the report's columns name them so)."""
    return reports.value(row, key)


@bp.app_template_filter("vn_percent")
def _vn_percent(rate):
    """``0.4567`` as ``45,7%`` (empty when there is no rate)."""
    return "" if rate is None else f"{rate * 100:.1f}%".replace(".", ",")
