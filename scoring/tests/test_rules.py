"""The formulas of DESIGN.md §3.2 and §3.4, against hand-computed figures."""

from decimal import Decimal as D

import pytest

from scoring.rules import (
    EXCLUDE,
    MANUAL,
    ZERO_RULE,
    Component,
    Ranked,
    ScoreError,
    attainment_score,
    band_class,
    class_change,
    competition_ranks,
    percentile_scores,
    quota_classes,
    total_score,
    validate_score,
)


@pytest.mark.parametrize("value", ["0", "100", "99.99", "85.5", D("0.01"), 7])
def test_a_score_from_0_to_100_with_two_decimals_is_accepted(value):
    assert validate_score(value, dealer="D1", indicator="价格维护") == D(str(value)).quantize(D("0.01"))


@pytest.mark.parametrize("value", ["-0.01", "100.01", "85.555", "abc", "", "NaN", "1e400"])
def test_a_bad_score_is_refused_naming_dealer_and_indicator(value):
    with pytest.raises(ScoreError) as error:
        validate_score(value, dealer="D00001 恒达", indicator="价格维护")
    assert "D00001 恒达" in str(error.value)
    assert "价格维护" in str(error.value)


def test_percentile_of_distinct_sales():
    # given N = 4: L = 0, 1, 2, 3 over N − 1 = 3
    scores = percentile_scores({"a": D(1), "b": D(2), "c": D(3), "d": D(4)})
    assert scores == {"a": D("0.00"), "b": D("33.33"), "c": D("66.67"), "d": D("100.00")}


def test_percentile_ties_count_half():
    # given b and c equal: L = 1, E = 1 → 100 × 1.5 / 3 = 50
    scores = percentile_scores({"a": D(10), "b": D(20), "c": D(20), "d": D(30)})
    assert scores == {"a": D("0.00"), "b": D("50.00"), "c": D("50.00"), "d": D("100.00")}


def test_percentile_all_equal_and_single_peer():
    assert percentile_scores({"a": D(5), "b": D(5)}) == {"a": D("50.00"), "b": D("50.00")}
    assert percentile_scores({"only": D(0)}) == {"only": D("100.00")}


def test_attainment_is_capped_at_100_and_missing_without_target():
    assert attainment_score(D("90000"), D("120000")) == D("75.00")
    assert attainment_score(D("200"), D("100")) == D("100.00")
    assert attainment_score(D("1"), D("3")) == D("33.33")
    assert attainment_score(D("2"), D("3")) == D("66.67")
    assert attainment_score(D("0"), D("100")) == D("0.00")
    assert attainment_score(None, D("100")) is None
    assert attainment_score(D("100"), None) is None


EXCLUSIVE = [D(20), D(20), D(15), D(15), D(15), D(15)]
SCORES = [D(80), D(90), D(70), D(60), D(100), D(85)]


def test_total_is_weighted_mean():
    # 1600 + 1800 + 1050 + 900 + 1500 + 1275 = 8125 over 100
    assert total_score(Component(w, s) for w, s in zip(EXCLUSIVE, SCORES, strict=True)) == D("81.25")


def test_exclude_renormalises_the_remaining_weights():
    # given attainment (w 20, s 90) missing: 6325 / 80 = 79.0625
    components = [Component(w, s) for w, s in zip(EXCLUSIVE, SCORES, strict=True)]
    components[1] = Component(D(20), None, EXCLUDE)
    assert total_score(components) == D("79.06")


def test_zero_rule_counts_a_missing_score_as_zero():
    components = [Component(w, s) for w, s in zip(EXCLUSIVE, SCORES, strict=True)]
    components[1] = Component(D(20), None, ZERO_RULE)
    assert total_score(components) == D("63.25")


def test_manual_rule_leaves_the_total_undefined():
    components = [Component(w, s) for w, s in zip(EXCLUSIVE, SCORES, strict=True)]
    components[2] = Component(D(15), None, MANUAL)
    assert total_score(components) is None


def test_each_score_is_rounded_before_weighting():
    # rounded first: 3 × 0.01 / 4 = 0.0075 → 0.01; unrounded it would be 0.00375 → 0.00
    assert total_score([Component(D(3), D("0.005")), Component(D(1), D(0))]) == D("0.01")


def test_nothing_counting_gives_no_total():
    assert total_score([Component(D(10), None, EXCLUDE)]) is None


@pytest.mark.parametrize(
    ("total", "expected"),
    [("100", "A"), ("85.00", "A"), ("84.99", "B"), ("70", "B"), ("69.99", "C"), ("0", "C")],
)
def test_bands_are_inclusive(total, expected):
    assert band_class(D(total), a=D(85), b=D(70)) == expected


def _ranked(totals):
    return [Ranked(key=f"D{i}", total=D(t), sales_volume=D(0), code=f"D{i}") for i, t in enumerate(totals)]


def test_quota_rounding_for_seven_dealers():
    # A: round(7 × 0.2) = round(1.4) = 1; up to B: round(7 × 0.5) = round(3.5) = 4
    classes = quota_classes(_ranked([90, 80, 70, 60, 50, 40, 30]), a=D(20), b=D(30))
    assert [classes[f"D{i}"] for i in range(7)] == ["A", "B", "B", "B", "C", "C", "C"]


def test_quota_for_one_dealer_is_b():
    # A: round(0.2) = 0; up to B: round(0.5) = 1
    assert quota_classes(_ranked([99]), a=D(20), b=D(30)) == {"D0": "B"}


def test_quota_for_ten_dealers():
    classes = quota_classes(_ranked(range(100, 0, -10)), a=D(20), b=D(30))
    assert [classes[f"D{i}"] for i in range(10)] == ["A"] * 2 + ["B"] * 3 + ["C"] * 5


def test_quota_ties_go_to_higher_sales_volume_then_dealer_code():
    entries = [
        Ranked("x", D(80), D(40), "D3"),
        Ranked("y", D(80), D(60), "D9"),
        Ranked("z", D(80), D(40), "D1"),
        Ranked("w", D(70), D(99), "D0"),
        Ranked("v", D(60), D(99), "D2"),
    ]
    # N = 5: A = round(1) = 1, up to B = round(2.5) = 3
    assert quota_classes(entries, a=D(20), b=D(30)) == {"y": "A", "z": "B", "x": "B", "w": "C", "v": "C"}


def test_ranks_share_the_better_rank_on_rounded_totals():
    assert competition_ranks({"a": D(90), "b": D(80), "c": D(80), "d": D(70)}) == {
        "a": 1,
        "b": 2,
        "c": 2,
        "d": 4,
    }
    assert competition_ranks({"a": D("80.004"), "b": D("80.001"), "c": D("80.005")}) == {
        "a": 2,
        "b": 2,
        "c": 1,
    }


@pytest.mark.parametrize(
    ("previous", "final", "expected"),
    [
        (None, "B", "new"),
        ("", "C", "new"),
        ("B", "A", "up"),
        ("C", "B", "up"),
        ("A", "C", "down"),
        ("C", "C", "same"),
    ],
)
def test_class_change(previous, final, expected):
    assert class_change(previous, final) == expected
