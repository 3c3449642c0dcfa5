"""Domain errors and the one handler that turns every error into the contract's JSON shape."""
import logging

from flask import jsonify
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

# The code of each status; gunicorn.conf.py answers 400/414/431 before the app with the same ones.
_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 406: "not_acceptable", 409: "conflict",
    413: "payload_too_large", 414: "uri_too_long", 415: "unsupported_media_type",
    422: "validation_error", 429: "rate_limited", 431: "header_fields_too_large",
    500: "internal_error", 501: "not_implemented", 503: "service_unavailable",
}


class ApiError(Exception):
    """A failure a client can act on; subclasses fix the status and code."""

    status = 400
    code = "bad_request"
    message = "Bad request"

    def __init__(self, message=None, fields=None, status=None, code=None):
        super().__init__(message or self.message)
        self.message = message or self.message
        self.fields = fields or {}
        self.status = status or self.status
        self.code = code or self.code


class Invalid(ApiError):
    status, code, message = 422, "validation_error", "Invalid input"


class Unauthorized(ApiError):
    status, code, message = 401, "unauthorized", "Missing or invalid credentials"


class Forbidden(ApiError):
    status, code, message = 403, "forbidden", "Outside your scope"


class NotFound(ApiError):
    status, code, message = 404, "not_found", "Not found"


class Conflict(ApiError):
    status, code, message = 409, "conflict", "Conflicts with the stored record"


class TooLarge(ApiError):
    status, code, message = 413, "payload_too_large", "Request body too large"


class UnsupportedMediaType(ApiError):
    status, code, message = 415, "unsupported_media_type", "Unsupported content type"


class Unavailable(ApiError):
    status, code, message = 503, "service_unavailable", "A dependency is unavailable"


def error_response(status, code, message, fields=None, headers=None):
    """Build the contract's error response."""
    resp = jsonify({"error": {"code": code, "message": message, "fields": fields or {}}})
    resp.status_code = status
    for key, value in (headers or {}).items():
        resp.headers[key] = value
    return resp


def _flatten_webargs(messages):
    # webargs nests messages by location ({"json": {...}}); clients want field → messages.
    if isinstance(messages, dict) and len(messages) == 1:
        (location, inner), = messages.items()
        if location in ("json", "query", "headers", "form", "files", "view_args"):
            return inner if isinstance(inner, dict) else {"_schema": inner}
    return messages if isinstance(messages, dict) else {"_schema": messages}


def register_error_handlers(app):
    """Route every exception through the single JSON error shape."""
    from server.extensions import db

    @app.errorhandler(ApiError)
    def _api_error(err):
        return error_response(err.status, err.code, err.message, err.fields)

    @app.errorhandler(ValidationError)
    def _validation_error(err):
        fields = err.messages if isinstance(err.messages, dict) else {"_schema": err.messages}
        return error_response(422, "validation_error", "Invalid input", fields)

    @app.errorhandler(HTTPException)
    def _http_error(err):
        status = err.code or 500
        code = _CODES.get(status, "error")
        fields = {}
        data = getattr(err, "data", None) or {}
        if "messages" in data:
            fields = _flatten_webargs(data["messages"])
        message = err.description or code
        if status == 400 and "Invalid JSON body." in str(fields.get("_schema", "")):
            code, message = "malformed_json", "The body is not valid JSON"
        headers = {}
        if status == 405 and err.valid_methods:
            headers["Allow"] = ", ".join(err.valid_methods)
        if status == 429:
            message = "Too many attempts; try again later"
        return error_response(status, code, message, fields, headers)

    @app.errorhandler(Exception)
    def _unhandled(err):
        db.session.rollback()
        from redis.exceptions import ConnectionError as RedisConnectionError
        from sqlalchemy.exc import OperationalError

        if isinstance(err, (RedisConnectionError, OperationalError)):
            log.exception("dependency failure")
            return error_response(503, "service_unavailable", "A dependency is unavailable")
        log.exception("unhandled error")
        return error_response(500, "internal_error", "Internal server error")
