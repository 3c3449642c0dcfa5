"""The admin console's first page: how much there is, and what admins changed lately."""
from sqlalchemy import func, select

from server.extensions import db
from server.models import ApiKey, AuditEntry, Commune, Hamlet, Province, Service, Team, User

# The audit actions the admin console writes (the log also holds phones' and offices' writes).
ADMIN_ACTIONS = (
    "hamlet.create", "hamlet.update", "hamlet.close", "hamlet.boundary", "hamlet.boundary.clear",
    "team.create", "team.rename", "team.hamlets",
    "user.create", "user.password", "user.deactivate", "user.reactivate",
    "service.create", "service.update", "service.retire", "service.restore",
    "target.create", "target.update", "campaign.create", "campaign.update",
    "apikey.create", "apikey.revoke",
)


def _count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def counts():
    """The number of units, teams, users, services and keys in force."""
    return {
        "provinces": _count(Province, Province.valid_to.is_(None)),
        "communes": _count(Commune, Commune.valid_to.is_(None)),
        "hamlets": _count(Hamlet, Hamlet.valid_to.is_(None)),
        "hamlets_drawn": _count(Hamlet, Hamlet.valid_to.is_(None), Hamlet.boundary.isnot(None)),
        "teams": _count(Team),
        "users": _count(User, User.active),
        "services": _count(Service, Service.active),
        "api_keys": _count(ApiKey, ApiKey.revoked_at.is_(None)),
    }


def recent_changes(limit=20):
    """``[(entry, user or None)]``: the latest admin actions, newest first."""
    return list(db.session.execute(
        select(AuditEntry, User).outerjoin(User, User.id == AuditEntry.actor_user_id)
        .where(AuditEntry.action.in_(ADMIN_ACTIONS))
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)).tuples())
