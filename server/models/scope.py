"""Records that left a hamlet: pull tells that hamlet's phones to drop their copies."""
import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from server.database import Base
from server.models.types import UTCDateTime, utcnow

EXIT_KINDS = ("household", "resident", "followup")


class ScopeExit(Base):
    """A household, resident or follow-up left ``hamlet_id`` (moved, merged or erased).

    ``change_seq`` comes from the commune's change counter, so exits page with the records.
    No foreign key on ``record_id``: the record may be new in the same push, or gone.
    """

    __tablename__ = "scope_exits"
    __table_args__ = (
        Index("ix_scope_exits_hamlet_seq", "hamlet_id", "change_seq"),
        Index("ix_scope_exits_record", "record_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))
    record_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    hamlet_id: Mapped[int] = mapped_column(ForeignKey("hamlets.id"))
    change_seq: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
