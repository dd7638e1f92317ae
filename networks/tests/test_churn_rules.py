"""Churn timeliness and suspected churn (DESIGN.md §5), worked out by hand."""

import datetime
import doctest
from decimal import Decimal as D

import pytest

from networks import rules
from networks.rules import days_to_report, last_complete_months, median_days, suspected_churn

d = datetime.date


def test_the_docstring_examples_hold():
    assert doctest.testmod(rules).failed == 0


def test_days_to_report_count_calendar_days_across_a_month_end():
    assert days_to_report(d(2026, 6, 28), d(2026, 7, 3)) == 5
    assert days_to_report(d(2026, 7, 3), d(2026, 7, 3)) == 0


def test_the_median_of_an_odd_and_an_even_number_of_reports():
    assert median_days([12]) == D("12.00")
    assert median_days([30, 2, 7]) == D("7.00")
    # 3 and 4 in the middle: 3.5
    assert median_days([1, 3, 4, 90]) == D("3.50")
    assert median_days([]) is None


@pytest.mark.parametrize(
    ("today", "months"),
    [
        (d(2026, 7, 1), [d(2026, 5, 1), d(2026, 6, 1)]),  # the first day: June has just ended
        (d(2026, 6, 30), [d(2026, 4, 1), d(2026, 5, 1)]),  # the last day: June is not complete yet
        (d(2026, 2, 1), [d(2025, 12, 1), d(2026, 1, 1)]),  # across the year end
    ],
)
def test_the_last_two_complete_months_at_month_boundaries(today, months):
    assert last_complete_months(today) == months


def test_a_dealer_without_sales_rows_in_the_last_two_complete_months_is_suspected():
    joined = d(2025, 1, 1)
    # on 1 July: May and June without rows → suspected; a row in June (even of 0) → not
    assert suspected_churn(joined, None, [d(2026, 4, 1)], d(2026, 7, 1))
    assert not suspected_churn(joined, None, [d(2026, 6, 1)], d(2026, 7, 1))
    # on 30 June the months are April and May: a row in April clears it, June's does not count yet
    assert not suspected_churn(joined, None, [d(2026, 4, 1)], d(2026, 6, 30))
    assert suspected_churn(joined, None, [d(2026, 6, 1)], d(2026, 6, 30))


def test_churned_and_new_dealers_are_not_suspected():
    # a dealer already churned is out of the network
    assert not suspected_churn(d(2025, 1, 1), d(2026, 6, 15), [], d(2026, 7, 1))
    # a dealer that joined on 2 May was not in the network through May
    assert not suspected_churn(d(2026, 5, 2), None, [], d(2026, 7, 1))
    # one that joined on 1 May was
    assert suspected_churn(d(2026, 5, 1), None, [], d(2026, 7, 1))
