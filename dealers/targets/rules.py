"""The rules of DESIGN.md §4 as pure functions: values in, values out, no database.

Months are the dates of their first days. Money, percentages and points are
`Decimal`, two places, rounded half-up.
"""

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from evalsys.periods import add_months

TWO_PLACES = Decimal("0.01")
HUNDRED = Decimal(100)
THOUSAND = Decimal(1000)
DEFAULT_DEADLINE_DAY = 25


def quantize(value: Decimal) -> Decimal:
    return value.quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


# Deadline ------------------------------------------------------------------


def target_deadline(month: datetime.date, deadline_day: int = DEFAULT_DEADLINE_DAY) -> datetime.date:
    """The last day on which `month`'s target is agreed on time: the deadline day of the month before."""
    return add_months(month.replace(day=1), -1).replace(day=deadline_day)


def is_late(month: datetime.date, agreed_on: datetime.date, deadline_day: int = DEFAULT_DEADLINE_DAY) -> bool:
    """A target agreed after the deadline day of the month before is late; on the day itself it is not."""
    return agreed_on > target_deadline(month, deadline_day)


ON_TIME, LATE, IMPORTED = "on_time", "late", "imported"


def timeliness(
    month: datetime.date, agreed_on: datetime.date | None, deadline_day: int = DEFAULT_DEADLINE_DAY
) -> str:
    """On time or late by the day the target was agreed; `imported` when that day is unknown.

    >>> timeliness(datetime.date(2026, 9, 1), datetime.date(2026, 8, 25))
    'on_time'
    >>> timeliness(datetime.date(2026, 9, 1), datetime.date(2026, 8, 26))
    'late'
    >>> timeliness(datetime.date(2026, 9, 1), None)
    'imported'
    """
    if agreed_on is None:
        return IMPORTED
    return LATE if is_late(month, agreed_on, deadline_day) else ON_TIME


def month_closed(month: datetime.date, today: datetime.date) -> bool:
    """A month is closed for negotiation once it has begun: from its first day on.

    >>> month_closed(datetime.date(2026, 9, 1), datetime.date(2026, 8, 31))
    False
    >>> month_closed(datetime.date(2026, 9, 1), datetime.date(2026, 9, 1))
    True
    """
    return month.replace(day=1) <= today


def agreement_in_force(signed_on: datetime.date, agreed_on: datetime.date) -> bool:
    """A target can be agreed only under an annual agreement signed on or before that day.

    >>> agreement_in_force(datetime.date(2026, 1, 15), datetime.date(2026, 1, 15))
    True
    >>> agreement_in_force(datetime.date(2026, 1, 15), datetime.date(2026, 1, 14))
    False
    """
    return signed_on <= agreed_on


# Attainment ----------------------------------------------------------------


def exact_attainment(actual: Decimal | None, target: Decimal | None) -> Decimal | None:
    """100 × actual / target, unrounded; None without an actual or a positive target."""
    if actual is None or target is None or target <= 0:
        return None
    return HUNDRED * actual / target


def attainment(actual: Decimal | None, target: Decimal | None) -> Decimal | None:
    """Attainment in percent as shown: two places, half-up."""
    exact = exact_attainment(actual, target)
    return None if exact is None else quantize(exact)


def quarter_sum(monthly: Sequence[Decimal | None]) -> Decimal | None:
    """A quarter's total of its three monthly figures; None unless all three are known.

    A figure of 0 is known (a sales row of 0 is data, not missing).

    >>> quarter_sum([Decimal(1), Decimal(0), Decimal(2)]), quarter_sum([Decimal(1), None, Decimal(2)])
    (Decimal('3'), None)
    """
    if len(monthly) != 3 or any(value is None for value in monthly):
        return None
    return sum(monthly, Decimal(0))


def quarter_attainment(
    actuals: Sequence[Decimal | None], targets: Sequence[Decimal | None]
) -> Decimal | None:
    """100 × the quarter's actual / its agreed target, two places half-up (DESIGN.md §4).

    Defined only when each of the three months has both an actual and an agreed target:
    the quarter's sales and target as `sales_attainment` reads them (there capped at 100).

    >>> quarter_attainment([Decimal(90), Decimal(100), Decimal(110)], [Decimal(100)] * 3)
    Decimal('100.00')
    >>> quarter_attainment([Decimal(90), None, Decimal(110)], [Decimal(100)] * 3) is None
    True
    """
    return attainment(quarter_sum(actuals), quarter_sum(targets))


# Points --------------------------------------------------------------------


@dataclass(frozen=True)
class Tier:
    """From `threshold` percent attainment (inclusive) upwards, `rate` points per 1000 yuan."""

    threshold: Decimal
    rate: Decimal


DEFAULT_TIERS = (
    Tier(Decimal("100"), Decimal("1.0")),
    Tier(Decimal("90"), Decimal("0.5")),
    Tier(Decimal("0"), Decimal("0")),
)


def points_rate(exact: Decimal | None, tiers: Sequence[Tier]) -> Decimal:
    """The rate of the highest tier whose threshold the unrounded attainment reaches; 0 when none."""
    if exact is None:
        return Decimal(0)
    reached = [tier for tier in tiers if exact >= tier.threshold]
    if not reached:
        return Decimal(0)
    return max(reached, key=lambda tier: tier.threshold).rate


def month_points(actual: Decimal | None, target: Decimal | None, tiers: Sequence[Tier]) -> Decimal:
    """rate × actual / 1000, two places half-up; the rate is chosen on the unrounded attainment."""
    if actual is None:
        return Decimal("0.00")
    rate = points_rate(exact_attainment(actual, target), tiers)
    return quantize(rate * actual / THOUSAND)


TierSets = dict[datetime.date, list[Tier]]  # each set of tiers by the month it is effective from


def tiers_in_force(sets: Mapping[datetime.date, Sequence[Tier]], month: datetime.date) -> Sequence[Tier]:
    """The set effective from the latest month on or before `month`; none before the first set.

    >>> sets = {datetime.date(2000, 1, 1): ["old"], datetime.date(2026, 7, 1): ["new"]}
    >>> tiers_in_force(sets, datetime.date(2026, 6, 1)), tiers_in_force(sets, datetime.date(2026, 7, 1))
    (['old'], ['new'])
    """
    starts = [start for start in sets if start <= month]
    return sets[max(starts)] if starts else ()


def months_with_changed_tiers(
    before: Mapping[datetime.date, Sequence[Tier]],
    after: Mapping[datetime.date, Sequence[Tier]],
    *,
    first: datetime.date,
    last: datetime.date,
) -> list[datetime.date]:
    """The months from `first` to `last` whose tiers in force differ between two versions of the sets."""
    months, month = [], first.replace(day=1)
    while month <= last:
        if sorted(map(_tier_key, tiers_in_force(before, month))) != sorted(
            map(_tier_key, tiers_in_force(after, month))
        ):
            months.append(month)
        month = add_months(month, 1)
    return months


def _tier_key(tier: Tier) -> tuple[Decimal, Decimal]:
    return (Decimal(tier.threshold), Decimal(tier.rate))


def tiers_problems(tiers: Sequence[Tier]) -> list[str]:
    """What is wrong with a set of tiers (as English keys for the caller to translate)."""
    problems = []
    if any(tier.rate < 0 for tier in tiers):
        problems.append("negative rate")
    if any(tier.threshold < 0 for tier in tiers):
        problems.append("negative threshold")
    thresholds = [tier.threshold for tier in tiers]
    if len(set(thresholds)) != len(thresholds):
        problems.append("duplicate threshold")
    ordered = sorted(tiers, key=lambda tier: tier.threshold)
    if any(lower.rate > higher.rate for lower, higher in zip(ordered, ordered[1:], strict=False)):
        problems.append("rate falls as attainment rises")
    return problems


# Trends --------------------------------------------------------------------


def moving_average(values: Sequence[Decimal | None], window: int = 3) -> list[Decimal | None]:
    """For each position, the mean of it and the `window - 1` values before; None unless all are known."""
    averages = []
    for index in range(len(values)):
        span = values[max(0, index - window + 1) : index + 1]
        if len(span) < window or any(v is None for v in span):
            averages.append(None)
        else:
            averages.append(quantize(sum(span) / window))
    return averages


def yoy_growth(current: Decimal | None, year_before: Decimal | None) -> Decimal | None:
    """Year-on-year growth in percent; None without both figures or with nothing a year before."""
    if current is None or year_before is None or year_before <= 0:
        return None
    return quantize(HUNDRED * (current - year_before) / year_before)


def attainment_streak(attainments: Sequence[Decimal | None]) -> int:
    """How many of the latest months in a row (oldest first in the input) reached 100 %."""
    streak = 0
    for value in reversed(attainments):
        if value is None or value < HUNDRED:
            break
        streak += 1
    return streak


# Reminders -----------------------------------------------------------------

HEADS_UP = "heads_up"
DEADLINE = "deadline"


def reminder_kind(day: datetime.date, deadline_day: int, heads_up_days: int) -> str | None:
    """Which target reminder is due on `day`: the deadline one, the heads-up one, or none."""
    if day.day == deadline_day:
        return DEADLINE
    if heads_up_days and day.day == deadline_day - heads_up_days:
        return HEADS_UP
    return None
