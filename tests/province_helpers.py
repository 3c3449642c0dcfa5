"""Shared by the province pull tests (tests/test_province_api.py, tests/test_province_api_keys.py,
tests/test_province_page.py): a history of two households with personal data, API keys made with
``flask apikeys create``, the pull and readers of its CSV/XLSX answers, and another province."""
import csv
import io
import itertools
import json
import uuid
import zipfile
from datetime import date
from types import SimpleNamespace

from openpyxl import load_workbook
from sqlalchemy import select

from server.extensions import db
from server.models import ApiKey, Household, Resident
from tests.factories import login
from tests.sync_helpers import household, resident, visit
from tests.test_coverage_definitions import OCT, at, cks, pushed
from tests.test_web_office_visits import spot

URL = "/api/v1/province/aggregates"
LEVELS = ("province", "commune", "hamlet")
FORMATS = ("json", "csv", "xlsx")
_codes = itertools.count(int(uuid.uuid4().int % 800) * 10)

# Personal data of the history: none of it may ever leave through the province pull.
PEOPLE = {"heads": ["Đoàn Văn Khải", "Hoàng Thị Xuyến"],
          "residents": ["Đoàn Thị Quỳnh Giao", "Hoàng Minh Triết", "Đoàn Văn Khải"],
          "phones": ["0912 777 431", "0987 654 329"],
          "addresses": ["Số 17 hẻm Lý Tự Trọng"]}


def make_history(client, world):
    """Two households in October 2025: CKS done and already had in hamlet 1, done in 2. Their
    personal data is ``PEOPLE``; each test module wraps this in its ``history`` fixture."""
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
