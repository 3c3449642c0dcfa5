"""Household registry import: upload, the job's run over the file, its report and its scope.

An officer (their commune's hamlets) or an admin (any hamlet) uploads a CSV or XLSX of one
hamlet's households and, optionally, their people (layout: ``registry_columns``). The upload is
checked at once (format, UTF-8, header), stored under ``MEDIA_DIR/imports/`` and a task row is
queued (``jobs.imports.import_registry``). The job reads the file row by row
(``registry_files``), checks each row with the push's schemas (``registry_rows``) and stores
chunks of ``CHUNK`` rows, one transaction each (``registry_apply``), so its memory does not grow
with the file. Problems go to a CSV report (row, column, reason in Vietnamese) written as the
rows are read. The task row shows state, progress and counts, as ``report_tasks`` do.
"""
import csv
import logging
import os
import uuid
from pathlib import Path

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import InterfaceError, OperationalError

from server.auth import principal_for
from server.errors import Invalid, NotFound
from server.extensions import db
from server.models import Commune, Hamlet, User
from server.models.imports import RegistryImportTask
from server.models.types import utcnow
from server.services import approvals, audit, coverage_queue, queue
from server.services.registry_apply import Chunk
from server.services.registry_columns import BY_KEY, HeaderProblem
from server.services.registry_files import FileProblem, check_upload, file_format, open_rows
from server.services.registry_rows import RowReader
from server.vocab import Role

log = logging.getLogger(__name__)
JOB = "jobs.imports.import_registry"
CHUNK = 500  # rows per transaction: bounds memory and how long phones' pushes wait
MAX_ROWS = 200_000  # data rows read from one file; the rest is reported, not imported
JOB_TIMEOUT = 3600  # seconds rq allows one import (100,000 rows take a few minutes)
RECENT = 20
IMPORTERS = (Role.COMMUNE_OFFICER.value, Role.ADMIN.value)
REPORT_HEADER = ("Dòng", "Cột", "Mã hộ", "Kết quả", "Lý do")
COUNTS = ("rows", "rows_imported", "rows_skipped", "rows_with_errors", "households_created",
          "households_updated", "households_unchanged", "residents_created", "residents_updated",
          "residents_unchanged", "residents_without_consent", "report_lines")
FAILED = "Không nhập được tệp do lỗi hệ thống. Vui lòng thử lại sau."
INFRASTRUCTURE_ERRORS = (OperationalError, InterfaceError)


def media(relative):
    """The absolute path of a file under ``MEDIA_DIR``."""
    return Path(current_app.config["MEDIA_DIR"]) / relative


# --- who may import where --------------------------------------------------------------------

def may_import(principal):
    """True for the roles that import registries."""
    return principal.role in IMPORTERS


def hamlet_choices(principal):
    """``[(commune, [hamlet…])]`` the caller may import into: live hamlets, by code."""
    query = (select(Hamlet).join(Commune, Commune.id == Hamlet.commune_id)
             .where(Hamlet.valid_to.is_(None), principal.hamlet_filter(Hamlet.id))
             .order_by(Commune.code, Hamlet.code))
    if principal.role != Role.ADMIN:
        query = query.where(Hamlet.commune_id == principal.commune_id)
    groups = {}
    for hamlet in db.session.scalars(query):
        groups.setdefault(hamlet.commune, []).append(hamlet)
    return list(groups.items())


def _hamlet_in_scope(principal, hamlet_id):
    hamlet = db.session.get(Hamlet, hamlet_id) if hamlet_id else None
    if hamlet is None or hamlet.valid_to is not None or not may_import(principal):
        return None
    if principal.role == Role.ADMIN:
        return hamlet
    if hamlet.commune_id != principal.commune_id or not principal.can_see_hamlet(hamlet.id):
        return None
    return hamlet


# --- upload ----------------------------------------------------------------------------------

def request_import(principal, hamlet_id, upload, filename):
    """Store an upload (a binary stream), check it, record and queue its task; returns the task.

    Invalid (a Vietnamese message in ``fields["file"]``) when the file is not a registry file;
    NotFound when the hamlet is outside the caller's scope.
    """
    hamlet = _hamlet_in_scope(principal, hamlet_id)
    if hamlet is None:
        raise NotFound("No such hamlet")
    try:
        fmt = file_format(filename)
    except FileProblem as problem:
        raise Invalid("Not a registry file", fields={"file": [str(problem)]}) from None
    task_id = uuid.uuid4()
    relative = f"imports/{task_id}.{fmt}"
    target = media(relative)
    target.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    with open(target, "wb") as out:
        while chunk := upload.read(1 << 16):
            out.write(chunk)
            size += len(chunk)
    try:
        check_upload(target, fmt)
    except (FileProblem, HeaderProblem) as problem:
        target.unlink(missing_ok=True)
        raise Invalid("Not a registry file", fields={"file": [str(problem)]}) from None
    name = (Path(str(filename)).name or f"so-ho.{fmt}")[:160]
    task = RegistryImportTask(
        id=task_id, commune_id=hamlet.commune_id, hamlet_id=hamlet.id,
        requested_by_id=principal.user.id, file_name=name, file_format=fmt, file_path=relative,
        file_bytes=size, state="queued", progress=0, counts={})
    db.session.add(task)
    audit.record(principal.actor, "registry_import.request", "registry_import_task", task_id,
                 {"hamlet": hamlet.code, "file_name": name, "bytes": size},
                 user_id=principal.user.id)
    db.session.commit()
    queue.enqueue(JOB, str(task_id), queue="default", timeout=JOB_TIMEOUT, off_request=True)
    db.session.expire_all()  # an in-process job may have finished it already
    return db.session.get(RegistryImportTask, task_id)


# --- tasks -----------------------------------------------------------------------------------

def task_in_scope(principal, task_id):
    """A task the caller may see (an admin: any; an officer: their commune's); 404 otherwise."""
    try:
        task = db.session.get(RegistryImportTask, uuid.UUID(str(task_id)))
    except ValueError:
        task = None
    if task is None or not may_import(principal) or (
            principal.role != Role.ADMIN and task.commune_id != principal.commune_id):
        raise NotFound("No such import")
    return task


def recent_tasks(principal, limit=RECENT):
    """The latest imports the caller may see, newest first, with their hamlets."""
    query = select(RegistryImportTask, Hamlet).join(Hamlet,
                                                    Hamlet.id == RegistryImportTask.hamlet_id)
    if principal.role != Role.ADMIN:
        query = query.where(RegistryImportTask.commune_id == principal.commune_id)
    return list(db.session.execute(
        query.order_by(RegistryImportTask.created_at.desc()).limit(limit)))


def report_of(task):
    """The error report of a finished task, or None (no problems, or not finished)."""
    if task.state != "done" or not task.report_path:
        return None
    path = media(task.report_path)
    return path if path.is_file() else None


def record_download(principal, task):
    """Audit a download of an error report; commits."""
    audit.record(principal.actor, "registry_import.report", "registry_import_task", task.id,
                 {"lines": (task.counts or {}).get("report_lines", 0)},
                 user_id=principal.user.id)
    db.session.commit()


# --- the job's run ---------------------------------------------------------------------------

class Run:
    """One run of the job over a task's file: counts, the report, progress."""

    def __init__(self, task, hamlet, writer, header):
        self.task_id, self.hamlet_id = task.id, hamlet.id
        self.commune_id, self.user_id = hamlet.commune_id, task.requested_by_id
        self.counts = dict.fromkeys(COUNTS, 0)
        self._writer = writer
        self._written = {key: text for _, key, text in header}

    @staticmethod
    def now():
        return utcnow()

    def count(self, name, n=1):
        self.counts[name] += n

    def report(self, row, kind, column, text):
        """One line of the error report."""
        header = self._written.get(column) or (BY_KEY[column].header if column else "")
        self._writer.writerow([row.number, header, row.key or "",
                               "Lỗi" if kind == "error" else "Bỏ qua", text])
        self.count("report_lines")

    def reject(self, row):
        """A row with problems: every problem reported, nothing of it stored."""
        for column, text in row.problems:
            self.report(row, "error", column, text)
        self.count("rows_with_errors")


def _set(task_id, **values):
    db.session.execute(update(RegistryImportTask).where(RegistryImportTask.id == task_id)
                       .values(**values))
    db.session.commit()


def _fail(task_id, message):
    db.session.rollback()
    _set(task_id, state="failed", error=message[:255], finished_at=utcnow())


def _requester_scope_holds(task, hamlet):
    user = db.session.get(User, task.requested_by_id)
    return user is not None and user.active and \
        _hamlet_in_scope(principal_for(user), hamlet.id) is not None


def run(task_id):
    """Import a task's file (the job's work). Safe to run twice: a done task is left alone, and
    a re-run stores nothing twice (rows already stored count as before)."""
    task = db.session.get(RegistryImportTask, uuid.UUID(str(task_id)))
    if task is None or task.state == "done":
        return None
    task_id = task.id
    hamlet = db.session.get(Hamlet, task.hamlet_id)
    if hamlet is None or hamlet.valid_to is not None or not _requester_scope_holds(task, hamlet):
        _fail(task_id, "Ấp không còn hiệu lực hoặc người tải lên không còn quyền với ấp này.")
        return None
    consent_at = task.created_at.isoformat()
    report_relative = f"imports/{task_id}-bao-cao.csv"
    partial = media(f"imports/.tmp-{task_id}-bao-cao.csv")
    _set(task_id, state="running", progress=1, error=None, counts={})
    try:
        rows = open_rows(media(task.file_path), task.file_format)
    except (FileProblem, HeaderProblem, OSError) as problem:
        _fail(task_id, str(problem) if not isinstance(problem, OSError)
              else "Không còn tệp đã tải lên; vui lòng tải lên lại.")
        media(task.file_path).unlink(missing_ok=True)  # no retry will read it
        return None
    try:
        with open(partial, "w", newline="", encoding="utf-8-sig") as out:
            writer = csv.writer(out)
            writer.writerow(REPORT_HEADER)
            state = Run(task, hamlet, writer, rows.header)
            _import_rows(state, rows, RowReader(rows.header, hamlet.id, consent_at))
    except FileProblem as problem:  # the file broke off midway: what came before is stored
        partial.unlink(missing_ok=True)
        _fail(task_id, str(problem))
        media(task.file_path).unlink(missing_ok=True)
        return None
    except INFRASTRUCTURE_ERRORS:
        db.session.rollback()
        log.exception("registry import %s: the database failed; rq may retry", task_id)
        _fail(task_id, FAILED)
        raise
    except Exception:
        log.exception("registry import %s failed", task_id)
        _fail(task_id, FAILED)
        raise
    finally:
        rows.close()
    _finish(task_id, state, partial, report_relative)
    return state.counts


def _import_rows(state, rows, reader):
    chunk = []
    try:
        _read_rows(state, rows, reader, chunk)
    except FileProblem:
        if chunk:  # the rows read before the file broke are stored, as the message says
            _store(state, chunk, rows)
        raise


def _read_rows(state, rows, reader, chunk):
    for number, cells in rows:
        if state.counts["rows"] >= MAX_ROWS:
            state.report(_Marker(number), "error", "",
                         f"Tệp có hơn {MAX_ROWS:,} dòng dữ liệu; từ dòng này trở đi không được "
                         "nhập. Hãy chia tệp.".replace(",", "."))
            break
        row = reader.read(number, cells)
        if row is None:
            continue
        state.count("rows")
        chunk.append(row)
        if len(chunk) >= CHUNK:
            _store(state, chunk, rows)
            chunk.clear()
    if chunk:
        _store(state, chunk, rows)
        chunk.clear()


class _Marker:
    """A report line about the file, not a row of it."""

    def __init__(self, number):
        self.number, self.key = number, None


def _store(state, chunk, rows):
    # Chunks read ids and versions as plain rows and write with bulk statements: the session's
    # identity map holds no household or resident, so memory stays flat from chunk to chunk.
    touched = Chunk(state, chunk).apply()
    if touched["households"] or touched["residents"]:
        # A changed birth year or household moves coverage rows, as a push's edit would.
        coverage_queue.schedule()
    _set(state.task_id, progress=max(1, min(99, int(99 * rows.fraction()))),
         counts=dict(state.counts))


def _finish(task_id, state, partial, report_relative):
    if state.counts["report_lines"]:
        os.replace(partial, media(report_relative))
        report_path = report_relative
    else:
        partial.unlink(missing_ok=True)
        report_path = None
    task = db.session.get(RegistryImportTask, task_id)
    task.state, task.progress, task.counts = "done", 100, dict(state.counts)
    task.report_path, task.finished_at = report_path, utcnow()
    audit.record(f"user:{task.requested_by_id}", "registry_import.finish",
                 "registry_import_task", task_id, dict(state.counts),
                 user_id=task.requested_by_id)
    db.session.commit()
    media(task.file_path).unlink(missing_ok=True)  # personal data: the registry is stored now
    if state.counts["households_created"] + state.counts["households_updated"] \
            + state.counts["residents_created"] + state.counts["residents_updated"]:
        # ``households_registered`` is part of an approved month's figures. The import is done
        # either way: the console checks the months again whenever it shows them.
        try:
            approvals.check_communes([state.commune_id])
        except Exception:  # noqa: BLE001
            db.session.rollback()
            log.exception("registry import %s: checking approved months failed", task_id)
