"""A hamlet's boundary uploaded as GeoJSON: parsed, checked and stored, or refused in Vietnamese.

Accepted: one Polygon or MultiPolygon in WGS84 longitude/latitude, as a bare geometry, a Feature,
or a FeatureCollection holding exactly one Feature. Refused, each with a message that says what
to fix: a file that is not UTF-8 JSON, any other geometry, coordinates that are not longitude and
latitude, a shape that is not valid (shapely's ``is_valid``; the reason from ``explain_validity``
with the place where it goes wrong), and a shape reaching more than ``TOLERANCE_M`` outside its
commune's boundary. The checks run in shapely, so both database engines decide the same.
"""
import json
import math
import re

import shapely
import shapely.ops
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.validation import explain_validity
from sqlalchemy import select

from server.extensions import db
from server.models import Hamlet
from server.safe_json import MalformedJSON, loads_checked
from server.services import audit
from server.services.admin_input import refuse
from server.services.admin_units import hamlet as get_hamlet

FIELD = "boundary"
MAX_BYTES = 5 * 1024 * 1024  # a hand-drawn hamlet is a few kB; a surveyed one a few hundred
MAX_VERTICES = 100_000
# How far outside its commune a hamlet may reach: hamlet and commune lines are drawn by
# different hands on different base maps, and a few tens of metres apart is the same line.
TOLERANCE_M = 30
METRES_PER_DEGREE = 111_320  # of latitude; a degree of longitude is this times cos(latitude)
WGS84_NAMES = ("urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:OGC::CRS84",
               "urn:ogc:def:crs:EPSG::4326", "EPSG:4326", "CRS84")
_AT = re.compile(r"\[\s*(-?[\d.eE+-]+)\s+(-?[\d.eE+-]+)")

# explain_validity's reasons (GEOS), in Vietnamese.
_REASONS = {
    "Ring Self-intersection": "Một vòng ranh giới tự cắt chính nó (đường vẽ quay lại cắt qua "
                              "chính nó)",
    "Self-intersection": "Ranh giới tự cắt nhau (các cạnh cắt chéo nhau, như hình số 8)",
    "Too few points": "Ranh giới có quá ít điểm (cần ít nhất 3 điểm khác nhau)",
    "Hole lies outside shell": "Có một lỗ thủng nằm ngoài vùng chính",
    "Nested holes": "Có lỗ thủng nằm trong lỗ thủng khác",
    "Interior is disconnected": "Các lỗ thủng chia vùng thành nhiều phần rời nhau",
    "Nested shells": "Có vùng nằm chồng bên trong vùng khác",
    "Duplicate Rings": "Có hai vòng ranh giới trùng nhau",
    "Invalid Coordinate": "Có tọa độ không hợp lệ",
}


def _refuse(message):
    refuse(FIELD, message)


def _geometry_of(document):
    """The one geometry object of a GeoJSON document."""
    if not isinstance(document, dict) or not isinstance(document.get("type"), str):
        _refuse("Tệp không phải GeoJSON: thiếu trường \"type\".")
    _check_crs(document)
    kind = document["type"]
    if kind == "FeatureCollection":
        features = document.get("features")
        if not isinstance(features, list) or len(features) != 1:
            count = len(features) if isinstance(features, list) else 0
            _refuse(f"Tệp có {count} đối tượng; hãy tải lên đúng một vùng ranh giới của ấp.")
        document = features[0]
        if not isinstance(document, dict):
            _refuse("Đối tượng trong tệp không phải Feature GeoJSON.")
        kind = document.get("type")
    if kind == "Feature":
        _check_crs(document)
        document = document.get("geometry")
        if not isinstance(document, dict):
            _refuse("Đối tượng trong tệp không có hình học (geometry).")
        kind = document.get("type")
    if kind not in ("Polygon", "MultiPolygon"):
        _refuse(f"Ranh giới phải là một vùng khép kín (Polygon hoặc MultiPolygon); tệp chứa "
                f"{_kind_name(kind)}.")
    return document


def _kind_name(kind):
    names = {"Point": "một điểm (Point)", "MultiPoint": "các điểm (MultiPoint)",
             "LineString": "một đường (LineString)", "MultiLineString": "các đường "
             "(MultiLineString)", "GeometryCollection": "một tập hình học (GeometryCollection)"}
    return names.get(kind, f"kiểu “{str(kind)[:40]}”" if kind else "kiểu không xác định")


def _check_crs(document):
    crs = document.get("crs")
    if crs is None:
        return
    name = crs.get("properties", {}).get("name") if isinstance(crs, dict) and \
        isinstance(crs.get("properties"), dict) else None
    if name not in WGS84_NAMES:
        _refuse(f"Tệp dùng hệ tọa độ {str(name)[:60]}; hãy xuất lại theo kinh độ/vĩ độ WGS84 "
                "(EPSG:4326).")


def _positions(coordinates, depth):
    """Every position of a Polygon (depth 2) or MultiPolygon (depth 3) coordinates array."""
    stack = [(coordinates, depth)]
    while stack:
        node, level = stack.pop()
        if not isinstance(node, list):
            _refuse("Mảng tọa độ (coordinates) của tệp không đúng cấu trúc GeoJSON.")
        if level == 0:
            yield node
        else:
            stack.extend((child, level - 1) for child in node)


def _check_coordinates(geometry):
    count = 0
    for position in _positions(geometry.get("coordinates"),
                               3 if geometry["type"] == "MultiPolygon" else 2):
        count += 1
        if count > MAX_VERTICES:
            _refuse(f"Ranh giới có hơn {MAX_VERTICES:,} điểm; hãy đơn giản hóa trước khi tải lên."
                    .replace(",", "."))
        if not 2 <= len(position) <= 3 or any(
                isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)
                for v in position):
            _refuse("Có tọa độ không phải cặp số [kinh độ, vĩ độ].")
        lon, lat = position[0], position[1]
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            if -90 <= lon <= 90 and -180 <= lat <= 180:
                _refuse(f"Tọa độ [{lon}, {lat}] có vĩ độ ngoài khoảng -90 đến 90: có thể kinh độ "
                        "và vĩ độ trong tệp bị đảo chỗ cho nhau (GeoJSON ghi [kinh độ, vĩ độ]).")
            _refuse(f"Tọa độ [{lon}, {lat}] không phải kinh độ/vĩ độ WGS84; có thể tệp đang dùng "
                    "hệ VN-2000 hoặc mét. Hãy xuất lại theo EPSG:4326.")
    if count == 0:
        _refuse("Ranh giới không có điểm nào.")


def _place(reason):
    match = _AT.search(reason)
    if not match:
        return ""
    try:
        lon, lat = float(match.group(1)), float(match.group(2))
    except ValueError:
        return ""
    return f" tại điểm kinh độ {lon:.6f}, vĩ độ {lat:.6f}"


def _validity_message(geometry):
    reason = explain_validity(geometry)
    for key, text in _REASONS.items():
        if reason.startswith(key):
            return f"{text}{_place(reason)}. Hãy sửa lại ranh giới rồi tải lên lại."
    return f"Ranh giới không hợp lệ ({reason[:120]}). Hãy sửa lại rồi tải lên lại."


def parse(raw):
    """The MultiPolygon of an uploaded GeoJSON file (bytes); Invalid with a Vietnamese message."""
    if not raw:
        _refuse("Hãy chọn tệp GeoJSON của ranh giới ấp.")
    if len(raw) > MAX_BYTES:
        _refuse(f"Tệp quá lớn (tối đa {MAX_BYTES // (1024 * 1024)} MB).")
    try:
        document = loads_checked(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        _refuse("Tệp không phải văn bản UTF-8; hãy chọn tệp .geojson.")
    except json.JSONDecodeError as err:
        _refuse(f"Tệp không phải JSON hợp lệ (lỗi ở dòng {err.lineno}, cột {err.colno}).")
    except MalformedJSON:
        _refuse("Tệp không phải JSON hợp lệ.")
    geometry = _geometry_of(document)
    _check_coordinates(geometry)
    try:
        area = shapely.force_2d(shape(geometry))
    except (ValueError, TypeError, IndexError, shapely.errors.ShapelyError):
        _refuse("Mỗi vòng ranh giới cần ít nhất 4 tọa độ (điểm đầu trùng điểm cuối).")
    if area.is_empty:
        _refuse("Ranh giới rỗng.")
    if not area.is_valid:
        _refuse(_validity_message(area))
    if area.area == 0:
        _refuse("Ranh giới không có diện tích.")
    return MultiPolygon([area]) if isinstance(area, Polygon) else area


def square_metres(geometry):
    """Approximate area in m² of a small WGS84 geometry (good to a few per cent for a hamlet)."""
    if geometry.is_empty:
        return 0.0
    latitude = math.radians(geometry.centroid.y)
    return geometry.area * METRES_PER_DEGREE ** 2 * math.cos(latitude)


def _swapped(geometry):
    return shapely.ops.transform(lambda x, y, z=None: (y, x), geometry)


def check_inside(area, commune):
    """Refuse ``area`` when it reaches more than TOLERANCE_M outside ``commune``'s boundary."""
    if commune.boundary is None:
        return False  # nothing to check against: said on the page
    outline = to_shape(commune.boundary)
    if outline.buffer(TOLERANCE_M / METRES_PER_DEGREE).covers(area):
        return True
    if not area.intersects(outline):
        hint = ""
        if outline.intersects(_swapped(area)):
            hint = " Có thể kinh độ và vĩ độ trong tệp bị đảo chỗ cho nhau."
        _refuse(f"Ranh giới nằm hoàn toàn ngoài {commune.name}.{hint}")
    outside = area.difference(outline)
    point = outside.representative_point()
    hectares = f"{square_metres(outside) / 10_000:.2f}".replace(".", ",")
    _refuse(f"Một phần ranh giới nằm ngoài {commune.name} (khoảng {hectares} ha, ví dụ tại "
            f"điểm kinh độ {point.x:.6f}, vĩ độ {point.y:.6f}); cho phép lệch tối đa "
            f"{TOLERANCE_M} m.")


def overlaps(area, hamlet):
    """``[(other hamlet, m²)]`` of open hamlets of the commune that ``area`` overlaps."""
    rows = db.session.scalars(select(Hamlet).where(
        Hamlet.commune_id == hamlet.commune_id, Hamlet.id != hamlet.id,
        Hamlet.valid_to.is_(None), Hamlet.boundary.isnot(None)).order_by(Hamlet.code))
    found = []
    for other in rows:
        shared = square_metres(area.intersection(to_shape(other.boundary)))
        if shared >= 100:  # less is two hand-drawn lines that meet
            found.append((other, shared))
    return found


def set_boundary(principal, hamlet_id, raw):
    """Store an uploaded boundary; returns ``(hamlet, checked_against_commune, overlaps)``."""
    hamlet = get_hamlet(hamlet_id)
    area = parse(raw)
    checked = check_inside(area, hamlet.commune)
    overlapping = overlaps(area, hamlet)
    had = hamlet.boundary is not None
    hamlet.boundary = from_shape(area, srid=4326)
    audit.record(principal.actor, "hamlet.boundary", "hamlet", hamlet.id, {
        "replaced": had, "polygons": len(area.geoms), "area_m2": round(square_metres(area)),
        "checked_against_commune": checked,
        "overlaps": {other.code: round(m2) for other, m2 in overlapping}},
        user_id=principal.user.id)
    db.session.commit()
    return hamlet, checked, overlapping


def clear_boundary(principal, hamlet_id):
    """Remove a hamlet's boundary (its GPS checks stop until a new one is uploaded)."""
    hamlet = get_hamlet(hamlet_id)
    if hamlet.boundary is None:
        return hamlet
    hamlet.boundary = None
    audit.record(principal.actor, "hamlet.boundary.clear", "hamlet", hamlet.id, {},
                 user_id=principal.user.id)
    db.session.commit()
    return hamlet
