"""Nhập sổ hộ: a hamlet's household registry (CSV/XLSX) imported by a job, through the console:
what an import does to the records, the coverage and the members' phones.

Every test uploads through the page's CSRF-protected multipart form, lets the job run (in-process
on SQLite, the real rq worker on PostgreSQL) and reads the outcome where users see it: the task's
status JSON, the error report download, the sync pull of a member's phone, the coverage API.
Who may upload, refused files and the template: tests/test_registry_import_upload.py; the
shared helpers: tests/registry_helpers.py.
"""
from datetime import datetime

from sqlalchemy import func, select

from server.extensions import db
from server.models import AuditEntry, Resident
from tests.factories import login
from tests.registry_helpers import (MIXED, csv_bytes, excel_like_bytes, households_of, imported,
                                    pulled, report_lines, xlsx_bytes)
from tests.sync_helpers import household as household_item
from tests.sync_helpers import push, statuses
from tests.test_coverage_definitions import OCT
from tests.test_web_office_visits import browser


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
