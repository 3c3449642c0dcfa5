"""Cookie sessions and CSRF for the office console's pages.

The API authenticates with bearer tokens and API keys, never with the cookie, so it needs no CSRF
token and is exempt by path (``/api/``); every other unsafe request (any form of any page
blueprint, now and later) must carry one. The signed-in user resolves into the same
``Principal`` as the API (``server.auth.session_principal``), so scope has one mechanism.
"""
import functools
from urllib.parse import urlsplit

from flask import current_app, g, redirect, request, url_for
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import select

from server.auth import session_principal, start_session
from server.errors import Forbidden
from server.extensions import db
from server.models import User
from server.services import accounts, audit
from server.vocab import Role

csrf = CSRFProtect()
OFFICE_ROLES = (Role.COMMUNE_OFFICER.value, Role.TEAM_LEAD.value)
SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")
_ENVIRON_KEY = "cnscd.office_principal"


def init_app(app):
    """CSRF on every unsafe non-API request (``WTF_CSRF_CHECK_DEFAULT`` is off: this decides)."""
    csrf.init_app(app)

    @app.before_request
    def _csrf_on_forms():
        if request.method in SAFE_METHODS or request.routing_exception is not None:
            return  # an unknown path or method answers 404/405 as before
        if request.path.startswith("/api/") or not current_app.config.get("WTF_CSRF_ENABLED", True):
            return
        csrf.protect()


class NotSignedIn(Exception):
    """No session: pages redirect to the sign-in page."""


def authenticate(username, password):
    """The active user with these credentials, or None (the API's check, equally slow)."""
    # A username no account can have (NUL, control characters) is unknown without asking the
    # database: PostgreSQL refuses NUL in text, which would be a 500.
    known = isinstance(username, str) and username.isprintable()
    user = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none() \
        if known else None
    # accounts._password_ok verifies against a dummy hash for unknown users (no timing oracle).
    if not accounts._password_ok(user, password) or not user.active:
        return None
    return user


def forget_csrf_token():
    """Drop the request's cached CSRF token: the session holding its secret was just reset."""
    g.pop("csrf_token", None)


def sign_in(user, console="office"):
    """Start the browser session of a console's user and audit-log it; commits."""
    start_session(user)
    forget_csrf_token()
    audit.record(f"user:{user.id}", "login", "session", console, user_id=user.id)
    db.session.commit()


def current_office_principal(optional=False):
    """The signed-in office user's Principal (cached on the request)."""
    principal = request.environ.get(_ENVIRON_KEY)
    if principal is None:
        principal = session_principal()
        if principal is None:
            if optional:
                return None
            raise NotSignedIn()
        request.environ[_ENVIRON_KEY] = principal
    return principal


def office_view(*roles):
    """Pages for office roles (``roles`` narrows them); sign-in page when anonymous, else 403."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            principal = current_office_principal()
            if principal.role not in (roles or OFFICE_ROLES):
                raise Forbidden("Your role may not use this page")
            return view(principal, *args, **kwargs)

        return wrapper

    return decorator


def login_redirect(login_endpoint="office.login"):
    """To the sign-in page, coming back here afterwards when this was a page view."""
    target = request.full_path if request.method == "GET" else None
    return redirect(url_for(login_endpoint, next=target) if target else url_for(login_endpoint))


def safe_next(target, prefix="/office/", fallback="office.overview"):
    """``target`` if it is a path of the console under ``prefix``; its first page otherwise."""
    parts = urlsplit(target or "")
    if not parts.scheme and not parts.netloc and parts.path.startswith(prefix) \
            and "\\" not in target:
        return target
    return url_for(fallback)
