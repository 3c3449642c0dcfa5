"""Visit photos: what the upload answers (the request body is the raw image, not JSON)."""
from marshmallow import Schema, fields


class PhotoOut(Schema):
    """A stored photo and where its processing stands (``pending``, ``ready`` or ``rejected``)."""

    id = fields.UUID(required=True)
    visit_id = fields.UUID(required=True)
    state = fields.Str(required=True)
    sha256 = fields.Str(required=True)
    width = fields.Int(allow_none=True)
    height = fields.Int(allow_none=True)


PHOTO_BODY = {
    "required": True,
    "description": "The image bytes (JPEG, PNG or WebP, at most 10 MiB).",
    "content": {
        mimetype: {"schema": {"type": "string", "format": "binary"}}
        for mimetype in ("image/jpeg", "image/png", "image/webp")
    },
}

CONSENT_HEADER = {
    "in": "header", "name": "X-Consent", "required": True,
    "description": "`yes`: the resident agreed to be photographed.",
    "schema": {"type": "string", "enum": ["yes"]},
}

JPEG_RESPONSE = {
    "description": "The processed image (JPEG, no EXIF).",
    "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
}
