"""GPS positions as the phones send them."""
from marshmallow import Schema, fields, validate


class LocationIn(Schema):
    """A WGS84 position with the phone's accuracy estimate."""

    lat = fields.Float(required=True, validate=validate.Range(min=-90, max=90))
    lon = fields.Float(required=True, validate=validate.Range(min=-180, max=180))
    accuracy_m = fields.Float(load_default=None, allow_none=True,
                              validate=validate.Range(min=0, max=100_000))
