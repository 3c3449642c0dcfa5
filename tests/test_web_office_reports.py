"""Duyệt số liệu tháng and Báo cáo: snapshots, staleness, who may approve, the XLSX job."""
import io
import re
import uuid
from datetime import date

from openpyxl import load_workbook
from sqlalchemy import select

from server.extensions import db
from server.models import AuditEntry, MonthApproval, MonthApprovalSnapshot, ReportTask
from server.models.types import utcnow
from server.services import reports
from server.vocab import local_day
from tests.conftest import wait_for
from tests.factories import login
from tests.sync_helpers import resident, visit
from tests.test_coverage_definitions import OCT, at, cks, get, pushed
from tests.test_web_office_auth import csrf, text
from tests.test_web_office_overview import OCT_QUERY, as_number, october  # noqa: F401
from tests.test_web_office_visits import browser

MONTH = "2025-10"
_SEEN = re.compile(r'name="seen" type="hidden" value="([0-9a-f]{64})"')


def approve(officer, month=MONTH):
    """Post the approve form of a month as shown (its CSRF token and figures digest)."""
    page = text(officer.get(f"/office/approvals/{month}"))
    seen = _SEEN.search(page)
    assert seen, page[:3000]
    return officer.post(f"/office/approvals/{month}", data={
        "seen": seen.group(1), "csrf_token": csrf(officer, f"/office/approvals/{month}")})


def approval_row(world):
    db.session.rollback()
    return db.session.get(MonthApproval, (world.commune.id, date(2025, 10, 1)))


def test_approval_stores_the_api_figures_as_snapshot_with_an_audit_entry(client, app, world,
                                                                           october):
    officer = browser(app, world, "commune_officer")
    listing = text(officer.get("/office/approvals"))
    assert 'data-month="2025-10" data-state="open"' in listing
    resp = approve(officer)
    assert resp.status_code == 302, text(resp)[:2000]
    row = approval_row(world)
    api = get(client, login(client, world.users["commune_officer"]), commune=world.commune.code,
              **OCT)
    assert row.state == "approved" and row.snapshot == api
    assert row.approved_by_id is not None and row.approved_at is not None
    history = list(db.session.scalars(select(MonthApprovalSnapshot).where(
        MonthApprovalSnapshot.commune_id == world.commune.id)))
    assert len(history) == 1 and history[0].snapshot == api
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "month.approve",
                                                       AuditEntry.entity_id
                                                       == f"{world.commune.id}:{MONTH}"))
    assert entry.details["sha256"] == history[0].sha256 and entry.actor_user_id == row.approved_by_id
    page = text(officer.get(f"/office/approvals/{MONTH}"))
    assert 'data-state="approved"' in page and "Đã duyệt" in page
    assert 'id="approve-form"' not in page  # nothing to approve again


def test_a_later_push_that_changes_the_month_marks_it_stale(client, app, world, october):
    officer = browser(app, world, "commune_officer")
    assert approve(officer).status_code == 302
    snapshot = approval_row(world).snapshot
    rb = resident(october.b, full_name="Lê Thị Cúc", birth_year=1985)
    late = visit(october.b, when=at(date(2025, 10, 28)), services=[cks(rb["id"], "done")])
    pushed(client, october.member, [rb, late])
    # The refresh job's hook marks it, without anyone opening a page.
    assert wait_for(lambda: approval_row(world).state == "stale")
    row = approval_row(world)
    assert row.snapshot == snapshot  # nothing silently rewritten
    assert db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "month.stale",
        AuditEntry.entity_id == f"{world.commune.id}:{MONTH}")) is not None
    page = text(officer.get(f"/office/approvals/{MONTH}"))
    assert 'data-state="stale"' in page and "Cần duyệt lại" in page
    assert "services.CKS.supported" in page  # what changed is shown
    listing = text(officer.get("/office/approvals"))
    assert 'data-month="2025-10" data-state="stale"' in listing
    assert approve(officer).status_code == 302  # re-approval
    assert approval_row(world).state == "approved"
    assert db.session.scalar(select(db.func.count()).select_from(MonthApprovalSnapshot).where(
        MonthApprovalSnapshot.commune_id == world.commune.id)) == 2


def test_a_change_outside_a_push_is_caught_when_the_month_is_shown(client, app, world, october):
    officer = browser(app, world, "commune_officer")
    assert approve(officer).status_code == 302
    hamlet = world.hamlets[0]
    hamlet = db.session.merge(hamlet)
    hamlet.adults_total = 300  # a baseline edit changes every rate
    db.session.commit()
    page = text(officer.get(f"/office/approvals/{MONTH}"))
    assert 'data-state="stale"' in page and "rates.adults_with_CKS" in page
    assert approval_row(world).state == "stale"


def test_a_team_lead_views_but_cannot_approve(app, world, october):
    lead = browser(app, world, "team_lead")
    page = text(lead.get(f"/office/approvals/{MONTH}"))
    assert 'data-state="open"' in page and 'id="approve-form"' not in page
    assert world.hamlets[1].name not in page  # only the team's hamlets
    officer_page = text(browser(app, world, "commune_officer").get(f"/office/approvals/{MONTH}"))
    seen = _SEEN.search(officer_page).group(1)
    resp = lead.post(f"/office/approvals/{MONTH}",
                     data={"seen": seen, "csrf_token": csrf(lead, f"/office/approvals/{MONTH}")})
    assert resp.status_code == 403 and "Không có quyền truy cập" in text(resp)
    assert approval_row(world) is None


def test_the_approve_form_without_csrf_token_is_refused(app, world, october):
    officer = browser(app, world, "commune_officer")
    seen = _SEEN.search(text(officer.get(f"/office/approvals/{MONTH}"))).group(1)
    resp = officer.post(f"/office/approvals/{MONTH}", data={"seen": seen})
    assert resp.status_code == 400
    assert approval_row(world) is None


def test_figures_that_changed_since_the_page_was_shown_are_not_approved(app, world, october):
    officer = browser(app, world, "commune_officer")
    resp = officer.post(f"/office/approvals/{MONTH}", data={
        "seen": "0" * 64, "csrf_token": csrf(officer, f"/office/approvals/{MONTH}")})
    assert resp.status_code == 409 and "Dữ liệu vừa thay đổi" in text(resp)
    assert approval_row(world) is None


def test_a_month_not_ended_cannot_be_approved(app, world):
    officer = browser(app, world, "commune_officer")
    month = local_day(utcnow()).strftime("%Y-%m")
    page = text(officer.get(f"/office/approvals/{month}"))
    assert "Tháng chưa kết thúc" in page and 'id="approve-form"' not in page
    resp = officer.post(f"/office/approvals/{month}", data={
        "seen": "0" * 64, "csrf_token": csrf(officer, f"/office/approvals/{month}")})
    assert resp.status_code == 422
    assert officer.get("/office/approvals/not-a-month").status_code == 404


def _report(officer, first=OCT["from"], last=OCT["to"]):
    resp = officer.post("/office/reports", data={
        "first": first, "last": last, "csrf_token": csrf(officer, "/office/reports")})
    assert resp.status_code == 302, text(resp)[:2000]
    task_id = resp.headers["Location"].rsplit("#r-", 1)[1]
    status_url = f"/office/reports/{task_id}/status"
    final = wait_for(lambda: officer.get(status_url).get_json()["state"] in ("done", "failed")
                     and officer.get(status_url).get_json(), timeout=60)
    assert final and final["state"] == "done" and final["progress"] == 100, final
    return task_id, final


def test_the_xlsx_report_equals_the_api(client, app, world, october):
    officer = browser(app, world, "commune_officer")
    task_id, status = _report(officer)
    assert status["download"] == f"/office/reports/{task_id}/download"
    resp = officer.get(status["download"])
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    assert "attachment" in resp.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(resp.data))
    api = get(client, login(client, world.users["commune_officer"]), commune=world.commune.code,
              **OCT)
    services = reports.catalogue()
    assert book.sheetnames == ["Tổng hợp", *services, "Giải thích"]
    targets = sorted(api["commune"]["targets"])
    sheets = {"Tổng hợp": reports.summary_columns(services, targets)}
    sheets.update({code: reports.service_columns(s, targets, services)
                   for code, s in services.items()})
    for name, columns in sheets.items():
        rows = list(book[name].iter_rows(values_only=True))
        assert list(rows[0]) == [c.header for c in columns]
        assert len(rows) == 1 + len(api["hamlets"]) + 1  # header, hamlets, totals
        for row, figures in zip(rows[1:], api["hamlets"] + [api["commune"]]):
            for cell, column in zip(row, columns):
                if column.key == "name" and figures is api["commune"]:
                    assert cell.startswith("Tổng cộng")
                    continue
                assert as_number(cell) == as_number(reports.value(figures, column.key)), \
                    (name, column.key)
    assert book["CKS"]["E2"].value == 2  # hamlet 1: two adults have a CKS
    entries = [e.action for e in db.session.scalars(select(AuditEntry).where(
        AuditEntry.entity_type == "report_task", AuditEntry.entity_id == task_id))]
    assert entries == ["report.request", "report.download"]


def test_progress_route_and_scope_of_tasks(app, world, october, other_world):
    officer = browser(app, world, "commune_officer")
    task_id, _ = _report(officer)
    page = text(officer.get("/office/reports"))
    assert f'id="r-{task_id}"' in page and f"/office/reports/{task_id}/status" in page
    assert "Tải tệp Excel" in page
    stranger = browser(app, other_world, "commune_officer")
    assert stranger.get(f"/office/reports/{task_id}/status").status_code == 404
    assert stranger.get(f"/office/reports/{task_id}/download").status_code == 404
    lead = browser(app, world, "team_lead")  # a lead sees only their own reports
    assert lead.get(f"/office/reports/{task_id}/status").status_code == 404
    db.session.rollback()
    task = db.session.get(ReportTask, uuid.UUID(task_id))
    assert task.file_path == f"reports/{task_id}.xlsx" and task.finished_at is not None


def test_a_report_task_run_twice_keeps_its_file(app, world, october):
    officer = browser(app, world, "commune_officer")
    task_id, _ = _report(officer)
    db.session.rollback()
    from jobs.reports import build_report

    assert build_report(task_id) is None  # already done: nothing to do


def test_printable_report_shows_the_same_figures(client, app, world, october):
    officer = browser(app, world, "commune_officer")
    resp = officer.get("/office/reports/print", query_string=OCT_QUERY)
    assert resp.status_code == 200
    page = text(resp)
    assert "Báo cáo số liệu từ 01/10/2025 đến 31/10/2025" in page
    assert "@media print" not in page and "report.css" in page
    assert world.hamlets[0].name in page and "Tổng cộng" in page
