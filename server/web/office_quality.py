"""Cảnh báo dữ liệu and Hộ trùng: the data-quality flags, and merging duplicate households."""
from datetime import timedelta

from flask import flash, redirect, render_template, request, url_for

from server.models.types import utcnow
from server.replica import reads_from_replica
from server.services import merge, quality
from server.vocab import local_day
from server.web.forms import MergeForm, PeriodForm
from server.web.office import bp
from server.web.session_auth import office_view

DEFAULT_DAYS = 30


@bp.route("/flags")
@office_view()
@reads_from_replica
def flags(me):
    """GPS outside the hamlet and implausible speed over a period (default: the last 30 days)."""
    form = PeriodForm(formdata=request.args)
    if not request.args:
        today = local_day(utcnow())
        form.first.data, form.last.data = today - timedelta(days=DEFAULT_DAYS - 1), today
    if not form.validate():
        return render_template("office/flags.html", form=form, outside=[], fast=[]), 422
    first, last = form.first.data, form.last.data
    return render_template("office/flags.html", form=form,
                           outside=quality.gps_outside_visits(me, first, last),
                           fast=quality.speed_pairs(me, first, last),
                           duplicates=len(quality.duplicate_groups(me)))


@bp.route("/duplicates")
@office_view()
def duplicates(me):
    """Households suspected to be recorded twice in a hamlet, grouped."""
    groups = quality.duplicate_groups(me)
    counts = quality.visit_counts({h.id for g in groups for h in g})
    return render_template("office/duplicates.html", groups=groups, counts=counts)


@bp.route("/merge")
@office_view("commune_officer")
def merge_confirm(me):
    """Confirm page: what moves where, before anything changes."""
    survivor, other, counts = merge.preview(me, request.args.get("survivor"),
                                            request.args.get("other"))
    form = MergeForm(survivor=str(survivor.id), other=str(other.id))
    return render_template("office/merge.html", survivor=survivor, other=other, counts=counts,
                           form=form)


@bp.route("/merge", methods=["POST"])
@office_view("commune_officer")
def merge_households(me):
    """Merge (officer only): the other household's records move to the survivor."""
    form = MergeForm()
    if not form.validate():
        return redirect(url_for("office.duplicates"))
    survivor = merge.merge(me, form.survivor.data, form.other.data)
    flash("Đã gộp hai hộ. Điện thoại của tổ sẽ nhận thay đổi ở lần đồng bộ tới.")
    return redirect(url_for("office.duplicates", _anchor=f"h-{survivor.id}"))
