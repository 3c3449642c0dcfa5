"""Household registry imports: the task of one uploaded file, and what imports wrote.

``registry_import_tasks`` tracks a job as ``report_tasks`` does (state, progress, files);
``registry_imported`` remembers, per household or resident an import wrote, the version it left
behind, so a later import can tell a phone's edit (a higher version) from its own write.
"""
import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from server.database import Base
from server.models.types import UTCDateTime, utcnow

IMPORT_STATES = ("queued", "running", "done", "failed")
IMPORT_FORMATS = ("csv", "xlsx")


class RegistryImportTask(Base):
    """One uploaded registry file of a hamlet and the job importing it."""

    __tablename__ = "registry_import_tasks"
    __table_args__ = (Index("ix_registry_import_tasks_commune_created", "commune_id",
                            "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    commune_id: Mapped[int] = mapped_column(ForeignKey("communes.id"))
    hamlet_id: Mapped[int] = mapped_column(ForeignKey("hamlets.id"))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    file_name: Mapped[str] = mapped_column(String(160))  # as uploaded (shown, never a path)
    file_format: Mapped[str] = mapped_column(String(4))  # csv | xlsx
    file_path: Mapped[str] = mapped_column(String(255))  # the upload, relative to MEDIA_DIR
    file_bytes: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(10), default="queued")
    progress: Mapped[int] = mapped_column(Integer, default=0)  # percent
    counts: Mapped[dict] = mapped_column(JSON, default=dict)
    report_path: Mapped[str | None] = mapped_column(String(255))  # the error report (CSV)
    error: Mapped[str | None] = mapped_column(String(255))  # why the whole file failed (Vietnamese)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RegistryImported(Base):
    """A household or resident an import wrote: by which task and row, at which version."""

    __tablename__ = "registry_imported"

    record_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # household | resident
    task_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("registry_import_tasks.id"),
                                               index=True)
    row_number: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(10))  # created | updated | unchanged
    version: Mapped[int] = mapped_column(Integer)  # the record's version the import left
