import datetime
from decimal import Decimal

from evalsys.periods import Quarter
from networks.rules import (
    METRIC_NAMES,
    DealerFacts,
    audit_score,
    growth,
    in_network,
    key_customers,
    office_metrics,
)

Q3 = Quarter(2026, 3)
D = datetime.date
M = Decimal


def typical_office():
    """Q3 2026: end 2026-09-30, previous end 2026-06-30, a year before 2025-09-30."""
    return [
        # in the network at every end
        DealerFacts("A", D(2020, 1, 1), None, M("300"), M("200"), M("100"), visits=2, effect_total=8),
        # joins within the quarter
        DealerFacts("B", D(2026, 8, 15), None, M("50"), visits=1, effect_total=5),
        # churns within the quarter: its visit counts, its sales make it no key customer
        DealerFacts(
            "C", D(2019, 5, 1), D(2026, 8, 1), M("999"), M("999"), M("999"), visits=1, effect_total=2
        ),
        # joined after the year-before end, no sales rows this quarter
        DealerFacts("D", D(2025, 10, 1), None, M("0"), M("40"), M("0")),
        # churned long ago
        DealerFacts("E", D(2020, 1, 1), D(2025, 3, 1)),
    ]


def test_active_counts_at_quarter_end_previous_end_and_a_year_before():
    metrics = office_metrics(Q3, typical_office())
    assert (metrics.active_end, metrics.active_prev, metrics.active_year_before) == (3, 3, 2)


def test_growth_of_active_dealers_against_previous_quarter_and_a_year_before():
    metrics = office_metrics(Q3, typical_office())
    assert metrics.growth_qoq == M("0.00")
    assert metrics.growth_yoy == M("50.00")  # 100 × (3 − 2) / 2


def test_a_dealer_joining_and_one_churning_within_the_quarter_are_counted():
    metrics = office_metrics(Q3, typical_office())
    assert (metrics.new, metrics.churned) == (1, 1)


def test_a_dealer_may_count_as_new_and_churned_in_the_same_quarter():
    # given
    dealers = [DealerFacts("X", D(2026, 7, 1), D(2026, 9, 30))]
    # when
    metrics = office_metrics(Q3, dealers)
    # then: churned on the last day, so it is out of the network at the end
    assert (metrics.new, metrics.churned, metrics.active_end) == (1, 1, 0)


def test_key_customers_are_the_dealers_in_the_network_at_the_end_by_sales():
    metrics = office_metrics(Q3, typical_office())
    assert metrics.key_customers == ("A", "B", "D")  # fewer than 20: all of them
    assert metrics.key_customer_sales == (M("300.00"), M("50.00"), M("0.00"))
    assert metrics.key_sales == M("350.00")
    assert metrics.key_sales_prev == M("240.00")  # A 200 + B none + D 40
    assert metrics.key_sales_year_before == M("100.00")
    assert metrics.key_growth_qoq == M("45.83")  # 100 × 110 / 240 = 45.833…
    assert metrics.key_growth_yoy == M("250.00")


def test_visit_figures_count_visits_to_churned_dealers_but_coverage_only_the_network():
    metrics = office_metrics(Q3, typical_office())
    assert metrics.visits == 4
    assert metrics.visits_per_dealer_month == M("0.44")  # 4 / (3 × 3)
    assert metrics.visit_coverage == M("66.67")  # A and B of A, B, D
    assert metrics.mean_effect == M("3.75")  # (8 + 5 + 2) / 4


def test_a_quarter_without_visits_has_zero_frequency_and_coverage_and_no_mean_effect():
    dealers = [DealerFacts("A", D(2020, 1, 1)), DealerFacts("B", D(2020, 1, 1))]
    metrics = office_metrics(Q3, dealers)
    assert metrics.visits_per_dealer_month == M("0.00")
    assert metrics.visit_coverage == M("0.00")
    assert metrics.mean_effect is None


def test_an_office_without_dealers_has_zero_counts_and_no_ratios():
    metrics = office_metrics(Q3, [])
    assert metrics.values() == [0, 0, 0, None, None, 0, 0, M("0.00"), M("0.00"), M("0.00")] + [None] * 6


def test_key_customers_stop_at_20_with_ties_at_the_20th_place_broken_by_code():
    # given: 19 clear leaders and three dealers tied for 20th place
    dealers = [DealerFacts(f"L{n:02d}", D(2020, 1, 1), None, M(1000 + n)) for n in range(19)]
    dealers += [DealerFacts(code, D(2020, 1, 1), None, M("100")) for code in ("T3", "T1", "T2")]
    # when
    key = key_customers(dealers)
    metrics = office_metrics(Q3, dealers)
    # then
    assert len(key) == 20
    assert key[-1].code == "T1"
    assert "T2" not in metrics.key_customers and "T3" not in metrics.key_customers
    assert metrics.key_sales == M(sum(1000 + n for n in range(19)) + 100)


def test_key_growth_is_empty_when_the_same_dealers_sold_nothing_before():
    dealers = [DealerFacts("A", D(2020, 1, 1), None, M("10"))]
    metrics = office_metrics(Q3, dealers)
    assert metrics.key_growth_qoq is None and metrics.key_growth_yoy is None


def test_growth_rounds_half_up_to_two_places():
    assert growth(M("200.01"), M("200")) == M("0.01")  # 0.005
    assert growth(M("199.99"), M("200")) == M("-0.01")  # −0.005
    assert growth(1, 3) == M("-66.67")
    assert growth(5, 0) is None


def test_in_network_on_the_joining_day_but_not_on_the_churn_day():
    assert in_network(D(2026, 7, 1), None, D(2026, 7, 1))
    assert not in_network(D(2026, 7, 2), None, D(2026, 7, 1))
    assert in_network(D(2020, 1, 1), D(2026, 7, 2), D(2026, 7, 1))
    assert not in_network(D(2020, 1, 1), D(2026, 7, 1), D(2026, 7, 1))


def test_metric_names_follow_the_order_of_the_design():
    assert METRIC_NAMES[:3] == ("active_end", "active_prev", "active_year_before")
    assert METRIC_NAMES[-4:] == (
        "visits_per_dealer_month",
        "visit_coverage",
        "mean_effect",
        "churn_report_days",  # appended after the metrics above (§5, churn)
    )
    assert len(METRIC_NAMES) == 16


def test_the_audit_score_is_the_mean_of_the_ratings_half_up():
    assert audit_score(M("80"), M("75"), M("90")) == M("81.67")
    assert audit_score(M("80.00"), M("80.01"), M("80.00")) == M("80.00")
    assert audit_score(M("0.01"), M("0.00"), M("0.005")) == M("0.01")
