"""The opaque pull cursor: positions in the commune and catalogue change sequences.

It also carries a fingerprint of the caller's hamlets: when a member's hamlets change, an old
cursor would skip the new hamlets' history, so the pull starts over instead.
"""
import base64
import hashlib
import json

from sqlalchemy import select

from server.errors import Invalid
from server.extensions import db
from server.models import ChangeCounter
from server.services.changes import CATALOGUE, commune_scope

SEQ_MAX = 2**63 - 1  # change_seq columns are BIGINT
CURSOR_MAX_LENGTH = 512  # issued cursors are about 80 characters


def scope_fingerprint(principal):
    """A short digest of the hamlet ids in scope."""
    ids = ",".join(str(i) for i in sorted(principal.hamlet_ids or ()))
    return hashlib.sha256(ids.encode()).hexdigest()[:12]


def encode(commune_seq, catalogue_seq, fingerprint):
    """The opaque cursor string."""
    raw = json.dumps({"v": 1, "c": commune_seq, "s": catalogue_seq, "h": fingerprint},
                     separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _position(value):
    # JSON gives bool, float (1e400 is inf) and arbitrarily large ints; a change_seq is a BIGINT.
    if type(value) is not int or not 0 <= value <= SEQ_MAX:
        raise ValueError("not a position")
    return value


def decode(cursor, principal):
    """``(commune_seq, catalogue_seq)`` of a cursor; (0, 0) when absent or the scope changed.

    Anything but a cursor this server could have issued is a 422: the positions are integers
    in ``0..2**63-1`` (PostgreSQL's BIGINT), the fingerprint a string.
    """
    if not cursor:
        return 0, 0
    try:
        if len(cursor) > CURSOR_MAX_LENGTH:
            raise ValueError("too long")
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)),
                         parse_constant=_not_json)
        if not isinstance(raw, dict) or type(raw.get("v")) is not int or raw["v"] != 1 \
                or not isinstance(raw.get("h"), str):
            raise ValueError("not a cursor")
        commune_seq, catalogue_seq = _position(raw.get("c")), _position(raw.get("s"))
    except (ValueError, RecursionError):  # binascii.Error and UnicodeDecodeError are ValueErrors
        raise Invalid("Invalid cursor", {"cursor": ["not a cursor this server issued"]}) from None
    if raw["h"] != scope_fingerprint(principal):
        return 0, 0
    return commune_seq, catalogue_seq


def _not_json(name):
    raise ValueError(f"{name} is not JSON")


def high_water_cursor(principal):
    """A cursor at the newest committed change in the caller's commune and the catalogue."""
    values = dict(db.session.execute(select(ChangeCounter.scope, ChangeCounter.value).where(
        ChangeCounter.scope.in_([commune_scope(principal.commune_id), CATALOGUE]))).all())
    return encode(values.get(commune_scope(principal.commune_id), 0), values.get(CATALOGUE, 0),
                  scope_fingerprint(principal))
