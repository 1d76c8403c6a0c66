"""Working-day arithmetic (DESIGN.md §11, §15 "Clock"): the one place deadlines are counted.

A day is a working day by its weekday (Monday–Friday) unless the calendar says otherwise (a
statutory holiday, a make-up working day). Working hours are one window a day, in Asia/Shanghai.
A date in a year the calendar does not cover counts by its weekday alone, and whatever was counted
on it is `provisional`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from math import ceil

from service_app.common.time import SHANGHAI, as_utc


@dataclass(frozen=True)
class WorkingHours:
    start: time = time(9, 0)
    end: time = time(17, 30)

    @property
    def seconds(self) -> int:
        """Working seconds in one working day."""
        return (self.end.hour * 60 + self.end.minute - self.start.hour * 60 - self.start.minute) * 60

    @classmethod
    def parse(cls, text: str) -> WorkingHours:
        """ "09:00-17:30" → WorkingHours."""
        start, end = (time.fromisoformat(part.strip()) for part in text.split("-"))
        if end <= start:
            raise ValueError(f"working hours must end after they start: {text!r}")
        return cls(start, end)


@dataclass(frozen=True)
class Due:
    """A moment computed on the calendar, and whether a year it walked through was not covered."""

    at: datetime
    provisional: bool = False


@dataclass(frozen=True)
class Calendar:
    """The exceptions of the covered years (date → is a working day) and the working hours."""

    exceptions: Mapping[date, bool] = field(default_factory=dict)
    years: frozenset[int] = frozenset()
    hours: WorkingHours = WorkingHours()

    def is_workday(self, day: date) -> bool:
        return self.exceptions.get(day, day.weekday() < 5)

    def covers(self, day: date) -> bool:
        return day.year in self.years

    def _opens(self, day: date) -> datetime:
        return datetime.combine(day, self.hours.start, SHANGHAI).astimezone(UTC)

    def _closes(self, day: date) -> datetime:
        return datetime.combine(day, self.hours.end, SHANGHAI).astimezone(UTC)

    def due_after(self, start: datetime, days: int) -> Due:
        """The end of working hours of the `days`-th working day after the (Shanghai) day of `start`.

        The day itself never counts, whatever the hour: filed on a Friday with 1 day, due Monday 17:30."""
        day = as_utc(start).astimezone(SHANGHAI).date()
        provisional = False
        counted = 0
        while counted < days:
            day += timedelta(days=1)
            provisional = provisional or not self.covers(day)
            counted += self.is_workday(day)
        return Due(self._closes(day), provisional)

    def add_working_time(self, moment: datetime, seconds: int) -> Due:
        """`moment` moved forward by `seconds` of working time (a deadline moved by a pause or an extension).

        The end of one working day and the start of the next are the same point of working time;
        the result is the earlier (a deadline at 17:30 plus one working day is 17:30 the next working day)."""
        moment = as_utc(moment)
        day = moment.astimezone(SHANGHAI).date()
        provisional = False
        remaining = timedelta(seconds=seconds)
        while remaining > timedelta(0):
            provisional = provisional or not self.covers(day)
            if self.is_workday(day):
                start = max(moment, self._opens(day))
                available = self._closes(day) - start
                if remaining <= available:
                    return Due(start + remaining, provisional)
                remaining -= max(available, timedelta(0))
            day += timedelta(days=1)
            moment = self._opens(day)
        return Due(moment, provisional)

    def add_working_days(self, moment: datetime, days: int) -> Due:
        """An extension: `days` whole working days added to a deadline."""
        return self.add_working_time(moment, days * self.hours.seconds)

    def working_seconds(self, start: datetime, end: datetime) -> tuple[int, bool]:
        """Working time between two moments in whole seconds, and whether it was counted provisionally."""
        start, end = as_utc(start), as_utc(end)
        total = timedelta(0)
        provisional = False
        day = start.astimezone(SHANGHAI).date()
        while self._opens(day) < end:
            provisional = provisional or not self.covers(day)
            if self.is_workday(day):
                window = min(end, self._closes(day)) - max(start, self._opens(day))
                total += max(window, timedelta(0))
            day += timedelta(days=1)
        return int(total.total_seconds()), provisional


def halved(days: int, urgent: bool) -> int:
    """Urgent problems get half the working days, rounded up, at least one (DESIGN §15)."""
    return max(1, ceil(days / 2)) if urgent else days
