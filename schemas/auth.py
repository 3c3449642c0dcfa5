"""Login, token and the current user."""
from marshmallow import Schema, fields

from schemas.fields import Secret, StrictSchema, Text


class TokenIn(StrictSchema):
    """Credentials and the device asking for a token."""

    username = Text("auth.username", required=True)
    password = Secret(required=True)
    device_id = Text("push.device_id", required=True)


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
