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


def scope_fingerprint(principal):
    """A short digest of the hamlet ids in scope."""
    ids = ",".join(str(i) for i in sorted(principal.hamlet_ids or ()))
    return hashlib.sha256(ids.encode()).hexdigest()[:12]


def encode(commune_seq, catalogue_seq, fingerprint):
    """The opaque cursor string."""
    raw = json.dumps({"v": 1, "c": commune_seq, "s": catalogue_seq, "h": fingerprint},
                     separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(cursor, principal):
    """``(commune_seq, catalogue_seq)`` of a cursor; (0, 0) when absent or the scope changed."""
    if not cursor:
        return 0, 0
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        commune_seq, catalogue_seq = int(raw["c"]), int(raw["s"])
        fingerprint = raw["h"]
        if raw.get("v") != 1 or commune_seq < 0 or catalogue_seq < 0:
            raise ValueError
    except (ValueError, KeyError, TypeError):
        raise Invalid("Invalid cursor", {"cursor": ["not a cursor this server issued"]}) from None
    if fingerprint != scope_fingerprint(principal):
        return 0, 0
    return commune_seq, catalogue_seq


def high_water_cursor(principal):
    """A cursor at the newest committed change in the caller's commune and the catalogue."""
    values = dict(db.session.execute(select(ChangeCounter.scope, ChangeCounter.value).where(
        ChangeCounter.scope.in_([commune_scope(principal.commune_id), CATALOGUE]))).all())
    return encode(values.get(commune_scope(principal.commune_id), 0), values.get(CATALOGUE, 0),
                  scope_fingerprint(principal))
