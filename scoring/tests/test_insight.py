"""What-if, calibration and class movements on a graded company (DESIGN.md §5a)."""

import io
from decimal import Decimal as D

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from evalsys.periods import Quarter
from scoring import services
from scoring.insight import calibration, movements, whatif
from scoring.insight.rules import BANDS, Policy
from scoring.models import (
    ClassificationPolicy,
    Grade,
    Indicator,
    IndicatorWeight,
    QuarterGrading,
    Score,
    ScoreSheet,
    WeightScheme,
)
from scoring.services import ScoringError

from .factories import Q3, approve, dealer_with_sales, fill_manual


@pytest.fixture
def graded(office, other_office, office_manager):
    """SH: E1 (300 of 300), E2 (150 of 300), E3 (600 of 300); BJ: E4 (300 of 300); manual scores 80.

    sales_volume: E2 0, E1 and E4 50, E3 100; sales_attainment: E1 100, E2 50, E3 100, E4 100.
    Totals with weights 20, 20 and 4 × 15: E1 78 B, E2 58 C, E3 88 A, E4 78 B.
    """
    dealers = {
        "E1": dealer_with_sales(office=office, code="E1", sales=(100, 100, 100)),
        "E2": dealer_with_sales(office=office, code="E2", sales=(50, 50, 50)),
        "E3": dealer_with_sales(office=office, code="E3", sales=(200, 200, 200)),
        "E4": dealer_with_sales(office=other_office, code="E4", sales=(100, 100, 100)),
    }
    services.open_quarter(quarter=Q3)
    fill_manual()
    approve()
    services.regrade_quarter(quarter=Q3)
    return dealers


def ids(*codes):
    return {i.code: i.pk for i in Indicator.objects.filter(code__in=codes)}


def draft_weights(**weights):
    by_code = ids(*weights)
    return {"exclusive": {by_code[code]: D(w) for code, w in weights.items()}}


MANUAL = ("store_display", "promotion_effort", "price_discipline", "relations_credit")


def test_a_what_if_reclasses_by_the_draft_weights(graded, office, other_office):
    # given the draft: sales_attainment 60, sales_volume dropped, each manual indicator 10:
    #   E1 (60 × 100 + 40 × 80) / 100 = 92 A; E2 (3000 + 3200) / 100 = 62 C; E3 92 A; E4 92 A
    draft = whatif.Draft(
        weights=draft_weights(sales_attainment=60, sales_volume=0, **dict.fromkeys(MANUAL, 10)),
        policy=Policy(BANDS, D(85), D(70)),
    )
    # when
    result = whatif.run_what_if(quarter=Q3, draft=draft)
    # then E1 and E4 go up from B to A, E2 and E3 stay
    changed = {
        c.before.code: (c.before.computed_class, c.after.computed_class, c.after.total)
        for c in result.changes
    }
    assert changed == {"E1": ("B", "A", D("92.00")), "E4": ("B", "A", D("92.00"))}
    assert {c.direction for c in result.changes} == {"up"}
    assert result.before[office.pk] == {"A": 1, "B": 1, "C": 1, "": 0}
    assert result.after[office.pk] == {"A": 2, "B": 0, "C": 1, "": 0}
    assert result.after[other_office.pk] == {"A": 1, "B": 0, "C": 0, "": 0}
    assert result.reweighted == ["exclusive"]


def test_a_what_if_with_the_weights_and_policy_in_force_changes_nothing(graded):
    # given the baseline the quarter was graded with
    base = whatif.baseline(quarter=Q3)
    # when tried as a draft
    result = whatif.run_what_if(quarter=Q3, draft=whatif.Draft(base.weights, base.rules_policy), base=base)
    # then
    assert result.changes == [] and result.before == result.after and result.reweighted == []


def test_a_what_if_on_the_policy_keeps_an_override(graded, planner):
    # given E2 (computed C) overridden to B
    e2 = Grade.objects.get(quarter=str(Q3), dealer=graded["E2"])
    services.override_class(grade=e2, final_class="B", reason="新店", user=planner)
    base = whatif.baseline(quarter=Q3)
    # when A starts at 75
    result = whatif.run_what_if(quarter=Q3, draft=whatif.Draft(base.weights, Policy(BANDS, D(75), D(50))))
    # then E1 and E4 (78) become A; E2 (58) is computed B now, and its final class stays the override B
    changed = {c.before.code: (c.after.computed_class, c.after.final_class) for c in result.changes}
    assert changed == {"E1": ("A", "A"), "E4": ("A", "A"), "E2": ("B", "B")}


def _counts():
    models = [Grade, Score, ScoreSheet, WeightScheme, IndicatorWeight, ClassificationPolicy, QuarterGrading]
    return {
        m.__name__: (m.objects.count(), m.history.count() if hasattr(m, "history") else None) for m in models
    }


def test_a_what_if_writes_nothing(graded):
    # given
    before = _counts()
    grading = QuarterGrading.objects.values().get(quarter=str(Q3))
    draft = whatif.Draft(
        weights=draft_weights(sales_attainment=60, **dict.fromkeys(MANUAL, 10)),
        policy=Policy(BANDS, D(90), D(60)),
    )
    # when
    with CaptureQueriesContext(connection) as queries:
        result = whatif.run_what_if(quarter=Q3, draft=draft)
    # then it changed classes, read only, and left every row and its history as it was
    assert result.changes
    statements = [q["sql"].lstrip().split()[0].upper() for q in queries.captured_queries]
    # SET: a transaction-local planner setting (whatif.draft_totals), not a write
    assert set(statements) <= {"SELECT", "SET", "SAVEPOINT", "RELEASE", "DECLARE", "FETCH", "CLOSE"}, (
        statements
    )
    assert len(statements) <= 20  # a fixed number, whatever the number of dealers
    assert _counts() == before
    assert QuarterGrading.objects.values().get(quarter=str(Q3)) == grading


def test_a_what_if_needs_a_graded_quarter(graded):
    with pytest.raises(ScoringError):
        whatif.baseline(quarter=Q3.next())


@time_machine.travel("2026-11-20 10:00 +0800")
def test_a_draft_is_saved_as_a_new_scheme_from_the_current_quarter(graded, admin_user):
    admin = admin_user
    weights = draft_weights(sales_attainment=60, sales_volume=0, **dict.fromkeys(MANUAL, 10))["exclusive"]
    # when
    scheme = whatif.save_scheme(kind="exclusive", weights=weights, effective_from=Q3.next(), user=admin)
    # then zero weights are left out and the change is in the history, by whom
    assert scheme.effective_from == "2026Q4"
    assert {w.indicator.code: w.weight for w in scheme.weights.select_related("indicator")} == {
        "sales_attainment": D(60),
        **dict.fromkeys(MANUAL, D(10)),
    }
    assert scheme.history.get().history_user == admin
    assert IndicatorWeight.history.filter(scheme_id=scheme.pk).count() == 5
    # and Q3 keeps the grades it had
    assert Grade.objects.get(quarter=str(Q3), dealer=graded["E1"]).final_class == "B"


@time_machine.travel("2026-11-20 10:00 +0800")
@pytest.mark.parametrize(
    ("quarter", "weights", "message"),
    [
        ("2026Q3", {"sales_attainment": 100}, "2026Q4"),  # a quarter already ended
        ("2026Q4", {"sales_attainment": 60, "store_display": 30}, "90"),  # not 100
        ("2026Q4", {"sales_attainment": 100.001}, "@sales_attainment"),  # names the indicator
        ("2026Q4", {"sales_attainment": 50, "delivery_service": 50}, "@delivery_service"),
    ],
)
def test_a_bad_draft_is_refused_with_a_message_and_saves_nothing(
    graded, admin_user, quarter, weights, message
):
    admin = admin_user
    schemes = WeightScheme.objects.count()
    by_code = ids(*weights)
    with pytest.raises(ScoringError) as error:
        whatif.save_scheme(
            kind="exclusive",
            weights={by_code[c]: D(str(w)) for c, w in weights.items()},
            effective_from=Quarter.parse(quarter),
            user=admin,
        )
    if message.startswith("@"):
        message = Indicator.objects.get(code=message[1:]).name
    assert message in str(error.value)
    assert WeightScheme.objects.count() == schemes


@time_machine.travel("2026-11-20 10:00 +0800")
def test_a_second_scheme_for_the_same_kind_and_quarter_is_refused(graded, admin_user):
    admin = admin_user
    weights = draft_weights(sales_attainment=100)["exclusive"]
    whatif.save_scheme(kind="exclusive", weights=weights, effective_from=Q3.next(), user=admin)
    with pytest.raises(ScoringError, match="2026Q4"):
        whatif.save_scheme(kind="exclusive", weights=weights, effective_from=Q3.next(), user=admin)


@time_machine.travel("2026-11-20 10:00 +0800")
def test_a_draft_policy_is_saved_and_a_bad_one_refused(graded, admin_user):
    admin = admin_user
    policy = whatif.save_policy(policy=Policy(BANDS, D(80), D(60)), effective_from=Q3.next(), user=admin)
    assert (policy.method, policy.band_a, policy.band_b) == ("bands", D(80), D(60))
    with pytest.raises(ScoringError):
        whatif.save_policy(policy=Policy(BANDS, D(60), D(80)), effective_from=Q3.next().next(), user=admin)


# Calibration ---------------------------------------------------------------------------


def test_grading_keeps_the_calibration_worked_by_hand(graded, office, other_office):
    # given every manual score 80, and computed (20 × volume + 20 × attainment) / 40:
    #   E1 (50 + 100) / 2 = 75, E2 (0 + 50) / 2 = 25, E3 100 (SH); E4 75 (BJ)
    # then SH: manual 80, computed 200 / 3 = 66.666… → 66.67, gap 13.333… → 13.33
    #   BJ: 80, 75, gap 5; company: computed 275 / 4 = 68.75, gap 11.25
    #   deviations: 13.333… − 11.25 = 2.0833… → 2.08; 5 − 11.25 = −6.25
    figures = calibration.calibration_by_quarter([Q3])[Q3]
    assert figures[office.pk].values() == [3, D("80.00"), D("66.67"), D("13.33"), D("11.25"), D("2.08")]
    assert figures[other_office.pk].values() == [1, D("80.00"), D("75.00"), D("5.00"), D("11.25"), D("-6.25")]
    assert QuarterGrading.objects.get(quarter=str(Q3)).calibration[str(office.pk)]["gap"] == "13.33"


def test_calibration_uses_the_scores_as_in_the_total(office, office_manager):
    # given E1 (attainment 100, volume 100 as the only peer) with its attainment overridden to 40,
    # and manual scores 90, 70, 60 and 61
    dealer_with_sales(office=office, code="E1")
    services.open_quarter(quarter=Q3)
    fill_manual(
        values={"store_display": 90, "promotion_effort": 70, "price_discipline": 60, "relations_credit": 61}
    )
    score = Score.objects.get(indicator__code="sales_attainment")
    services.override_score(score=score, value="40", reason="数据有误", user=office_manager)
    approve()
    services.regrade_quarter(quarter=Q3)
    # then manual (90 + 70 + 60 + 61) / 4 = 70.25; computed (100 + 40) / 2 = 70; gap 0.25
    figures = calibration.calibration_by_quarter([Q3])[Q3][office.pk]
    assert figures.values() == [1, D("70.25"), D("70.00"), D("0.25"), D("0.25"), D("0.00")]


def test_a_quarter_graded_before_calibration_was_kept_is_computed_on_request(graded, office):
    # given grading kept nothing (a quarter graded by an earlier version)
    QuarterGrading.objects.filter(quarter=str(Q3)).update(calibration={}, movements={})
    # then the figures are the same
    assert calibration.calibration_by_quarter([Q3])[Q3][office.pk].gap == D("13.33")
    assert movements.matrices(quarter=Q3, office_ids=[office.pk])[office.pk][""]["A"] == 1


def test_export_calibration_writes_the_columns_of_the_design(graded):
    out = io.StringIO()
    call_command("export_calibration", "2026Q3", stdout=out)
    lines = out.getvalue().lstrip("\ufeff").splitlines()
    assert lines == [
        "quarter,office,dealers,manual_mean,computed_mean,gap,company_gap,deviation",
        "2026Q3,BJ,1,80.00,75.00,5.00,11.25,-6.25",
        "2026Q3,SH,3,80.00,66.67,13.33,11.25,2.08",
    ]


def test_export_calibration_refuses_a_bad_quarter_with_a_message():
    with pytest.raises(CommandError, match="2026Q3"):
        call_command("export_calibration", "2026-09")


# Movements ---------------------------------------------------------------------------


def test_movements_are_kept_by_grading_and_by_an_override(graded, office, planner):
    # given Q3 graded: every dealer new (no previous class)
    matrix = movements.matrices(quarter=Q3, office_ids=[office.pk])[office.pk]
    assert matrix[""] == {"A": 1, "B": 1, "C": 1, "": 0}
    # when E2 is overridden from C to A
    e2 = Grade.objects.get(quarter=str(Q3), dealer=graded["E2"])
    services.override_class(grade=e2, final_class="A", reason="战略客户", user=planner)
    # then
    matrix = movements.matrices(quarter=Q3, office_ids=[office.pk])[office.pk]
    assert matrix[""] == {"A": 2, "B": 1, "C": 0, "": 0}


def test_class_distributions_over_quarters(graded, office):
    history = movements.distributions(quarters=[Q3.previous(), Q3], office_ids=[office.pk])
    assert history[office.pk] == [{"A": 0, "B": 0, "C": 0, "": 0}, {"A": 1, "B": 1, "C": 1, "": 0}]


def test_export_calibration_writes_xlsx_and_refuses_a_missing_directory(graded, tmp_path):
    from openpyxl import load_workbook

    target = tmp_path / "calibration.xlsx"
    call_command("export_calibration", "2026Q3", "-o", str(target))
    sheet = load_workbook(target).active
    assert [c.value for c in sheet[3]] == ["2026Q3", "SH", 3, 80, 66.67, 13.33, 11.25, 2.08]
    with pytest.raises(CommandError):
        call_command("export_calibration", "2026Q3", "-o", str(tmp_path / "missing" / "c.csv"))


def test_draft_totals_summed_by_the_database_equal_the_rule(office, other_office):
    # given twenty dealers over two offices, scores random to the hundredth, some missing,
    # overrides on some, and an indicator of each missing-score rule
    import random

    rng = random.Random(3)
    for n in range(20):
        dealer_with_sales(office=(office, other_office)[n % 2], code=f"R{n:02d}")
    services.open_quarter(quarter=Q3)
    for score in Score.objects.all():
        if rng.random() < 0.15:
            continue
        score.value = D(rng.randint(0, 10000)) / 100
        if score.computed and rng.random() < 0.3:
            score.override_value = D(rng.randint(0, 10000)) / 100
        score.save()
    approve()
    services.regrade_quarter(quarter=Q3)
    # after grading, two sheets lose a score whose missing rule blocks a total
    evaluated = Grade.objects.filter(quarter=str(Q3), kind="exclusive", evaluated=True).values("dealer_id")
    Score.objects.filter(
        indicator__code="price_discipline",
        sheet__dealer_id__in=list(evaluated[:2].values_list("dealer_id", flat=True)),
    ).update(value=None, override_value=None)
    Indicator.objects.filter(code="store_display").update(missing_rule="zero")
    Indicator.objects.filter(code="promotion_effort").update(missing_rule="exclude")
    missing_rules = dict(Indicator.objects.values_list("pk", "missing_rule"))
    weights = draft_weights(
        sales_volume="12.5",
        sales_attainment="30",
        store_display="20.25",
        promotion_effort="17.25",
        price_discipline="20",
    )["exclusive"]
    # when totalled by the database and by the rule
    by_sql = whatif.draft_totals(quarter=Q3, drafts={"exclusive": weights}, missing_rules=missing_rules)
    sheets = {}
    for grade in Grade.objects.filter(quarter=str(Q3), kind="exclusive", evaluated=True):
        scores = Score.objects.filter(
            sheet__dealer_id=grade.dealer_id, sheet__round__office_id=grade.office_id
        )
        sheets[grade.dealer_id] = {
            s.indicator_id: None if s.effective is None else int(D(s.effective).quantize(D("0.01")) * 100)
            for s in scores
            if s.effective is not None
        }
    from scoring.insight import rules as insight_rules

    by_rule = insight_rules.draft_totals(sheets, weights=weights, missing_rules=missing_rules)
    # then the same, and both kinds of outcome occur
    assert by_sql == by_rule
    assert None in by_sql.values() and any(t is not None for t in by_sql.values())


def test_draft_totals_of_both_kinds_weigh_each_dealer_by_its_own_kinds_weights(office):
    # given dealers of both kinds, graded, whose schemes share indicators
    from scoring.insight import rules as insight_rules

    for n in range(6):
        dealer_with_sales(office=office, code=f"K{n:02d}", kind=("exclusive", "logistics")[n % 2])
    services.open_quarter(quarter=Q3)
    fill_manual()
    approve()
    services.regrade_quarter(quarter=Q3)
    base = whatif.baseline(quarter=Q3)
    assert set(base.weights["exclusive"]) & set(base.weights["logistics"])
    # and a draft that moves weight between the first two indicators of each kind, differently
    drafts = {}
    for shift, (kind, weights) in zip((5, 7), sorted(base.weights.items()), strict=True):
        first, second = list(weights)[:2]
        drafts[kind] = {**weights, first: weights[first] - shift, second: weights[second] + shift}
    missing_rules = dict(Indicator.objects.values_list("pk", "missing_rule"))
    # when totalled by the database for both kinds at once, and by the rule kind by kind
    by_sql = whatif.draft_totals(quarter=Q3, drafts=drafts, missing_rules=missing_rules)
    by_rule = {}
    for kind, weights in drafts.items():
        sheets = {
            grade.dealer_id: {
                s.indicator_id: int(D(s.effective).quantize(D("0.01")) * 100)
                for s in Score.objects.filter(
                    sheet__dealer_id=grade.dealer_id, sheet__round__office_id=grade.office_id
                )
                if s.effective is not None
            }
            for grade in Grade.objects.filter(quarter=str(Q3), kind=kind, evaluated=True)
        }
        by_rule.update(insight_rules.draft_totals(sheets, weights=weights, missing_rules=missing_rules))
    # then each dealer is totalled with its own kind's draft
    assert len(by_sql) == 6 and by_sql == by_rule
