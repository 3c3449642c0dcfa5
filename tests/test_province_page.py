"""Trang tỉnh (``/province/``): analysts (and admins) see every commune of their province with
the API's figures and approval state, the map's boundaries and the API's downloads; commune
roles are refused."""
import re

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import AuditEntry, User
from tests.factories import PASSWORD
from tests.province_helpers import csv_rows, make_history, new_key, other_province, pull, xlsx_rows
from tests.test_web_office_auth import csrf, sign_in as office_sign_in, text
from tests.test_web_office_reports import approve
from tests.test_web_office_visits import browser

PERIOD = {"first": "2025-10-01", "last": "2025-10-31"}
_ROW = re.compile(r'<tr data-code="(\d{5})">(.*?)</tr>', re.S)
_CELL = re.compile(r'<td data-key="([^"]+)"[^>]*? data-value="([^"]*)"')


@pytest.fixture
def history(client, world):
    """Two households with personal data in October 2025 (``make_history``)."""
    return make_history(client, world)


def sign_in(client, username, password=PASSWORD):
    """Post the province sign-in form; returns the response."""
    token = csrf(client, "/province/login")
    return client.post("/province/login", data={"username": username, "password": password,
                                                "csrf_token": token, "next": ""})


def analyst(app, world, role="province_analyst"):
    """A separate browser signed in as the world's province analyst (or admin)."""
    other = app.test_client()
    resp = sign_in(other, world.users[role])
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/province/")
    return other


def table(page):
    """``{commune code: {column key: text}}`` of the communes table."""
    return {code: dict(_CELL.findall(body)) for code, body in _ROW.findall(page)}


def as_cell(value):
    return "" if value is None else str(value)


def test_analyst_sees_every_commune_with_the_api_figures_and_approval(
        client, app, runner, world, other_world, history, tmp_path):
    other = other_province(runner, tmp_path)
    assert approve(browser(app, world, "commune_officer")).status_code == 302
    me = analyst(app, world)
    resp = me.get("/province/", query_string={**PERIOD, "state": "approved"})
    assert resp.status_code == 200, text(resp)[:2000]
    page = text(resp)
    assert 'lang="vi"' in page and "Số liệu các xã" in page and "Đăng xuất" in page
    rows = table(page)
    key, _ = new_key(runner)
    api = pull(client, key, **{"from": PERIOD["first"], "to": PERIOD["last"]}).get_json()
    assert sorted(rows) == sorted(r["code"] for r in api["rows"])
    assert {world.commune.code, other_world.commune.code} <= set(rows)
    assert not set(other.codes) & set(rows)
    for row in api["rows"]:
        cells = rows[row["code"]]
        for column in ("households_total", "visits", "services.CKS.has",
                       "rates.adults_with_CKS", "targets.adults_with_CKS.gap"):
            value = row
            for part in column.split("."):
                value = value[part]
            assert cells[column] == as_cell(value), (row["code"], column)
        assert cells["approval.state"].startswith(row["approval"]["state"])
        assert cells["figures"] == row["figures"]
    assert rows[world.commune.code]["approval.state"] == "approved"
    assert rows[other_world.commune.code]["approval.state"] == "open"
    mine = page[page.index(f'<tr data-code="{world.commune.code}">'):]
    assert "Đã duyệt" in mine[:mine.index("</tr>")]
    # Sortable by every indicator and gap; the map is coloured from the same cells.
    assert 'class="grid figures-table sortable" id="commune-table"' in page
    assert 'data-key="targets.adults_with_CKS.gap"' in page and "Khoảng cách" in page
    assert 'id="unit-map"' in page and 'data-feature-key="code"' in page

    shapes = me.get("/province/communes.geojson")
    assert shapes.status_code == 200
    features = {f["properties"]["code"]: f for f in shapes.get_json()["features"]}
    assert {world.commune.code, other_world.commune.code} <= set(features)
    assert not set(other.codes) & set(features)
    assert features[world.commune.code]["geometry"]["type"] == "MultiPolygon"


def test_downloads_are_the_apis_files_and_are_audit_logged(client, app, runner, world,
                                                           history):
    me = analyst(app, world)
    key, _ = new_key(runner)
    query = {"from": PERIOD["first"], "to": PERIOD["last"], "state": "live"}
    for level in ("province", "commune", "hamlet"):
        got = me.get("/province/download", query_string={**PERIOD, "state": "live",
                                                         "level": level, "format": "csv"})
        assert got.status_code == 200 and got.mimetype == "text/csv"
        assert got.headers["Content-Disposition"].endswith(f'_{level}_2025-10-01_2025-10-31.csv"')
        assert csv_rows(got) == csv_rows(pull(client, key, level=level, format="csv", **query))
    book = me.get("/province/download", query_string={**PERIOD, "state": "live",
                                                      "format": "xlsx"})
    assert book.status_code == 200 and book.mimetype.endswith("spreadsheetml.sheet")
    assert xlsx_rows(book) == xlsx_rows(pull(client, key, format="xlsx", **query))
    page = text(me.get("/province/", query_string=PERIOD))
    assert "/province/download?format=csv&amp;level=commune" in page
    assert me.get("/province/download", query_string={"format": "pdf"}).status_code == 422
    db.session.rollback()
    user_id = db.session.scalar(select(User.id).where(
        User.username == world.users["province_analyst"]))
    entries = list(db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "province.pull", AuditEntry.actor == f"user:{user_id}")))
    assert len(entries) == 4 and {e.details["via"] for e in entries} == {"page"}
    assert sorted(e.details["format"] for e in entries) == ["csv", "csv", "csv", "xlsx"]


@pytest.mark.parametrize("role", ["member", "team_lead", "commune_officer"])
def test_commune_roles_are_refused(client, app, world, role):
    resp = sign_in(client, world.users[role])
    assert resp.status_code == 403 and "Không có quyền truy cập" in text(resp)
    assert client.get("/province/").status_code == 302  # not signed in
    office = app.test_client()
    assert office_sign_in(office, world.users[role]).status_code in (302, 403)
    if role != "member":  # signed in to the office console: the province page is still 403
        refused = office.get("/province/", query_string=PERIOD)
        assert refused.status_code == 403 and "Không có quyền truy cập" in text(refused)
        assert office.get("/province/download", query_string={
            **PERIOD, "format": "csv"}).status_code == 403
        assert office.get("/province/communes.geojson").status_code == 403


def test_anonymous_is_sent_to_sign_in_and_a_wrong_password_is_vietnamese(client, world):
    resp = client.get("/province/?state=live")
    assert resp.status_code == 302 and "/province/login?next=" in resp.headers["Location"]
    assert client.get("/province/download?format=csv").status_code == 302
    wrong = sign_in(client, world.users["province_analyst"], "not-the-password")
    assert wrong.status_code == 200 and "Sai tên đăng nhập hoặc mật khẩu" in text(wrong)


def test_admin_chooses_the_province_and_an_analyst_cannot(client, app, runner, world,
                                                          tmp_path):
    other = other_province(runner, tmp_path)
    admin = analyst(app, world, "admin")
    page = text(admin.get("/province/", query_string={**PERIOD, "province": "48"}))
    assert set(other.codes) <= set(table(page)) and world.commune.code not in table(page)
    assert 'name="province"' in page
    me = analyst(app, world)
    assert me.get("/province/", query_string={"province": "48"}).status_code == 403
    assert me.get("/province/communes.geojson?province=48").status_code == 403
    signed_out = me.post("/province/logout", data={"csrf_token": csrf(me, "/province/")})
    assert signed_out.status_code == 302 and me.get("/province/").status_code == 302
