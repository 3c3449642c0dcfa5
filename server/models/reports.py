"""The office's reports: every approved month snapshot ever stored, and XLSX report tasks."""
import uuid
from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from server.database import Base
from server.models.types import UTCDateTime, utcnow

REPORT_STATES = ("queued", "running", "done", "failed")


class MonthApprovalSnapshot(Base):
    """One approval of a commune's month (append-only): ``month_approvals`` holds the latest.

    A re-approval adds a row; earlier snapshots stay, so nothing approved is rewritten.
    """

    __tablename__ = "month_approval_snapshots"
    __table_args__ = (Index("ix_month_approval_snapshots_commune_month", "commune_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("communes.id"))
    month: Mapped[date] = mapped_column(Date)  # first day of the month
    approved_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sha256: Mapped[str] = mapped_column(String(64))  # of the snapshot's canonical JSON
    snapshot: Mapped[dict] = mapped_column(JSON)


class ReportTask(Base):
    """An XLSX report being built by a job (as microblog's ``Task``): state, progress, file."""

    __tablename__ = "report_tasks"
    __table_args__ = (Index("ix_report_tasks_commune_created", "commune_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    commune_id: Mapped[int] = mapped_column(ForeignKey("communes.id"))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    date_from: Mapped[date] = mapped_column(Date)
    date_to: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(10), default="queued")
    progress: Mapped[int] = mapped_column(Integer, default=0)  # percent
    file_path: Mapped[str | None] = mapped_column(String(255))  # relative to MEDIA_DIR
    error: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
