"""The audit log of writes, consent withdrawals and exports, and the change counters."""
from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from server.database import Base
from server.models.types import UTCDateTime, utcnow


class AuditEntry(Base):
    """Who did what to which record, and when."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_entity", "entity_type", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(String(60))  # "user:3", "apikey:2", "cli", "system"
    action: Mapped[str] = mapped_column(String(40))
    entity_type: Mapped[str] = mapped_column(String(30))
    entity_id: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict] = mapped_column(JSON, default=dict)


class ChangeCounter(Base):
    """A monotonic counter per scope ("commune:<id>", "catalogue") that orders pull changes.

    Writers hold its row lock until commit, so sequence numbers become visible in order and a
    cursor never skips a change that commits late.
    """

    __tablename__ = "change_counters"

    scope: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)
