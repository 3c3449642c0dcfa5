"""The commune's periodic report: its columns (shared by the XLSX, the printable page and the
overview table), the report tasks and the job's work.

The figures are ``coverage.coverage`` for the requester's scope and period, the same function
``GET /api/v1/coverage`` answers from, so every cell equals the API's number. A task row (as
microblog's ``Task``) records the job's state and progress; the file lives under
``MEDIA_DIR/reports/<task id>.xlsx``.
"""
import logging
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from flask import current_app
from sqlalchemy import select

from server.auth import principal_for
from server.errors import NotFound
from server.extensions import db
from server.models import Commune, ReportTask, Service, User
from server.models.types import utcnow
from server.services import audit, coverage, queue
from server.vocab import Role

log = logging.getLogger(__name__)
JOB = "jobs.reports.build_report"
RECENT = 10

# Short names for headers; the catalogue's full label goes into the definitions.
SHORT = {"VNEID": "VNeID", "CKS": "Chữ ký số", "DVCTT": "DVC trực tuyến", "TMDT": "Sàn TMĐT",
         "TTKDTM": "Thanh toán số", "ATTT": "An toàn mạng", "VSSID": "VssID",
         "SSKDT": "Sổ sức khỏe ĐT", "APPTINH": "App tỉnh", "KYNANGSO": "Kỹ năng số",
         "THIETBI": "Điện thoại thông minh", "KHAC": "Khác"}

REACHED = ("Hộ được tiếp cận: số hộ khác nhau có ít nhất một lượt thăm “Hoàn thành” hoặc "
           "“Hoàn thành một phần” trong kỳ. Không tính lượt thăm bị “Không chấp nhận” khi duyệt "
           "và hộ đã xóa hoặc đã gộp.")
SUPPORTED = ("Đã hỗ trợ: số người khác nhau (số hộ với dịch vụ theo hộ) được Tổ hỗ trợ xong "
             "(kết quả “Đã hỗ trợ xong”) dịch vụ này trong kỳ.")
ALREADY_HAD = ("Đã có từ trước: số người (hộ) được ghi nhận trong kỳ là đã có dịch vụ trước khi "
               "Tổ đến. Được báo cáo riêng, không cộng vào “Đã hỗ trợ”.")
HAS = ("Hiện có: số người từ đủ 18 tuổi (tính theo năm của ngày cuối kỳ) mà kết quả gần nhất "
       "đến hết ngày cuối kỳ là “Đã hỗ trợ xong” hoặc “Đã có từ trước”; tính cả các lượt thăm "
       "trước kỳ. Với dịch vụ theo hộ: số hộ.")
RATE = ("Tỷ lệ: “Hiện có” chia cho số người từ 18 tuổi của ấp (số liệu nền do xã nhập ở trang "
        "Số liệu nền).")
GAP = ("Khoảng cách: mục tiêu trừ tỷ lệ hiện tại (0 khi đã đạt). Mục tiêu là mục tiêu của tỉnh "
       "có hạn gần nhất từ ngày cuối kỳ trở đi (QĐ 411/QĐ-TTg).")


@dataclass
class Column:
    """One column: where its value sits in a coverage row, its header and what it means."""

    key: str  # dotted path in a coverage row (``services.CKS.has``)
    header: str
    definition: str
    kind: str = "int"  # int | rate | text
    service: str | None = None  # the service code a column belongs to (for filtering)


def short_name(service):
    """A short Vietnamese name of a service for headers."""
    return SHORT.get(service.code, service.code)


def indicator_label(name, services):
    """Vietnamese name of a target indicator (``adults_with_CKS``)."""
    if name == "households_reached":
        return "Tỷ lệ hộ được tiếp cận"
    if name.startswith("adults_with_") and name[12:] in services:
        return f"Người từ 18 tuổi có {short_name(services[name[12:]])}"
    if name == "people_15_with_TTKDTM":
        return "Người từ 15 tuổi có tài khoản thanh toán"
    return name


def catalogue():
    """``{code: Service}`` of the active services, in catalogue order."""
    return {s.code: s for s in db.session.scalars(
        select(Service).where(Service.active).order_by(Service.sort_order, Service.code))}


def base_columns():
    """The hamlet-level columns that do not depend on a service."""
    return [
        Column("code", "Mã ấp", "Mã ấp do xã đặt (<mã xã>-NNN).", "text"),
        Column("name", "Ấp", "Tên ấp, khu phố.", "text"),
        Column("households_total", "Số hộ (nền)",
               "Số hộ của ấp do xã nhập (Số liệu nền): mẫu số của tỷ lệ hộ được tiếp cận."),
        Column("households_registered", "Hộ đã đăng ký",
               "Hộ đang có trong sổ của Tổ hôm nay (không tính hộ đã xóa hoặc đã gộp)."),
        Column("households_reached", "Hộ được tiếp cận", REACHED),
        Column("rates.households_reached", "Tỷ lệ hộ được tiếp cận",
               "Hộ được tiếp cận chia cho số hộ (số liệu nền).", "rate"),
        Column("visits", "Lượt thăm",
               "Số lượt thăm trong kỳ (không tính lượt bị “Không chấp nhận” và hộ đã xóa/gộp)."),
        Column("adults_total", "Người từ 18 tuổi (nền)",
               "Số người từ 18 tuổi của ấp do xã nhập (Số liệu nền): mẫu số của các tỷ lệ."),
    ]


def target_columns(target_names, services):
    """Target and gap columns of each target indicator."""
    columns = []
    for name in target_names:
        label = indicator_label(name, services)
        code = name[12:] if name.startswith("adults_with_") else None
        columns.append(Column(f"targets.{name}.target", f"Mục tiêu: {label}",
                              f"Mục tiêu của tỉnh cho chỉ tiêu “{label}”.", "rate", code))
        columns.append(Column(f"targets.{name}.gap", f"Khoảng cách: {label}", GAP, "rate", code))
    return columns


def summary_columns(services, target_names):
    """The summary sheet: base columns, each service's ``has`` and rate, targets and gaps."""
    columns = base_columns()
    for code, service in services.items():
        columns.append(Column(f"services.{code}.has", f"Có {short_name(service)}",
                              f"{service.label}. {HAS}", "int", code))
        if service.unit == "person":
            columns.append(Column(f"rates.adults_with_{code}", f"Tỷ lệ có {short_name(service)}",
                                  RATE, "rate", code))
    return columns + target_columns(target_names, services)


def service_columns(service, target_names, services):
    """One service's sheet: supported, already had, has, its rate, and its target's gap."""
    name = short_name(service)
    columns = base_columns()[:2] + [
        Column(f"services.{service.code}.supported", f"{name}: đã hỗ trợ", SUPPORTED),
        Column(f"services.{service.code}.already_had", f"{name}: đã có từ trước", ALREADY_HAD),
        Column(f"services.{service.code}.has", f"{name}: hiện có", HAS),
    ]
    if service.unit == "person":
        columns.append(Column(f"rates.adults_with_{service.code}", f"{name}: tỷ lệ", RATE, "rate"))
    indicator = f"adults_with_{service.code}"
    if indicator in target_names:
        columns += target_columns([indicator], services)
    return columns


def value(row, key):
    """The value at a dotted path of a coverage row (None when absent)."""
    for part in key.split("."):
        if not isinstance(row, dict):
            return None
        row = row.get(part)
    return row


@dataclass
class Report:
    """Everything a report shows: the coverage answer and its columns."""

    figures: dict  # coverage.coverage's answer
    services: dict  # code -> Service
    summary: list  # Column
    per_service: dict  # code -> [Column]


def report(principal, first, last):
    """The report of the caller's commune (their scope) over ``first``..``last``."""
    commune = _commune(principal.commune_id)
    figures = coverage.coverage(principal, {"commune": commune.code, "from": first, "to": last})
    services = catalogue()
    target_names = sorted(figures["commune"]["targets"])
    return Report(figures, services, summary_columns(services, target_names),
                  {code: service_columns(s, target_names, services)
                   for code, s in services.items()})


def _commune(commune_id):
    commune = db.session.get(Commune, commune_id) if commune_id else None
    if commune is None:
        raise NotFound("No commune")
    return commune


# --- tasks ------------------------------------------------------------------------------------

def request_report(principal, first, last):
    """Record a report task, audit the export, commit, then queue its job; returns the task."""
    commune = _commune(principal.commune_id)
    coverage.resolve_period({"from": first, "to": last})  # the API's period rules
    task = ReportTask(id=uuid.uuid4(), commune_id=commune.id, requested_by_id=principal.user.id,
                      date_from=first, date_to=last, state="queued", progress=0)
    db.session.add(task)
    audit.record(principal.actor, "report.request", "report_task", task.id,
                 {"commune": commune.code, "from": first.isoformat(), "to": last.isoformat()},
                 user_id=principal.user.id)
    db.session.commit()
    queue.enqueue(JOB, str(task.id), queue="default")
    db.session.expire_all()  # an in-process job may have finished it already
    return db.session.get(ReportTask, task.id)


def task_in_scope(principal, task_id):
    """A task of the caller's commune (a team lead: only their own); 404 otherwise."""
    try:
        task = db.session.get(ReportTask, uuid.UUID(str(task_id)))
    except ValueError:
        task = None
    if task is None or task.commune_id != principal.commune_id or (
            principal.role != Role.COMMUNE_OFFICER and task.requested_by_id != principal.user.id):
        raise NotFound("No such report")
    return task


def recent_tasks(principal, limit=RECENT):
    """The latest tasks the caller may see, newest first."""
    query = select(ReportTask).where(ReportTask.commune_id == principal.commune_id)
    if principal.role != Role.COMMUNE_OFFICER:
        query = query.where(ReportTask.requested_by_id == principal.user.id)
    return list(db.session.scalars(query.order_by(ReportTask.created_at.desc()).limit(limit)))


def file_of(task):
    """The finished file of a task, or None."""
    if task.state != "done" or not task.file_path:
        return None
    path = Path(current_app.config["MEDIA_DIR"]) / task.file_path
    return path if path.is_file() else None


def record_download(principal, task):
    """Audit a download of a report (an export of figures); commits."""
    audit.record(principal.actor, "report.download", "report_task", task.id,
                 {"from": task.date_from.isoformat(), "to": task.date_to.isoformat()},
                 user_id=principal.user.id)
    db.session.commit()


def _progress(task, percent, state="running"):
    task.state, task.progress = state, percent
    db.session.commit()


def run(task_id, write: Callable):
    """Build a task's file with ``write(report, task, path, progress)`` (the job's work).

    Safe to run twice: a task whose file exists is left alone; a failure is recorded on the
    task (and re-raised, so rq may retry it).
    """
    task = db.session.get(ReportTask, uuid.UUID(str(task_id)))
    if task is None or file_of(task) is not None:
        return None
    _progress(task, 5)
    try:
        user = db.session.get(User, task.requested_by_id)
        principal = principal_for(user)
        data = report(principal, task.date_from, task.date_to)
        _progress(task, 30)
        relative = f"reports/{task.id}.xlsx"
        target = Path(current_app.config["MEDIA_DIR"]) / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".tmp-{task.id}.xlsx")
        write(data, task, partial,
                                  lambda share: _progress(task, 30 + int(65 * share)))
        os.replace(partial, target)
        task.file_path, task.finished_at = relative, utcnow()
        _progress(task, 100, "done")
        return relative
    except Exception as err:
        db.session.rollback()
        task = db.session.get(ReportTask, uuid.UUID(str(task_id)))
        task.state, task.error, task.finished_at = "failed", str(err)[:255], utcnow()
        db.session.commit()
        log.exception("report %s failed", task_id)
        raise
