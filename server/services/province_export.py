"""The province pull as a file: JSON, CSV (UTF-8 with BOM, for Excel) or XLSX (openpyxl).

CSV and XLSX have one row per unit and one column per dotted name of ``Pull.columns`` (the JSON
rows' paths: ``services.CKS.has``, ``targets.adults_with_CKS.gap``). The XLSX adds a header row
of Vietnamese names above the dotted names and a "Giải thích" sheet with each column's
definition (the console's report definitions). Text that a spreadsheet would run as a formula
is written as text.
"""
import csv
import io
import json

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from server.services import reports

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
JSON_TYPE = "application/json"
RATE_FORMAT = "0.0%"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

UNIT_LABELS = {
    "province": {"code": ("Mã tỉnh", "Mã tỉnh theo danh mục hành chính."),
                 "name": ("Tỉnh", "Tên tỉnh.")},
    "commune": {"code": ("Mã xã", "Mã xã, phường theo danh mục hành chính (5 chữ số)."),
                "name": ("Xã, phường", "Tên xã, phường.")},
    "hamlet": {"code": ("Mã ấp", "Mã ấp do xã đặt (<mã xã>-NNN)."),
               "name": ("Ấp, khu phố", "Tên ấp, khu phố.")},
}
OTHER_LABELS = {
    "commune_code": ("Mã xã", "Mã xã, phường của ấp."),
    "commune_name": ("Xã, phường", "Tên xã, phường của ấp."),
    "communes_total": ("Số xã", "Số xã, phường được cộng vào dòng của tỉnh."),
    "communes_approved": ("Số xã đã duyệt", "Số xã đã duyệt số liệu của mọi tháng trong kỳ."),
    "approval.state": ("Trạng thái duyệt",
                       "approved: xã đã duyệt số liệu của mọi tháng trong kỳ; open: chưa."),
    "approval.approved_at": ("Duyệt lúc", "Thời điểm duyệt gần nhất (UTC)."),
    "approval.stale": ("Có thay đổi sau duyệt",
                       "true: số liệu đã thay đổi sau khi xã duyệt, chờ xã duyệt lại."),
    "figures": ("Nguồn số liệu",
                "approved: ảnh chụp số liệu xã đã duyệt; live: số liệu hiện tại; mixed (dòng "
                "tỉnh): một số xã theo ảnh chụp đã duyệt, số còn lại theo số liệu hiện tại."),
}


def value(row, key):
    """The value at a dotted path of a row (None when absent)."""
    return reports.value(row, key)


def labels(pull):
    """``{column: (Vietnamese header, definition)}`` of every column of ``pull``."""
    services = reports.catalogue()
    names = sorted({c.split(".")[1] for c in pull.columns if c.startswith("targets.")})
    known = {}
    for column in reports.summary_columns(services, names):
        known[column.key] = (column.header, column.definition)
    for service in services.values():
        for column in reports.service_columns(service, names, services):
            known.setdefault(column.key, (column.header, column.definition))
    for name in names:
        label = reports.indicator_label(name, services)
        known.setdefault(f"targets.{name}.target", (f"Mục tiêu: {label}", ""))
        known[f"targets.{name}.due"] = (f"Hạn mục tiêu: {label}",
                                        "Hạn của mục tiêu áp dụng cho kỳ.")
    known.update(OTHER_LABELS)
    known.update(UNIT_LABELS[pull.level])
    return {c: known.get(c, (c, "")) for c in pull.columns}


def _cell(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return value


def _text(value):
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value  # OWASP's advice for CSV opened in a spreadsheet
    return value


def to_json(pull):
    """The JSON body."""
    return json.dumps(pull.document(), ensure_ascii=False, separators=(",", ":")).encode()


def to_csv(pull):
    """UTF-8 with a BOM (Excel then reads the Vietnamese right), CRLF line ends."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(pull.columns)
    for row in pull.rows:
        writer.writerow([_text(_cell(value(row, c))) for c in pull.columns])
    return out.getvalue().encode("utf-8-sig")


def _header_cell(sheet, text, font, fill=None):
    cell = WriteOnlyCell(sheet, value=text)
    cell.font = font
    if fill is not None:
        cell.fill, cell.alignment = fill, Alignment(wrap_text=True, vertical="top")
    return cell


def to_xlsx(pull):
    """A workbook: "Số liệu" (Vietnamese headers, the dotted names, a row per unit) and
    "Giải thích" (what the pull is and what each column means).

    Written in openpyxl's write-only mode: a province's hamlets are ~150,000 cells, which the
    normal mode takes 15–20 s to write (measured) and this one a fraction of that."""
    names = labels(pull)
    wb = Workbook(write_only=True)
    sheet = wb.create_sheet("Số liệu")
    for i, column in enumerate(pull.columns, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = 26 if column.endswith("name") \
            else 14
    sheet.freeze_panes = "C3"
    bold, fill, grey = Font(bold=True), PatternFill("solid", fgColor="DCE6F1"), \
        Font(italic=True, color="666666")
    sheet.append([_header_cell(sheet, names[c][0], bold, fill) for c in pull.columns])
    sheet.append([_header_cell(sheet, c, grey) for c in pull.columns])
    rates = [c.startswith("rates.") or c.endswith((".target", ".gap")) for c in pull.columns]
    for row in pull.rows:
        values = []
        for column, rate in zip(pull.columns, rates):
            value = reports.value(row, column)
            if isinstance(value, bool):
                value = "true" if value else "false"
            elif isinstance(value, str) and value.startswith("="):
                value = WriteOnlyCell(sheet, value=value)
                value.data_type = "s"  # text, never a formula
            elif rate and value is not None:
                value = WriteOnlyCell(sheet, value=value)
                value.number_format = RATE_FORMAT
            values.append(value)
        sheet.append(values)
    notes = wb.create_sheet("Giải thích")
    notes.column_dimensions["A"].width = 34
    notes.column_dimensions["B"].width = 36
    notes.column_dimensions["C"].width = 100
    period = f"{pull.first:%d/%m/%Y} – {pull.last:%d/%m/%Y}"
    for line in (["Tỉnh", f"{pull.province.name} ({pull.province.code})"],
                 ["Kỳ số liệu", period],
                 ["Cấp", {"province": "Toàn tỉnh", "commune": "Xã, phường",
                          "hamlet": "Ấp, khu phố"}[pull.level]],
                 ["Số liệu", "Đã duyệt (ảnh chụp của xã nếu có)" if pull.state == "approved"
                  else "Hiện tại"],
                 ["Nguồn", "GET /api/v1/province/aggregates; cùng định nghĩa với "
                           "GET /api/v1/coverage. Không có dữ liệu cá nhân."],
                 [], ["Cột", "Tên cột", "Định nghĩa"]):
        notes.append(line)
    for column in pull.columns:
        notes.append([column, *names[column]])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


RENDER = {"json": (to_json, JSON_TYPE), "csv": (to_csv, CSV_TYPE), "xlsx": (to_xlsx, XLSX_TYPE)}


def render(pull, fmt):
    """``(bytes, mimetype)`` of ``pull`` in ``fmt``."""
    write, mimetype = RENDER[fmt]
    return write(pull), mimetype


def filename(pull, fmt):
    """A download name: ``cnscd_75_commune_2025-10-01_2025-10-31.csv``."""
    return (f"cnscd_{pull.province.code}_{pull.level}_{pull.first.isoformat()}_"
            f"{pull.last.isoformat()}.{fmt}")
