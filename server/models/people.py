"""Households and residents, created on phones (client UUIDs) and edited with versions."""
import uuid
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.database import Base
from server.models.types import Point, UTCDateTime, utcnow
from server.vocab import CONSENT_PURPOSES, SEXES  # noqa: F401 - re-exported


class Household(Base):
    """A household in a hamlet; ``version`` increases on every accepted edit."""

    __tablename__ = "households"
    __table_args__ = (Index("ix_households_hamlet_seq", "hamlet_id", "change_seq"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    hamlet_id: Mapped[int] = mapped_column(ForeignKey("hamlets.id"))
    address: Mapped[str] = mapped_column(String(255), default="")
    head_name: Mapped[str | None] = mapped_column(String(160))
    members_count: Mapped[int | None] = mapped_column(Integer)
    adults_count: Mapped[int | None] = mapped_column(Integer)
    phone: Mapped[str | None] = mapped_column(String(20))
    location = mapped_column(Point(), nullable=True)
    location_accuracy_m: Mapped[float | None] = mapped_column(Float)
    version: Mapped[int] = mapped_column(Integer, default=1)
    content_sha256: Mapped[str] = mapped_column(String(64), default="")  # tells retries apart
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("households.id"))
    change_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    hamlet = relationship("Hamlet")


class Resident(Base):
    """A person in a household with their consent; withdrawal anonymises name and phone."""

    __tablename__ = "residents"
    __table_args__ = (Index("ix_residents_hamlet_seq", "hamlet_id", "change_seq"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    household_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("households.id"), index=True)
    # Copied from the household so scope filters and pull need no join.
    hamlet_id: Mapped[int] = mapped_column(ForeignKey("hamlets.id"))
    full_name: Mapped[str | None] = mapped_column(String(160))
    birth_year: Mapped[int | None] = mapped_column(Integer)
    sex: Mapped[str | None] = mapped_column(String(1))
    phone: Mapped[str | None] = mapped_column(String(20))
    consent_given: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_purposes: Mapped[list] = mapped_column(JSON, default=list)
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consent_withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    anonymised: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)
    content_sha256: Mapped[str] = mapped_column(String(64), default="")
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    change_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    household = relationship("Household")
