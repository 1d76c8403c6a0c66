"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, TypeDecorator


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def result_processor(self, dialect, coltype):
        if dialect.name == "postgresql":
            # The app's PostgreSQL sessions run in UTC (create_app), so psycopg already hands back
            # datetimes with datetime.UTC: no Python call per value (a hundred on a list page).
            return None
        return super().result_processor(dialect, coltype)

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        tz = value.tzinfo
        if tz is UTC:  # PostgreSQL sessions run in UTC (create_app): psycopg hands back datetime.UTC
            return value
        if tz is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
