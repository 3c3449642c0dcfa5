"""GET /api/v1/province/aggregates (X-API-Key): levels and formats equal to the coverage API,
ETag/304, keys (revocation, last use, another province, rate limit), approved vs live, the
audit entry, and no personal data in any output. Also ``flask units load-communes``.

Helpers here (``history``, ``new_key``, ``pull``, ``csv_rows``, ``xlsx_rows``, ``pii_of``,
``other_province``) are shared by tests/test_province_page.py.
"""
import csv
import io
import itertools
import json
import uuid
import zipfile
from datetime import date
from types import SimpleNamespace

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from server.extensions import db
from server.models import ApiKey, AuditEntry, Commune, Household, Province, Resident
from tests.conftest import ENGINE, wait_for
from tests.factories import login
from tests.sync_helpers import household, resident, visit
from tests.test_coverage_definitions import OCT, at, cks, get, pushed
from tests.test_web_office_reports import approval_row, approve
from tests.test_web_office_visits import browser, spot

URL = "/api/v1/province/aggregates"
LEVELS = ("province", "commune", "hamlet")
FORMATS = ("json", "csv", "xlsx")
_codes = itertools.count(int(uuid.uuid4().int % 800) * 10)

# Personal data of the history: none of it may ever leave through the province pull.
PEOPLE = {"heads": ["Đoàn Văn Khải", "Hoàng Thị Xuyến"],
          "residents": ["Đoàn Thị Quỳnh Giao", "Hoàng Minh Triết", "Đoàn Văn Khải"],
          "phones": ["0912 777 431", "0987 654 329"],
          "addresses": ["Số 17 hẻm Lý Tự Trọng"]}


@pytest.fixture
def history(client, world):
    """Two households in October 2025: CKS done and already had in hamlet 1, done in 2."""
    h0, h1 = world.hamlets
    member, member2 = login(client, world.users["member"]), login(client, world.users["member2"])
    a = household(h0.id, head_name=PEOPLE["heads"][0], address=PEOPLE["addresses"][0],
                  phone=PEOPLE["phones"][0], location=spot(h0))
    ra = resident(a["id"], full_name=PEOPLE["residents"][0], birth_year=1980,
                  phone=PEOPLE["phones"][1])
    ra2 = resident(a["id"], full_name=PEOPLE["residents"][2], birth_year=1970)
    va = visit(a["id"], when=at(date(2025, 10, 3)), location=spot(h0),
               services=[cks(ra["id"], "done"), cks(ra2["id"], "already_had")])
    pushed(client, member, [a, ra, ra2, va])
    b = household(h1.id, head_name=PEOPLE["heads"][1], phone=None, location=spot(h1))
    rb = resident(b["id"], full_name=PEOPLE["residents"][1], birth_year=1985)
    vb = visit(b["id"], when=at(date(2025, 10, 20)), location=spot(h1),
               services=[cks(rb["id"], "done")])
    pushed(client, member2, [b, rb, vb])
    return SimpleNamespace(member=member, member2=member2,
                           ids=[a["id"], b["id"], ra["id"], ra2["id"], rb["id"], va["id"],
                                vb["id"]])


def new_key(runner, province="75"):
    """A key made with ``flask apikeys create``: ``(plain key, ApiKey row)``."""
    result = runner.invoke(args=["apikeys", "create", "--province", province, "--label", "Sở"])
    assert result.exit_code == 0, result.output
    plain = result.output.strip()
    db.session.rollback()
    return plain, db.session.scalar(select(ApiKey).where(ApiKey.prefix == plain[:12]))


def pull(client, key, expect=200, headers=None, **query):
    """GET the pull (October 2025 unless told) and check the status."""
    resp = client.get(URL, query_string={**OCT, **query},
                      headers={"X-API-Key": key, **(headers or {})})
    assert resp.status_code == expect, resp.get_data(as_text=True)[:2000]
    return resp


def csv_rows(resp):
    """``(columns, [{column: text}])`` of a CSV answer (its BOM checked)."""
    assert resp.data.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))))
    return lines[0], [dict(zip(lines[0], line)) for line in lines[1:]]


def xlsx_rows(resp):
    """``(columns, [{column: cell value}])`` of the data sheet (row 2 names the columns)."""
    book = load_workbook(io.BytesIO(resp.data))
    assert book.sheetnames == ["Số liệu", "Giải thích"]
    rows = list(book["Số liệu"].iter_rows(values_only=True))
    columns = list(rows[1])
    return columns, [dict(zip(columns, r)) for r in rows[2:]]


def flat(row, columns, fmt):
    """A JSON row as the CSV (text) or XLSX (typed cells) holds it."""
    out = {}
    for column in columns:
        value = row
        for part in column.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif fmt == "csv":
            value = "" if value is None else str(value)
        out[column] = value
    return out


def pii_of(history):
    """Every personal string of the history (names, phones in any spelling, ids)."""
    db.session.rollback()
    phones = set()
    for phone in PEOPLE["phones"]:
        digits = phone.replace(" ", "")
        phones |= {phone, digits, "+84" + digits[1:], "84" + digits[1:]}
    stored = list(db.session.scalars(select(Household.phone).where(Household.phone.isnot(None),
        Household.id.in_([uuid.UUID(i) for i in history.ids]))))
    stored += list(db.session.scalars(select(Resident.phone).where(Resident.phone.isnot(None),
        Resident.id.in_([uuid.UUID(i) for i in history.ids]))))
    assert stored, "the history must hold phones to look for"
    ids = set(history.ids) | {i.replace("-", "") for i in history.ids}
    return (set(PEOPLE["heads"]) | set(PEOPLE["residents"]) | set(PEOPLE["addresses"])
            | phones | set(stored) | ids | {i.upper() for i in ids})


def output_text(resp):
    """Everything a response body says, as text (an XLSX's every part unzipped)."""
    if resp.mimetype.endswith("spreadsheetml.sheet"):
        with zipfile.ZipFile(io.BytesIO(resp.data)) as archive:
            return "\n".join(archive.read(name).decode("utf-8", "replace")
                             for name in archive.namelist())
    return resp.data.decode("utf-8-sig")


def other_province(runner, tmp_path, names=None):
    """Province 48 (created by ``units load-communes`` if missing) with two new communes."""
    codes = [f"{90000 + next(_codes) % 9999:05d}" for _ in range(2)]
    names = names or [f"Xã Khác {code}" for code in codes]
    features = [{"type": "Feature", "properties": {"code": code, "name": name,
                                                   "full_name": f"Xã {name}"},
                 "geometry": {"type": "Polygon", "coordinates": [[
                     [108.0 + i * .01, 16.0], [108.01 + i * .01, 16.0],
                     [108.01 + i * .01, 16.01], [108.0 + i * .01, 16.01], [108.0 + i * .01, 16.0]]]}}
                for i, (code, name) in enumerate(zip(codes, names))]
    path = tmp_path / "communes_48.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}),
                    encoding="utf-8")
    result = runner.invoke(args=["units", "load-communes", str(path), "--province", "48",
                                 "--province-name", "Đà Nẵng"])
    assert result.exit_code == 0, result.output
    assert f"{len(codes)} created, 0 updated, 0 unchanged" in result.output
    return SimpleNamespace(path=path, codes=codes, features=features)


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


# --- keys -----------------------------------------------------------------------------------

def test_a_key_records_its_use_and_stops_working_once_revoked(client, runner, world, app):
    key, row = new_key(runner)
    assert row.last_used_at is None and row.key_hash != key and key not in row.key_hash
    listed = runner.invoke(args=["apikeys", "list", "--province", "75"])
    assert listed.exit_code == 0 and f"{row.id}\t75\t{row.prefix}" in listed.output
    assert key not in listed.output
    pull(client, key)
    db.session.rollback()
    used = db.session.get(ApiKey, row.id).last_used_at
    assert used is not None
    result = runner.invoke(args=["apikeys", "revoke", str(row.id)])
    assert result.exit_code == 0, result.output
    resp = pull(client, key, expect=401)
    assert resp.get_json()["error"]["code"] == "unauthorized"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "apikey.revoke",
                                                       AuditEntry.entity_id == str(row.id)))
    assert entry is not None and entry.actor == "cli"
    assert runner.invoke(args=["apikeys", "revoke", "999999"]).exit_code != 0


def test_no_key_a_wrong_key_or_a_token_is_refused(client, runner, world):
    assert client.get(URL, query_string=OCT).status_code == 401
    assert pull(client, "cnscd_not-a-key", expect=401).get_json()["error"]["code"] == \
        "unauthorized"
    analyst = login(client, world.users["province_analyst"])
    resp = client.get(URL, query_string=OCT, headers=analyst)
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "forbidden"


def test_another_provinces_key_never_sees_this_province(client, runner, world, history,
                                                        tmp_path):
    other = other_province(runner, tmp_path)
    key, row = new_key(runner, "48")
    ours = {world.commune.code} | {h.code for h in world.hamlets}
    for level in LEVELS:
        for fmt in FORMATS:
            text = output_text(pull(client, key, level=level, format=fmt))
            assert not any(code in text for code in ours), (level, fmt)
    body = pull(client, key).get_json()
    assert body["province"]["code"] == "48"
    codes = {r["code"] for r in body["rows"]}
    assert set(other.codes) <= codes and world.commune.code not in codes
    db.session.rollback()
    province_48 = db.session.scalar(select(Province).where(Province.code == "48"))
    assert all(db.session.scalar(select(Commune.province_id).where(Commune.code == code))
               == province_48.id for code in codes)
    refused = pull(client, key, expect=403, commune=world.commune.code)
    assert refused.get_json()["error"]["code"] == "forbidden"
    pull(client, key, expect=403, province="75")
    mine, _ = new_key(runner)
    assert other.codes[0] not in output_text(pull(client, mine, level="commune", format="csv"))
    pull(client, mine, expect=403, commune=other.codes[0])


def test_text_that_looks_like_a_formula_stays_text(client, runner, world, tmp_path):
    other = other_province(runner, tmp_path, names=['=HYPERLINK("http://x.test")', "@SUM(1)"])
    key, _ = new_key(runner, "48")
    text = pull(client, key, format="csv").data.decode("utf-8-sig")
    assert """'=HYPERLINK(""http://x.test"")""" in text and "'@SUM(1)" in text
    book = load_workbook(io.BytesIO(pull(client, key, format="xlsx",
                                         commune=other.codes[0]).data))
    cell = book["Số liệu"]["B3"]
    assert cell.value == '=HYPERLINK("http://x.test")' and cell.data_type == "s"


def test_pulls_are_rate_limited_per_key(client, runner, world, app):
    app.config["PROVINCE_API_RATE_LIMIT"] = "3 per minute"
    key, _ = new_key(runner)
    other, _ = new_key(runner)
    for _ in range(3):
        pull(client, key)
    limited = pull(client, key, expect=429)
    assert limited.get_json()["error"]["code"] == "rate_limited"
    assert "Retry-After" in limited.headers
    pull(client, other)


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


# --- loading communes -----------------------------------------------------------------------

def test_load_communes_is_idempotent_and_refuses_a_broken_file(runner, world, tmp_path):
    other = other_province(runner, tmp_path)
    again = runner.invoke(args=["units", "load-communes", str(other.path), "--province", "48"])
    assert again.exit_code == 0 and "0 created, 0 updated, 2 unchanged" in again.output
    renamed = [dict(f, properties={**f["properties"], "name": "Tên Mới"}) for f in other.features]
    other.path.write_text(json.dumps({"type": "FeatureCollection", "features": renamed}))
    result = runner.invoke(args=["units", "load-communes", str(other.path), "--province", "48"])
    assert "0 created, 2 updated, 0 unchanged" in result.output
    db.session.rollback()
    assert db.session.scalar(select(Commune.name).where(Commune.code == other.codes[0])) == \
        "Tên Mới"

    bowtie = {"type": "Polygon", "coordinates": [[[108, 16], [108.01, 16.01], [108.01, 16],
                                                  [108, 16.01], [108, 16]]]}
    broken = [renamed[0], dict(renamed[1], geometry=bowtie)]
    other.path.write_text(json.dumps({"type": "FeatureCollection", "features": broken}))
    refused = runner.invoke(args=["units", "load-communes", str(other.path), "--province", "48"])
    assert refused.exit_code != 0
    assert "invalid boundary" in refused.output and other.codes[1] in refused.output
    other.path.write_text(json.dumps({"type": "FeatureCollection", "features": renamed}))
    unknown = runner.invoke(args=["units", "load-communes", str(other.path), "--province", "11"])
    assert unknown.exit_code != 0 and "unknown province" in unknown.output
    ours = runner.invoke(args=["units", "load-communes", str(other.path), "--province", "75"])
    assert ours.exit_code != 0 and "another province" in ours.output


@pytest.mark.skipif(ENGINE != "sqlite", reason="the 95 communes would stay in the shared "
                                                "PostgreSQL database for later tests")
def test_the_shipped_dong_nai_file_loads_all_95_communes(runner, app):
    from server.services.demo import DATA

    first = runner.invoke(args=["units", "load-communes", str(DATA), "--province", "75",
                                "--province-name", "Đồng Nai"])
    assert first.exit_code == 0 and "95 created" in first.output
    second = runner.invoke(args=["units", "load-communes", str(DATA), "--province", "75"])
    assert "0 created, 0 updated, 95 unchanged" in second.output
