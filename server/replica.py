"""Reads that may come from a PostgreSQL streaming replica (``DATABASE_REPLICA_URL``).

Views that only show figures, and may show them a moment old (the coverage API, the province
pull, the office and province dashboards), opt in with ``@reads_from_replica``. Inside such a
view the session sends plain SELECTs to the replica; INSERT/UPDATE/DELETE, every flush and
``SELECT ... FOR UPDATE`` still go to the primary, so an audit entry or a key's last use written
by such a view lands where it must. Sign-in (the decorators outside the view) reads the primary,
so a token issued a moment ago is always found. Without the setting there is no replica engine
and the session behaves exactly as Flask-SQLAlchemy's.

Caveat (read-your-writes): a view that opts in must not read back, in the same request, what it
has just written; the replica may not have it yet.
"""
import functools
from contextlib import contextmanager

from flask_sqlalchemy.session import Session

REPLICA_BIND = "replica"  # the SQLALCHEMY_BINDS key ``load_config`` sets
_OPTED_IN = "reads_from_replica"  # a flag in ``Session.info`` while an opted-in view runs


class RoutingSession(Session):
    """Flask-SQLAlchemy's session that sends an opted-in view's plain SELECTs to the replica."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if bind is None and self.info.get(_OPTED_IN) and not self._flushing \
                and _plain_select(clause):
            replica = self._db.engines.get(REPLICA_BIND)
            if replica is not None:
                return replica
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


def _plain_select(clause):
    # SELECT, UNION ... (SelectBase); row locks must be taken on the primary.
    return getattr(clause, "is_select", False) and getattr(clause, "_for_update_arg", None) is None


@contextmanager
def replica_reads():
    """Plain SELECTs of ``db.session`` go to the replica (when there is one) inside the block."""
    from server.extensions import db  # server.database imports this module

    info = db.session.info
    before = info.get(_OPTED_IN, False)
    info[_OPTED_IN] = True
    try:
        yield
    finally:
        info[_OPTED_IN] = before


def reads_from_replica(view):
    """Let a read-only view read from the replica; put it next to ``def``, under the auth check."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        with replica_reads():
            return view(*args, **kwargs)

    return wrapper
