"""Nhập sổ hộ: upload a hamlet's household registry (CSV/XLSX), follow the job, get the report.

A commune officer imports into their commune's hamlets, an admin into any. The upload is checked
at once (format, UTF-8, header row); the rows are imported by an rq job (on the job thread
without Redis) whose progress the page polls, like the reports page.
"""
from flask import current_app, jsonify, redirect, render_template, request, send_file, url_for
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField

from server.errors import Invalid, NotFound
from server.services import registry_import, registry_template
from server.services.registry_columns import COLUMNS
from server.vocab import Role
from server.web.forms import REQUIRED, OfficeForm
from server.web.office import bp
from server.web.session_auth import office_view

IMPORTERS = (Role.COMMUNE_OFFICER.value, Role.ADMIN.value)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"
DEFAULT_MAX_BYTES = 64 * 1024 * 1024


def _int_or_none(value):
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


class ImportForm(OfficeForm):
    """The hamlet and the file (a multipart POST, CSRF-protected)."""

    hamlet = SelectField("Ấp", coerce=_int_or_none, validate_choice=True)
    file = FileField("Tệp sổ hộ (.csv hoặc .xlsx)", validators=[FileRequired(REQUIRED)])


@bp.url_value_preprocessor
def _import_body_limit(endpoint, _values):
    # Runs before every before_request hook, so before the CSRF check reads the multipart body
    # under the app's 11 MiB cap: a registry file may be larger.
    if endpoint == "office.start_import":
        request.max_content_length = current_app.config.get("IMPORT_MAX_BYTES",
                                                            DEFAULT_MAX_BYTES)


def _form(me, posted=False):
    form = ImportForm() if posted else ImportForm(formdata=None)
    groups = registry_import.hamlet_choices(me)
    form.hamlet.choices = {f"{commune.code} · {commune.name}": [
        (hamlet.id, f"{hamlet.code} · {hamlet.name}") for hamlet in hamlets]
        for commune, hamlets in groups}
    return form


STATES = {"queued": "Đang chờ", "running": "Đang nhập", "done": "Xong", "failed": "Lỗi"}


def _number(value):
    return f"{value or 0:,}".replace(",", ".")


def summary(counts):
    """What an import did, in one Vietnamese line (the page and the status JSON)."""
    if not counts:
        return ""
    c = {key: counts.get(key, 0) for key in registry_import.COUNTS}
    parts = [f"{_number(c['rows'])} dòng",
             f"hộ: {_number(c['households_created'])} mới, "
             f"{_number(c['households_updated'])} cập nhật, "
             f"{_number(c['households_unchanged'])} không đổi",
             f"người: {_number(c['residents_created'])} mới, "
             f"{_number(c['residents_updated'])} cập nhật, "
             f"{_number(c['residents_unchanged'])} không đổi"]
    if c["residents_without_consent"]:
        parts.append(f"{_number(c['residents_without_consent'])} người chưa đồng ý "
                     "(không lưu họ tên, điện thoại)")
    if c["rows_with_errors"]:
        parts.append(f"{_number(c['rows_with_errors'])} dòng lỗi")
    if c["rows_skipped"]:
        parts.append(f"{_number(c['rows_skipped'])} dòng bỏ qua")
    return "; ".join(parts)


def _page(me, form, status=200):
    return render_template("office/imports.html", form=form, columns=COLUMNS, states=STATES,
                           summary=summary,
                           tasks=registry_import.recent_tasks(me),
                           max_mb=current_app.config.get("IMPORT_MAX_BYTES",
                                                         DEFAULT_MAX_BYTES) // (1024 * 1024),
                           max_rows=registry_import.MAX_ROWS), status


@bp.route("/imports", endpoint="imports")
@office_view(*IMPORTERS)
def imports_page(me):
    """The upload form, the column layout and the latest imports with their progress."""
    return _page(me, _form(me))


@bp.route("/imports", methods=["POST"])
@office_view(*IMPORTERS)
def start_import(me):
    """Check and store the upload, then queue its import."""
    form = _form(me, posted=True)
    if not form.validate():
        return _page(me, form, 422)
    upload = form.file.data
    try:
        task = registry_import.request_import(me, form.hamlet.data, upload.stream,
                                              upload.filename)
    except Invalid as err:
        form.file.errors = list(err.fields.get("file", [])) or ["Tệp không hợp lệ"]
        return _page(me, form, 422)
    except NotFound:
        form.hamlet.errors = ["Ấp không thuộc phạm vi của bạn"]
        return _page(me, form, 422)
    return redirect(url_for("office.imports", _anchor=f"i-{task.id}"))


@bp.route("/imports/<task_id>/status")
@office_view(*IMPORTERS)
def import_status(me, task_id):
    """State, progress and counts of an import (polled by imports.js)."""
    task = registry_import.task_in_scope(me, task_id)
    return jsonify({
        "id": str(task.id), "state": task.state, "progress": task.progress,
        "counts": task.counts or {}, "summary": summary(task.counts), "error": task.error,
        "report": url_for("office.import_report", task_id=task.id)
        if registry_import.report_of(task) else None})


@bp.route("/imports/<task_id>/report")
@office_view(*IMPORTERS)
def import_report(me, task_id):
    """The error report of a finished import (CSV, UTF-8 with BOM)."""
    task = registry_import.task_in_scope(me, task_id)
    path = registry_import.report_of(task)
    if path is None:
        return redirect(url_for("office.imports"))
    registry_import.record_download(me, task)
    name = f"bao-cao-nhap-so-ho-{task.created_at:%Y%m%d-%H%M}.csv"
    return send_file(path, mimetype=CSV, as_attachment=True, download_name=name, max_age=0)


@bp.route("/imports/mau-so-ho.<any(csv, xlsx):fmt>")
@office_view(*IMPORTERS)
def import_template(me, fmt):
    """The template file of the column layout."""
    from io import BytesIO

    data = registry_template.csv_template() if fmt == "csv" else registry_template.xlsx_template()
    return send_file(BytesIO(data), mimetype=CSV if fmt == "csv" else XLSX, as_attachment=True,
                     download_name=f"mau-so-ho.{fmt}", max_age=0)
