"""What-if, calibration and class movements (DESIGN.md §5a), worked out by hand."""

import doctest
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import rules
from scoring.insight import rules as insight
from scoring.insight.rules import (
    BANDS,
    QUOTA,
    GradeFacts,
    GroupSums,
    Outcome,
    Part,
    Policy,
    calibration,
    distribution,
    draft_totals,
    group_scores,
    movement_matrix,
    sums_of,
    what_if,
)

BANDS_85_70 = Policy(BANDS, D(85), D(70))


def grade(
    key,
    office,
    total,
    computed,
    final=None,
    *,
    kind="exclusive",
    evaluated=True,
    overridden=False,
    previous="B",
    volume=None,
):
    return GradeFacts(
        key=key,
        code=key,
        office=office,
        kind=kind,
        evaluated=evaluated,
        total=D(total) if total is not None else None,
        sales_volume=D(volume) if volume is not None else None,
        computed_class=computed,
        final_class=final or computed,
        overridden=overridden,
        previous_class=previous,
    )


def test_the_docstring_examples_hold():
    assert doctest.testmod(rules).failed == 0
    assert doctest.testmod(insight).failed == 0


@settings(max_examples=300, deadline=None)  # a shared, loaded machine must not fail it on time
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=10000),
            st.one_of(st.none(), st.integers(min_value=0, max_value=10000)),
            st.sampled_from([rules.MANUAL, rules.ZERO_RULE, rules.EXCLUDE]),
        ),
        min_size=1,
        max_size=10,
    )
)
def test_the_total_in_hundredths_is_the_weighted_total(parts):
    # given weights and scores of two decimals, in hundredths
    as_decimals = [(D(w).scaleb(-2), None if s is None else D(s).scaleb(-2), r) for w, s, r in parts]
    # then the integer total is the Decimal rule's, to the hundredth
    total = rules.total_in_hundredths(parts)
    expected = rules.weighted_total(as_decimals)
    assert (None if total is None else D(total).scaleb(-2)) == expected


def test_draft_weights_of_more_than_two_decimals_are_refused():
    with pytest.raises(ValueError):
        draft_totals({"D1": {"v": 5000}}, weights={"v": D("33.333")}, missing_rules={})


def test_weighted_total_is_total_score():
    # given the same sheet as components and as triples
    sheet = [(D(20), D("33.333"), rules.MANUAL), (D(15), None, rules.EXCLUDE), (D(15), None, rules.ZERO_RULE)]
    # then both rules give the same total: (20 × 33.33 + 15 × 0) / 35 = 19.045… → 19.05
    assert rules.weighted_total(sheet) == D("19.05")
    assert rules.total_score(rules.Component(*part) for part in sheet) == D("19.05")


def test_a_what_if_on_weights_worked_by_hand():
    # given two indicators, v (computed) and m (manual), graded with weights 50/50 and bands 85/70:
    #   D1 v 100, m 70 → 85.00 A; D2 v 40, m 90 → 65.00 C; D3 v 80, m 80 → 80.00 B (office X)
    #   D4 not evaluated, previous B; D5 v 50, m 50 → 50.00 C, overridden to A;
    #   D6 v missing (excluded), m 88 → 88.00 A (office Y)
    scores = {  # in hundredths
        "D1": {"v": 10000, "m": 7000},
        "D2": {"v": 4000, "m": 9000},
        "D3": {"v": 8000, "m": 8000},
        "D5": {"v": 5000, "m": 5000},
        "D6": {"v": None, "m": 8800},
    }
    grades = [
        grade("D1", "X", "85.00", "A"),
        grade("D2", "X", "65.00", "C"),
        grade("D3", "X", "80.00", "B"),
        grade("D4", "Y", None, "", "B", evaluated=False),
        grade("D5", "Y", "50.00", "C", "A", overridden=True),
        grade("D6", "Y", "88.00", "A"),
    ]
    # when the draft weighs v 20 and m 80:
    #   D1 (20 × 100 + 80 × 70) / 100 = 76.00 B; D2 (800 + 7200) / 100 = 80.00 B; D3 80.00 B;
    #   D5 50.00 C, still overridden to A; D6 m alone 88.00 A
    totals = draft_totals(scores, weights={"v": D(20), "m": D(80)}, missing_rules={"v": rules.EXCLUDE})
    outcomes = what_if(grades, totals=totals, policy=BANDS_85_70)
    # then
    assert totals == {
        "D1": D("76.00"),
        "D2": D("80.00"),
        "D3": D("80.00"),
        "D5": D("50.00"),
        "D6": D("88.00"),
    }
    assert outcomes["D1"] == Outcome(D("76.00"), "B", "B", True)
    assert outcomes["D2"] == Outcome(D("80.00"), "B", "B", True)
    assert outcomes["D3"] == Outcome(D("80.00"), "B", "B", True)
    assert outcomes["D4"] == Outcome(None, "", "B", False)
    assert outcomes["D5"] == Outcome(D("50.00"), "C", "A", True)
    assert outcomes["D6"] == Outcome(D("88.00"), "A", "A", True)
    before = distribution((g.office, g.final_class) for g in grades)
    after = distribution((g.office, outcomes[g.key].final_class) for g in grades)
    assert before == {"X": {"A": 1, "B": 1, "C": 1, "": 0}, "Y": {"A": 2, "B": 1, "C": 0, "": 0}}
    assert after == {"X": {"A": 0, "B": 3, "C": 0, "": 0}, "Y": {"A": 2, "B": 1, "C": 0, "": 0}}


def test_the_weights_in_force_change_nothing():
    # given D1–D3 above graded with 50/50
    scores = {"D1": {"v": 10000, "m": 7000}, "D2": {"v": 4000, "m": 9000}}
    grades = [grade("D1", "X", "85.00", "A"), grade("D2", "X", "65.00", "C")]
    # when the draft is the scheme in force
    totals = draft_totals(scores, weights={"v": D(50), "m": D(50)}, missing_rules={})
    outcomes = what_if(grades, totals=totals, policy=BANDS_85_70)
    # then every class stays
    assert [outcomes[g.key].computed_class for g in grades] == ["A", "C"]


def test_a_draft_leaving_a_manual_score_missing_makes_the_dealer_not_evaluated():
    # given D1 graded A, previous class B, with no score for indicator n (rule: must be entered)
    grades = [grade("D1", "X", "85.00", "A", previous="B")]
    # when the draft weighs n
    totals = draft_totals({"D1": {"v": 10000, "m": 7000}}, weights={"v": D(50), "n": D(50)}, missing_rules={})
    outcomes = what_if(grades, totals=totals, policy=BANDS_85_70)
    # then its sheet would be incomplete: not evaluated, keeping its previous class
    assert outcomes["D1"] == Outcome(None, "", "B", False)


def test_a_what_if_on_the_policy_alone_reclassifies_graded_totals_by_quota():
    # given five exclusive dealers and a logistics one, graded by bands
    grades = [
        grade("E1", "X", "90.00", "A"),
        grade("E2", "X", "80.00", "B", volume="10"),
        grade("E3", "X", "80.00", "B", volume="60"),
        grade("E4", "X", "72.00", "B"),
        grade("E5", "X", "50.00", "C"),
        grade("L1", "X", "60.00", "C", kind="logistics"),
    ]
    # when the draft policy is a quota of 20 % A and 30 % B: of N = 5, round(1.0) = 1 A and
    # round(2.5) = 3 A or B (half-up); E3 before E2 on equal totals by its higher sales_volume
    outcomes = what_if(grades, totals={}, policy=Policy(QUOTA, D(20), D(30)))
    # and the logistics dealer alone in its kind: round-half-up(0.2) = 0 A, round-half-up(0.5) = 1 A or B
    # then
    assert {k: o.computed_class for k, o in outcomes.items()} == {
        "E1": "A",
        "E3": "B",
        "E2": "B",
        "E4": "C",
        "E5": "C",
        "L1": "B",
    }
    assert {k: o.total for k, o in outcomes.items()} == {g.key: g.total for g in grades}


def test_calibration_worked_by_hand():
    # given office X: dealer 1 manual (15 × 80 + 15 × 70) / 30 = 75, computed (20 × 100 + 20 × 50) / 40 = 75;
    #       dealer 2 manual (90 + 91) / 2 = 90.5, computed (60 + 61) / 2 = 60.5
    #   office Y: dealer 3 manual 70, computed (80 + 70) / 2 = 75
    def parts(m1, m2, c1, c2):
        return [
            Part(D(15), D(m1), "manual", False),
            Part(D(15), D(m2), "manual", False),
            Part(D(20), D(c1), "manual", True),
            Part(D(20), D(c2), "manual", True),
        ]

    dealers = [
        ("X", *group_scores(parts(80, 70, 100, 50))),
        ("X", *group_scores(parts(90, 91, 60, 61))),
        ("Y", *group_scores(parts(70, 70, 80, 70))),
    ]
    # when
    figures = calibration(sums_of(dealers))
    # then X: means 82.75 and 67.75, gap 15; Y: gap 70 − 75 = −5;
    # company: manual 235.5 / 3 = 78.5, computed 210.5 / 3 = 70.1666…, gap 8.3333… → 8.33;
    # deviations from the unrounded gap: 15 − 8.3333… = 6.67, −5 − 8.3333… = −13.33
    assert figures["X"].values() == [2, D("82.75"), D("67.75"), D("15.00"), D("8.33"), D("6.67")]
    assert figures["Y"].values() == [1, D("70.00"), D("75.00"), D("-5.00"), D("8.33"), D("-13.33")]


def test_calibration_rounds_half_up_from_unrounded_values():
    # given an office whose manual scores are 70.01 and 70.00 (mean 70.005) and computed 70.00 both
    sums = {"X": GroupSums(2, D("140.01"), 2, D("140.00"), 2)}
    # when
    (figures,) = calibration(sums).values()
    # then 70.005 rounds up to 70.01, and the gap 0.005 to 0.01 (not 70.01 − 70.00 of rounded means)
    assert figures.manual_mean == D("70.01")
    assert figures.gap == D("0.01")
    assert figures.deviation == D("0.00")


def test_calibration_of_an_office_without_computed_scores_has_no_gap():
    # given office Y's only dealer has every computed indicator excluded
    figures = calibration(sums_of([("X", D(80), D(70)), ("Y", D(90), None)]))
    # then Y counts its dealer and its manual mean and has no gap; the company means each take the
    # dealers that have that score: manual (80 + 90) / 2 = 85, computed 70, gap 15
    assert figures["Y"].values() == [1, D("90.00"), None, None, D("15.00"), None]
    assert figures["X"].values() == [1, D("80.00"), D("70.00"), D("10.00"), D("15.00"), D("-5.00")]


def test_the_movement_matrix():
    # given 3 dealers A → A, 1 A → B, 2 new ones classed C and 1 B dealer now without a class
    matrix = movement_matrix([("A", "A", 3), ("A", "B", 1), ("", "C", 2), ("B", "", 1)])
    # then each count sits in its previous row and current column, the rest are zeros
    assert matrix["A"] == {"A": 3, "B": 1, "C": 0, "": 0}
    assert matrix[""] == {"A": 0, "B": 0, "C": 2, "": 0}
    assert matrix["B"] == {"A": 0, "B": 0, "C": 0, "": 1}
    assert matrix["C"] == {"A": 0, "B": 0, "C": 0, "": 0}
    # and offices add up to the company
    total = insight.add_matrices([matrix, movement_matrix([("A", "A", 1)])])
    assert total["A"]["A"] == 4 and total[""]["C"] == 2
