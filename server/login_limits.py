"""One failed-login budget for the API's token login and the office console's sign-in.

Both sign-in routes count against the same two buckets: per username and address
(``LOGIN_RATE_LIMIT``) and per address (``LOGIN_RATE_LIMIT_PER_ADDRESS``), so an attacker gains
nothing by alternating between them. The buckets live in the limiter's storage, Redis when
``REDIS_URL`` is set, so every gunicorn worker and every app server shares them: the budget does
not grow with the number of processes.

Only failures use up the budget, and concurrent attempts cannot slip past it: an attempt is
counted (atomically) *before* the password is checked, and given back once the answer is known
not to be a failed guess (a success, a refused role, a form error, a 429). So at any moment the
count is the failures plus the attempts still in flight, and a burst of parallel guesses is cut
at the limit exactly, however many workers and threads serve it.
"""
import logging

from flask import current_app, request
from flask_limiter.util import get_remote_address

from server.extensions import limiter

log = logging.getLogger(__name__)
SCOPE_USERNAME = "login:username"
SCOPE_ADDRESS = "login:address"
_FAILED = "cnscd.login_failed"


def _username():
    if request.mimetype == "application/json":
        body = request.get_json(silent=True)
        name = body.get("username") if isinstance(body, dict) else None
    else:
        name = request.form.get("username")
    return str(name or "")[:80]


def _username_key():
    return f"{get_remote_address()}|{_username()}"


def limited(view):
    """Count ``view``'s POSTs against the shared login budget (outermost decorator)."""
    view = limiter.shared_limit(lambda: current_app.config["LOGIN_RATE_LIMIT_PER_ADDRESS"],
                                scope=SCOPE_ADDRESS, methods=["POST"])(view)
    return limiter.shared_limit(lambda: current_app.config["LOGIN_RATE_LIMIT"],
                                scope=SCOPE_USERNAME, key_func=_username_key,
                                methods=["POST"])(view)


def failed():
    """Mark this attempt as a failed guess: it stays counted (call before answering)."""
    request.environ[_FAILED] = True
    log.info("login failed", extra={"fields": {"event": "login_failed",
                                               "route": request.endpoint}})


def _settle(response):
    """Give back the attempts of a login request that was not a failed guess."""
    if request.method != "POST" or request.environ.get(_FAILED):
        return response
    mine = [lim for lim in limiter.current_limits
            if lim.request_args and lim.request_args[-1] in (SCOPE_USERNAME, SCOPE_ADDRESS)]
    if not mine:
        return response
    if response.status_code == 429:
        log.warning("login rate limited", extra={"fields": {"event": "login_rate_limited",
                                                            "route": request.endpoint}})
    storage = limiter.limiter.storage
    for lim in mine:
        try:
            if storage.get(lim.key) > 0:  # the window may have ended meanwhile: nothing to return
                storage.incr(lim.key, lim.limit.get_expiry(), amount=-1)
        except Exception:  # noqa: BLE001 - the storage went away: the attempt stays counted
            log.warning("could not give back a login attempt", exc_info=True)
    return response


def init_app(app):
    """Settle each login request's attempts once its answer is known."""
    app.after_request(_settle)
