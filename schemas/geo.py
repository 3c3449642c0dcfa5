"""GPS positions as the phones send them."""
from schemas.fields import Float, StrictSchema
from server import vocab


class LocationIn(StrictSchema):
    """A WGS84 position with the phone's accuracy estimate."""

    lat = Float(bounds=vocab.NUMBERS["location.lat"], required=True)
    lon = Float(bounds=vocab.NUMBERS["location.lon"], required=True)
    accuracy_m = Float(bounds=vocab.NUMBERS["location.accuracy_m"], load_default=None,
                       allow_none=True)
