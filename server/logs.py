"""Structured logs: one JSON object per line, each with the request id or the rq job id.

Every request gets an id: the caller's ``X-Request-ID`` when it is sane (an nginx ``$request_id``,
a load balancer's trace id), otherwise a fresh one. It is echoed in the response header, so a
member's screenshot of an error can be matched to the server's lines, and it is on every line the
request logs and on gunicorn's access line (``gunicorn.conf.py`` uses the same formatter).

Nothing personal is logged here: no bodies, no query strings (they can hold names), no
usernames (people type passwords into the username field). SQL errors are logged without their
parameters (``hide_parameters`` in ``server.config``).
"""
import json
import logging
import re
import sys
import uuid
from datetime import datetime, timezone

from flask import has_request_context, request

REQUEST_ID_HEADER = "X-Request-ID"
_ENVIRON_KEY = "cnscd.request_id"
# Ids that upstream proxies and clients commonly send (UUIDs, hex, trace ids): nothing that could
# break a log line or a header, and short enough not to bloat every line.
_SANE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+=-]{7,127}")
_CORE = ("time", "level", "logger", "message")


def request_id():
    """The current request's id (made on first use), or None outside a request."""
    if not has_request_context():
        return None
    rid = request.environ.get(_ENVIRON_KEY)
    if rid is None:
        offered = request.headers.get(REQUEST_ID_HEADER, "")
        rid = offered if _SANE_ID.fullmatch(offered) else uuid.uuid4().hex
        request.environ[_ENVIRON_KEY] = rid
    return rid


def job_id():
    """The id of the rq job this process is running, or None."""
    rq_job = sys.modules.get("rq.job")  # never import rq just to log a line
    if rq_job is None:
        return None
    try:
        from rq import get_current_job

        current = get_current_job()
    except Exception:  # noqa: BLE001 - logging must never fail a job
        return None
    return current.id if current is not None else None


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", "request_id"?, "job_id"?, ...}`` on one line.

    A record's ``fields`` (``log.info("...", extra={"fields": {...}})``) are added as keys of
    their own; the core keys cannot be overwritten by them.
    """

    def format(self, record):
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc)
            .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        rid = getattr(record, "request_id", None) or request_id()
        if rid:
            entry["request_id"] = rid
        jid = job_id()
        if jid:
            entry["job_id"] = jid
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update({k: v for k, v in fields.items() if k not in _CORE})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is now (gunicorn and test runners replace it)."""

    def __init__(self):
        super().__init__()

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


def configure(fmt="json", level="INFO"):
    """Send the root logger's lines to stderr as JSON (or plain text); idempotent."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_cnscd", False):
            root.removeHandler(handler)
    handler = _StderrHandler()
    handler._cnscd = True
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)


def init_app(app):
    """Request ids on every request and response; the client's address behind
    ``TRUSTED_PROXIES``; the JSON log lines unless told otherwise.

    ``LOG_FORMAT`` is ``json`` (the default), ``text``, or ``off`` to leave logging alone; under
    ``TESTING`` the default is ``off`` (the test runner captures logs its own way).
    """
    fmt = app.config.get("LOG_FORMAT") or ("off" if app.testing else "json")
    if fmt not in ("json", "text", "off"):
        raise ValueError(f"LOG_FORMAT must be json, text or off, not {fmt!r}")
    if fmt != "off":
        configure(fmt, app.config.get("LOG_LEVEL") or "INFO")

    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # The client's address (login budgets, logs) and scheme, as the trusted proxies saw them.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)

    @app.after_request
    def _echo_request_id(response):
        response.headers[REQUEST_ID_HEADER] = request_id()
        return response
