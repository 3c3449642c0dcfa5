"""Request authentication and the one role/scope mechanism every view uses.

A view declares who may call it with ``@require(...)``; the decorator resolves the caller into a
``Principal`` whose ``hamlet_ids`` bound everything services read or write on their behalf.
"""
import functools
import hashlib
from dataclasses import dataclass
from typing import FrozenSet, Optional

from flask import request, session
from sqlalchemy import select

from server.errors import Forbidden, Unauthorized
from server.extensions import db
from server.models import ROLES, DeviceToken, Hamlet, User, team_hamlets
from server.models.types import utcnow
from server.vocab import FIELD_ROLES  # noqa: F401 - the roles that may see personal data

ALL_ROLES = ROLES


@dataclass(frozen=True)
class Principal:
    """The authenticated caller and the units they may touch."""

    user: Optional[object]  # server.models.User
    role: str
    province_id: Optional[int]
    commune_id: Optional[int]
    hamlet_ids: Optional[FrozenSet[int]]  # None: every hamlet of the province (or all, for admin)
    token_id: Optional[int] = None
    api_key_id: Optional[int] = None

    @property
    def actor(self):
        """A short label for the audit log."""
        return f"user:{self.user.id}" if self.user else f"apikey:{self.api_key_id}"

    def can_see_hamlet(self, hamlet_id):
        """True when ``hamlet_id`` is inside this caller's scope."""
        return self.hamlet_ids is None or hamlet_id in self.hamlet_ids

    def hamlet_filter(self, column):
        """A SQL condition restricting ``column`` (a hamlet id column) to the scope."""
        if self.hamlet_ids is None:
            return column.isnot(None)
        return column.in_(sorted(self.hamlet_ids))


def hash_secret(secret):
    """SHA-256 hex of a high-entropy token or key (safe: these are not passwords)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def scope_hamlet_ids(user):
    """The hamlets a user may see: team hamlets for field roles, the commune for officers."""
    if user.role in ("member", "team_lead"):
        if user.team_id is None:
            return frozenset()
        rows = db.session.execute(
            select(team_hamlets.c.hamlet_id).where(team_hamlets.c.team_id == user.team_id)
        )
        return frozenset(r[0] for r in rows)
    if user.role == "commune_officer":
        rows = db.session.execute(select(Hamlet.id).where(Hamlet.commune_id == user.commune_id))
        return frozenset(r[0] for r in rows)
    return None


def principal_for(user, token_id=None):
    """Build the Principal of a user."""
    province_id = user.province_id or (user.commune.province_id if user.commune else None)
    return Principal(
        user=user, role=user.role, province_id=province_id, commune_id=user.commune_id,
        hamlet_ids=scope_hamlet_ids(user), token_id=token_id,
    )


def _bearer_principal():
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        return None
    token = header[7:].strip()
    row = db.session.execute(
        select(DeviceToken).where(DeviceToken.token_hash == hash_secret(token))
    ).scalar_one_or_none()
    now = utcnow()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        raise Unauthorized("Token is invalid, expired or revoked")
    if not row.user.active:
        raise Unauthorized("Account disabled")
    return principal_for(row.user, token_id=row.id)


def _api_key_principal():
    key = request.headers.get("X-API-Key")
    if not key:
        return None
    from server.services import api_keys  # it imports this module (hash_secret)

    row = api_keys.verify(key)  # 401 unless live; records last_used_at
    return Principal(
        user=None, role="province_key", province_id=row.province_id, commune_id=None,
        hamlet_ids=None, api_key_id=row.id,
    )


_ENVIRON_KEY = "cnscd.principal"


def current_principal():
    """The caller of the current request (cached on the request); 401 when anonymous."""
    # Cached per request, not on ``g``: an app context can outlive a request (tests, jobs).
    principal = request.environ.get(_ENVIRON_KEY)
    if principal is None:
        principal = _bearer_principal() or _api_key_principal()
        if principal is None:
            raise Unauthorized()
        request.environ[_ENVIRON_KEY] = principal
    return principal


def require(*roles):
    """Allow the view to callers with one of ``roles``; 401 when anonymous, 403 otherwise."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            principal = current_principal()
            if roles and principal.role not in roles:
                raise Forbidden("Your role may not use this endpoint")
            return view(*args, **kwargs)

        wrapper._required_roles = roles
        return wrapper

    return decorator


# Cookie sessions (the office console's pages; never the JSON API, which is CSRF-exempt) ------

SESSION_USER = "uid"
SESSION_STAMP = "stamp"


def password_stamp(user):
    """A short fingerprint of the password hash: a password change ends every session."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def start_session(user):
    """Sign ``user`` in on this browser (a fresh session: no fixation)."""
    session.clear()
    session[SESSION_USER] = user.id
    session[SESSION_STAMP] = password_stamp(user)


def session_principal():
    """The Principal of the signed-in browser, or None.

    Checked on every request: a deactivated user, or one whose password changed, is signed out
    at once, and the scope is recomputed from the user's current role and units.
    """
    user_id = session.get(SESSION_USER)
    if user_id is None:
        return None
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or not user.active or session.get(SESSION_STAMP) != password_stamp(user):
        session.clear()
        return None
    return principal_for(user)
