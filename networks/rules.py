"""The network-health metrics of DESIGN.md §5, as pure functions (no database).

The services feed them per-dealer facts aggregated in SQL; every figure is
defined here once and tested by hand-computed examples.
"""

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from decimal import ROUND_HALF_UP, Decimal

from evalsys.periods import Quarter, add_months

TWO_PLACES = Decimal("0.01")
ZERO = Decimal("0.00")
KEY_CUSTOMER_COUNT = 20

# The metric names of §5 in the order given there: the columns of the export.
METRIC_NAMES = (
    "active_end",
    "active_prev",
    "active_year_before",
    "growth_qoq",
    "growth_yoy",
    "new",
    "churned",
    "key_sales",
    "key_sales_prev",
    "key_sales_year_before",
    "key_growth_qoq",
    "key_growth_yoy",
    "visits_per_dealer_month",
    "visit_coverage",
    "mean_effect",
    "churn_report_days",
)


def two_places(value: Decimal) -> Decimal:
    return value.quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def in_network(joined: datetime.date, churned_on: datetime.date | None, day: datetime.date) -> bool:
    """Joined on or before `day` and not churned on or before it (suspended dealers count)."""
    return joined <= day and (churned_on is None or churned_on > day)


def growth(current, base) -> Decimal | None:
    """100 × (current − base) / base, two places half-up; None when the base is 0."""
    if not base:
        return None
    return two_places(Decimal(100) * (Decimal(current) - Decimal(base)) / Decimal(base))


def ratio(numerator, denominator) -> Decimal | None:
    """numerator / denominator, two places half-up; None when the denominator is 0."""
    if not denominator:
        return None
    return two_places(Decimal(numerator) / Decimal(denominator))


@dataclass(frozen=True)
class DealerFacts:
    """One dealer of an office, with its sales and visits aggregated for one quarter."""

    code: str
    joined: datetime.date
    churned_on: datetime.date | None = None
    sales: Decimal = ZERO
    sales_prev: Decimal = ZERO
    sales_year_before: Decimal = ZERO
    visits: int = 0
    effect_total: int = 0
    reported_on: datetime.date | None = None  # the day its churn report was filed


@dataclass(frozen=True)
class NetworkMetrics:
    active_end: int
    active_prev: int
    active_year_before: int
    growth_qoq: Decimal | None
    growth_yoy: Decimal | None
    new: int
    churned: int
    key_sales: Decimal
    key_sales_prev: Decimal
    key_sales_year_before: Decimal
    key_growth_qoq: Decimal | None
    key_growth_yoy: Decimal | None
    visits_per_dealer_month: Decimal | None
    visit_coverage: Decimal | None
    mean_effect: Decimal | None
    churn_report_days: Decimal | None = None
    visits: int = 0
    key_customers: tuple[str, ...] = ()
    key_customer_sales: tuple[Decimal, ...] = ()

    def values(self) -> list:
        """The metrics of §5 in export order."""
        return [getattr(self, name) for name in METRIC_NAMES]

    def as_json(self) -> dict:
        """A JSON-safe snapshot: decimals as two-place strings, None kept."""
        data = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, Decimal):
                value = str(two_places(value))
            elif isinstance(value, tuple):
                value = [str(v) if isinstance(v, Decimal) else v for v in value]
            data[field.name] = value
        return data


def key_customers(dealers: Iterable[DealerFacts], limit: int = KEY_CUSTOMER_COUNT) -> list[DealerFacts]:
    """The `limit` dealers with the highest quarter sales, ties broken by code ascending."""
    return sorted(dealers, key=lambda d: (-d.sales, d.code))[:limit]


def office_metrics(quarter: Quarter, dealers: Sequence[DealerFacts]) -> NetworkMetrics:
    """§5's metrics of one office for `quarter`, dealer by dealer: the definition.

    `dealers` holds every dealer of the office (also churned ones); sales and
    visits are those of `quarter` (and of the previous quarter and the same
    quarter a year before for the sales). The services count the same in SQL
    (`services.compute_metrics`) and are tested against this function.
    """
    end = quarter.end
    at_end = [d for d in dealers if in_network(d.joined, d.churned_on, end)]
    return network_metrics(
        active_end=len(at_end),
        active_prev=sum(1 for d in dealers if in_network(d.joined, d.churned_on, quarter.previous().end)),
        active_year_before=sum(
            1 for d in dealers if in_network(d.joined, d.churned_on, quarter.year_before().end)
        ),
        new=sum(1 for d in dealers if quarter.start <= d.joined <= end),
        churned=sum(1 for d in dealers if d.churned_on and quarter.start <= d.churned_on <= end),
        candidates=at_end,
        visits=sum(d.visits for d in dealers),
        effect_total=sum(d.effect_total for d in dealers),
        visited=sum(1 for d in at_end if d.visits),
        report_days=[
            days_to_report(d.churned_on, d.reported_on)
            for d in dealers
            if d.churned_on and d.reported_on and quarter.start <= d.churned_on <= end
        ],
    )


def network_metrics(
    *,
    active_end: int,
    active_prev: int,
    active_year_before: int,
    new: int,
    churned: int,
    candidates: Iterable[DealerFacts],
    visits: int,
    effect_total: int,
    visited: int,
    report_days: Iterable[int] = (),
) -> NetworkMetrics:
    """The metrics from the office's counts, its key-customer candidates and its visit totals.

    `candidates` are dealers in the network at quarter end, at least the 20
    best-selling of them; `visits` and `effect_total` cover the quarter's visits
    to all of the office's dealers; `visited` counts the dealers in the network at
    quarter end with at least one of those visits; `report_days` the days from
    churn to report of the office's dealers churned within the quarter that have a report.
    """
    key = key_customers(candidates)
    key_sales = sum((d.sales for d in key), ZERO)
    key_sales_prev = sum((d.sales_prev for d in key), ZERO)
    key_sales_year_before = sum((d.sales_year_before for d in key), ZERO)
    return NetworkMetrics(
        active_end=active_end,
        active_prev=active_prev,
        active_year_before=active_year_before,
        growth_qoq=growth(active_end, active_prev),
        growth_yoy=growth(active_end, active_year_before),
        new=new,
        churned=churned,
        key_sales=two_places(key_sales),
        key_sales_prev=two_places(key_sales_prev),
        key_sales_year_before=two_places(key_sales_year_before),
        key_growth_qoq=growth(key_sales, key_sales_prev),
        key_growth_yoy=growth(key_sales, key_sales_year_before),
        visits_per_dealer_month=ratio(visits, active_end * 3),
        visit_coverage=ratio(100 * visited, active_end),
        mean_effect=ratio(effect_total, visits),
        churn_report_days=median_days(report_days),
        visits=visits,
        key_customers=tuple(d.code for d in key),
        key_customer_sales=tuple(two_places(d.sales) for d in key),
    )


def audit_score(*ratings: Decimal) -> Decimal:
    """The office score of an audit: the mean of the auditor's ratings, two places half-up."""
    return two_places(sum(ratings, Decimal(0)) / len(ratings))


# Churn caught early ----------------------------------------------------------------


def days_to_report(churned_on: datetime.date, reported_on: datetime.date) -> int:
    """Days from the churn date to the day its report was filed (0 the same day).

    >>> days_to_report(datetime.date(2026, 6, 28), datetime.date(2026, 7, 3))
    5
    """
    return (reported_on - churned_on).days


def median_days(days: Iterable[int]) -> Decimal | None:
    """The median of the days to report, two places; the mean of the middle two for an even count.

    >>> median_days([9, 1, 4])
    Decimal('4.00')
    >>> median_days([1, 4, 5, 30])
    Decimal('4.50')
    """
    ordered = sorted(days)
    if not ordered:
        return None
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return two_places(Decimal(ordered[middle]))
    return two_places(Decimal(ordered[middle - 1] + ordered[middle]) / 2)


def last_complete_months(today: datetime.date, count: int = 2) -> list[datetime.date]:
    """The `count` months before the month of `today` (first days), oldest first.

    >>> last_complete_months(datetime.date(2026, 7, 1))
    [datetime.date(2026, 5, 1), datetime.date(2026, 6, 1)]
    >>> last_complete_months(datetime.date(2026, 1, 31))
    [datetime.date(2025, 11, 1), datetime.date(2025, 12, 1)]
    """
    first = today.replace(day=1)
    return [add_months(first, -n) for n in range(count, 0, -1)]


def suspected_churn(
    joined: datetime.date,
    churned_on: datetime.date | None,
    sales_months: Iterable[datetime.date],
    today: datetime.date,
) -> bool:
    """A dealer in the network today, in it through the last two complete months, with no sales row in either.

    A dealer that joined during those months is too new to judge; a sales row
    of 0 is a row (data), not a gap.
    """
    months = last_complete_months(today)
    if not in_network(joined, churned_on, today) or joined > months[0]:
        return False
    return not set(months).intersection(m.replace(day=1) for m in sales_months)
