"""Đơn vị hành chính: units with their validity, hamlets added, edited and closed (phones learn
through pull), and hamlet boundaries uploaded as GeoJSON — good ones stored and drawn on the
office map, broken ones refused with a Vietnamese message and nothing changed."""
import json
from datetime import date, timedelta

from shapely.geometry import box, mapping
from sqlalchemy import select

from server.extensions import db
from server.models import Commune, Hamlet, Household
from tests import admin_helpers as ah
from tests.factories import login
from tests.sync_helpers import household, pull_all, push
from tests.test_web_office_auth import sign_in as office_sign_in


def _hamlet(hamlet_id):
    db.session.rollback()
    return db.session.get(Hamlet, hamlet_id)


def test_units_list_provinces_and_communes_with_validity_and_reused_codes(client, world):
    old = Commune(province_id=world.province.id, code=world.commune.code,
                  name="Xã Cũ Trước Sáp Nhập", valid_from=date(2020, 1, 1),
                  valid_to=date(2025, 6, 30))
    db.session.add(old)
    db.session.commit()
    ah.admin(client, world)
    body = ah.text(client.get(f"/admin/units?province={world.province.id}"))
    assert world.commune.name in body and "Xã Cũ Trước Sáp Nhập" in body
    assert "01/01/2020 – 30/06/2025" in body and "01/07/2025 – nay" in body
    commune = ah.text(client.get(f"/admin/communes/{world.commune.id}"))
    for h in world.hamlets:
        assert h.name in commune and h.code in commune
    assert f'value="{world.commune.code}-003"' in commune  # the next free code is offered


def test_hamlet_added_given_to_a_team_renamed_and_closed_reaches_the_phone(client, world):
    ah.admin(client, world)
    member = login(client, world.users["member"])
    _, cursor, _ = pull_all(client, member)
    code = f"{world.commune.code}-003"
    resp = ah.post(client, f"/admin/communes/{world.commune.id}/hamlets",
                   {"code": code, "name": "Ấp Mới", "kind": "thon", "valid_from": "2025-09-01"})
    assert resp.status_code == 302
    hamlet = db.session.scalar(select(Hamlet).where(Hamlet.code == code))
    ah.assert_audited("hamlet.create", hamlet.id, world.users["admin"], code=code, kind="thon")
    assert "Ấp Mới" in ah.text(client.get(resp.headers["Location"]))

    keep = [str(h.id) for h in world.teams[0].hamlets]
    assert ah.post(client, f"/admin/teams/{world.teams[0].id}/hamlets",
                   {"hamlets": keep + [str(hamlet.id)]}).status_code == 302
    changes, _, _ = pull_all(client, member, cursor)  # the scope changed: the pull starts over
    got = {c["id"]: c for c in changes if c["type"] == "hamlet"}
    assert got[str(hamlet.id)]["data"]["name"] == "Ấp Mới"
    _, cursor, _ = pull_all(client, member)

    resp = ah.post(client, f"/admin/hamlets/{hamlet.id}",
                   {"name": "Thôn Mới Đổi Tên", "kind": "thon", "valid_from": "2025-09-01"})
    assert resp.status_code == 302
    ah.assert_audited("hamlet.update", hamlet.id, world.users["admin"],
                      name=["Ấp Mới", "Thôn Mới Đổi Tên"])
    changes, cursor, _ = pull_all(client, member, cursor)
    assert [(c["id"], c["data"]["name"]) for c in changes if c["type"] == "hamlet"] == \
        [(str(hamlet.id), "Thôn Mới Đổi Tên")]

    # A hamlet with households cannot be closed; an empty one can, and phones drop it.
    code_, body = push(client, member, [household(hamlet.id)])
    assert body["results"][0]["status"] == "created", body
    today = date.today().isoformat()
    refused = ah.post(client, f"/admin/hamlets/{hamlet.id}/close", {"valid_to": today})
    assert refused.status_code == 422 and "Ấp còn 1 hộ" in ah.text(refused)
    assert _hamlet(hamlet.id).valid_to is None and not ah.audit("hamlet.close", hamlet.id)
    closable = _hamlet(world.hamlets[1].id)
    future = (date.today() + timedelta(days=3)).isoformat()
    assert "Chỉ đóng ấp từ hôm nay trở về trước" in ah.text(
        ah.post(client, f"/admin/hamlets/{closable.id}/close", {"valid_to": future}))
    resp = ah.post(client, f"/admin/hamlets/{closable.id}/close", {"valid_to": today})
    assert resp.status_code == 302 and _hamlet(closable.id).valid_to == date.today()
    ah.assert_audited("hamlet.close", closable.id, world.users["admin"], valid_to=today)
    member2 = login(client, world.users["member2"])
    changes, _, _ = pull_all(client, member2)
    gone = [c for c in changes if c["type"] == "hamlet" and c["id"] == str(closable.id)]
    assert gone and gone[0]["deleted"] is True
    assert "Đã đóng" in ah.text(client.get(f"/admin/hamlets/{closable.id}"))


def test_codes_come_back_after_a_merger_but_never_on_two_units_in_force(client, world):
    """A merger: the old hamlet and commune close; their codes go to new units from that day."""
    ah.admin(client, world)
    old = world.hamlets[1]
    closed_on = date.today() - timedelta(days=10)
    assert ah.post(client, f"/admin/hamlets/{old.id}/close",
                   {"valid_to": closed_on.isoformat()}).status_code == 302
    path = f"/admin/communes/{world.commune.id}/hamlets"
    early = ah.post(client, path, {"code": old.code, "name": "Ấp Sáp Nhập", "kind": "ap",
                                   "valid_from": (closed_on - timedelta(days=1)).isoformat()})
    assert early.status_code == 422
    assert f"Mã này thuộc ấp {old.name} đến ngày {closed_on:%d/%m/%Y}" in ah.text(early)
    resp = ah.post(client, path, {"code": old.code, "name": "Ấp Sáp Nhập", "kind": "ap",
                                  "valid_from": closed_on.isoformat()})
    assert resp.status_code == 302, ah.text(resp)
    holders = db.session.scalars(select(Hamlet).where(Hamlet.code == old.code)
                                 .order_by(Hamlet.valid_from)).all()
    assert [(h.name, h.valid_to) for h in holders] == [(old.name, closed_on), ("Ấp Sáp Nhập", None)]
    new = holders[1]
    ah.assert_audited("hamlet.create", new.id, world.users["admin"], code=old.code)
    # The new holder cannot move its start back over the old one's days.
    back = ah.post(client, f"/admin/hamlets/{new.id}",
                   {"name": new.name, "kind": "ap", "valid_from": "2025-07-01"})
    assert back.status_code == 422 and f"Mã này thuộc ấp {old.name}" in ah.text(back)
    # The member's phone sees the new hamlet once its team works it, under the reused code.
    member = login(client, world.users["member"])
    keep = [str(h.id) for h in world.teams[0].hamlets]
    ah.post(client, f"/admin/teams/{world.teams[0].id}/hamlets", {"hamlets": keep + [str(new.id)]})
    changes, _, _ = pull_all(client, member)
    names = {c["id"]: c["data"]["name"] for c in changes if c["type"] == "hamlet"
             and not c.get("deleted")}
    assert names[str(new.id)] == "Ấp Sáp Nhập" and str(old.id) not in names

    # The commune: refused while a hamlet is open; then closed, and its code goes to a new one.
    commune_page = f"/admin/communes/{world.commune.id}"
    refused = ah.post(client, f"{commune_page}/close", {"valid_to": closed_on.isoformat()})
    assert refused.status_code == 422 and "ấp đang hoạt động" in ah.text(refused)
    units = f"/admin/provinces/{world.province.id}/communes"
    in_force = ah.post(client, units, {"code": world.commune.code, "name": "Xã Mới", "kind": "xa",
                                       "valid_from": date.today().isoformat()})
    assert in_force.status_code == 422
    assert f"Mã này đang dùng cho xã {world.commune.name}" in ah.text(in_force)
    for hamlet in db.session.scalars(select(Hamlet).where(Hamlet.commune_id == world.commune.id,
                                                          Hamlet.valid_to.is_(None))).all():
        db.session.execute(Household.__table__.delete().where(Household.hamlet_id == hamlet.id))
        hamlet.valid_to = closed_on
    db.session.commit()
    assert ah.post(client, f"{commune_page}/close",
                   {"valid_to": closed_on.isoformat()}).status_code == 302
    ah.assert_audited("commune.close", world.commune.id, world.users["admin"],
                      valid_to=closed_on.isoformat())
    resp = ah.post(client, units, {"code": world.commune.code, "name": "Xã Mới", "kind": "phuong",
                                   "valid_from": closed_on.isoformat()})
    assert resp.status_code == 302, ah.text(resp)
    communes = db.session.scalars(select(Commune).where(Commune.code == world.commune.code)
                                  .order_by(Commune.valid_from)).all()
    assert [(c.name, c.kind, c.valid_to) for c in communes] == [
        (world.commune.name, "xa", closed_on), ("Xã Mới", "phuong", None)]
    ah.assert_audited("commune.create", communes[1].id, world.users["admin"],
                      code=world.commune.code, kind="phuong")
    # The new commune numbers its hamlets from 001 again, reusing the closed hamlets' codes.
    page = ah.text(client.get(resp.headers["Location"]))
    assert f'value="{world.commune.code}-001"' in page
    assert ah.post(client, f"/admin/communes/{communes[1].id}/hamlets",
                   {"code": f"{world.commune.code}-001", "name": "Khu Phố 1", "kind": "khu_pho",
                    "valid_from": closed_on.isoformat()}).status_code == 302
    bad = ah.post(client, units, {"code": "12", "name": "", "kind": "tinh",
                                  "valid_from": "2019-01-01"})
    assert bad.status_code == 422 and "Bắt buộc nhập" in ah.text(bad)
    bad = ah.post(client, units, {"code": "12", "name": "Xã Sai Mã", "kind": "xa",
                                  "valid_from": "2019-01-01"})
    assert bad.status_code == 422
    assert "Mã xã gồm 5 chữ số" in ah.text(bad) and "Không được trước ngày" in ah.text(bad)
    assert db.session.scalar(select(Commune.id).where(Commune.name == "Xã Sai Mã")) is None


def test_bad_hamlet_input_is_refused_in_vietnamese(client, world):
    ah.admin(client, world)
    path = f"/admin/communes/{world.commune.id}/hamlets"
    taken = ah.post(client, path, {"code": world.hamlets[0].code, "name": "X", "kind": "ap",
                                   "valid_from": "2025-07-01"})
    assert taken.status_code == 422 and "Mã này đang dùng cho ấp" in ah.text(taken)
    shape = ah.post(client, path, {"code": "99999-001", "name": "X", "kind": "ap",
                                   "valid_from": "2025-07-01"})
    assert f"Mã ấp có dạng {world.commune.code}-NNN" in ah.text(shape)
    early = ah.post(client, path, {"code": f"{world.commune.code}-007", "name": "X",
                                   "kind": "ap", "valid_from": "2019-01-01"})
    assert "Không được trước ngày" in ah.text(early)
    assert not ah.audited_by("hamlet.create", world.users["admin"])


# --- boundaries ---------------------------------------------------------------------------

def _inside(world, shrink=0.002):
    """A square well inside the first hamlet (and so inside the commune)."""
    minx, miny, maxx, maxy = _bounds(world)
    return box(minx + shrink, miny + shrink, minx + 0.01 - shrink, maxy - shrink)


def _bounds(world):
    from geoalchemy2.shape import to_shape

    return to_shape(world.commune.boundary).bounds


def _upload(client, hamlet_id, content, name="ranh-gioi.geojson"):
    from io import BytesIO

    if not isinstance(content, bytes):
        content = json.dumps(content).encode()
    return ah.post(client, f"/admin/hamlets/{hamlet_id}/boundary",
                   {"boundary": (BytesIO(content), name)},
                   content_type="multipart/form-data")


def test_a_good_boundary_is_stored_and_the_office_map_draws_it(client, app, world):
    ah.admin(client, world)
    hamlet = world.hamlets[0]
    area = _inside(world)
    feature = {"type": "Feature", "properties": {"ten": "Ấp Thử 1"}, "geometry": mapping(area)}
    resp = _upload(client, hamlet.id, feature)
    assert resp.status_code == 302, ah.text(resp)[:2000]
    assert "Đã lưu ranh giới ấp" in ah.text(client.get(resp.headers["Location"]))
    entry = ah.assert_audited("hamlet.boundary", hamlet.id, world.users["admin"],
                              replaced=True, polygons=1, checked_against_commune=True)
    assert 420_000 < entry.details["area_m2"] < 460_000  # 0.006° square at 10.5°N: 657 × 668 m

    officer = app.test_client()
    office_sign_in(officer, world.users["commune_officer"])
    geojson = officer.get("/office/overview/hamlets.geojson").get_json()
    drawn = {f["id"]: f["geometry"] for f in geojson["features"]}
    assert drawn[hamlet.id]["type"] == "MultiPolygon"
    ring = drawn[hamlet.id]["coordinates"][0][0]
    assert {tuple(round(c, 6) for c in p) for p in ring} == \
        {tuple(round(c, 6) for c in p) for p in mapping(area)["coordinates"][0]}


def test_a_boundary_slightly_over_the_commune_line_is_accepted_and_a_bare_multipolygon_too(
        client, world):
    ah.admin(client, world)
    minx, miny, maxx, maxy = _bounds(world)
    over = box(minx - 0.0001, miny + 0.001, minx + 0.005, maxy - 0.001)  # ~11 m outside
    geometry = {"type": "MultiPolygon", "coordinates": [mapping(over)["coordinates"]]}
    resp = _upload(client, world.hamlets[0].id, geometry)
    assert resp.status_code == 302, ah.text(resp)[:2000]


def _bowtie(world):
    minx, miny, _, maxy = _bounds(world)
    x0, x1 = minx + 0.002, minx + 0.008
    y0, y1 = miny + 0.002, maxy - 0.002
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y1], [x1, y0], [x0, y1],
                                                [x0, y0]]]}


def _outside(world):
    minx, miny, maxx, maxy = _bounds(world)
    return mapping(box(maxx - 0.005, miny + 0.002, maxx + 0.004, maxy - 0.002))


def _far_away(world):
    return mapping(box(100.0, 20.0, 100.01, 20.01))


def _swapped(world):
    area = _inside(world)
    return {"type": "Polygon", "coordinates": [[[y, x] for x, y in area.exterior.coords]]}


BROKEN = [
    ("not json", lambda w: b"{ranh gioi", "Tệp không phải JSON hợp lệ (lỗi ở dòng 1"),
    ("not utf-8", lambda w: "{}".encode("utf-16"), "không phải văn bản UTF-8"),
    ("empty", lambda w: b"", "Hãy chọn tệp GeoJSON"),
    ("point", lambda w: {"type": "Point", "coordinates": [106.0, 10.5]},
     "tệp chứa một điểm (Point)"),
    ("line feature", lambda w: {"type": "Feature", "properties": {}, "geometry": {
        "type": "LineString", "coordinates": [[106.0, 10.5], [106.01, 10.51]]}},
     "tệp chứa một đường (LineString)"),
    ("two features", lambda w: {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": mapping(_inside(w))}] * 2},
     "Tệp có 2 đối tượng"),
    ("self-intersecting", lambda w: _bowtie(w), "Ranh giới tự cắt nhau"),
    ("outside the commune", _outside, "Một phần ranh giới nằm ngoài Xã Thử"),
    ("far away", _far_away, "Ranh giới nằm hoàn toàn ngoài Xã Thử"),
    ("lat/lon swapped", _swapped, "kinh độ và vĩ độ trong tệp bị đảo chỗ"),
    ("projected metres", lambda w: mapping(box(430000, 1200000, 431000, 1201000)),
     "không phải kinh độ/vĩ độ WGS84"),
    ("other crs", lambda w: {"type": "Feature", "properties": {}, "geometry": mapping(
        _inside(w)), "crs": {"type": "name", "properties": {"name": "EPSG:3405"}}},
     "Tệp dùng hệ tọa độ EPSG:3405"),
    ("too few points", lambda w: {"type": "Polygon", "coordinates": [[[106.0, 10.5],
                                                                      [106.0, 10.5]]]},
     "cần ít nhất 4 tọa độ"),
    ("not numbers", lambda w: {"type": "Polygon", "coordinates": [[["a", "b"], [1, 2]]]},
     "không phải cặp số"),
]


def test_broken_boundaries_are_refused_with_a_clear_message_and_change_nothing(client, world):
    from geoalchemy2.shape import to_shape

    ah.admin(client, world)
    hamlet = world.hamlets[0]
    before = to_shape(_hamlet(hamlet.id).boundary)
    for name, make, message in BROKEN:  # one world for all: each case is one request
        resp = _upload(client, hamlet.id, make(world))
        body = ah.text(resp)
        assert resp.status_code == 422, name
        assert message in body, (name, body[body.find('role="alert"'):][:400])
    assert to_shape(_hamlet(hamlet.id).boundary).equals(before)
    assert not ah.audit("hamlet.boundary", hamlet.id)


def test_self_intersection_names_the_place_to_fix(client, world):
    ah.admin(client, world)
    body = ah.text(_upload(client, world.hamlets[0].id, _bowtie(world)))
    minx, miny, _, maxy = _bounds(world)
    # The bow tie's two edges cross at the middle of the square.
    assert f"kinh độ {minx + 0.005:.6f}, vĩ độ {(miny + maxy) / 2:.6f}" in body


def test_a_boundary_can_be_removed(client, world):
    ah.admin(client, world)
    hamlet = world.hamlets[1]
    assert ah.post(client, f"/admin/hamlets/{hamlet.id}/boundary/clear").status_code == 302
    assert _hamlet(hamlet.id).boundary is None
    ah.assert_audited("hamlet.boundary.clear", hamlet.id, world.users["admin"])
