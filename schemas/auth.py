"""Login, token and the current user."""
from marshmallow import Schema, fields, validate


class TokenIn(Schema):
    """Credentials and the device asking for a token."""

    username = fields.Str(required=True, validate=validate.Length(min=1, max=80))
    password = fields.Str(required=True, validate=validate.Length(min=1, max=256))
    device_id = fields.Str(required=True, validate=validate.Length(min=1, max=120))


class UserOut(Schema):
    """The caller as the phone needs to know them."""

    id = fields.Int()
    username = fields.Str()
    display_name = fields.Str()
    role = fields.Str()
    province_code = fields.Str(allow_none=True)
    commune_code = fields.Str(allow_none=True)
    team_id = fields.Int(allow_none=True)
    hamlet_ids = fields.List(fields.Int())


class TokenOut(Schema):
    """A freshly issued device token."""

    token = fields.Str()
    expires_at = fields.DateTime()
    user = fields.Nested(UserOut)
