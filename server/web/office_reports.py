"""Duyệt số liệu tháng and Báo cáo: month approval, the XLSX report job and its printable page.

Approving is a commune officer's act (a team lead sees the state but gets 403 on the form).
The report is built by an rq job (in-process without Redis); the page polls a small JSON status
route and links the file once it is ready.
"""
from flask import flash, jsonify, redirect, render_template, request, send_file, url_for
from wtforms import HiddenField
from wtforms.validators import DataRequired

from server.models.types import utcnow
from server.services import activity, approvals, reports
from server.vocab import Role, local_day
from server.web.forms import OfficeForm, PeriodForm
from server.web.office import bp
from server.web.session_auth import office_view

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"



class ApproveForm(OfficeForm):
    """Approve the figures shown: ``seen`` is the SHA-256 of the figures on the page."""

    seen = HiddenField(validators=[DataRequired()])


class ReportForm(PeriodForm):
    """Start a report (a POST: CSRF-protected, unlike the GET period filter)."""

    class Meta:
        csrf = True


def _report_form_defaults(form, me):
    if form.first.data is None or form.last.data is None:
        form.first.data, form.last.data = activity.default_period(me, local_day(utcnow()))


# --- month approval ------------------------------------------------------------------------

@bp.route("/approvals", endpoint="approvals")
@office_view()
def approvals_list(me):
    """The months with figures or an approval, and their state (stale ones are detected here)."""
    return render_template("office/approvals.html", months=approvals.months(me),
                           month_key=approvals.month_key)


@bp.route("/approvals/<month>")
@office_view()
def approval(me, month):
    """One month: its state, what changed since the approval, and the approve form."""
    status = approvals.status(me, approvals.parse_month(month))
    form = ApproveForm(seen=status.live_sha256)
    visible = None if me.role == Role.COMMUNE_OFFICER else me.hamlet_ids
    return render_template("office/approval.html", status=status, form=form, visible=visible,
                           month_key=approvals.month_key(status.month),
                           columns=reports.base_columns()[2:])


@bp.route("/approvals/<month>", methods=["POST"])
@office_view(Role.COMMUNE_OFFICER.value)
def approve_month(me, month):
    """Approve the month's figures (commune officer only)."""
    day = approvals.parse_month(month)
    form = ApproveForm()
    if not form.validate():
        return redirect(url_for("office.approval", month=month))
    approvals.approve(me, day, form.seen.data)
    flash(f"Đã duyệt số liệu tháng {day:%m/%Y}. Ảnh chụp số liệu đã được lưu.")
    return redirect(url_for("office.approval", month=month))


# --- the report ----------------------------------------------------------------------------

@bp.route("/reports", endpoint="reports")
@office_view()
def reports_page(me):
    """Start a report for a period; the latest reports with their progress."""
    form = ReportForm(formdata=None)
    _report_form_defaults(form, me)
    return render_template("office/reports.html", form=form, tasks=reports.recent_tasks(me))


@bp.route("/reports", methods=["POST"])
@office_view()
def start_report(me):
    """Queue the XLSX job of a period (in-process without Redis)."""
    form = ReportForm()
    if not form.validate() or not form.first.data or not form.last.data:
        return render_template("office/reports.html", form=form,
                               tasks=reports.recent_tasks(me)), 422
    task = reports.request_report(me, form.first.data, form.last.data)
    return redirect(url_for("office.reports", _anchor=f"r-{task.id}"))


@bp.route("/reports/<task_id>/status")
@office_view()
def report_status(me, task_id):
    """The task's state and progress (polled by report.js)."""
    task = reports.task_in_scope(me, task_id)
    return jsonify({"id": str(task.id), "state": task.state, "progress": task.progress,
                    "download": url_for("office.report_download", task_id=task.id)
                    if reports.file_of(task) else None})


@bp.route("/reports/<task_id>/download")
@office_view()
def report_download(me, task_id):
    """The finished workbook (audit-logged as an export)."""
    task = reports.task_in_scope(me, task_id)
    path = reports.file_of(task)
    if path is None:
        return redirect(url_for("office.reports"))
    reports.record_download(me, task)
    name = f"bao-cao-tcnscd-{task.date_from:%Y%m%d}-{task.date_to:%Y%m%d}.xlsx"
    return send_file(path, mimetype=XLSX, as_attachment=True, download_name=name, max_age=0)


@bp.route("/reports/print")
@office_view()
def report_print(me):
    """The same report as a printable page (print CSS)."""
    form = PeriodForm(formdata=request.args)
    if not form.validate() or not form.first.data or not form.last.data:
        _report_form_defaults(form, me)
    data = reports.report(me, form.first.data, form.last.data)
    return render_template("office/report_print.html", report=data, first=form.first.data,
                           last=form.last.data, printed_at=utcnow())
