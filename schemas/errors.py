"""The one error shape of every non-2xx answer: ``{"error": {"code", "message", "fields"}}``.

Used for the OpenAPI document (``server.openapi``); ``server.errors.error_response`` writes it.
"""
from marshmallow import Schema, fields

# Top-level ``error.code`` values, by the status they come with (docs/api.md lists them too).
HTTP_ERROR_CODES = {
    "bad_request": 400, "malformed_json": 400, "unauthorized": 401, "forbidden": 403,
    "not_found": 404, "photo_pending": 404, "method_not_allowed": 405, "not_acceptable": 406,
    "conflict": 409, "payload_too_large": 413, "uri_too_long": 414,
    "unsupported_media_type": 415, "validation_error": 422, "photo_consent_missing": 422,
    "photo_rejected": 422,
    "rate_limited": 429, "header_fields_too_large": 431, "internal_error": 500,
    "not_implemented": 501, "service_unavailable": 503,
}


class ErrorDetail(Schema):
    """What went wrong: a stable code, a message for people, and per-field messages."""

    code = fields.Str(required=True, metadata={
        "description": "Stable machine code (e.g. `validation_error`, `malformed_json`, "
                       "`unauthorized`); see docs/api.md for the full list."})
    message = fields.Str(required=True, metadata={"description": "English, for people and logs."})
    fields = fields.Dict(
        keys=fields.Str(), values=fields.Raw(), required=True,
        metadata={"description": "Field (dotted path, or `_schema` for the whole body) → list of "
                                 "messages; `{}` when the error concerns no field."})


class ErrorOut(Schema):
    """Every error response."""

    error = fields.Nested(ErrorDetail, required=True)
