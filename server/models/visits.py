"""Visits (append-only facts), their service lines, and the follow-ups they create."""
import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Float, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.database import Base
from server.models.types import Point, UTCDateTime, utcnow
from server.vocab import OUTCOMES, REACHED_OUTCOMES, RESULTS, REVIEW_STATES  # noqa: F401


class Visit(Base):
    """A household visit; ``content_sha256`` tells a retry from a reused id."""

    __tablename__ = "visits"
    __table_args__ = (
        Index("ix_visits_hamlet_day", "hamlet_id", "visited_on"),
        # The office console's list pages newest first (keyset on visited_at, id), commune-wide,
        # per hamlet and per review state; reviews are pulled by the commune's change counter.
        Index("ix_visits_time", "visited_at", "id"),
        Index("ix_visits_hamlet_time", "hamlet_id", "visited_at", "id"),
        Index("ix_visits_review_time", "review_state", "visited_at"),
        Index("ix_visits_hamlet_seq", "hamlet_id", "change_seq"),
        # A coverage drain reads a household's visits from a day on, not its whole history.
        Index("ix_visits_household_day", "household_id", "visited_on"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    household_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("households.id"))
    hamlet_id: Mapped[int] = mapped_column(ForeignKey("hamlets.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    device_id: Mapped[str] = mapped_column(String(120), default="")
    visited_at: Mapped[datetime] = mapped_column(UTCDateTime)
    visited_on: Mapped[date] = mapped_column(Date)  # local (UTC+7) calendar day
    location = mapped_column(Point(), nullable=True)
    location_accuracy_m: Mapped[float | None] = mapped_column(Float)
    outcome: Mapped[str] = mapped_column(String(12))
    notes: Mapped[str] = mapped_column(Text, default="")
    follow_up_on: Mapped[date | None] = mapped_column(Date)
    content_sha256: Mapped[str] = mapped_column(String(64))
    review_state: Mapped[str] = mapped_column(String(12), default="received")
    revision: Mapped[int] = mapped_column(Integer, default=1)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The office's review (server.services.review): the member reads state and comment later.
    review_comment: Mapped[str | None] = mapped_column(Text)
    reviewed_by_id: Mapped[int | None] = mapped_column(Integer)  # users.id; no FK (see 0004)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    change_seq: Mapped[int] = mapped_column(BigInteger, default=0)  # set by review decisions

    services = relationship("VisitService", back_populates="visit", order_by="VisitService.id")
    photos = relationship("Photo", back_populates="visit", order_by="Photo.created_at")


class VisitService(Base):
    """One (service, resident) line of a visit; resident is null for household services."""

    __tablename__ = "visit_services"
    # By resident: the coverage drain reads a resident's lines (migration 0010).
    __table_args__ = (Index("ix_visit_services_code_resident", "service_code", "resident_id"),
                      Index("ix_visit_services_resident_id", "resident_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("visits.id", ondelete="CASCADE"), index=True
    )
    service_code: Mapped[str] = mapped_column(ForeignKey("services.code"))
    resident_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("residents.id"))
    result: Mapped[str] = mapped_column(String(12))
    provider: Mapped[str | None] = mapped_column(String(40))
    detail: Mapped[str | None] = mapped_column(String(255))

    visit = relationship("Visit", back_populates="services")


class FollowUp(Base):
    """A return visit a member promised; closed by a later completed visit to the household."""

    __tablename__ = "followups"
    __table_args__ = (
        Index("ix_followups_hamlet_seq", "hamlet_id", "change_seq"),
        Index("ix_followups_hamlet_due", "hamlet_id", "status", "due_on"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    visit_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("visits.id"), unique=True)
    household_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("households.id"), index=True)
    hamlet_id: Mapped[int] = mapped_column(ForeignKey("hamlets.id"))
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(8), default="open")  # open | done
    note: Mapped[str] = mapped_column(String(255), default="")
    change_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    visit = relationship("Visit")  # also orders the INSERTs: the visit row first
