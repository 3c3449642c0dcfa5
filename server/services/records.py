"""Turning validated phone data into stored rows, and fingerprints that tell retries apart."""
import hashlib
import json
from datetime import date, datetime, timezone
from uuid import UUID

from geoalchemy2 import WKTElement

from server import vocab


def _canonical(value):
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    if isinstance(value, (date, UUID)):
        return str(value)
    raise TypeError(f"cannot fingerprint {type(value).__name__}")


def content_hash(data):
    """SHA-256 of a canonical JSON form of validated data (key order and offsets don't matter)."""
    text = json.dumps(data, default=_canonical, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def point(location):
    """A PostGIS/SpatiaLite point from ``{"lat", "lon"}``, or None."""
    if not location:
        return None
    return WKTElement(f"POINT({location['lon']} {location['lat']})", srid=4326)


local_day = vocab.local_day


def household_columns(data):
    """Column values of a household from validated data."""
    location = data.get("location")
    return {
        "hamlet_id": data["hamlet_id"], "address": data.get("address") or "",
        "head_name": data.get("head_name"), "members_count": data.get("members_count"),
        "adults_count": data.get("adults_count"), "phone": data.get("phone"),
        "location": point(location),
        "location_accuracy_m": location.get("accuracy_m") if location else None,
    }


def resident_data_as_stored(data):
    """Validated resident data as it will be stored: no consent means no name or phone."""
    consent = data["consent"]
    stored = dict(data, consent=dict(consent, purposes=sorted(set(consent.get("purposes") or []))))
    if not consent["given"]:
        stored.update(full_name=None, phone=None)
        stored["consent"]["purposes"] = []
    return stored


def resident_columns(data):
    """Column values of a resident from data already passed through ``resident_data_as_stored``."""
    consent = data["consent"]
    return {
        "household_id": data["household_id"], "full_name": data.get("full_name"),
        "birth_year": data.get("birth_year"), "sex": data.get("sex"), "phone": data.get("phone"),
        "consent_given": consent["given"], "consent_purposes": consent["purposes"],
        "consent_at": consent["at"], "anonymised": not consent["given"],
    }
