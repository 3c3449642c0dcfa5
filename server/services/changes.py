"""Change sequence numbers that order what ``pull`` returns.

A writer locks its scope's counter row for the rest of its transaction; later writers queue
behind it, so numbers commit in order and a pull cursor never jumps over a late commit.
"""
from sqlalchemy import select

from server.extensions import db
from server.models import ChangeCounter

CATALOGUE = "catalogue"


def commune_scope(commune_id):
    """The counter scope of one commune's hamlets, households, residents and follow-ups."""
    return f"commune:{commune_id}"


class ChangeClock:
    """Hands out increasing sequence numbers for one scope within the current transaction."""

    def __init__(self, scope):
        self.scope = scope
        row = db.session.execute(
            select(ChangeCounter).where(ChangeCounter.scope == scope).with_for_update()
        ).scalar_one_or_none()
        if row is None:
            row = ChangeCounter(scope=scope, value=0)
            db.session.add(row)
            db.session.flush()
        self._row = row
        self._value = row.value

    def next(self):
        """The next sequence number (gaps are harmless: a rolled-back item may skip one)."""
        self._value += 1
        return self._value

    def save(self):
        """Write the counter back; call before commit."""
        if self._value != self._row.value:
            self._row.value = self._value
