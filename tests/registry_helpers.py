"""Shared by the registry import tests: the mixed file (good rows and each kind of bad row, with
what the report must say), CSV/XLSX/Excel-like builders, the upload through the console's
CSRF-protected multipart form, waiting for the job, and reading its report and results."""
import csv
import io

from openpyxl import Workbook
from sqlalchemy import func, select

from server.extensions import db
from server.models import Household
from server.models.imports import RegistryImportTask
from tests.conftest import jobs_settled, wait_for
from tests.sync_helpers import pull_all
from tests.test_web_office_auth import csrf, text

HEADER = ["Mã hộ", "Chủ hộ", "Địa chỉ", "Số điện thoại", "Số nhân khẩu", "Số người từ 18 tuổi",
          "STT", "Họ tên", "Năm sinh", "Giới tính", "Đồng ý", "Mục đích đồng ý"]
# Rows 2.. of the mixed file: (cells, what the report must say about the row or None)
MIXED = [
    (["HO-1", "Nguyễn Văn An", "Số 12, tổ 3", "0912 345 678", "3", "2",
      "1", "Nguyễn Văn An", "1980", "Nam", "Có", "hỗ trợ, liên hệ"], None),
    (["HO-1", "", "", "", "", "", "2", "Nguyễn Thị Bé", "2012", "Nữ", "Không", ""], None),
    (["HO-2", "Lê Văn Cường", "Tổ 1", "12345", "2", "1", "", "", "", "", "", ""],
     ("Số điện thoại", "Số điện thoại không hợp lệ")),
    (["HO-3", "Phạm Thị Dung", "Tổ 2", "", "2", "5", "", "", "", "", "", ""],
     ("Số người từ 18 tuổi", "Nhiều hơn số nhân khẩu của hộ")),
    (["HO-4", "", "", "", "", "", "1", "Võ Văn Em", "1990", "Nam", "Có", ""],
     ("Mã hộ", "Chưa có hộ mã “HO-4”")),
    (["", "", "", "", "", "", "", "", "", "", "", ""], None),  # blank: ignored
    (["HO-5", "Đỗ Thị Giang", "Tổ 4", "", "1", "1", "1", "Đỗ Thị Giang", "một chín",
      "Nữ", "Có", ""], ("Năm sinh", "Phải là số nguyên")),
    (["HO-6", "Hoàng Văn Hải", "Tổ 5", "0283 822 9999", "4", "2", "", "", "", "", "", ""], None),
    (["", "Không Có Mã", "Tổ 6", "", "", "", "", "", "", "", "", ""],
     ("Mã hộ", "Bắt buộc nhập")),
    (["HO-1", "Nguyễn Văn Khác", "Số 99", "", "", "", "", "", "", "", "", ""],
     ("Mã hộ", "đã có ở dòng 2 với thông tin khác")),
    (["HO-6", "", "", "", "", "", "1", "Hoàng Văn Hải", "1975", "X", "có", "ảnh"],
     None),
    (["HO-7", "Trịnh Văn Ích", "Tổ 7", "", "2", "1", "1", "", "1800", "Nam", "", ""],
     ("Năm sinh", "Phải từ 1900 đến")),
    (["HO-8", "Mai Thị Kim", "Tổ 8", "", "2", "1", "3", "Mai Thị Kim", "1990", "Nữ",
      "Có", "quảng cáo"], ("Mục đích đồng ý", "Mục đích phải là hỗ trợ, liên hệ hoặc ảnh")),
]


def csv_bytes(rows, header=HEADER, delimiter=";", bom=True):
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    return (("\ufeff" if bom else "") + out.getvalue()).encode("utf-8")


def xlsx_bytes(rows, header=HEADER):
    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def excel_like_bytes(rows, header=HEADER):
    """An XLSX with its texts in the shared-strings table, as Excel writes it (openpyxl's own
    files hold inline strings)."""
    from bench.import_data import write_excel_like

    out = io.BytesIO()
    write_excel_like(out, [header, *rows], len(rows) + 1, len(header))
    return out.getvalue()


def upload(client, hamlet_id, data, filename="so-ho.csv"):
    """Post the import form as a browser does; returns the response."""
    token = csrf(client, "/office/imports")
    return client.post("/office/imports", data={
        "csrf_token": token, "hamlet": str(hamlet_id),
        "file": (io.BytesIO(data), filename)}, content_type="multipart/form-data")


def imported(client, hamlet_id, data, filename="so-ho.csv"):
    """Upload, wait for the job, return the task's status JSON (done asserted)."""
    before = db.session.scalar(select(func.count()).select_from(RegistryImportTask))
    resp = upload(client, hamlet_id, data, filename)
    assert resp.status_code == 302, text(resp)[:3000]
    task = wait_for(lambda: db.session.scalar(
        select(RegistryImportTask).where(RegistryImportTask.hamlet_id == hamlet_id)
        .order_by(RegistryImportTask.created_at.desc()).limit(1)))
    assert db.session.scalar(select(func.count()).select_from(RegistryImportTask)) == before + 1
    assert wait_for(lambda: db.session.get(RegistryImportTask, task.id).state
                    in ("done", "failed"), timeout=120)
    jobs_settled("default")
    status = client.get(f"/office/imports/{task.id}/status")
    assert status.status_code == 200
    body = status.get_json()
    assert body["state"] == "done", body
    assert body["progress"] == 100
    return body


def report_lines(client, status):
    """The error report's data lines as dicts (headers asserted)."""
    assert status["report"], status
    resp = client.get(status["report"])
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    content = resp.get_data()
    assert content.startswith("\ufeff".encode())  # Excel shows Vietnamese
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[0] == ["Dòng", "Cột", "Mã hộ", "Kết quả", "Lý do"]
    return [dict(zip(rows[0], r)) for r in rows[1:]]


def households_of(hamlet_id):
    db.session.rollback()
    return {h.head_name: h for h in db.session.scalars(
        select(Household).where(Household.hamlet_id == hamlet_id))}


def pulled(client, headers, cursor=None):
    changes, cursor, _ = pull_all(client, headers, cursor)
    return [c for c in changes if c["type"] in ("household", "resident")], cursor

