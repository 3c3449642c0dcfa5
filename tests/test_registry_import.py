"""Nhập sổ hộ: a hamlet's household registry (CSV/XLSX) imported by a job, through the console.

Every test uploads through the page's CSRF-protected multipart form, lets the job run (in-process
on SQLite, the real rq worker on PostgreSQL) and reads the outcome where users see it: the task's
status JSON, the error report download, the sync pull of a member's phone, the coverage API.
"""
import csv
import io
import re
import uuid
import zipfile
from datetime import datetime

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from server.extensions import db
from server.models import AuditEntry, Household, Resident
from server.models.imports import RegistryImportTask
from server.services.registry_columns import COLUMNS, REASONS
from server.vocab import ERROR_CODES
from tests.conftest import jobs_settled, wait_for
from tests.factories import PASSWORD, login
from tests.test_coverage_definitions import OCT
from tests.sync_helpers import household as household_item
from tests.sync_helpers import pull_all, push, statuses
from tests.test_web_office_auth import csrf, text
from tests.test_web_office_visits import browser

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
    from bench.import_memory import write_excel_like

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


def test_mixed_csv_imports_the_good_rows_and_reports_the_bad_ones(client, app, world):
    hamlet = world.hamlets[0]
    officer = browser(app, world, "commune_officer")
    status = imported(officer, hamlet.id, csv_bytes([cells for cells, _ in MIXED]))
    counts = status["counts"]
    assert counts["rows"] == len(MIXED) - 1  # the blank row is not a row
    assert counts["households_created"] == 2 and counts["residents_created"] == 3
    assert counts["rows_with_errors"] == 8 and counts["rows_imported"] == 4
    assert counts["residents_without_consent"] == 1
    assert "2 mới" in status["summary"] and "8 dòng lỗi" in status["summary"]

    stored = households_of(hamlet.id)
    assert set(stored) == {"Nguyễn Văn An", "Hoàng Văn Hải"}
    an = stored["Nguyễn Văn An"]
    assert (an.address, an.phone, an.members_count, an.adults_count) == \
        ("Số 12, tổ 3", "+84912345678", 3, 2)
    assert stored["Hoàng Văn Hải"].phone == "+842838229999"
    people = {r.birth_year: r for r in db.session.scalars(
        select(Resident).where(Resident.household_id == an.id))}
    assert people[1980].full_name == "Nguyễn Văn An" and people[1980].consent_given
    assert sorted(people[1980].consent_purposes) == ["contact", "support"]
    # No consent: name never stored (the push's rule), the person still counted.
    assert people[2012].full_name is None and people[2012].anonymised and people[2012].sex == "F"

    lines = report_lines(officer, status)
    expected = {i + 2: want for i, (_, want) in enumerate(MIXED) if want}
    got = {}
    for line in lines:
        got.setdefault(int(line["Dòng"]), []).append(line)
    assert set(got) == set(expected)
    for number, (column, reason) in expected.items():
        assert any(line["Cột"] == column and reason in line["Lý do"]
                   and line["Kết quả"] == "Lỗi" for line in got[number]), (number, got[number])
    assert got[6][0]["Mã hộ"] == "HO-4"

    # Registered households count in coverage; the baseline (households_total) is untouched.
    resp = client.get("/api/v1/coverage", query_string={"commune": world.commune.code, **OCT},
                      headers=login(client, world.users["commune_officer"]))
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    row = next(h for h in body["hamlets"] if h["hamlet_id"] == hamlet.id)
    assert (row["households_registered"], row["households_total"]) == (2, 100)
    actions = set(db.session.scalars(select(AuditEntry.action).where(
        AuditEntry.entity_id == status["id"])))
    assert {"registry_import.request", "registry_import.finish",
            "registry_import.report"} <= actions


def test_xlsx_with_excel_typed_cells_imports_and_reports(client, app, world):
    hamlet = world.hamlets[1]
    officer = browser(app, world, "commune_officer")
    header = ["ma_ho", "chu_ho", "so_dien_thoai", "so_nhan_khau", "vi_do", "kinh_do", "stt",
              "ho_ten", "nam_sinh", "gioi_tinh", "dong_y", "ngay_dong_y"]
    rows = [
        # Excel turned the phone into a number (leading 0 lost) and the day into a date.
        ["A1", "Lý Thị Lan", 912345678, 2, 10.95, "107,25", 1, "Lý Thị Lan", 1970, "nữ", "x",
         datetime(2025, 10, 15)],
        [None] * 12,
        ["A2", "Bùi Văn Minh", None, 3, 10.9, None, None, None, None, None, None, None],
        ["A3", "Tạ Văn Nam", None, 2.5, None, None, None, None, None, None, None, None],
        ["A4", "Đinh Thị Oanh", None, 1, None, None, 1, "Đinh Thị Oanh", 1985, "Nữ", "Có",
         "31/12/2999"],
    ]
    status = imported(officer, hamlet.id, xlsx_bytes(rows, header), "so-ho.xlsx")
    assert status["counts"]["households_created"] == 1
    assert status["counts"]["rows_with_errors"] == 3
    lan = households_of(hamlet.id)["Lý Thị Lan"]
    assert lan.phone == "+84912345678" and lan.location is not None
    person = db.session.scalar(select(Resident).where(Resident.household_id == lan.id))
    assert person.full_name == "Lý Thị Lan" and person.consent_given
    assert person.consent_at.date().isoformat() in ("2025-10-14", "2025-10-15")  # local midnight
    lines = {(int(x["Dòng"]), x["Cột"]): x["Lý do"] for x in report_lines(officer, status)}
    assert lines == {(4, "kinh_do"): "Cần nhập cả vĩ độ và kinh độ",
                     (5, "so_nhan_khau"): "Phải là số nguyên",
                     (6, "ngay_dong_y"): "Ngày ở tương lai"}


def test_reimport_creates_nothing_twice_and_phones_get_the_households_by_pull(client, app,
                                                                              world):
    hamlet = world.hamlets[0]
    officer = browser(app, world, "commune_officer")
    member = login(client, world.users["member"])  # team of hamlet 0
    member2 = login(client, world.users["member2"], device_id="other")  # hamlet 1 only
    _, cursor = pulled(client, member)
    _, cursor2 = pulled(client, member2)
    data = csv_bytes([cells for cells, _ in MIXED])
    imported(officer, hamlet.id, data)

    changes, cursor = pulled(client, member, cursor)
    by_type = {}
    for change in changes:
        by_type.setdefault(change["type"], []).append(change)
    assert sorted(c["data"]["head_name"] for c in by_type["household"]) == \
        ["Hoàng Văn Hải", "Nguyễn Văn An"]
    assert all(c["version"] == 1 and c["data"]["hamlet_id"] == hamlet.id
               for c in by_type["household"])
    assert len(by_type["resident"]) == 3
    assert pulled(client, member2, cursor2)[0] == []  # another hamlet's phone gets nothing

    again = imported(officer, hamlet.id, data)
    counts = again["counts"]
    assert counts["households_created"] == counts["residents_created"] == 0
    # HO-1 and HO-6 unchanged; row 11 (HO-1 with other content) is again a duplicate key.
    assert counts["households_unchanged"] == 2 and counts["residents_unchanged"] == 3
    assert counts["rows_with_errors"] == 8
    assert len(households_of(hamlet.id)) == 2
    assert db.session.scalar(select(func.count()).select_from(Resident).where(
        Resident.hamlet_id == hamlet.id)) == 3
    assert pulled(client, member, cursor)[0] == []  # nothing new for the phones either
    # The same file saved by Excel (texts in the shared-strings table) lands on the same records.
    xlsx = imported(officer, hamlet.id, excel_like_bytes([cells for cells, _ in MIXED]),
                    "so-ho.xlsx")
    assert xlsx["counts"]["households_created"] == xlsx["counts"]["residents_created"] == 0
    assert (xlsx["counts"]["households_unchanged"], xlsx["counts"]["rows_with_errors"]) == (2, 8)
    assert len(households_of(hamlet.id)) == 2


def test_an_import_never_overwrites_a_phones_newer_edit(client, app, world):
    hamlet = world.hamlets[0]
    officer = browser(app, world, "commune_officer")
    member = login(client, world.users["member"])
    first = [["HO-1", "Nguyễn Văn An", "Số 12", "", "3", "2", "", "", "", "", "", ""],
             ["HO-2", "Trần Thị Bình", "Số 5", "", "2", "1", "", "", "", "", "", ""]]
    imported(officer, hamlet.id, csv_bytes(first, delimiter=",", bom=False))
    changes, _ = pulled(client, member)
    an = next(c for c in changes if c["type"] == "household"
              and c["data"]["head_name"] == "Nguyễn Văn An")
    # The member corrects the household on the phone (version 1 → 2).
    edit = household_item(hamlet.id, item_id=an["id"], base_version=1,
                          head_name="Nguyễn Văn Ân", address="Số 12A", members_count=4,
                          adults_count=2, phone=None, location=None)
    code, body = push(client, member, [edit])
    assert code == 200 and statuses(body) == ["updated"]

    second = [["HO-1", "Nguyễn Văn An", "Số 12, đường mới", "", "3", "2", "", "", "", "", "",
               ""],
              ["HO-2", "Trần Thị Bình", "Số 5, đường mới", "", "2", "1", "", "", "", "", "",
               ""]]
    status = imported(officer, hamlet.id, csv_bytes(second, delimiter=",", bom=False))
    assert status["counts"]["households_updated"] == 1 and status["counts"]["rows_skipped"] == 1
    stored = households_of(hamlet.id)
    kept = stored["Nguyễn Văn Ân"]  # the phone's edit stands
    assert (kept.address, kept.members_count, kept.version) == ("Số 12A", 4, 2)
    assert stored["Trần Thị Bình"].address == "Số 5, đường mới"  # nobody edited it: updated
    assert stored["Trần Thị Bình"].version == 2
    [line] = report_lines(officer, status)
    assert (line["Dòng"], line["Mã hộ"], line["Kết quả"]) == ("2", "HO-1", "Bỏ qua")
    assert "đã được sửa trên ứng dụng" in line["Lý do"] and "không ghi đè" in line["Lý do"]
    # The phone pulls the office's update of HO-2, not a change of HO-1.
    changes, _ = pulled(client, member)
    latest = {c["id"]: c for c in changes}
    assert latest[an["id"]]["data"]["head_name"] == "Nguyễn Văn Ân"


def test_scope_officers_import_only_into_their_commune_admins_anywhere(client, app, world,
                                                                       other_world):
    officer = browser(app, world, "commune_officer")
    foreign = other_world.hamlets[0]
    data = csv_bytes([MIXED[0][0]])
    resp = upload(officer, foreign.id, data)
    assert resp.status_code == 422 and "Lựa chọn không hợp lệ" in text(resp)
    assert households_of(foreign.id) == {}
    # A lead may not import, and sees no import page.
    lead = browser(app, world, "team_lead")
    assert lead.get("/office/imports").status_code == 403
    assert upload_forbidden(lead, world.hamlets[0].id, data)

    admin = app.test_client()
    token = csrf(admin, "/admin/login")
    assert admin.post("/admin/login", data={"username": other_world.users["admin"],
                                            "password": PASSWORD, "csrf_token": token,
                                            "next": ""}).status_code == 302
    status = imported(admin, foreign.id, data)
    assert status["counts"]["households_created"] == 1
    assert set(households_of(foreign.id)) == {"Nguyễn Văn An"}
    # The other commune's officer sees it; ours gets 404 on its status and report.
    assert officer.get(f"/office/imports/{status['id']}/status").status_code == 404
    theirs = browser(app, other_world, "commune_officer")
    assert theirs.get(f"/office/imports/{status['id']}/status").status_code == 200
    assert f'id="i-{status["id"]}"' in text(theirs.get("/office/imports"))
    assert f'id="i-{status["id"]}"' not in text(officer.get("/office/imports"))


def upload_forbidden(client, hamlet_id, data):
    token = csrf(client, "/office/guide")
    resp = client.post("/office/imports", data={"csrf_token": token, "hamlet": str(hamlet_id),
                                                "file": (io.BytesIO(data), "so-ho.csv")},
                       content_type="multipart/form-data")
    return resp.status_code == 403


def test_unreadable_files_are_refused_at_upload_with_a_vietnamese_reason(app, world):
    officer = browser(app, world, "commune_officer")
    hamlet = world.hamlets[0].id
    cases = [
        (b"Ma ho;Chu ho\nHO-1;Nguy\xe1n\n", "so-ho.csv", "UTF-8"),  # Windows-1258
        (csv_bytes([["HO-1", "x"]], header=["Mã hộ", "Tên chó"]), "so-ho.csv",
         "Không nhận ra cột “Tên chó”"),
        (csv_bytes([["An"]], header=["Chủ hộ"]), "so-ho.csv", "Thiếu cột “Mã hộ”"),
        (b"\xd0\xcf\x11\xe0 old excel", "so-ho.xls", "Chỉ nhận tệp CSV"),
        (b"not a zip", "so-ho.xlsx", "không phải tệp Excel"),
        (b"", "so-ho.csv", "Tệp trống"),
        # Above the app's 11 MiB request cap, within the import's: read and judged, not a 413.
        (b"Ma ho;Ghi chu\n" + b"HO-1;" + b"x" * (12 * 2**20) + b"\n", "so-ho.csv",
         "Không nhận ra cột “Ghi chu”"),
    ]
    for data, name, message in cases:
        resp = upload(officer, hamlet, data, name)
        assert resp.status_code == 422, (name, message)
        assert message in text(resp), (message, text(resp)[-3000:])
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(RegistryImportTask).where(
        RegistryImportTask.hamlet_id == hamlet)) == 0


def test_a_workbook_broken_midway_fails_with_a_reason_and_keeps_the_rows_before(app, world):
    officer = browser(app, world, "commune_officer")
    hamlet = world.hamlets[0].id
    good = [["HO-1", "Nguyễn Văn An", "Tổ 1"], ["HO-2", "Trần Thị Bình", "Tổ 2"]]
    data = excel_like_bytes(good + [["HO-3", "Lê Văn Cường", "Tổ 3"]],
                            header=["Mã hộ", "Chủ hộ", "Địa chỉ"])
    # Point row 4's first cell at a shared string the table does not have.
    archive = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as broken:
        for name in archive.namelist():
            part = archive.read(name)
            if name == "xl/worksheets/sheet1.xml":
                part = re.sub(rb'(<c r="A4" t="s"><v>)\d+', rb"\g<1>99999", part)
            broken.writestr(name, part)
    assert upload(officer, hamlet, out.getvalue(), "so-ho.xlsx").status_code == 302
    task = wait_for(lambda: db.session.scalar(select(RegistryImportTask).where(
        RegistryImportTask.hamlet_id == hamlet, RegistryImportTask.state.in_(("done", "failed")))),
        timeout=120)
    jobs_settled("default")
    status = officer.get(f"/office/imports/{task.id}/status").get_json()
    assert status["state"] == "failed" and "bị hỏng sau dòng 3" in status["error"]
    assert set(households_of(hamlet)) == {"Nguyễn Văn An", "Trần Thị Bình"}
    assert "bị hỏng sau dòng 3" in text(officer.get("/office/imports"))


def test_the_template_and_its_example_import_cleanly(app, world):
    officer = browser(app, world, "commune_officer")
    resp = officer.get("/office/imports/mau-so-ho.xlsx")
    assert resp.status_code == 200
    wb = load_workbook(io.BytesIO(resp.get_data()))
    sheet, guide = wb.worksheets
    assert [c.value for c in sheet[1]] == [c.header for c in COLUMNS]
    guide_rows = [[c.value for c in row] for row in guide.iter_rows()]
    start = guide_rows.index([c.header for c in COLUMNS])
    for row in guide_rows[start + 1:]:
        sheet.append(row)
    out = io.BytesIO()
    wb.save(out)
    status = imported(officer, world.hamlets[0].id, out.getvalue(), "mau-so-ho.xlsx")
    counts = status["counts"]
    assert (counts["households_created"], counts["residents_created"],
            counts["rows_with_errors"]) == (2, 2, 0)
    assert status["report"] is None
    csv_template = officer.get("/office/imports/mau-so-ho.csv").get_data()
    assert csv_template.decode("utf-8-sig").strip() == ",".join(c.header for c in COLUMNS)
    page = text(officer.get("/office/imports"))
    assert "Nhập sổ hộ" in page and 'href="/office/imports"' in page  # the nav link
    assert all(c.header in page for c in COLUMNS)


def test_every_error_code_has_a_vietnamese_reason():
    assert set(ERROR_CODES) <= set(REASONS)


def test_resident_ids_are_stable_per_hamlet_key_and_number():
    from server.services.registry_rows import household_id, resident_id

    a = household_id(1, "HO-1")
    assert a == household_id(1, "HO-1") != household_id(2, "HO-1")
    assert resident_id(a, 1) == resident_id(a, 1) != resident_id(a, 2)
    assert isinstance(a, uuid.UUID)
