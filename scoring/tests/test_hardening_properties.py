"""Property-based tests of the scoring rules (DESIGN.md §3.2, §3.4) with hypothesis.

The hand-computed cases are in test_rules.py; these check that the rules hold for
any input: bounds, weight normalisation and `exclude`, ties in percentiles and
ranks, and quota counts.
"""

import random
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from scoring import rules
from scoring.rules import Component, Ranked

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

scores = st.decimals(min_value=0, max_value=100, places=2, allow_nan=False, allow_infinity=False)
weights = st.integers(min_value=1, max_value=100).map(Decimal)
amounts = st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False)
missing_rules = st.sampled_from([rules.MANUAL, rules.ZERO_RULE, rules.EXCLUDE])
components = st.builds(Component, weight=weights, score=st.none() | scores, rule=missing_rules)


def exact_q2(value: Fraction) -> Decimal:
    """Round an exact fraction half-up to two places."""
    hundredths = value * 100
    whole = hundredths.numerator // hundredths.denominator
    if hundredths - whole >= Fraction(1, 2):
        whole += 1
    return Decimal(whole) / 100


# Scores -----------------------------------------------------------------------------


@given(scores)
def test_every_score_from_0_to_100_with_two_decimals_is_accepted_as_it_is(value):
    assert rules.validate_score(str(value), dealer="D1", indicator="I") == value


@given(
    st.decimals(allow_nan=False, allow_infinity=False, places=4).filter(
        lambda v: v < 0 or v > 100 or v != v.quantize(Decimal("0.01"))
    )
)
def test_every_other_number_is_refused_naming_the_dealer_and_the_indicator(value):
    with pytest.raises(rules.ScoreError) as refused:
        rules.validate_score(str(value), dealer="经销商D1", indicator="价格维护")
    assert "经销商D1" in str(refused.value) and "价格维护" in str(refused.value)


@given(st.text(max_size=12).filter(lambda t: _not_a_number(t)))
def test_text_that_is_not_a_number_is_refused(text):
    with pytest.raises(rules.ScoreError):
        rules.validate_score(text, dealer="D1", indicator="I")


def _not_a_number(text):
    try:
        return not Decimal(text.strip()).is_finite()
    except ArithmeticError:
        return True


# Percentile ------------------------------------------------------------------------


@given(st.lists(amounts, min_size=1, max_size=40))
def test_percentile_scores_are_within_0_and_100_ties_share_and_more_sales_score_more(values):
    sales = {f"D{i}": v for i, v in enumerate(values)}
    result = rules.percentile_scores(sales)
    assert set(result) == set(sales)
    for _key, score in result.items():
        assert Decimal(0) <= score <= Decimal(100)
        assert score == score.quantize(Decimal("0.01"))
    for a in sales:
        for b in sales:
            if sales[a] == sales[b]:
                assert result[a] == result[b]
            elif sales[a] > sales[b]:
                assert result[a] > result[b]
    if len(values) == 1:
        assert list(result.values()) == [Decimal(100)]


@given(st.lists(amounts, min_size=2, max_size=40))
def test_percentile_scores_average_50_before_rounding(values):
    # Σ(L + 0.5·E) over all peers is N(N−1)/2, so the exact scores average 50.
    result = rules.percentile_scores(dict(enumerate(values)))
    mean = sum(result.values()) / len(result)
    assert abs(mean - 50) <= Decimal("0.005")


@given(st.lists(amounts, min_size=1, max_size=30), st.randoms(use_true_random=False))
def test_percentile_scores_do_not_depend_on_the_order_of_the_peers(values, rnd):
    sales = {f"D{i}": v for i, v in enumerate(values)}
    shuffled = list(sales.items())
    rnd.shuffle(shuffled)
    assert rules.percentile_scores(dict(shuffled)) == rules.percentile_scores(sales)


# Attainment -------------------------------------------------------------------------


@given(amounts, amounts)
def test_attainment_is_within_0_and_100_and_none_without_a_positive_target(sales, target):
    result = rules.attainment_score(sales, target)
    if target <= 0:
        assert result is None
    else:
        assert Decimal(0) <= result <= Decimal(100)
        assert result == min(Decimal(100), exact_q2(Fraction(sales) * 100 / Fraction(target)))


@given(amounts)
def test_attainment_is_none_when_sales_or_target_is_missing(amount):
    assert rules.attainment_score(None, amount) is None
    assert rules.attainment_score(amount, None) is None


# Total and weights -------------------------------------------------------------------


@given(st.lists(components, min_size=1, max_size=12))
def test_the_total_is_the_weighted_mean_of_what_counts(parts):
    total = rules.total_score(parts)
    if any(c.score is None and c.rule == rules.MANUAL for c in parts):
        assert total is None
        return
    counted = [
        (c.weight, c.score if c.score is not None else Decimal(0))
        for c in parts
        if c.score is not None or c.rule == rules.ZERO_RULE
    ]
    if not counted:
        assert total is None
        return
    exact = sum(Fraction(w) * Fraction(s) for w, s in counted) / sum(Fraction(w) for w, _ in counted)
    assert total == exact_q2(exact)
    assert min(s for _, s in counted) <= total <= max(s for _, s in counted)
    assert Decimal(0) <= total <= Decimal(100)


@given(
    st.lists(st.builds(Component, weight=weights, score=scores), min_size=1, max_size=12), st.integers(2, 50)
)
def test_scaling_every_weight_leaves_the_total_unchanged(parts, factor):
    scaled = [Component(weight=c.weight * factor, score=c.score, rule=c.rule) for c in parts]
    assert rules.total_score(scaled) == rules.total_score(parts)


@given(
    st.lists(st.builds(Component, weight=weights, score=scores), min_size=1, max_size=10),
    st.lists(weights, min_size=1, max_size=5),
)
def test_an_excluded_missing_indicator_renormalises_the_other_weights(present, missing_weights):
    # given indicators with scores, plus missing ones under the `exclude` rule
    missing = [Component(weight=w, score=None, rule=rules.EXCLUDE) for w in missing_weights]
    # then the total is that of the present ones alone, wherever the missing ones are
    mixed = present + missing
    random.Random(len(mixed)).shuffle(mixed)
    assert rules.total_score(mixed) == rules.total_score(present)


@given(st.lists(st.builds(Component, weight=weights, score=scores), min_size=1, max_size=10), weights)
def test_a_missing_indicator_under_the_zero_rule_counts_as_zero(present, weight):
    zero = Component(weight=weight, score=None, rule=rules.ZERO_RULE)
    explicit = Component(weight=weight, score=Decimal(0))
    assert rules.total_score([*present, zero]) == rules.total_score([*present, explicit])


# Ranks, bands, quotas ---------------------------------------------------------------------


@given(st.lists(scores, min_size=1, max_size=40))
def test_competition_ranks_share_the_better_rank_on_ties(totals):
    ranks = rules.competition_ranks(dict(enumerate(totals)))
    for i, total in enumerate(totals):
        better = sum(1 for other in totals if other > total)
        assert ranks[i] == better + 1
    assert min(ranks.values()) == 1
    assert max(ranks.values()) <= len(totals)


@given(scores, scores, scores)
def test_bands_are_inclusive_and_ordered(total, x, y):
    a, b = max(x, y), min(x, y)
    assume(a > b)
    cls = rules.band_class(total, a=a, b=b)
    assert cls == ("A" if total >= a else "B" if total >= b else "C")
    assert rules.band_class(a, a=a, b=b) == "A" and rules.band_class(b, a=a, b=b) == "B"


@settings(max_examples=200)
@given(
    st.lists(st.tuples(scores, st.none() | scores), min_size=1, max_size=60),
    st.integers(0, 100),
    st.integers(0, 100),
    st.randoms(use_true_random=False),
)
def test_quota_counts_follow_the_rounded_shares_and_better_never_gets_worse(entries, a, b, rnd):
    assume(a + b <= 100)
    ranked = [Ranked(key=i, total=t, sales_volume=s, code=f"D{i:03d}") for i, (t, s) in enumerate(entries)]
    classes = rules.quota_classes(ranked, a=Decimal(a), b=Decimal(b))
    n = len(ranked)
    # then the number of A and of A+B are the rounded shares of N
    a_count = rules.round_half_up(Decimal(n) * a / 100)
    ab_count = rules.round_half_up(Decimal(n) * (a + b) / 100)
    assert sum(1 for c in classes.values() if c == "A") == a_count
    assert sum(1 for c in classes.values() if c in "AB") == ab_count
    # and a higher total never gets a lower class
    order = rules.CLASS_ORDER
    for x in ranked:
        for y in ranked:
            if x.total > y.total:
                assert order[classes[x.key]] >= order[classes[y.key]]
    # and the input order does not matter
    shuffled = list(ranked)
    rnd.shuffle(shuffled)
    assert rules.quota_classes(shuffled, a=Decimal(a), b=Decimal(b)) == classes


@given(st.sampled_from("ABC"), st.sampled_from("ABC"))
def test_class_change_is_symmetric(previous, final):
    forward, backward = rules.class_change(previous, final), rules.class_change(final, previous)
    assert {forward, backward} in ({"same"}, {"up", "down"})
    assert (forward == "same") == (previous == final)
    assert rules.class_change(None, final) == rules.class_change("", final) == "new"
