"""Tổng quan: the map's GeoJSON, the indicator table (equal to the API), trend, activity, backlog.

Also home of the helpers the report tests share: ``october`` (a small pushed history) and
``table_rows`` (the figures a page's table shows, read off its ``data-*`` attributes).
"""
import re
from datetime import date
from types import SimpleNamespace

import pytest

from server.services import reports
from tests.factories import login
from tests.sync_helpers import household, resident, visit
from tests.test_coverage_definitions import OCT, at, cks, get, pushed
from tests.test_web_office_auth import text
from tests.test_web_office_visits import browser, spot

OCT_QUERY = {"first": OCT["from"], "last": OCT["to"]}
_ROW = re.compile(r'<tr data-hamlet-id="(\d+)">(.*?)</tr>', re.S)
_CELL = re.compile(r'<td data-key="([^"]+)"[^>]*? data-value="([^"]*)"')


def table_rows(page):
    """``{hamlet id: {column key: value}}`` of the hamlet table (numbers parsed)."""
    out = {}
    for hamlet_id, body in _ROW.findall(page):
        cells = {}
        for key, raw in _CELL.findall(body):
            try:
                cells[key] = float(raw) if raw != "" else None
            except ValueError:
                cells[key] = raw
        out[int(hamlet_id)] = cells
    return out


def as_number(value):
    """API values as the page's cells carry them (numbers as floats, text as is)."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else value


@pytest.fixture
def october(client, world):
    """Hamlet 1: two households (CKS done, already had, a follow-up); hamlet 2: one visit."""
    h0, h1 = world.hamlets
    member, member2 = login(client, world.users["member"]), login(client, world.users["member2"])
    a = household(h0.id, head_name="Trần Văn Lâm", address="Tổ 3", location=spot(h0))
    b = household(h0.id, head_name="Lê Thị Hoa", address="Tổ 5", location=spot(h0, .3, .3))
    ra = resident(a["id"], full_name="Trần Thị Lan", birth_year=1980)
    ra2 = resident(a["id"], full_name="Trần Văn Nam", birth_year=1975)
    rb = resident(b["id"], full_name="Lê Văn Bình", birth_year=1990)
    va = visit(a["id"], when=at(date(2025, 10, 3)), location=spot(h0),
               services=[cks(ra["id"], "done"), cks(ra2["id"], "already_had")])
    vb = visit(b["id"], when=at(date(2025, 10, 9)), location=spot(h0, .3, .3),
               services=[cks(rb["id"], "in_progress")], outcome="partial",
               follow_up_on="2025-10-16")
    pushed(client, member, [a, b, ra, ra2, rb, va, vb])
    c = household(h1.id, head_name="Phạm Văn Tú", address="Tổ 1", location=spot(h1))
    rc = resident(c["id"], full_name="Phạm Thị Yến", birth_year=1960)
    vc = visit(c["id"], when=at(date(2025, 10, 20)), location=spot(h1),
               services=[cks(rc["id"], "done")])
    pushed(client, member2, [c, rc, vc])
    return SimpleNamespace(member=member, member2=member2, a=a["id"], b=b["id"], c=c["id"],
                           ra=ra["id"], vb=vb["id"])


def test_officer_overview_table_equals_the_coverage_api(client, app, world, october):
    officer = browser(app, world, "commune_officer")
    resp = officer.get("/office/overview", query_string=OCT_QUERY)
    assert resp.status_code == 200, text(resp)[:2000]
    page = text(resp)
    assert 'lang="vi"' in page and "Tổng quan số liệu" in page
    rows = table_rows(page)
    api = get(client, login(client, world.users["commune_officer"]),
              commune=world.commune.code, **OCT)
    assert sorted(rows) == sorted(h["hamlet_id"] for h in api["hamlets"]) == world.hamlet_ids
    keys = [c.key for c in reports.summary_columns(reports.catalogue(),
                                                    sorted(api["commune"]["targets"]))]
    assert "targets.adults_with_CKS.gap" in keys and "services.CKS.has" in keys
    for h in api["hamlets"]:
        shown = rows[h["hamlet_id"]]
        for key in keys:
            assert shown[key] == as_number(reports.value(h, key)), (h["name"], key)
    first = api["hamlets"][0]
    assert first["services"]["CKS"] == {"supported": 1, "already_had": 1, "has": 2}
    assert rows[world.hamlets[0].id]["last_visit"] == "2025-10-09"
    assert rows[world.hamlets[1].id]["last_visit"] == "2025-10-20"
    # every figure explains itself
    assert page.count("<abbr title=") >= len(keys)
    assert "Hộ được tiếp cận: số hộ khác nhau có ít nhất một lượt thăm" in page


def test_team_lead_sees_only_their_hamlets(app, world, october):
    lead = browser(app, world, "team_lead")
    page = text(lead.get("/office/overview", query_string=OCT_QUERY))
    assert list(table_rows(page)) == [world.hamlets[0].id]
    assert world.hamlets[1].name not in page
    features = lead.get("/office/overview/hamlets.geojson").get_json()["features"]
    assert [f["properties"]["hamlet_id"] for f in features] == [world.hamlets[0].id]


def test_geojson_has_every_hamlet_of_the_scope_from_the_database(app, world, other_world):
    officer = browser(app, world, "commune_officer")
    resp = officer.get("/office/overview/hamlets.geojson")
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    body = resp.get_json()
    assert body["type"] == "FeatureCollection"
    assert [f["properties"]["hamlet_id"] for f in body["features"]] == world.hamlet_ids
    for feature, hamlet in zip(body["features"], world.hamlets):
        assert feature["geometry"]["type"] == "MultiPolygon"
        ring = feature["geometry"]["coordinates"][0][0]
        lons = [p[0] for p in ring]
        from geoalchemy2.shape import to_shape

        minx, _, maxx, _ = to_shape(hamlet.boundary).bounds
        assert min(lons) == pytest.approx(minx) and max(lons) == pytest.approx(maxx)


def test_overview_and_geojson_need_a_session(client, world):
    for path in ("/office/overview", "/office/overview/hamlets.geojson"):
        resp = client.get(path)
        assert resp.status_code == 302 and "/office/login" in resp.headers["Location"]


def test_page_loads_only_local_scripts_and_no_inline_code(app, world, october):
    page = text(browser(app, world, "commune_officer").get("/office/overview"))
    scripts = re.findall(r"<script([^>]*)>", page)
    assert scripts and all('src="/office/static/' in s for s in scripts)
    assert "<style" not in page and " style=" not in page
    assert "http://" not in page and "https://" not in page  # no CDN, no tile server
    for asset in ("vendor/leaflet/leaflet.js", "vendor/leaflet/leaflet.css",
                  "vendor/leaflet/LICENSE", "overview.js", "overview.css"):
        assert browser(app, world, "commune_officer").get(
            f"/office/static/{asset}").status_code == 200


def test_trend_activity_and_backlog(app, world, october):
    officer = browser(app, world, "commune_officer")
    page = text(officer.get("/office/overview", query_string=OCT_QUERY))
    trend = re.search(r'<polyline class="line-has" points="([^"]+)"', page)
    assert trend and len(trend.group(1).split()) == 31  # one point per day of October
    assert 'class="target-line"' in page  # 50% of 500 adults: 250 people
    assert "Mục tiêu 50,0% = 250 người" in page
    teams = re.search(r'<table class="grid sortable" id="team-table">(.*?)</table>', page, re.S)
    cells = re.findall(r'<td[^>]*data-value="([^"]*)"', teams.group(1))
    assert cells == [world.teams[0].name, "2", "2", "1", world.teams[1].name, "1", "1", "1"]
    backlog = re.search(r'id="backlog-table">(.*?)</table>', page, re.S).group(1)
    assert "Lê Thị Hoa" in backlog and "Quá hạn" in backlog and "16/10/2025" in backlog
    assert f"/office/visits/{october.vb}" in backlog
