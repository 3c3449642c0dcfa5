"""Column types shared by the models."""
from datetime import datetime, timezone

from geoalchemy2 import Geometry
from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """Timezone-aware datetimes stored as UTC on every engine (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def utcnow():
    """The current time, timezone-aware, in UTC."""
    return datetime.now(timezone.utc)


def Point():
    """A WGS84 point column type with a spatial index."""
    return Geometry("POINT", srid=4326, spatial_index=True)


def MultiPolygon():
    """A WGS84 multipolygon column type with a spatial index."""
    return Geometry("MULTIPOLYGON", srid=4326, spatial_index=True)
