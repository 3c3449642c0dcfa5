"""GET /api/v1/province/aggregates (X-API-Key): levels and formats equal to the coverage API,
bad queries, the OpenAPI entry, ETag/304, approved vs live, the audit entry, and no personal data
in any output. Keys, other provinces and ``flask units load-communes``:
tests/test_province_api_keys.py; the shared helpers: tests/province_helpers.py.
"""
import io
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from server.extensions import db
from server.models import AuditEntry
from tests.conftest import wait_for
from tests.factories import login
from tests.province_helpers import (FORMATS, LEVELS, URL, csv_rows, flat, make_history,
                                    new_key, output_text, pii_of, pull, xlsx_rows)
from tests.sync_helpers import household, resident, visit
from tests.test_coverage_definitions import OCT, at, cks, get, pushed
from tests.test_web_office_reports import approval_row, approve
from tests.test_web_office_visits import browser, spot


@pytest.fixture
def history(client, world):
    """Two households with personal data in October 2025 (``make_history``)."""
    return make_history(client, world)


# --- every level and format -----------------------------------------------------------------

def test_every_level_and_format_has_the_coverage_figures(client, runner, world, history):
    key, _ = new_key(runner)
    officer = login(client, world.users["commune_officer"])
    api = get(client, officer, commune=world.commune.code, **OCT)
    body = pull(client, key, level="commune", state="live").get_json()
    assert body["province"] == {"code": "75", "name": world.province.name}
    assert body["period"] == {"from": "2025-10-01", "to": "2025-10-31"}
    assert body["level"] == "commune" and body["state"] == "live"
    mine = next(r for r in body["rows"] if r["code"] == world.commune.code)
    assert mine["name"] == world.commune.name
    assert mine["approval"] == {"state": "open", "approved_at": None, "stale": False}
    assert mine["figures"] == "live"
    for key_name in ("households_total", "households_reached", "visits", "adults_total",
                     "services", "rates", "targets"):
        assert mine[key_name] == api["commune"][key_name], key_name
    assert mine["services"]["CKS"] == {"supported": 2, "already_had": 1, "has": 3}

    hamlets = pull(client, key, level="hamlet", state="live").get_json()["rows"]
    ours = [r for r in hamlets if r["commune_code"] == world.commune.code]
    assert [r["code"] for r in ours] == [h["code"] for h in api["hamlets"]]
    for row, expected in zip(ours, api["hamlets"]):
        assert row["name"] == expected["name"] and row["commune_name"] == world.commune.name
        assert {k: row[k] for k in ("services", "rates", "targets", "visits")} == \
            {k: expected[k] for k in ("services", "rates", "targets", "visits")}
        assert "hamlet_id" not in row

    communes = body["rows"]
    (province_row,) = pull(client, key, level="province", state="live").get_json()["rows"]
    assert province_row["code"] == "75" and province_row["communes_total"] == len(communes)
    for name in ("households_total", "visits", "adults_total"):
        assert province_row[name] == sum(r[name] for r in communes)
    assert province_row["services"]["CKS"]["has"] == sum(
        r["services"]["CKS"]["has"] for r in communes)
    adults = province_row["adults_total"]
    assert province_row["rates"]["adults_with_CKS"] == round(
        province_row["services"]["CKS"]["has"] / adults, 4)

    for level in LEVELS:
        json_body = pull(client, key, level=level, state="live").get_json()
        columns = json_body["columns"]
        assert "services.CKS.has" in columns and "targets.adults_with_CKS.gap" in columns
        for fmt, read in (("csv", csv_rows), ("xlsx", xlsx_rows)):
            resp = pull(client, key, level=level, state="live", format=fmt)
            assert resp.headers["Content-Disposition"].startswith("attachment; filename=")
            assert f"_{level}_2025-10-01_2025-10-31.{fmt}" in resp.headers["Content-Disposition"]
            file_columns, rows = read(resp)
            assert file_columns == columns, (level, fmt)
            assert rows == [flat(r, columns, fmt) for r in json_body["rows"]], (level, fmt)
    assert pull(client, key, format="csv").mimetype == "text/csv"


def test_the_xlsx_explains_its_columns_in_vietnamese(client, runner, world, history):
    key, _ = new_key(runner)
    book = load_workbook(io.BytesIO(pull(client, key, format="xlsx").data))
    data = book["Số liệu"]
    headers = [c.value for c in data[1]]
    assert headers[:2] == ["Mã xã", "Xã, phường"] and "Tỷ lệ có Chữ ký số" in headers
    notes = {row[0]: row[1:] for row in book["Giải thích"].iter_rows(values_only=True) if row}
    assert notes["Kỳ số liệu"][0] == "01/10/2025 – 31/10/2025"
    assert "Hiện có" in notes["services.CKS.has"][1]
    # The shared PostgreSQL database holds other tests' communes: read this world's own row.
    ours = next(r for r in data.iter_rows(min_row=3) if r[0].value == world.commune.code)
    rate = next(c for c in ours if data.cell(2, c.column).value == "rates.adults_with_CKS")
    assert rate.number_format == "0.0%"


def test_bad_queries_are_422_in_the_error_shape(client, runner, world):
    key, _ = new_key(runner)
    for query in ({"level": "district"}, {"format": "pdf"}, {"state": "draft"},
                  {"from": "2025-11-01", "to": "2025-10-01"}, {"to": "2026-12-31"},
                  {"from": "x"}, {"commune": "12"}):
        resp = pull(client, key, expect=422, **query)
        assert resp.get_json()["error"]["code"] == "validation_error", query
    resp = client.get(URL, query_string={"to": "2025-10-31"}, headers={"X-API-Key": key})
    assert resp.status_code == 422 and "from" in resp.get_json()["error"]["fields"]
    assert pull(client, key, expect=404, commune="99998").get_json()["error"]["code"] == \
        "not_found"


def test_the_openapi_document_lists_the_pull_with_its_key(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"][URL]["get"]
    assert operation["security"] == [{"apiKey": []}]
    assert spec["components"]["securitySchemes"]["apiKey"]["name"] == "X-API-Key"
    assert {"200", "304", "401", "403", "422", "429"} <= set(operation["responses"])
    assert set(operation["responses"]["200"]["content"]) == {
        "application/json", "text/csv",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
    params = {p["name"]: p for p in operation["parameters"]}
    assert params["level"]["schema"]["enum"] == list(LEVELS)
    assert params["from"]["required"] and params["to"]["required"]


# --- ETag -----------------------------------------------------------------------------------

def test_etag_answers_304_until_the_figures_change(client, runner, world, history):
    key, _ = new_key(runner)
    first = pull(client, key, state="live")
    etag = first.headers["ETag"]
    assert etag and first.headers["Cache-Control"] == "private, no-cache"
    again = pull(client, key, expect=304, state="live", headers={"If-None-Match": etag})
    assert again.data == b"" and again.headers["ETag"] == etag
    for fmt in ("csv", "xlsx"):
        tagged = pull(client, key, state="live", format=fmt)
        assert tagged.headers["ETag"] != etag
        pull(client, key, expect=304, state="live", format=fmt,
             headers={"If-None-Match": tagged.headers["ETag"]})
    pull(client, key, expect=200, state="live", headers={"If-None-Match": '"other"'})
    h = household(world.hamlets[1].id, head_name="Người Mới")
    pushed(client, history.member2, [h, visit(h["id"], when=at(date(2025, 10, 22)),
                                               location=spot(world.hamlets[1]))])
    changed = pull(client, key, state="live", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


# --- approved vs live -----------------------------------------------------------------------

def _row(client, key, code, **query):
    return next(r for r in pull(client, key, **query).get_json()["rows"] if r["code"] == code)


def test_approved_serves_the_snapshot_and_live_the_current_figures(client, app, runner, world,
                                                                   other_world, history):
    key, _ = new_key(runner)
    code = world.commune.code
    before = _row(client, key, code)
    assert before["figures"] == "live" and before["approval"]["state"] == "open"
    officer = browser(app, world, "commune_officer")
    assert approve(officer).status_code == 302
    snapshot = approval_row(world).snapshot
    approved = _row(client, key, code)
    assert approved["figures"] == "approved" and approved["approval"]["state"] == "approved"
    assert approved["approval"]["approved_at"] and approved["approval"]["stale"] is False
    assert {k: approved[k] for k in ("services", "rates", "visits")} == \
        {k: snapshot["commune"][k] for k in ("services", "rates", "visits")}
    hamlet_rows = [r for r in pull(client, key, level="hamlet").get_json()["rows"]
                   if r["commune_code"] == code]
    assert [r["services"] for r in hamlet_rows] == [h["services"] for h in snapshot["hamlets"]]
    assert all(r["figures"] == "approved" for r in hamlet_rows)
    neighbour = _row(client, key, other_world.commune.code)
    assert neighbour["figures"] == "live" and neighbour["approval"]["state"] == "open"

    # A late visit changes October: `approved` keeps the snapshot, `live` moves on.
    h = household(world.hamlets[0].id, head_name="Người Gửi Muộn")
    r = resident(h["id"], full_name="Người Gửi Muộn", birth_year=1990)
    pushed(client, history.member, [h, r, visit(h["id"], when=at(date(2025, 10, 25)),
                                                location=spot(world.hamlets[0]),
                                                services=[cks(r["id"], "done")])])
    assert wait_for(lambda: approval_row(world).state == "stale")
    kept = _row(client, key, code)
    assert kept["services"] == approved["services"] and kept["figures"] == "approved"
    assert kept["approval"] == {**approved["approval"], "stale": True}
    live = _row(client, key, code, state="live")
    assert live["figures"] == "live" and live["approval"]["stale"] is True
    assert live["services"]["CKS"]["has"] == approved["services"]["CKS"]["has"] + 1
    (province_row,) = pull(client, key, level="province").get_json()["rows"]
    assert province_row["figures"] == "mixed" and province_row["approval"]["state"] == "open"

    # Part of an approved month: approved, but no snapshot covers it; a month not approved: open.
    half = _row(client, key, code, **{"from": "2025-10-01", "to": "2025-10-15"})
    assert half["approval"]["state"] == "approved" and half["figures"] == "live"
    two = _row(client, key, code, **{"from": "2025-10-01", "to": "2025-11-30"})
    assert two["approval"]["state"] == "open" and two["figures"] == "live"


# --- audit and personal data ----------------------------------------------------------------

def test_every_pull_is_audit_logged(client, runner, world):
    key, row = new_key(runner)
    body = pull(client, key, level="hamlet", state="live").get_json()
    pull(client, key, expect=304, level="hamlet", state="live",
         headers={"If-None-Match": pull(client, key, level="hamlet", state="live").headers[
             "ETag"]})
    db.session.rollback()
    entries = list(db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "province.pull", AuditEntry.actor == f"apikey:{row.id}")
        .order_by(AuditEntry.id)))
    assert len(entries) == 3
    assert entries[0].entity_type == "province" and entries[0].entity_id == "75"
    assert entries[0].details == {"level": "hamlet", "state": "live", "from": "2025-10-01",
                                  "to": "2025-10-31", "format": "json",
                                  "rows": len(body["rows"]), "status": 200, "via": "api"}
    assert entries[2].details["status"] == 304


def test_no_personal_data_leaves_in_any_format_or_level(client, app, runner, world, history):
    app.config["PROVINCE_API_RATE_LIMIT"] = "100 per minute"  # 18 pulls with one key
    key, _ = new_key(runner)
    assert approve(browser(app, world, "commune_officer")).status_code == 302  # snapshots too
    pii = pii_of(history)
    seen = 0
    for level in LEVELS:
        for fmt in FORMATS:
            for state in ("approved", "live"):
                text = output_text(pull(client, key, level=level, format=fmt, state=state))
                leaked = [p for p in pii if p in text]
                assert not leaked, (level, fmt, state, leaked)
                seen += 1
    assert seen == 18
