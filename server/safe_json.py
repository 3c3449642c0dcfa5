"""JSON in and out of the app, safe against hostile input.

Every request body is parsed once, here: ``request.get_json`` goes through ``SafeJSONProvider``
and webargs (flask-smorest's ``@bp.arguments``) reuses that parse through ``ApiParser``. A body
nested deeper than ``vocab.JSON_MAX_DEPTH``, one deep enough to exhaust Python's recursion (a
``RecursionError`` is no ``ValueError`` and would be a 500), the non-JSON constants ``NaN`` and
``Infinity``, and undecodable bytes are all 400 ``malformed_json``. Responses can always be
encoded, even when a lone surrogate from a request (``"\\ud800"``) is echoed in an error.
"""
import json

from flask import Request
from flask.json.provider import DefaultJSONProvider
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

from server.errors import ApiError
from server.vocab import JSON_MAX_DEPTH


class MalformedJSON(ValueError):
    """A body that is not JSON we accept; a ValueError so ``get_json(silent=True)`` yields None."""


class BodyTooDeep(MalformedJSON):
    """A body nested deeper than ``JSON_MAX_DEPTH``."""


def _reject_constant(name):
    raise MalformedJSON(f"{name} is not a JSON value")


def depth_of(value, limit=JSON_MAX_DEPTH):
    """Nesting depth of a parsed JSON value (a scalar is 0), counted without recursion.

    Stops as soon as ``limit`` is exceeded and returns ``limit + 1``.
    """
    deepest = 0
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return limit + 1
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, (dict, list)))
    return deepest


def loads_checked(data, **kwargs):
    """``json.loads`` refusing NaN/Infinity, recursion bombs and bodies deeper than the limit."""
    kwargs.setdefault("parse_constant", _reject_constant)
    try:
        value = json.loads(data, **kwargs)
    except RecursionError:
        raise BodyTooDeep(f"nested deeper than {JSON_MAX_DEPTH} levels") from None
    if depth_of(value) > JSON_MAX_DEPTH:
        raise BodyTooDeep(f"nested deeper than {JSON_MAX_DEPTH} levels")
    return value


class SafeJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider with checked parsing and always-encodable output."""

    ensure_ascii = False  # Vietnamese stays readable in responses

    def loads(self, s, **kwargs):
        """Parse JSON text or bytes (see ``loads_checked``)."""
        return loads_checked(s, **kwargs)

    def dumps(self, obj, **kwargs):
        """Serialise; strings holding lone surrogates fall back to ``\\uXXXX`` escapes."""
        text = super().dumps(obj, **kwargs)
        if not kwargs.get("ensure_ascii", self.ensure_ascii):
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                # Only escaping makes a lone surrogate valid JSON that UTF-8 can carry.
                text = super().dumps(obj, **{**kwargs, "ensure_ascii": True})
        return text


class ApiRequest(Request):
    """A request whose unreadable JSON body is the contract's 400 ``malformed_json``."""

    def on_json_loading_failed(self, e):
        """Raise 400 ``malformed_json`` (or 415 when the body is not declared as JSON)."""
        if e is None:
            raise ApiError("Send application/json", {"Content-Type": ["must be application/json"]},
                           status=415, code="unsupported_media_type")
        if isinstance(e, BodyTooDeep):
            message = f"The body is nested deeper than {JSON_MAX_DEPTH} levels"
        else:
            message = "The body is not valid JSON"
        raise ApiError(message, status=400, code="malformed_json")


class ApiParser(FlaskParser):
    """webargs' Flask parser reading bodies through ``request.get_json`` (one checked parse)."""

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return core.missing
        if not req.get_data(cache=True):
            return core.missing  # an empty body: the schema reports the required fields
        return req.get_json()


def init_app(app):
    """Install the checked JSON provider and request class on ``app``."""
    app.json = SafeJSONProvider(app)
    app.request_class = ApiRequest
