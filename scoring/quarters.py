"""Which quarters the quarterly jobs may run for (DESIGN.md §3.5), in one place.

Only quarters that have ended (their last day before today, local date) and
that are not before the company's first data: the web's choices, the commands,
the beat, the Celery tasks and the score import all ask here.
"""

import datetime

from django.db.models import Min
from django.utils import timezone
from django.utils.translation import gettext as _

from dealers.models import Dealer, MonthlySales
from evalsys.periods import Quarter

from .errors import ScoringError


def first_data_day() -> datetime.date | None:
    """The company's first data: the earliest day a dealer joined or a month has sales."""
    days = [
        Dealer.objects.aggregate(first=Min("joined"))["first"],
        MonthlySales.objects.aggregate(first=Min("month"))["first"],
    ]
    days = [d for d in days if d is not None]
    return min(days) if days else None


def latest_ended(today: datetime.date | None = None) -> Quarter:
    """The latest quarter whose last day is before `today`."""
    return Quarter.containing(today or timezone.localdate()).previous()


def eligible_quarters(today: datetime.date | None = None) -> list[Quarter]:
    """The quarters a job may run for, newest first: from the one holding the first data to the
    latest ended (empty when the company has no data yet)."""
    first = first_data_day()
    latest = latest_ended(today)
    if first is None:
        return []
    quarters, quarter = [], latest
    earliest = Quarter.containing(first)
    while quarter >= earliest:
        quarters.append(quarter)
        quarter = quarter.previous()
    return quarters


def refuse_ineligible(quarter: Quarter, today: datetime.date | None = None) -> None:
    """Raise ScoringError, with the reason, unless a job may run for `quarter`."""
    today = today or timezone.localdate()
    if quarter.end >= today:
        raise ScoringError(
            _(
                "%(quarter)s has not ended yet: the quarterly jobs run only for ended quarters (latest: %(latest)s)."
            )
            % {"quarter": quarter, "latest": latest_ended(today)}
        )
    first = first_data_day()
    if first is None:
        raise ScoringError(_("There are no dealers yet: import the dealers before running a quarterly job."))
    if quarter < Quarter.containing(first):
        raise ScoringError(
            _("%(quarter)s is before the company's first data (%(first)s).")
            % {"quarter": quarter, "first": Quarter.containing(first)}
        )
