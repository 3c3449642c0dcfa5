"""Loading a province's communes (codes, names, boundaries) from a GeoJSON file.

One feature per commune with ``properties.code`` (the 5-digit national code), ``name`` and
optionally ``full_name`` ("Phường …", "Xã …", "Đặc khu …", which gives the kind) or ``kind``;
the geometry a Polygon or MultiPolygon in WGS84. Loading is an upsert by code among the
current communes (``valid_to`` empty): a commune is created, updated (name, kind, boundary) or
left as it is, so loading the same file twice changes nothing. The whole file is checked before
anything is written; one bad feature refuses the file with a message that names it.
Used by ``flask units load-communes`` and by the demo seed.
"""
import json
from pathlib import Path

from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import MultiPolygon, shape
from shapely.validation import explain_validity
from sqlalchemy import select

from server.errors import Invalid
from server.extensions import db
from server.models import Commune, Province
from server.models.types import utcnow
from server.services import audit
from server.vocab import local_day

KINDS = {"phường": "phuong", "xã": "xa", "đặc khu": "dac_khu"}
MAX_FEATURES = 2000  # a province has a few hundred communes at most


def _fail(message, where="file"):
    raise Invalid("Cannot load the communes", {where: [message]})


def read_features(path):
    """The features of a GeoJSON FeatureCollection file (422 if it is not one)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        _fail(f"cannot read {path}: {err}")
    features = data.get("features") if isinstance(data, dict) else None
    if not isinstance(features, list) or data.get("type") != "FeatureCollection":
        _fail("not a GeoJSON FeatureCollection")
    if len(features) > MAX_FEATURES:
        _fail(f"more than {MAX_FEATURES} features")
    return features


def _kind(props):
    kind = props.get("kind")
    if kind in KINDS.values():
        return kind
    full = str(props.get("full_name") or "").strip().lower()
    return next((v for k, v in KINDS.items() if full.startswith(k)), "xa")


def parse_feature(feature, index):
    """``(code, name, kind, MultiPolygon)`` of one feature; 422 naming it when it is unusable."""
    where = f"features[{index}]"
    props = feature.get("properties") if isinstance(feature, dict) else None
    if not isinstance(props, dict):
        _fail("a feature without properties", where)
    code = str(props.get("code") or "")
    if not (len(code) == 5 and code.isdigit()):
        _fail("properties.code must be a 5-digit commune code", where)
    where = f"{where} ({code})"
    name = str(props.get("name") or "").strip()
    if not 1 <= len(name) <= 120:
        _fail("properties.name must be 1 to 120 characters", where)
    try:
        geometry = shape(feature.get("geometry") or {})
    except (AttributeError, KeyError, TypeError, ValueError, IndexError):
        _fail("the geometry is not valid GeoJSON", where)
    if geometry.geom_type == "Polygon":
        geometry = MultiPolygon([geometry])
    if geometry.geom_type != "MultiPolygon" or geometry.is_empty:
        _fail("the geometry must be a Polygon or MultiPolygon", where)
    minx, miny, maxx, maxy = geometry.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        _fail("coordinates must be longitude/latitude (WGS84)", where)
    if not geometry.is_valid:
        _fail(f"invalid boundary: {explain_validity(geometry)}", where)
    return code, name, _kind(props), geometry


def load_communes(province, features, actor="cli"):
    """Upsert ``features`` as communes of ``province``; commits; returns the counts."""
    parsed, seen = [], set()
    for index, feature in enumerate(features):
        item = parse_feature(feature, index)
        if item[0] in seen:
            _fail(f"commune {item[0]} appears twice", f"features[{index}]")
        seen.add(item[0])
        parsed.append(item)
    current = {c.code: c for c in db.session.scalars(
        select(Commune).where(Commune.code.in_(seen), Commune.valid_to.is_(None)))}
    foreign = sorted(code for code, c in current.items() if c.province_id != province.id)
    if foreign:
        _fail(f"communes of another province: {', '.join(foreign[:10])}", "province")
    # A code reused after a merger: the new unit starts today (codes are unique per start day).
    retired = set(db.session.scalars(select(Commune.code).where(
        Commune.code.in_(seen - set(current)), Commune.valid_to.isnot(None))))
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    for code, name, kind, geometry in parsed:
        commune = current.get(code)
        if commune is None:
            start = {"valid_from": local_day(utcnow())} if code in retired else {}
            db.session.add(Commune(province_id=province.id, code=code, name=name, kind=kind,
                                   boundary=from_shape(geometry, srid=4326), **start))
            counts["created"] += 1
            continue
        same_shape = commune.boundary is not None and to_shape(commune.boundary).equals_exact(
            geometry, 1e-9)
        if commune.name == name and commune.kind == kind and same_shape:
            counts["unchanged"] += 1
            continue
        commune.name, commune.kind = name, kind
        if not same_shape:
            commune.boundary = from_shape(geometry, srid=4326)
        counts["updated"] += 1
    if counts["created"] or counts["updated"]:
        audit.record(actor, "communes.load", "province", province.id,
                     {"province": province.code, **counts})
    db.session.commit()
    return counts


def load_file(path, province_code, province_name=None, actor="cli"):
    """Load a GeoJSON file's communes into the province ``province_code``; returns the counts.

    The province must exist unless ``province_name`` is given (then it is created)."""
    features = read_features(path)
    for index, feature in enumerate(features):
        parse_feature(feature, index)  # a bad file creates no province
    province = db.session.scalar(select(Province).where(Province.code == province_code,
                                                        Province.valid_to.is_(None)))
    if province is None:
        if not province_name:
            _fail("unknown province code (give its name to create it)", "province")
        if not (len(province_code) == 2 and province_code.isdigit()):
            _fail("a province code has 2 digits", "province")
        province = Province(code=province_code, name=province_name, settings={})
        db.session.add(province)
        db.session.flush()
    return load_communes(province, features, actor)
