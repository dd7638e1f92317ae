import datetime
from decimal import Decimal as D

import pytest

from dealers.targets.rules import (
    DEFAULT_TIERS,
    Tier,
    agreement_in_force,
    attainment,
    attainment_streak,
    exact_attainment,
    is_late,
    month_closed,
    month_points,
    moving_average,
    points_rate,
    quarter_attainment,
    quarter_sum,
    reminder_kind,
    target_deadline,
    tiers_problems,
    timeliness,
    yoy_growth,
)


@pytest.mark.parametrize(
    ("month", "agreed_on", "late"),
    [
        (datetime.date(2026, 9, 1), datetime.date(2026, 8, 24), False),
        (datetime.date(2026, 9, 1), datetime.date(2026, 8, 25), False),
        (datetime.date(2026, 9, 1), datetime.date(2026, 8, 26), True),
        (datetime.date(2026, 9, 1), datetime.date(2026, 9, 3), True),
        (datetime.date(2026, 1, 1), datetime.date(2025, 12, 25), False),
        (datetime.date(2026, 1, 1), datetime.date(2025, 12, 26), True),
        (datetime.date(2026, 1, 1), datetime.date(2026, 1, 2), True),
        (datetime.date(2026, 9, 1), datetime.date(2026, 5, 1), False),
    ],
)
def test_a_target_is_late_only_when_agreed_after_the_25th_of_the_month_before(month, agreed_on, late):
    # when / then
    assert is_late(month, agreed_on) is late


@pytest.mark.parametrize(
    ("agreed_on", "expected"),
    [
        (datetime.date(2026, 8, 25), "on_time"),  # the deadline day itself
        (datetime.date(2026, 8, 26), "late"),
        (datetime.date(2026, 10, 2), "late"),  # agreed after the month itself
        (None, "imported"),  # imported without its date: neither
    ],
)
def test_timeliness_is_on_time_late_or_imported_without_a_date(agreed_on, expected):
    assert timeliness(datetime.date(2026, 9, 1), agreed_on) == expected


def test_timeliness_follows_the_configured_deadline_day():
    assert timeliness(datetime.date(2026, 9, 1), datetime.date(2026, 8, 20), deadline_day=20) == "on_time"
    assert timeliness(datetime.date(2026, 9, 1), datetime.date(2026, 8, 21), deadline_day=20) == "late"


@pytest.mark.parametrize(
    ("today", "closed"),
    [
        (datetime.date(2026, 8, 31), False),
        (datetime.date(2026, 9, 1), True),  # closed from its first day
        (datetime.date(2026, 9, 30), True),
        (datetime.date(2027, 1, 1), True),
    ],
)
def test_a_month_is_closed_once_it_has_begun(today, closed):
    assert month_closed(datetime.date(2026, 9, 1), today) is closed
    assert month_closed(datetime.date(2026, 9, 17), today) is closed  # any day stands for its month


def test_a_target_is_agreed_only_under_an_agreement_signed_by_that_day():
    signed = datetime.date(2026, 1, 15)
    assert agreement_in_force(signed, datetime.date(2026, 1, 15))
    assert agreement_in_force(signed, datetime.date(2026, 3, 1))
    assert not agreement_in_force(signed, datetime.date(2026, 1, 14))


def test_the_deadline_of_january_is_the_25th_of_december_before():
    assert target_deadline(datetime.date(2027, 1, 1)) == datetime.date(2026, 12, 25)
    assert target_deadline(datetime.date(2027, 3, 1), deadline_day=20) == datetime.date(2027, 2, 20)


def test_attainment_is_percent_two_places_half_up():
    assert attainment(D("90000"), D("100000")) == D("90.00")
    assert attainment(D("1"), D("3")) == D("33.33")
    assert attainment(D("2"), D("3")) == D("66.67")
    assert attainment(D("100.005"), D("10000")) == D("1.00")
    assert attainment(D("0.125"), D("1")) == D("12.50")


def test_attainment_is_none_without_a_target_or_an_actual():
    assert attainment(None, D("100")) is None
    assert attainment(D("100"), None) is None
    assert attainment(D("100"), D("0")) is None


@pytest.mark.parametrize(
    ("actual", "rate"),
    [
        (D("89990"), D("0")),  # 89.99 %
        (D("90000"), D("0.5")),  # 90 %
        (D("99990"), D("0.5")),  # 99.99 %
        (D("99996"), D("0.5")),  # 99.996 % shows as 100.00 but is below 100
        (D("100000"), D("1.0")),  # 100 %
        (D("250000"), D("1.0")),
        (D("0"), D("0")),
    ],
)
def test_the_rate_is_chosen_on_the_unrounded_attainment(actual, rate):
    # given a target of 100,000
    exact = exact_attainment(actual, D("100000"))
    # then
    assert points_rate(exact, DEFAULT_TIERS) == rate


def test_99_996_percent_rounds_to_100_but_earns_the_90_percent_rate():
    assert attainment(D("99996"), D("100000")) == D("100.00")
    assert month_points(D("99996"), D("100000"), DEFAULT_TIERS) == D("50.00")


@pytest.mark.parametrize(
    ("actual", "target", "points"),
    [
        (D("89990"), D("100000"), D("0.00")),
        (D("90000"), D("100000"), D("45.00")),
        (D("99990"), D("100000"), D("50.00")),  # 49.995 rounds half-up
        (D("100000"), D("100000"), D("100.00")),
        (D("123456.78"), D("100000"), D("123.46")),  # 123.45678
        (D("100005"), D("100000"), D("100.01")),  # 100.005 rounds half-up
        (D("50000"), None, D("0.00")),
        (None, D("100000"), D("0.00")),
    ],
)
def test_points_are_rate_times_actual_per_thousand_rounded_half_up(actual, target, points):
    assert month_points(actual, target, DEFAULT_TIERS) == points


def test_points_follow_edited_tiers():
    # given admin-edited tiers
    tiers = [Tier(D("80"), D("0.2")), Tier(D("120"), D("2")), Tier(D("100"), D("1.5"))]
    # then
    assert month_points(D("79999"), D("100000"), tiers) == D("0.00")
    assert month_points(D("80000"), D("100000"), tiers) == D("16.00")
    assert month_points(D("110000"), D("100000"), tiers) == D("165.00")
    assert month_points(D("120000"), D("100000"), tiers) == D("240.00")


def test_tiers_with_negative_rates_or_falling_rates_are_refused():
    assert tiers_problems(list(DEFAULT_TIERS)) == []
    assert "negative rate" in tiers_problems([Tier(D("90"), D("-1"))])
    assert "rate falls as attainment rises" in tiers_problems(
        [Tier(D("90"), D("1")), Tier(D("100"), D("0.5"))]
    )
    assert "duplicate threshold" in tiers_problems([Tier(D("90"), D("1")), Tier(D("90"), D("2"))])


def test_the_moving_average_needs_three_known_months():
    values = [D("100"), D("200"), D("300"), None, D("400"), D("500"), D("601")]
    assert moving_average(values) == [None, None, D("200.00"), None, None, None, D("500.33")]


def test_year_on_year_growth_in_percent():
    assert yoy_growth(D("110"), D("100")) == D("10.00")
    assert yoy_growth(D("90"), D("120")) == D("-25.00")
    assert yoy_growth(D("1"), D("3")) == D("-66.67")
    assert yoy_growth(D("110"), None) is None
    assert yoy_growth(None, D("100")) is None
    assert yoy_growth(D("110"), D("0")) is None


def test_the_streak_counts_the_latest_months_at_or_above_100_percent():
    assert attainment_streak([D("120"), D("80"), D("100"), D("105")]) == 2
    assert attainment_streak([D("120"), D("101"), D("99.996")]) == 0
    assert attainment_streak([D("120"), None, D("100")]) == 1
    assert attainment_streak([]) == 0
    assert attainment_streak([D("100"), D("100"), D("100")]) == 3


@pytest.mark.parametrize(
    ("day", "kind"),
    [
        (datetime.date(2026, 9, 25), "deadline"),
        (datetime.date(2026, 9, 20), "heads_up"),
        (datetime.date(2026, 9, 19), None),
        (datetime.date(2026, 9, 24), None),
        (datetime.date(2026, 9, 26), None),
        (datetime.date(2026, 12, 25), "deadline"),
    ],
)
def test_the_reminder_is_due_on_the_deadline_day_and_the_heads_up_day(day, kind):
    assert reminder_kind(day, deadline_day=25, heads_up_days=5) == kind


def test_no_heads_up_when_its_days_are_zero():
    assert reminder_kind(datetime.date(2026, 9, 25), deadline_day=25, heads_up_days=0) == "deadline"
    assert reminder_kind(datetime.date(2026, 9, 20), deadline_day=25, heads_up_days=0) is None


# Quarter attainment ---------------------------------------------------------------


def test_a_quarter_sum_needs_all_three_months_and_counts_a_zero():
    assert quarter_sum([D("100"), D("0"), D("50.50")]) == D("150.50")
    assert quarter_sum([D("100"), None, D("50")]) is None
    assert quarter_sum([D("100"), D("50")]) is None  # two months are not a quarter


@pytest.mark.parametrize(
    ("actuals", "targets", "expected"),
    [
        # 90 + 100 + 110 = 300 against 3 × 100 = 300 → 100.00
        (["90", "100", "110"], ["100", "100", "100"], D("100.00")),
        # 50000 + 60000 + 70000 = 180000 against 190000 → 94.7368… → 94.74
        (["50000", "60000", "70000"], ["60000", "60000", "70000"], D("94.74")),
        # a quarter above 100 % stays above (the indicator caps it, the page does not): 330 / 300
        (["110", "110", "110"], ["100", "100", "100"], D("110.00")),
        # a month of 0 sales is data: 0 + 100 + 100 = 200 / 300 → 66.666… → 66.67
        (["0", "100", "100"], ["100", "100", "100"], D("66.67")),
        # the middle month without an actual: none, not 100 % over the two others
        (["100", None, "100"], ["100", "100", "100"], None),
        # a month without an agreed target: none
        (["100", "100", "100"], ["100", None, "100"], None),
    ],
)
def test_quarter_attainment_is_defined_only_when_each_month_has_both(actuals, targets, expected):
    def decimals(values):
        return [None if v is None else D(v) for v in values]

    assert quarter_attainment(decimals(actuals), decimals(targets)) == expected


def test_quarter_attainment_agrees_with_the_sales_attainment_indicator():
    from scoring.rules import attainment_score

    actuals, targets = [D("50000"), D("60000"), D("70000")], [D("60000"), D("60000"), D("70000")]
    indicator = attainment_score(quarter_sum(actuals), quarter_sum(targets))
    assert indicator == min(D(100), quarter_attainment(actuals, targets)) == D("94.74")
