"""Nhập sổ hộ, the upload: officers import only into their commune (admins anywhere, leads
never), unreadable files are refused at upload with a Vietnamese reason, a workbook broken midway
fails and keeps the rows before, the template imports cleanly, and every error code has a reason.
"""
import io
import re
import uuid
import zipfile

from openpyxl import load_workbook
from sqlalchemy import func, select

from server.extensions import db
from server.models.imports import RegistryImportTask
from server.services.registry_columns import COLUMNS, REASONS
from server.vocab import ERROR_CODES
from tests.conftest import jobs_settled, wait_for
from tests.factories import PASSWORD
from tests.registry_helpers import (MIXED, csv_bytes, excel_like_bytes, households_of, imported,
                                    upload)
from tests.test_web_office_auth import csrf, text
from tests.test_web_office_visits import browser


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
