"""Reference data of the zone and its enterprises, and the cadre ↔ enterprise pairings."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service_app.common.time import utcnow
from service_app.common.types import UTCDateTime
from service_app.extensions import db


class Park(db.Model):
    """园区: an area of the zone."""

    __tablename__ = "parks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    name_en: Mapped[str | None] = mapped_column(String(128))
    # Where it lies: its administrative district (区), the part of the high-tech zone it belongs to
    # (河西示范园, 田心高科园, 董家塅高科园) and a centre for the map.
    district: Mapped[str | None] = mapped_column(String(32))
    zone_part: Mapped[str | None] = mapped_column(String(32))
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)


class Chain(db.Model):
    """产业链: an industry chain the zone organises its enterprises by."""

    __tablename__ = "chains"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    name_en: Mapped[str | None] = mapped_column(String(128))


class Department(db.Model):
    """职能部门: a government unit that handles dispatched problems."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    name_en: Mapped[str | None] = mapped_column(String(128))
    phone: Mapped[str | None] = mapped_column(String(32))


class Category(db.Model):
    """问题类别: with the department problems go to by default and its deadlines in working days."""

    __tablename__ = "categories"
    __table_args__ = (
        CheckConstraint("response_days > 0", name="response_days_positive"),
        CheckConstraint("resolve_days > 0", name="resolve_days_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    name_en: Mapped[str | None] = mapped_column(String(128))
    default_department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    response_days: Mapped[int] = mapped_column(Integer, default=1)
    resolve_days: Mapped[int] = mapped_column(Integer, default=5)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    default_department = relationship(Department, lazy="raise")


ENTERPRISE_SCALES = ("large", "medium", "small", "micro")
SCALE_LABELS = {"large": "大型", "medium": "中型", "small": "小型", "micro": "微型"}


class Enterprise(db.Model):
    """企业: identified by its unified social credit code."""

    __tablename__ = "enterprises"
    __table_args__ = (
        CheckConstraint("scale IS NULL OR scale IN ('large', 'medium', 'small', 'micro')", name="scale_valid"),
        CheckConstraint("lat IS NULL OR (lat >= -90 AND lat <= 90)", name="lat_range"),
        CheckConstraint("lng IS NULL OR (lng >= -180 AND lng <= 180)", name="lng_range"),
        Index("ix_enterprises_park_chain", "park_id", "chain_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), index=True)
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    address: Mapped[str | None] = mapped_column(String(255))
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    park_id: Mapped[int | None] = mapped_column(ForeignKey("parks.id"))
    chain_id: Mapped[int | None] = mapped_column(ForeignKey("chains.id"), index=True)
    scale: Mapped[str | None] = mapped_column(String(16))
    industry: Mapped[str | None] = mapped_column(String(64))
    legal_representative: Mapped[str | None] = mapped_column(String(64))
    contact_name: Mapped[str | None] = mapped_column(String(64))
    contact_phone: Mapped[str | None] = mapped_column(String(32))
    established_on: Mapped[date | None] = mapped_column(Date)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, index=True)

    park = relationship(Park, lazy="raise")
    chain = relationship(Chain, lazy="raise")


LINK_ROLES = ("primary", "leader")


class CadreLink(db.Model):
    """结对: a cadre linked to an enterprise. Ending a link keeps it as history (`ended_at`)."""

    __tablename__ = "cadre_links"
    __table_args__ = (
        CheckConstraint("role IN ('primary', 'leader')", name="role_valid"),
        Index("ix_cadre_links_cadre_active", "cadre_id", "ended_at"),
        Index("ix_cadre_links_enterprise_active", "enterprise_id", "ended_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cadre_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    role: Mapped[str] = mapped_column(String(16), default="primary")
    started_on: Mapped[date] = mapped_column(Date)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    cadre = relationship("User", lazy="raise")
    enterprise = relationship(Enterprise, lazy="raise")

    @property
    def active(self) -> bool:
        return self.ended_at is None
