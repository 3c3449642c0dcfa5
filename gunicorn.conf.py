"""gunicorn settings (read by default from the repo root; scripts/run.sh names it explicitly).

Requests gunicorn refuses before the app sees them (a request line over ``limit_request_line``,
too many or too large headers, a malformed request line) get the contract's JSON error shape
instead of gunicorn's HTML page, with the same codes the app uses (server/errors.py).
"""
import json

import gunicorn.util

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
