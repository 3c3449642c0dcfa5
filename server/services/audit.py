"""Writing the audit log; callers commit it together with the change it describes."""
from server.extensions import db
from server.models import AuditEntry


def record(actor, action, entity_type, entity_id, details=None, user_id=None):
    """Add an audit entry to the current transaction."""
    db.session.add(AuditEntry(
        actor=actor, actor_user_id=user_id, action=action, entity_type=entity_type,
        entity_id=str(entity_id), details=details or {},
    ))
