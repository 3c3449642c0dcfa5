"""gunicorn settings (read by default from the repo root; scripts/run.sh names it explicitly).

Requests gunicorn refuses before the app sees them (a request line over ``limit_request_line``,
too many or too large headers, a malformed request line) get the contract's JSON error shape
instead of gunicorn's HTML page, with the same codes the app uses (server/errors.py).
"""
import json
import os
import sys

import gunicorn.util
from gunicorn.glogging import Logger

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server.logs import REQUEST_ID_HEADER, JsonFormatter  # noqa: E402 - after the path

# Bounds on what a client may send before the app runs. The longest legitimate request line is a
# pull with its cursor (at most 512 characters); phones and browsers send a couple of dozen
# headers, and the largest is a bearer token or a cookie.
limit_request_line = 4094
limit_request_fields = 50
limit_request_field_size = 8190

# The app's codes for these statuses (server/errors.py; tests/test_errors.py keeps them equal).
CODES = {400: "bad_request", 403: "forbidden", 414: "uri_too_long",
         431: "header_fields_too_large", 500: "internal_error", 501: "not_implemented"}
_MESSAGES = {414: "The request line is too long", 431: "Too many or too large request headers",
             500: "Internal server error"}


def write_json_error(sock, status_int, reason, mesg):
    """gunicorn's ``util.write_error`` answering in the contract's error shape."""
    # gunicorn's text may quote the offending request line; keep it out of the body (no echo of
    # hostile input) and say only what a client can act on.
    message = _MESSAGES.get(status_int, reason)
    body = json.dumps({"error": {"code": CODES.get(status_int, "error"),
                                 "message": message, "fields": {}}}).encode("ascii")
    head = (f"HTTP/1.1 {status_int} {reason}\r\n"
            "Connection: close\r\n"
            "Content-Type: application/json\r\n"
            "Cache-Control: no-store\r\n"
            "X-Content-Type-Options: nosniff\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode("latin-1")
    gunicorn.util.write_nonblock(sock, head + body)


# Workers are forked from the master that read this file, so they inherit the replacement.
gunicorn.util.write_error = write_json_error


# Logs: one JSON object per line (server/logs.py), gunicorn's own lines included, unless
# LOG_FORMAT=text. The access line has the app's request id (its X-Request-ID answer header),
# the path without the query string (a query can hold a name) and never a body.
accesslog = "-"


class JsonLogger(Logger):
    """gunicorn's logger writing JSON lines, with one structured line per request."""

    def setup(self, cfg):
        super().setup(cfg)
        if os.environ.get("LOG_FORMAT", "json") == "json":
            for log in (self.error_log, self.access_log):
                for handler in log.handlers:
                    handler.setFormatter(JsonFormatter())

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        if os.environ.get("LOG_FORMAT", "json") != "json":
            return super().access(resp, req, environ, request_time)
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        request_id = next((value for name, value in resp.headers
                           if name.lower() == REQUEST_ID_HEADER.lower()), None)
        method, path = environ.get("REQUEST_METHOD"), environ.get("PATH_INFO")
        fields = {
            "method": method, "path": path, "status": int(status),
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 1),
            "remote_addr": environ.get("REMOTE_ADDR"),
        }
        try:
            self.access_log.info("%s %s %s", method, path, status,
                                 extra={"fields": fields, "request_id": request_id})
        except Exception:  # noqa: BLE001 - a log line must never fail a request
            self.error("access log line failed")


logger_class = JsonLogger
