"""Partner systems' API clients: the key is shown once and only its SHA-256 is stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from service_app.common.time import utcnow
from service_app.common.types import UTCDateTime
from service_app.extensions import db

SCOPES = ("read", "write", "read_all")


class ApiClient(db.Model):
    """A partner system (e.g. the 12345 hotline). Revoked clients stay, so their name keeps naming
    the problems they filed (`problems.source = "open311:<name>"`)."""

    __tablename__ = "api_clients"
    __table_args__ = (CheckConstraint("name <> ''", name="name_not_empty"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    # A key is 256 random bits, so a plain SHA-256 cannot be reversed and can be looked up directly.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_prefix: Mapped[str] = mapped_column(String(8))
    scopes: Mapped[str] = mapped_column(String(64))  # space-separated, from SCOPES
    rate_limit: Mapped[str] = mapped_column(String(64))  # Flask-Limiter notation, e.g. "120 per minute"
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes.split())

    @property
    def source(self) -> str:
        """What problems filed by this client carry in `problems.source`."""
        return f"open311:{self.name}"
