"""The commune report job: an XLSX workbook of a period's coverage figures (openpyxl)."""
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from jobs import job, job_log
from server.models.types import utcnow
from server.services import reports
from server.vocab import LOCAL_TIMEZONE

HEADER = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DCE6F1")
TOTAL = Font(bold=True)
RATE_FORMAT = "0.0%"


@job
def build_report(task_id):
    """Build the workbook of one report task; safe to run twice."""
    job_log("report %s: building", task_id)
    path = reports.run(task_id, write_workbook)
    job_log("report %s: %s", task_id, path or "nothing to do")
    return path


def _sheet(ws, columns, rows, total):
    ws.append([c.header for c in columns])
    for cell in ws[1]:
        cell.font, cell.fill = HEADER, HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row in rows + [total]:
        ws.append([reports.value(row, c.key) for c in columns])
    for index, column in enumerate(columns, start=1):
        letter = get_column_letter(index)
        ws.column_dimensions[letter].width = 28 if column.key == "name" else 14
        if column.kind == "rate":
            for (cell,) in ws.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = RATE_FORMAT
    for cell in ws[ws.max_row]:
        cell.font = TOTAL
    ws.freeze_panes = "C2"


def _total_row(report):
    commune = report.figures["commune"]
    return {**commune, "code": commune["code"], "name": f"Tổng cộng {commune['name']}"}


def write_workbook(report, task, path, progress):
    """Write ``report`` to ``path``: a summary sheet, a sheet per service, the definitions."""
    wb = Workbook()
    rows, total = report.figures["hamlets"], _total_row(report)
    summary = wb.active
    summary.title = "Tổng hợp"
    _sheet(summary, report.summary, rows, total)
    steps = len(report.services) + 2
    progress(1 / steps)
    for n, (code, columns) in enumerate(report.per_service.items(), start=2):
        _sheet(wb.create_sheet(code[:31]), columns, rows, total)
        progress(n / steps)
    notes = wb.create_sheet("Giải thích")
    period = report.figures["period"]
    notes.append(["Báo cáo", f"Số liệu Tổ CNSCĐ {report.figures['commune']['name']}"])
    notes.append(["Kỳ báo cáo", f"{period['from']:%d/%m/%Y} – {period['to']:%d/%m/%Y}"])
    notes.append(["Lập lúc", utcnow().astimezone(LOCAL_TIMEZONE).strftime("%d/%m/%Y %H:%M")])
    notes.append(["Số liệu", "Giống hệt GET /api/v1/coverage của cùng kỳ và cùng phạm vi."])
    notes.append([])
    notes.append(["Cột", "Định nghĩa"])
    seen = set()
    for column in report.summary + [c for cols in report.per_service.values() for c in cols]:
        if column.header not in seen:
            seen.add(column.header)
            notes.append([column.header, column.definition])
    for code, service in report.services.items():
        notes.append([f"Dịch vụ {code}", service.label])
    notes.column_dimensions["A"].width = 36
    notes.column_dimensions["B"].width = 110
    wb.save(path)
    progress(1.0)
