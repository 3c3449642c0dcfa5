"""Coverage: compact per-subject day rows, per-hamlet day rows, targets and campaigns.

Two layers. The compact layer has one row per (household, day) and per (subject, service, day),
recomputed for each household/subject a push touches from the changed day on. The summary layer
(``coverage_days``, ``coverage_service_days``, ``coverage_has_months``, ``hamlet_months``,
``hamlet_service_months``, ``coverage_campaign_*``) moves by the compact rows' difference, or is
recomputed from the compact layer by a rebuild. See docs/decisions.md, "Coverage".
"""
import uuid
from datetime import date

from sqlalchemy import (JSON, BigInteger, Boolean, Date, Float, ForeignKey, Index, Integer, String,
                        Uuid)
from sqlalchemy.orm import Mapped, mapped_column

from server.database import Base
from server.vocab import EARLIEST_DATE

# ``birth_year`` of a subject row: household-level subjects count at any age, residents with no
# birth year never count as adults (see docs/decisions.md).
HOUSEHOLD_BIRTH_YEAR = 0
UNKNOWN_BIRTH_YEAR = 9999
# The summary rows (``coverage_service_days``, ``coverage_has_months``) fold every birth year that
# is an adult's at any date the API accepts (no visit is older than EARLIEST_DATE) into bucket 0,
# with the household subjects: exact for any ``ADULT_AGE`` up to MAX_ADULT_AGE. A larger
# ADULT_AGE needs MAX_ADULT_AGE raised and ``flask aggregates rebuild`` (docs/decisions.md).
MAX_ADULT_AGE = 21
ALWAYS_ADULT_BIRTH_YEAR = 0
FOLDED_BORN_BY = EARLIEST_DATE.year - MAX_ADULT_AGE


class HouseholdDay(Base):
    """One household's counted visits on one local day, filed under its current hamlet."""

    __tablename__ = "coverage_household_days"
    __table_args__ = (Index("ix_coverage_household_days_hamlet_day", "hamlet_id", "day"),)

    household_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    hamlet_id: Mapped[int] = mapped_column(Integer)
    visits: Mapped[int] = mapped_column(Integer)
    reached: Mapped[int] = mapped_column(Integer)  # 1: a completed/partial visit that day


class SubjectDay(Base):
    """One subject's (resident's, or household's for household services) results of a day."""

    __tablename__ = "coverage_subject_days"
    __table_args__ = (
        Index("ix_coverage_subject_days_hamlet_service_day", "hamlet_id", "service_code", "day"),
    )

    subject_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    service_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    hamlet_id: Mapped[int] = mapped_column(Integer)
    birth_year: Mapped[int] = mapped_column(Integer)
    done: Mapped[int] = mapped_column(Integer)  # 0/1: a ``done`` result that day
    already_had: Mapped[int] = mapped_column(Integer)
    in_progress: Mapped[int] = mapped_column(Integer)
    has: Mapped[int] = mapped_column(Integer)  # 0/1: latest result by the day's end is done/had
    has_delta: Mapped[int] = mapped_column(Integer)  # has minus the previous row's has


class HamletDay(Base):
    """A hamlet's visits and reached households on one day."""

    __tablename__ = "coverage_days"

    hamlet_id: Mapped[int] = mapped_column(ForeignKey("hamlets.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    visits: Mapped[int] = mapped_column(Integer)
    households_reached: Mapped[int] = mapped_column(Integer)


class HamletServiceDay(Base):
    """A hamlet's service figures of one day, by birth year so ``has`` can be aged at read time
    (birth years adult at every accepted date folded into ALWAYS_ADULT_BIRTH_YEAR)."""

    __tablename__ = "coverage_service_days"
    # has_counts() reads one month of day rows per hamlet: an index-only scan on PostgreSQL.
    __table_args__ = (Index("ix_coverage_service_days_hamlet_day", "hamlet_id", "day",
                            postgresql_include=["service_code", "birth_year", "has_delta"]),)

    hamlet_id: Mapped[int] = mapped_column(ForeignKey("hamlets.id"), primary_key=True)
    service_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    birth_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    supported: Mapped[int] = mapped_column(Integer)
    already_had: Mapped[int] = mapped_column(Integer)
    has_delta: Mapped[int] = mapped_column(Integer)  # subjects that became has minus stopped


class HamletHasMonth(Base):
    """The sum of a month's ``coverage_service_days.has_delta`` per hamlet, service and birth
    year (rows summing to 0 left out): ``has`` at ``to`` reads these for the months before
    ``to``'s month, then that month's day rows — bounded by months of history, not by visits."""

    __tablename__ = "coverage_has_months"
    __table_args__ = (Index("ix_coverage_has_months_hamlet_month", "hamlet_id", "month",
                            postgresql_include=["service_code", "birth_year", "has_delta"]),)

    hamlet_id: Mapped[int] = mapped_column(ForeignKey("hamlets.id"), primary_key=True)
    service_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)  # its first day
    birth_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    has_delta: Mapped[int] = mapped_column(Integer)


class CoveragePending(Base):
    """A record whose coverage rows are not yet up to date: written by the push that changed it
    (in the push's transaction), claimed and deleted by the commune's next drain
    (``server.services.coverage_queue``, docs/decisions.md "Coverage")."""

    __tablename__ = "coverage_pending"
    __table_args__ = (Index("ix_coverage_pending_commune", "commune_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    commune_id: Mapped[int | None] = mapped_column(Integer)  # None: a refresh drained inline
    kind: Mapped[str] = mapped_column(String(9))  # visit | household | resident
    record_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    claimed: Mapped[bool] = mapped_column(Boolean, default=False)  # by a drain not yet committed


class Target(Base):
    """A province's target for one indicator (e.g. ``adults_with_CKS`` 0.5 by 2025-12-31)."""

    __tablename__ = "targets"

    id: Mapped[int] = mapped_column(primary_key=True)
    province_code: Mapped[str] = mapped_column(String(2), index=True)
    indicator: Mapped[str] = mapped_column(String(40))
    value: Mapped[float] = mapped_column(Float)
    due: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(120), default="")


class Campaign(Base):
    """A campaign of a province: a period, the services it pushes and its target share."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    province_code: Mapped[str] = mapped_column(String(2), index=True)
    name: Mapped[str] = mapped_column(String(160))
    date_from: Mapped[date] = mapped_column(Date)
    date_to: Mapped[date] = mapped_column(Date)
    services: Mapped[list] = mapped_column(JSON, default=list)
    target: Mapped[float | None] = mapped_column(Float)


class CampaignHamlet(Base):
    """A hamlet's distinct visit figures over a campaign's period."""

    __tablename__ = "coverage_campaign_hamlets"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"),
                                             primary_key=True)
    hamlet_id: Mapped[int] = mapped_column(ForeignKey("hamlets.id"), primary_key=True)
    visits: Mapped[int] = mapped_column(Integer)
    households_visited: Mapped[int] = mapped_column(Integer)
    households_reached: Mapped[int] = mapped_column(Integer)


class CampaignHamletService(Base):
    """A hamlet's distinct service figures over a campaign's period."""

    __tablename__ = "coverage_campaign_hamlet_services"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"),
                                             primary_key=True)
    hamlet_id: Mapped[int] = mapped_column(ForeignKey("hamlets.id"), primary_key=True)
    service_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    supported: Mapped[int] = mapped_column(Integer)
    already_had: Mapped[int] = mapped_column(Integer)
    in_progress: Mapped[int] = mapped_column(Integer)
