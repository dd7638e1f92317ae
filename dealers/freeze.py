"""Published quarters are frozen end to end (DESIGN.md §3.4): the sales, targets and points
of their three months no longer change.

Which quarters are published is the scoring app's business, and dealers sits below scoring:
scoring registers a check here in its `AppConfig.ready`, and every writer of sales, targets
and points calls `ensure_months_open` inside its transaction before writing.
"""

import datetime
from collections.abc import Callable, Iterable

from django.utils.translation import gettext as _

# check(months) -> the label of a published quarter covering any of the months, or None
Check = Callable[[set[datetime.date]], str | None]

_checks: list[Check] = []


class FrozenPeriod(Exception):
    """A write into a published quarter's months is refused; the message names the quarter."""

    def __init__(self, quarter: str):
        self.quarter = quarter
        super().__init__(_("%(quarter)s is published; its data are frozen.") % {"quarter": quarter})


def register(check: Check) -> None:
    """Add a check; registering the same function again does nothing."""
    if check not in _checks:
        _checks.append(check)


def published_quarter_for(months: Iterable[datetime.date]) -> str | None:
    """The label of a published quarter covering any of `months` (first-of-month dates), or None."""
    months = {month.replace(day=1) for month in months}
    if not months:
        return None
    for check in _checks:
        quarter = check(months)
        if quarter:
            return quarter
    return None


def ensure_months_open(months: Iterable[datetime.date]) -> None:
    """Raise FrozenPeriod when any of `months` belongs to a published quarter.

    Call it inside the transaction that writes: the check locks what it reads, so a
    quarter published meanwhile either waits for the write or refuses it.
    """
    quarter = published_quarter_for(months)
    if quarter:
        raise FrozenPeriod(quarter)


def published_quarter_since(day: datetime.date, today: datetime.date) -> str | None:
    """The label of a published quarter that ends on or after `day`, or None: a change dated
    `day` that reaches into later quarters too (a dealer's move) rewrites it. Only ended
    quarters are published, so the months from `day` to `today` are the ones to check."""
    months, month = [], day.replace(day=1)
    while month <= today:
        months.append(month)
        month = (month + datetime.timedelta(days=31)).replace(day=1)
    return published_quarter_for(months)


def frozen_months(months: Iterable[datetime.date]) -> dict[datetime.date, str]:
    """Of `months`, those in a published quarter, each with that quarter's label: for
    importers that name the quarter on every refused row. One check per quarter involved."""
    by_quarter: dict[tuple[int, int], list[datetime.date]] = {}
    for month in {m.replace(day=1) for m in months}:
        by_quarter.setdefault((month.year, (month.month - 1) // 3), []).append(month)
    frozen = {}
    for quarter_months in by_quarter.values():
        label = published_quarter_for(quarter_months)
        if label:
            frozen.update(dict.fromkeys(quarter_months, label))
    return frozen


def frozen_message(quarter: str) -> str:
    return str(FrozenPeriod(quarter))
