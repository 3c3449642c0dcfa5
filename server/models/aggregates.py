"""Per-hamlet monthly summary rows; commune and province figures are sums over them."""
from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.database import Base
from server.models.types import UTCDateTime, utcnow


class HamletMonth(Base):
    """Visit and reach counts of one hamlet in one local calendar month."""

    __tablename__ = "hamlet_months"

    hamlet_id: Mapped[int] = mapped_column(ForeignKey("hamlets.id"), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)  # first day of the month
    visits: Mapped[int] = mapped_column(Integer, default=0)
    households_visited: Mapped[int] = mapped_column(Integer, default=0)
    households_reached: Mapped[int] = mapped_column(Integer, default=0)
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class HamletServiceMonth(Base):
    """Per-service counts of one hamlet in one month: what the team did vs. what people had."""

    __tablename__ = "hamlet_service_months"

    hamlet_id: Mapped[int] = mapped_column(ForeignKey("hamlets.id"), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    service_code: Mapped[str] = mapped_column(ForeignKey("services.code"), primary_key=True)
    supported: Mapped[int] = mapped_column(Integer, default=0)  # distinct people/households done
    already_had: Mapped[int] = mapped_column(Integer, default=0)
    in_progress: Mapped[int] = mapped_column(Integer, default=0)


class MonthApproval(Base):
    """A commune's approval of one month's figures, with the snapshot the province receives."""

    __tablename__ = "month_approvals"

    commune_id: Mapped[int] = mapped_column(ForeignKey("communes.id"), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    state: Mapped[str] = mapped_column(String(10), default="open")  # open | approved | stale
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    snapshot: Mapped[dict | None] = mapped_column(JSON)
