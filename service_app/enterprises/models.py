"""Key indicators (关键指标) of an enterprise, one row per reporting period."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service_app.common.time import utcnow
from service_app.common.types import UTCDateTime
from service_app.extensions import db

# `quarter` stores 0 for a full-year report: a NULL would escape the unique constraint on both
# backends (NULLs are distinct), and 0 keeps "one row per period" a database rule. The API shows null.
FULL_YEAR = 0
SOURCES = ("report", "import", "seed")

# Amounts are in 万元 (10,000 yuan), land area in 亩 (mu).
Amount = Numeric(14, 2)
Area = Numeric(12, 2)


class EnterpriseIndicator(db.Model):
    """An enterprise's figures for one year (quarter 0) or one quarter of a year (quarter 1-4)."""

    __tablename__ = "enterprise_indicators"
    __table_args__ = (
        UniqueConstraint("enterprise_id", "year", "quarter", name="uq_enterprise_indicators_period"),
        CheckConstraint("quarter BETWEEN 0 AND 4", name="quarter_range"),
        CheckConstraint("year BETWEEN 1949 AND 2200", name="year_range"),
        CheckConstraint(
            "(revenue IS NULL OR revenue >= 0) AND (tax_paid IS NULL OR tax_paid >= 0)"
            " AND (industrial_output IS NULL OR industrial_output >= 0)"
            " AND (land_area_mu IS NULL OR land_area_mu >= 0) AND (employees IS NULL OR employees >= 0)"
            " AND (rd_spend IS NULL OR rd_spend >= 0) AND (patents IS NULL OR patents >= 0)",
            name="figures_non_negative",
        ),
        CheckConstraint("source IN ('report', 'import', 'seed')", name="source_valid"),
        # Rankings read one period across enterprises.
        Index("ix_enterprise_indicators_year_quarter", "year", "quarter"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(SmallInteger)
    quarter: Mapped[int] = mapped_column(SmallInteger, default=FULL_YEAR)
    revenue: Mapped[Decimal | None] = mapped_column(Amount)
    tax_paid: Mapped[Decimal | None] = mapped_column(Amount)
    industrial_output: Mapped[Decimal | None] = mapped_column(Amount)
    land_area_mu: Mapped[Decimal | None] = mapped_column(Area)
    employees: Mapped[int | None] = mapped_column(Integer)
    rd_spend: Mapped[Decimal | None] = mapped_column(Amount)
    patents: Mapped[int | None] = mapped_column(Integer)
    # Who reported the figures last, and how (the enterprise or an admin via the API, an import, the seeds).
    source: Mapped[str] = mapped_column(String(16), default="report")
    reported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    enterprise = relationship("Enterprise", lazy="raise")
    reported_by = relationship("User", lazy="raise")


class EnterpriseChange(db.Model):
    """One field of an enterprise changed: who, when, the old and the new value (as text)."""

    __tablename__ = "enterprise_changes"
    __table_args__ = (Index("ix_enterprise_changes_enterprise_id_id", "enterprise_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    field: Mapped[str] = mapped_column(String(32))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)

    changed_by = relationship("User", lazy="raise")
