"""How stored records look to phones: the ``data`` of pull changes and of conflict answers."""
from geoalchemy2.shape import to_shape
from marshmallow import Schema, fields


def _location(geometry, accuracy):
    if geometry is None:
        return None
    point = to_shape(geometry)
    return {"lat": round(point.y, 7), "lon": round(point.x, 7), "accuracy_m": accuracy}


# About 5 m: the phone draws the hamlet a few hundred pixels wide, so finer detail is never seen
# and would only make the first pull heavier.
BOUNDARY_TOLERANCE_DEG = 0.00005


def _boundary(geometry):
    """A hamlet's boundary as small GeoJSON (simplified, 5 decimals ≈ 1 m) for the phone's map."""
    if geometry is None:
        return None
    shape = to_shape(geometry).simplify(BOUNDARY_TOLERANCE_DEG, preserve_topology=True)
    if shape.is_empty:
        return None
    polygons = getattr(shape, "geoms", [shape])
    return {"type": "MultiPolygon", "coordinates": [
        [[[round(x, 5), round(y, 5)] for x, y in ring.coords]
         for ring in [polygon.exterior, *polygon.interiors]]
        for polygon in polygons if polygon.geom_type == "Polygon"]}


class HamletOut(Schema):
    """A hamlet in the caller's scope."""

    id = fields.Int()
    code = fields.Str()
    name = fields.Str()
    kind = fields.Str()
    commune_code = fields.Function(lambda h: h.commune.code)
    households_total = fields.Int()
    adults_total = fields.Int()
    boundary = fields.Function(lambda h: _boundary(h.boundary), allow_none=True, metadata={
        "description": "GeoJSON MultiPolygon (lon, lat), simplified to about 5 m; null when "
                       "the hamlet has none"})


class HouseholdOut(Schema):
    """A household."""

    id = fields.Str()
    hamlet_id = fields.Int()
    address = fields.Str()
    head_name = fields.Str(allow_none=True)
    members_count = fields.Int(allow_none=True)
    adults_count = fields.Int(allow_none=True)
    phone = fields.Str(allow_none=True)
    location = fields.Function(lambda h: _location(h.location, h.location_accuracy_m))


class ConsentOut(Schema):
    """A resident's consent record."""

    given = fields.Bool(attribute="consent_given")
    purposes = fields.List(fields.Str(), attribute="consent_purposes")
    at = fields.DateTime(attribute="consent_at", allow_none=True)
    withdrawn_at = fields.DateTime(attribute="consent_withdrawn_at", allow_none=True)


_CONSENT = ConsentOut()  # one instance: building a schema per resident was most of a pull's time


class ResidentOut(Schema):
    """A resident; name and phone are null once consent was withdrawn."""

    id = fields.Str()
    household_id = fields.Str()
    full_name = fields.Str(allow_none=True)
    birth_year = fields.Int(allow_none=True)
    sex = fields.Str(allow_none=True)
    phone = fields.Str(allow_none=True)
    consent = fields.Function(lambda r: _CONSENT.dump(r))
    anonymised = fields.Bool()


class ClosedByOut(Schema):
    """The visit that settled a follow-up."""

    visit_id = fields.Str()
    visited_at = fields.DateTime()
    outcome = fields.Str()


class FollowUpOut(Schema):
    """A follow-up due at a household."""

    id = fields.Str()
    household_id = fields.Str()
    visit_id = fields.Str()
    due_on = fields.Date()
    status = fields.Str()
    note = fields.Str()
    promised_at = fields.Method("_promised_at", allow_none=True, metadata={
        "description": "`visited_at` of the visit that promised it (a later reaching visit "
                       "settles it)"})
    closed_at = fields.DateTime(allow_none=True)
    closed_by = fields.Method("_closed_by", allow_none=True, metadata={
        "description": "for a done follow-up, the visit that settled it (`visit_id`, "
                       "`visited_at`, `outcome`), when pull can tell; else null"})

    def _promised_at(self, followup):
        when = getattr(followup, "promised_at", None)
        return when.isoformat() if when else None

    def _closed_by(self, followup):
        closer = getattr(followup, "closed_by", None)
        return ClosedByOut().dump(closer) if closer else None


class ServiceOut(Schema):
    """A catalogue entry."""

    code = fields.Str()
    label = fields.Str()
    unit = fields.Str()
    skill = fields.Str(allow_none=True)
    active = fields.Bool()
    sort_order = fields.Int()
    providers = fields.List(fields.Str())


class ServiceLineOut(Schema):
    """One service line of a stored visit."""

    code = fields.Str(attribute="service_code")
    resident_id = fields.Str(allow_none=True)
    result = fields.Str()
    provider = fields.Str(allow_none=True)
    detail = fields.Str(allow_none=True)


class PhotoRefOut(Schema):
    """A photo of a visit and where its processing stands."""

    id = fields.Str()
    state = fields.Str()


class VisitOut(Schema):
    """A stored visit."""

    id = fields.Str()
    household_id = fields.Str()
    hamlet_id = fields.Int()
    visited_at = fields.DateTime()
    location = fields.Function(lambda v: _location(v.location, v.location_accuracy_m))
    outcome = fields.Str()
    notes = fields.Str()
    follow_up_on = fields.Date(allow_none=True)
    services = fields.List(fields.Nested(ServiceLineOut))
    review_state = fields.Str()
    review_comment = fields.Str(allow_none=True)
    photos = fields.List(fields.Nested(PhotoRefOut))
    revision = fields.Int(metadata={"description": "1 as recorded; +1 for each correction the "
                                                   "member sent (`base_version` on push)"})


class VisitListOut(Schema):
    """Visits of a household."""

    visits = fields.List(fields.Nested(VisitOut))


def _text(value):
    return None if value is None else str(value)


def _flag(value):
    return None if value is None else bool(value)


def _moment(value):
    return None if value is None else value.isoformat()


def household_data(row):
    """``HouseholdOut().dump(row)``, without marshmallow: a first pull dumps thousands of
    households and residents, and the schema's per-field machinery was most of a page's time.
    tests/test_api_sync_pull.py checks that both give the same, key for key."""
    return {"id": _text(row.id), "hamlet_id": row.hamlet_id, "address": _text(row.address),
            "head_name": _text(row.head_name), "members_count": row.members_count,
            "adults_count": row.adults_count, "phone": _text(row.phone),
            "location": _location(row.location, row.location_accuracy_m)}


def resident_data(row):
    """``ResidentOut().dump(row)``, without marshmallow (as ``household_data``)."""
    purposes = row.consent_purposes
    return {"id": _text(row.id), "household_id": _text(row.household_id),
            "full_name": _text(row.full_name), "birth_year": row.birth_year,
            "sex": _text(row.sex), "phone": _text(row.phone),
            "consent": {"given": _flag(row.consent_given),
                        "purposes": None if purposes is None else [str(p) for p in purposes],
                        "at": _moment(row.consent_at),
                        "withdrawn_at": _moment(row.consent_withdrawn_at)},
            "anonymised": _flag(row.anonymised)}


_FAST = {"Household": household_data, "Resident": resident_data}

_BY_MODEL = {
    "Hamlet": HamletOut(), "Household": HouseholdOut(), "Resident": ResidentOut(),
    "FollowUp": FollowUpOut(), "Service": ServiceOut(), "Visit": VisitOut(),
}


class RecordField(fields.Field):
    """Dumps any stored record with the schema of its kind (pull ``data``, conflict ``server``)."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        kind = type(value).__name__
        fast = _FAST.get(kind)
        return fast(value) if fast else _BY_MODEL[kind].dump(value)


class ServerCopyField(RecordField):
    """The server's copy of a record in a conflict answer: ``{"version", "data"}``."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        # A visit's version is its revision (a correction is pushed with it as `base_version`).
        version = getattr(value, "version", None) or getattr(value, "revision", None) or 1
        return {"version": version, "data": super()._serialize(value, attr, obj, **kwargs)}
