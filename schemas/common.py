"""Shapes shared by every endpoint."""
from marshmallow import Schema, fields


class ErrorBody(Schema):
    """The error object."""

    code = fields.Str(required=True)
    message = fields.Str(required=True)
    fields = fields.Dict(keys=fields.Str(), values=fields.Raw())


class ErrorOut(Schema):
    """Every error response: ``{"error": {...}}``."""

    error = fields.Nested(ErrorBody, required=True)
