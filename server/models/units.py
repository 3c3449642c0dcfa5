"""Administrative units: province → commune → hamlet, and the teams that work hamlets."""
from datetime import date

from sqlalchemy import JSON, BigInteger, Column, Date, ForeignKey, Integer, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.database import Base
from server.models.types import MultiPolygon
from server.vocab import HAMLET_KINDS  # noqa: F401 - re-exported


class Province(Base):
    """A province (2-digit national code); ``settings`` holds targets and age thresholds."""

    __tablename__ = "provinces"
    __table_args__ = (UniqueConstraint("code", "valid_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(2), index=True)
    name: Mapped[str] = mapped_column(String(120))
    valid_from: Mapped[date] = mapped_column(Date, default=date(2025, 7, 1))
    valid_to: Mapped[date | None] = mapped_column(Date)
    settings: Mapped[dict] = mapped_column(JSON, default=dict)

    communes = relationship("Commune", back_populates="province")


class Commune(Base):
    """A commune or ward (5-digit national code, reusable after mergers, hence validity)."""

    __tablename__ = "communes"
    __table_args__ = (UniqueConstraint("code", "valid_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    province_id: Mapped[int] = mapped_column(ForeignKey("provinces.id"), index=True)
    code: Mapped[str] = mapped_column(String(5), index=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(10), default="xa")  # xa | phuong | dac_khu
    valid_from: Mapped[date] = mapped_column(Date, default=date(2025, 7, 1))
    valid_to: Mapped[date | None] = mapped_column(Date)
    boundary = mapped_column(MultiPolygon(), nullable=True)

    province = relationship("Province", back_populates="communes")
    hamlets = relationship("Hamlet", back_populates="commune", order_by="Hamlet.code")


class Hamlet(Base):
    """A hamlet (ấp/thôn/khu phố/tổ dân phố) with a commune-local code and baselines."""

    __tablename__ = "hamlets"
    __table_args__ = (UniqueConstraint("code", "valid_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("communes.id"), index=True)
    code: Mapped[str] = mapped_column(String(12))  # "<commune code>-NNN"; see __table_args__
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(12), default="ap")
    boundary = mapped_column(MultiPolygon(), nullable=True)
    households_total: Mapped[int] = mapped_column(Integer, default=0)
    adults_total: Mapped[int] = mapped_column(Integer, default=0)
    valid_from: Mapped[date] = mapped_column(Date, default=date(2025, 7, 1))
    valid_to: Mapped[date | None] = mapped_column(Date)
    change_seq: Mapped[int] = mapped_column(BigInteger, default=0, index=True)

    commune = relationship("Commune", back_populates="hamlets")


team_hamlets = Table(
    "team_hamlets",
    Base.metadata,
    Column("team_id", ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True),
    Column("hamlet_id", ForeignKey("hamlets.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Team(Base):
    """A Community Digital Technology Team (Tổ CNSCĐ) and the hamlets it covers."""

    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("communes.id"), index=True)
    name: Mapped[str] = mapped_column(String(160))

    commune = relationship("Commune")
    hamlets = relationship("Hamlet", secondary=team_hamlets, order_by="Hamlet.code")
