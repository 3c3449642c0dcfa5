"""The service catalogue: data, not code, so a province can relabel or retire a service."""
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.database import Base
from server.models.types import UTCDateTime, utcnow


class Service(Base):
    """One service the teams give (VNEID, CKS, …); ``unit`` is person or household."""

    __tablename__ = "services"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    label: Mapped[str] = mapped_column(String(255))
    unit: Mapped[str] = mapped_column(String(10), default="person")
    skill: Mapped[str | None] = mapped_column(String(8))
    providers: Mapped[list] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    change_seq: Mapped[int] = mapped_column(BigInteger, default=0, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When it was retired: visits recorded before that (a phone offline since) still carry it.
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
