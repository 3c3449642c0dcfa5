"""Users, passwords, device tokens and province API keys."""
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import select

from server.auth import hash_secret, principal_for
from server.errors import Invalid, Unauthorized
from server.extensions import db
from server.models import ROLES, Commune, DeviceToken, Province, Team, User
from server.models.types import utcnow
from server.services import api_keys, audit


def _hasher():
    """The app's Argon2id hasher and a dummy hash made with the same parameters."""
    cached = current_app.extensions.get("argon2")
    if cached is None:
        hasher = PasswordHasher(time_cost=current_app.config["ARGON2_TIME_COST"],
                                memory_cost=current_app.config["ARGON2_MEMORY_KIB"])
        # Verifying against this when the user is unknown keeps both failure paths equally slow.
        cached = current_app.extensions["argon2"] = (hasher, hasher.hash("not-a-real-password"))
    return cached


def hash_password(password):
    """Argon2id hash of a password."""
    return _hasher()[0].hash(password)


def _password_ok(user, password):
    hasher, dummy = _hasher()
    try:
        return hasher.verify(user.password_hash if user else dummy, password) and user is not None
    except (VerificationError, InvalidHashError):
        return False


def issue_token(username, password, device_id):
    """Check credentials and return ``(token, row, principal)``; 401 with one message on failure."""
    user = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if not _password_ok(user, password) or not user.active:
        raise Unauthorized("Wrong username or password")
    if _hasher()[0].check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    token = secrets.token_urlsafe(32)
    row = DeviceToken(
        user_id=user.id, token_hash=hash_secret(token), device_id=device_id,
        expires_at=utcnow() + timedelta(days=current_app.config["TOKEN_TTL_DAYS"]),
    )
    db.session.add(row)
    audit.record(f"user:{user.id}", "login", "device_token", device_id, user_id=user.id)
    db.session.commit()
    return token, row, principal_for(user, token_id=row.id)


def revoke_token(token_id):
    """Revoke one device token."""
    row = db.session.get(DeviceToken, token_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        db.session.commit()


def create_user(username, password, role, commune_code=None, team_id=None, display_name=None,
                province_code=None, actor="cli", actor_user_id=None):
    """Create a user after checking role and units are consistent; ``actor`` is audit-logged."""
    errors = {}
    if not 1 <= len(username or "") <= 80 or not username.isprintable() or " " in username:
        errors["username"] = ["must be 1 to 80 printable characters without spaces"]
    if display_name is not None and len(display_name) > 160:
        errors["display_name"] = ["must be at most 160 characters"]
    if role not in ROLES:
        errors["role"] = [f"must be one of {', '.join(ROLES)}"]
    if len(password or "") < 8:
        errors["password"] = ["must be at least 8 characters"]
    if db.session.execute(select(User.id).where(User.username == username)).first():
        errors["username"] = ["already taken"]
    commune = team = province = None
    if commune_code:
        commune = db.session.execute(
            select(Commune).where(Commune.code == commune_code, Commune.valid_to.is_(None))
        ).scalar_one_or_none()
        if commune is None:
            errors["commune"] = ["unknown commune code"]
    if team_id is not None:
        team = db.session.get(Team, team_id)
        if team is None:
            errors["team"] = ["unknown team"]
        elif commune is not None and team.commune_id != commune.id:
            errors["team"] = ["team belongs to another commune"]
        else:
            commune = team.commune
    if province_code:
        province = db.session.execute(  # a code may return on a new unit: the one in force
            select(Province).where(Province.code == province_code, Province.valid_to.is_(None))
        ).scalar_one_or_none()
        if province is None:
            errors["province"] = ["unknown province code"]
    if role in ("member", "team_lead") and team is None:
        errors.setdefault("team", ["required for this role"])
    if role == "commune_officer" and commune is None:
        errors.setdefault("commune", ["required for this role"])
    if role == "province_analyst" and province is None and commune is None:
        errors.setdefault("province", ["required for this role"])
    if errors:
        raise Invalid("Cannot create user", errors)
    if province is None and commune is not None:
        province = commune.province
    user = User(
        username=username, display_name=display_name or username,
        password_hash=hash_password(password), role=role,
        province_id=province.id if province else None,
        commune_id=commune.id if commune else None, team_id=team.id if team else None,
    )
    db.session.add(user)
    db.session.flush()
    audit.record(actor, "user.create", "user", user.id, {"role": role, "username": username},
                 user_id=actor_user_id)
    db.session.commit()
    return user


def create_api_key(province_code, label=""):
    """Create a province API key; returns the plain key (``api_keys.create_key`` does it)."""
    return api_keys.create_key(province_code, label)[1]
