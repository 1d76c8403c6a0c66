"""The calendar as the `chinesecalendar` package knows it (the State Council's notices since 2004)."""

from __future__ import annotations

from datetime import date

from chinese_calendar import constants


def package_days() -> dict[int, list[tuple[date, str, str]]]:
    """year → its exceptions (date, kind, name): statutory holidays and make-up working days."""
    years: dict[int, list[tuple[date, str, str]]] = {}
    for table, kind, suffix in ((constants.holidays, "holiday", ""), (constants.workdays, "workday", "调休")):
        for day, holiday in table.items():
            years.setdefault(day.year, []).append((day, kind, constants.Holiday(holiday).chinese + suffix))
    return {year: sorted(days) for year, days in sorted(years.items())}
