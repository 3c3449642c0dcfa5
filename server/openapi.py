"""The OpenAPI document says what the server really answers.

flask-smorest documents its own error payload by default; ``ContractApi`` swaps in ours
(``schemas.errors.ErrorOut``), and ``ContractPlugin`` adds to each operation the error statuses it
can give, the UUID format of path ids and the meaning of opaque parameters. A table here, not
decorators on each view, so one place answers "what can this endpoint return".
"""
from apispec import BasePlugin
from flask_smorest import Api

from schemas.errors import ErrorOut
from server import vocab

ERROR_SCHEMA_NAME = "Error"

# Generic meaning of each error status; operations may say more (OPERATION_ERRORS).
STATUS_TEXT = {
    400: "The body is not valid JSON (`malformed_json`: bad syntax, bad encoding, NaN/Infinity, "
         f"or nested deeper than {vocab.JSON_MAX_DEPTH} levels).",
    401: "No token, or an unknown, expired or revoked one (`unauthorized`).",
    403: "The caller's role or scope does not allow this (`forbidden`).",
    404: "No such record in the caller's scope (`not_found`).",
    409: "Conflicts with what is stored (`conflict`).",
    413: "The body is larger than this endpoint accepts (`payload_too_large`).",
    415: "The body's Content-Type is not one this endpoint accepts (`unsupported_media_type`).",
    422: "Well-formed but invalid; `fields` says which (`validation_error`).",
    429: "Too many failed attempts; try again later (`rate_limited`).",
}

_JSON_BODY = (400, 413, 415, 422)
_FIELD = (401, 403)

# (method, path) -> {status: description or None for STATUS_TEXT}
OPERATION_ERRORS = {
    ("post", "/api/v1/auth/token"): {
        **dict.fromkeys(_JSON_BODY), 401: "Wrong username or password (one answer for both).",
        429: None},
    ("delete", "/api/v1/auth/token"): {401: None},
    ("get", "/api/v1/me"): {401: None},
    ("post", "/api/v1/sync/push"): {
        **dict.fromkeys(_JSON_BODY + _FIELD),
        413: f"More than {vocab.PUSH_MAX_ITEMS} items or {vocab.PUSH_MAX_BYTES // 2**20} MiB; "
             "nothing was stored (split the batch and retry).",
        422: "A broken envelope (no `device_id`, `items` not a list); nothing was stored. "
             "A bad item is not a 422: it is one `rejected` result."},
    ("get", "/api/v1/sync/pull"): {
        **dict.fromkeys(_FIELD),
        422: "`limit` out of range, or a `cursor` this server did not issue."},
    ("get", "/api/v1/visits"): {
        **dict.fromkeys(_FIELD), 404: "Unknown household.",
        422: "`household_id` missing or not a UUID."},
    ("put", "/api/v1/visits/{visit_id}/photos/{photo_id}"): {
        **dict.fromkeys(_FIELD), 404: "Unknown visit (push it first).",
        409: "This photo id is already stored with other bytes.",
        413: f"Larger than {vocab.PHOTO_MAX_BYTES // 2**20} MiB.",
        415: "Not image/jpeg, image/png or image/webp.",
        422: "Not a decodable image, too many pixels, or no `X-Consent: yes`."},
    ("get", "/api/v1/visits/{visit_id}/photos/{photo_id}"): {
        **dict.fromkeys(_FIELD), 404: "Unknown photo, or `photo_pending` while it is processed.",
        422: "`photo_rejected`: processing found the image unusable."},
    ("get", "/api/v1/coverage"): {
        **dict.fromkeys(_FIELD), 404: "Unknown commune or campaign.",
        422: "A bad or missing period, or a bad service code."},
    ("get", "/api/v1/coverage/daily"): {
        **dict.fromkeys(_FIELD), 404: "Unknown commune or campaign.",
        422: "A bad or missing period, or a bad service code."},
    ("get", "/api/v1/province/aggregates"): {
        401: "No `X-API-Key`, or an unknown or revoked key (`unauthorized`).",
        403: "A device token instead of a key, or `province`/`commune` of another province.",
        404: "Unknown `commune`.",
        422: "A bad or missing period (`from` after `to`, over 366 days), or a bad `level`, "
             "`format` or `state`.",
        429: "More pulls with this key than `PROVINCE_API_RATE_LIMIT` allows (`rate_limited`)."},
    ("get", "/api/v1/visits/{visit_id}/photos/{photo_id}/thumb"): {
        **dict.fromkeys(_FIELD), 404: "Unknown photo, or `photo_pending` while it is processed.",
        422: "`photo_rejected`: processing found the image unusable."},
}

QUERY_TEXT = {
    ("/api/v1/sync/pull", "cursor"): "Opaque: send back the `cursor` of the previous page "
                                     "unchanged; omit it to start from the beginning.",
}
# Bounds the schemas enforce with validators apispec cannot read.
QUERY_BOUNDS = {
    ("/api/v1/sync/pull", "limit"): {"minimum": 1, "maximum": vocab.PULL_MAX_LIMIT},
}


def error_response(description):
    """An OpenAPI response object holding the contract's error shape."""
    return {"description": description,
            "content": {"application/json": {"schema": ERROR_SCHEMA_NAME}}}


class ContractPlugin(BasePlugin):
    """apispec plugin: UUID path ids, opaque parameters, every documented error status."""

    def path_helper(self, path=None, operations=None, parameters=None, **kwargs):
        """Path ids of this API (``visit_id``, ``photo_id``) are UUIDs."""
        for param in parameters or ():
            if isinstance(param, dict) and param.get("in") == "path" \
                    and param.get("name", "").endswith("_id"):
                param["schema"] = {"type": "string", "format": "uuid"}

    def operation_helper(self, path=None, operations=None, **kwargs):
        """Add the statuses of ``OPERATION_ERRORS`` and the query parameters' text and bounds."""
        for method, operation in (operations or {}).items():
            responses = operation.setdefault("responses", {})
            errors = dict(OPERATION_ERRORS.get((method, path), {}))
            if any("bearer" in scheme for scheme in operation.get("security", ())):
                errors.setdefault(401, None)  # every endpoint that takes a token
            for status, text in errors.items():
                responses.pop(status, None)
                responses[str(status)] = error_response(text or STATUS_TEXT[status])
            for param in operation.get("parameters", ()):
                if not isinstance(param, dict):
                    continue  # a $ref to a shared parameter
                key = (path, param.get("name"))
                if key in QUERY_TEXT:
                    param["description"] = QUERY_TEXT[key]
                for name, value in QUERY_BOUNDS.get(key, {}).items():
                    param.setdefault("schema", {}).setdefault(name, value)


class ContractApi(Api):
    """flask-smorest's Api documenting our error shape instead of its own."""

    ERROR_SCHEMA = ErrorOut

    def _register_responses(self):
        # Registered by name first so every reference to ErrorOut reads "Error".
        self.spec.components.schema(ERROR_SCHEMA_NAME, schema=ErrorOut)
        super()._register_responses()  # each status, and "default", now in our shape

    def _init_spec(self, *, extra_plugins=None, **options):
        super()._init_spec(extra_plugins=[ContractPlugin(), *(extra_plugins or ())], **options)
