"""Calendar quarters (`2026Q3`) and months (`2026-09`) as DESIGN.md §2 writes them.

A month is represented by the date of its first day; a quarter by `Quarter`.
"""

import datetime
import re
from dataclasses import dataclass

_QUARTER_RE = re.compile(r"^\s*(\d{4})\s*[Qq]\s*([1-4])\s*$")
# The years a quarter is read in: anything else is a typing mistake, and year 9999's last quarter
# would have no next one to end it.
YEARS = (1900, 2999)
_MONTH_RE = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?\s*$")


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> "Quarter":
        match = _QUARTER_RE.match(str(text))
        if not match or not YEARS[0] <= int(match[1]) <= YEARS[1]:
            raise ValueError(f"not a quarter like 2026Q3: {text!r}")
        return cls(int(match[1]), int(match[2]))

    @classmethod
    def containing(cls, day: datetime.date) -> "Quarter":
        return cls(day.year, (day.month - 1) // 3 + 1)

    def __str__(self) -> str:
        return f"{self.year}Q{self.number}"

    @property
    def months(self) -> list[datetime.date]:
        first = (self.number - 1) * 3 + 1
        return [datetime.date(self.year, first + i, 1) for i in range(3)]

    @property
    def start(self) -> datetime.date:
        return self.months[0]

    @property
    def end(self) -> datetime.date:
        return self.next().start - datetime.timedelta(days=1)

    def previous(self) -> "Quarter":
        if self.number == 1:
            return Quarter(self.year - 1, 4)
        return Quarter(self.year, self.number - 1)

    def next(self) -> "Quarter":
        if self.number == 4:
            return Quarter(self.year + 1, 1)
        return Quarter(self.year, self.number + 1)

    def year_before(self) -> "Quarter":
        return Quarter(self.year - 1, self.number)


def parse_month(value) -> datetime.date:
    """`2026-09`, `2026/9`, `2026年9月` or a date → the first day of that month."""
    if isinstance(value, datetime.datetime):
        value = value.date()
    if isinstance(value, datetime.date):
        return value.replace(day=1)
    match = _MONTH_RE.match(str(value))
    if not match or not 1 <= int(match[2]) <= 12:
        raise ValueError(f"not a month like 2026-09: {value!r}")
    return datetime.date(int(match[1]), int(match[2]), 1)


def format_month(month: datetime.date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


def add_months(month: datetime.date, count: int) -> datetime.date:
    index = month.year * 12 + month.month - 1 + count
    return datetime.date(index // 12, index % 12 + 1, 1)


def quarter_just_ended(today: datetime.date | None = None) -> Quarter:
    """The quarter before the one containing `today` (default: today in the project's time zone)."""
    from django.utils import timezone

    return Quarter.containing(today or timezone.localdate()).previous()
