"""Data-quality flags the commune office checks, computed on read within the caller's scope.

Three kinds (docs/decisions.md "Office console"):

- ``gps_outside`` — a visit whose GPS fix lies outside its hamlet's boundary (a spatial query:
  ``ST_Contains`` on SpatiaLite and PostGIS alike). Visits or hamlets without geometry are not
  judged.
- ``speed`` — two consecutive visits of one member (ordered by ``visited_at``) more than
  ``MIN_JUMP_M`` metres apart (closer is GPS noise between neighbouring doors, not travel) whose
  distance over the time between them means more than ``SPEED_KMH`` km/h. This includes "more
  than 2 km within 2 minutes" (that is 60 km/h). Both visits of such a pair are flagged.
- ``duplicate`` — households of one hamlet whose head name and address are equal after
  ``normalise`` (case, diacritics with đ→d, punctuation and whitespace, numbers without leading
  zeros: "Tổ 3" = "tổ 03"). Households without a head name (consent withdrawn) are not compared.

Flags are not stored: they follow the data as it is now (a merge or a corrected boundary changes
them at once). The spatial and speed checks are bounded by a day range.
"""
import re
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Float, and_, func, literal, not_, select, union
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from server.extensions import db
from server.models import Commune, Hamlet, Household, Visit
from server.vocab import day_start

FLAG_KINDS = ("gps_outside", "speed", "duplicate")
SPEED_KMH = 60.0
MIN_JUMP_M = 500.0
METRES_PER_DEGREE_LAT = 110_574.0
METRES_PER_DEGREE_LON_EQUATOR = 111_320.0
DEFAULT_LATITUDE = 16.0  # the middle of Vietnam, when a commune has no boundary


class epoch_seconds(FunctionElement):
    """Seconds since 1970 of a timestamp column (compiled per dialect)."""

    type = Float()
    inherit_cache = True


@compiles(epoch_seconds)
def _epoch_default(element, compiler, **kw):
    return f"EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})"


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element, compiler, **kw):
    # UTCDateTime stores naive UTC text on SQLite; julianday reads it.
    return f"((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0)"


# --- normalisation and duplicates -------------------------------------------------------------

_NUMBER = re.compile(r"\d+")
_NOT_WORD = re.compile(r"[\W_]+")


def normalise(text):
    """``text`` folded for comparison: no case, diacritics (đ→d), punctuation or leading zeros."""
    if not text:
        return ""
    text = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = _NOT_WORD.sub(" ", text)
    text = _NUMBER.sub(lambda m: str(int(m.group())), text)
    return " ".join(text.split())


def household_key(household):
    """What two duplicate households share, or None when the household cannot be compared."""
    name = normalise(household.head_name)
    if not name:
        return None
    return household.hamlet_id, name, normalise(household.address)


def duplicate_groups(principal, hamlet_id=None):
    """Groups (lists of two or more live households, oldest first) suspected to be one household."""
    query = (select(Household).where(principal.hamlet_filter(Household.hamlet_id),
                                     Household.deleted.is_(False), Household.head_name.isnot(None))
             .order_by(Household.created_at, Household.id))
    if hamlet_id is not None:
        query = query.where(Household.hamlet_id == hamlet_id)
    groups = {}
    for household in db.session.scalars(query):
        key = household_key(household)
        if key is not None:
            groups.setdefault(key, []).append(household)
    return sorted((g for g in groups.values() if len(g) > 1),
                  key=lambda g: (g[0].hamlet_id, normalise(g[0].head_name)))


def duplicate_household_ids(principal):
    """Ids of every household in a duplicate group of the caller's scope."""
    return {h.id for group in duplicate_groups(principal) for h in group}


# --- GPS outside the hamlet -------------------------------------------------------------------

def _day_range(query, first, last):
    if first is not None:
        query = query.where(Visit.visited_at >= day_start(first))
    if last is not None:
        query = query.where(Visit.visited_at < day_start(last + timedelta(days=1)))
    return query


def gps_outside_query(principal, first=None, last=None):
    """``SELECT visits.id`` of visits in scope whose GPS lies outside their hamlet's boundary."""
    query = (select(Visit.id).join(Hamlet, Hamlet.id == Visit.hamlet_id)
             .where(principal.hamlet_filter(Visit.hamlet_id), Visit.location.isnot(None),
                    Hamlet.boundary.isnot(None),
                    not_(func.ST_Contains(Hamlet.boundary, Visit.location))))
    return _day_range(query, first, last)


def is_outside(visit):
    """True when ``visit``'s GPS lies outside its hamlet's boundary; None when not judged."""
    if visit.location is None:
        return None
    inside = db.session.scalar(select(func.ST_Contains(Hamlet.boundary, Visit.location))
                               .select_from(Visit).join(Hamlet, Hamlet.id == Visit.hamlet_id)
                               .where(Visit.id == visit.id))
    return None if inside is None else not inside


# --- implausible speed ------------------------------------------------------------------------

def _latitude(principal):
    if principal.commune_id is None:
        return DEFAULT_LATITUDE
    lat = db.session.scalar(select(func.ST_Y(func.ST_Centroid(Commune.boundary)))
                            .where(Commune.id == principal.commune_id))
    return DEFAULT_LATITUDE if lat is None else float(lat)


def _pairs(principal, first=None, last=None):
    """A subquery of consecutive visit pairs of one member with their distance² and seconds."""
    import math

    kx = METRES_PER_DEGREE_LON_EQUATOR * math.cos(math.radians(_latitude(principal)))
    ky = METRES_PER_DEGREE_LAT
    # One day on either side, so a pair straddling the range's edge is still seen.
    base = (select(Visit.id, Visit.member_id, Visit.visited_at,
                   func.ST_X(Visit.location).label("x"), func.ST_Y(Visit.location).label("y"),
                   epoch_seconds(Visit.visited_at).label("t"))
            .where(principal.hamlet_filter(Visit.hamlet_id), Visit.location.isnot(None)))
    base = _day_range(base, first - timedelta(days=1) if first else None,
                      last + timedelta(days=1) if last else None).subquery("located")
    window = {"partition_by": base.c.member_id, "order_by": (base.c.visited_at, base.c.id)}
    ordered = select(
        base.c.id, base.c.x, base.c.y, base.c.t,
        func.lag(base.c.id, type_=base.c.id.type).over(**window).label("prev_id"),
        func.lag(base.c.x).over(**window).label("px"),
        func.lag(base.c.y).over(**window).label("py"),
        func.lag(base.c.t).over(**window).label("pt"),
    ).subquery("ordered")
    dx = (ordered.c.x - ordered.c.px) * literal(kx)
    dy = (ordered.c.y - ordered.c.py) * literal(ky)
    return ordered, dx * dx + dy * dy, ordered.c.t - ordered.c.pt


def _too_fast(distance2, seconds):
    speed = SPEED_KMH / 3.6  # metres per second; squares on both sides: no sqrt in SQL
    return and_(distance2 > MIN_JUMP_M ** 2, distance2 > (seconds * speed) * (seconds * speed))


def speed_query(principal, first=None, last=None):
    """``SELECT id`` of both visits of every too-fast pair in scope."""
    ordered, distance2, seconds = _pairs(principal, first, last)
    fast = and_(ordered.c.prev_id.isnot(None), _too_fast(distance2, seconds))
    return union(select(ordered.c.id.label("id")).where(fast),
                 select(ordered.c.prev_id.label("id")).where(fast))


@dataclass
class SpeedPair:
    """Two consecutive visits of one member too far apart for the time between them."""

    earlier: Visit
    later: Visit
    metres: float
    seconds: float

    @property
    def kmh(self):
        """The implied speed; None when both were recorded at the same second."""
        return self.metres / self.seconds * 3.6 if self.seconds > 0 else None


def speed_pairs(principal, first=None, last=None, limit=500):
    """The too-fast pairs in scope, latest first."""
    ordered, distance2, seconds = _pairs(principal, first, last)
    rows = db.session.execute(
        select(ordered.c.prev_id, ordered.c.id, distance2.label("d2"), seconds.label("dt"))
        .where(ordered.c.prev_id.isnot(None), _too_fast(distance2, seconds))
        .order_by(ordered.c.t.desc()).limit(limit)).all()
    visits = _visits({r.prev_id for r in rows} | {r.id for r in rows})
    pairs = [SpeedPair(visits[r.prev_id], visits[r.id], float(r.d2) ** 0.5, float(r.dt))
             for r in rows]
    # The window ran one day beyond the range: keep the pairs whose later visit is inside it.
    return [p for p in pairs if (first is None or p.later.visited_on >= first)
            and (last is None or p.later.visited_on <= last)]


def gps_outside_visits(principal, first=None, last=None, limit=500):
    """Visits in scope recorded outside their hamlet, latest first."""
    ids = gps_outside_query(principal, first, last).order_by(Visit.visited_at.desc()).limit(limit)
    visits = _visits(set(db.session.scalars(ids)))
    return sorted(visits.values(), key=lambda v: v.visited_at, reverse=True)


def _visits(ids):
    if not ids:
        return {}
    return {v.id: v for v in db.session.scalars(select(Visit).where(Visit.id.in_(sorted(ids))))}


def flag_condition(principal, kind, first=None, last=None):
    """A SQL condition on ``Visit`` keeping the visits with flag ``kind`` (for the visits list)."""
    if kind == "gps_outside":
        return Visit.id.in_(gps_outside_query(principal, first, last))
    if kind == "speed":
        return Visit.id.in_(select(speed_query(principal, first, last).subquery().c.id))
    if kind == "duplicate":
        return Visit.household_id.in_(sorted(duplicate_household_ids(principal)))
    raise ValueError(f"unknown flag {kind!r}")


def flags_of(principal, visit):
    """The flag kinds one visit carries now."""
    flags = []
    if is_outside(visit):
        flags.append("gps_outside")
    day = visit.visited_on
    if visit.location is not None and visit.id in set(db.session.scalars(
            speed_query(principal, day, day))):
        flags.append("speed")
    household = db.session.get(Household, visit.household_id)
    key = household_key(household) if household is not None else None
    if key is not None and any(household_key(h) == key and h.id != household.id
                               for h in db.session.scalars(select(Household).where(
                                   Household.hamlet_id == household.hamlet_id,
                                   Household.deleted.is_(False),
                                   Household.head_name.isnot(None)))):
        flags.append("duplicate")
    return flags


def visit_counts(household_ids):
    """``{household id: number of visits}`` (to help choose which duplicate survives)."""
    if not household_ids:
        return {}
    return dict(db.session.execute(
        select(Visit.household_id, func.count())
        .where(Visit.household_id.in_(sorted(household_ids)))
        .group_by(Visit.household_id)).all())
