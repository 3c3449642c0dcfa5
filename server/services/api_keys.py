"""Province API keys: create (the plain key is shown once), verify, revoke, list.

Only the key's SHA-256 is stored (``server.auth.hash_secret``: keys are 256-bit random, so a
fast hash is safe) and its first characters (``prefix``) so people can tell keys apart. Every
create and revoke is audit-logged; every use records ``last_used_at``.
"""
import secrets

from sqlalchemy import select

from server.auth import hash_secret
from server.errors import Invalid, NotFound, Unauthorized
from server.extensions import db
from server.models import ApiKey, Province
from server.models.types import utcnow
from server.services import audit
from server.vocab import INT32_MAX

KEY_PREFIX = "cnscd_"
LABEL_MAX = 120


def _province(province):
    if isinstance(province, Province):
        return province
    found = db.session.scalar(select(Province).where(Province.code == str(province or ""),
                                                     Province.valid_to.is_(None)))
    if found is None:
        raise Invalid("Unknown province", {"province": ["unknown province code"]})
    return found


def _actor(actor):
    """``(label, user id)`` of whoever acts: a Principal, a label string, or the CLI."""
    if actor is None:
        return "cli", None
    if isinstance(actor, str):
        return actor, None
    user = getattr(actor, "user", None)
    return actor.actor, (user.id if user is not None else None)


def create_key(province, label="", actor=None):
    """Create a key for ``province`` (a Province or its code); returns ``(ApiKey, plain key)``.

    The plain key exists only in this return value: show it once, it cannot be read back."""
    province = _province(province)
    label = (label or "").strip()
    if len(label) > LABEL_MAX:
        raise Invalid("Label too long", {"label": [f"at most {LABEL_MAX} characters"]})
    plain = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(province_id=province.id, key_hash=hash_secret(plain),
                 prefix=plain[:12], label=label)
    db.session.add(key)
    db.session.flush()
    name, user_id = _actor(actor)
    audit.record(name, "apikey.create", "api_key", key.id,
                 {"province": province.code, "label": label, "prefix": key.prefix},
                 user_id=user_id)
    db.session.commit()
    return key, plain


def revoke_key(key, actor=None):
    """Revoke ``key`` (an ApiKey or its id) at once; revoking twice changes nothing."""
    if not isinstance(key, ApiKey):
        found = db.session.get(ApiKey, int(key)) \
            if str(key).isdigit() and int(key) <= INT32_MAX else None
        if found is None:
            raise NotFound("Unknown API key")
        key = found
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        name, user_id = _actor(actor)
        audit.record(name, "apikey.revoke", "api_key", key.id,
                     {"province_id": key.province_id, "prefix": key.prefix}, user_id=user_id)
        db.session.commit()
    return key


def list_keys(province=None):
    """Every key (of ``province``, a Province or its code, when given), newest first."""
    query = select(ApiKey).order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
    if province is not None:
        query = query.where(ApiKey.province_id == _province(province).id)
    return list(db.session.scalars(query))


def verify(plain):
    """The live key whose plain text is ``plain``; records its use. 401 if unknown or revoked."""
    key = db.session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_secret(plain or "")))
    if key is None or key.revoked_at is not None:
        raise Unauthorized("API key is invalid or revoked")
    key.last_used_at = utcnow()
    db.session.commit()
    return key
