"""Opening and re-grading a quarter (DESIGN.md §3.2–3.5) against hand-computed figures."""

import datetime
import threading
from decimal import Decimal as D

import pytest
import time_machine
from django.db import connection, transaction

from dealers.models import Notification
from dealers.roles import Role
from dealers.tests.factories import OfficeFactory
from scoring import services
from scoring.models import (
    ClassificationPolicy,
    EvaluationRound,
    Grade,
    GradingStatus,
    Indicator,
    IndicatorWeight,
    Method,
    QuarterGrading,
    Score,
    WeightScheme,
)
from scoring.services import ScoringError, grading

from .factories import Q3, approve, dealer_with_sales, fill_manual


@pytest.fixture
def company(office, other_office):
    """SH: E1 (300 of 300), E2 (150 of 300), E3 (600 of 300); BJ: E4 (300 of 300).

    sales_volume among 150, 300, 300, 600: E2 0, E1 and E4 50 (tie), E3 100.
    sales_attainment: E1 100, E2 50, E3 100 (capped), E4 100.
    With every manual score 80 (weights 4 × 15): E1 78.00, E2 58.00, E3 88.00, E4 78.00.
    """
    dealers = {
        "E1": dealer_with_sales(office=office, code="E1", sales=(100, 100, 100)),
        "E2": dealer_with_sales(office=office, code="E2", sales=(50, 50, 50)),
        "E3": dealer_with_sales(office=office, code="E3", sales=(200, 200, 200)),
        "E4": dealer_with_sales(office=other_office, code="E4", sales=(100, 100, 100)),
    }
    services.open_quarter(quarter=Q3)
    fill_manual()
    return dealers


def grades():
    return {g.dealer.code: g for g in Grade.objects.filter(quarter=str(Q3)).select_related("dealer")}


def snapshot():
    return sorted(
        Grade.objects.filter(quarter=str(Q3)).values_list(
            "dealer__code",
            "total",
            "office_rank",
            "company_rank",
            "computed_class",
            "final_class",
            "change",
            "evaluated",
            "sales_volume",
        )
    )


def test_opening_fills_the_computed_indicators(company):
    # when opened (fixture)
    scores = {
        (s.sheet.dealer.code, s.indicator.code): s.value
        for s in Score.objects.filter(computed=True).select_related("sheet__dealer", "indicator")
    }
    # then
    assert scores[("E1", "sales_volume")] == D("50.00")
    assert scores[("E4", "sales_volume")] == D("50.00")
    assert scores[("E2", "sales_volume")] == D("0.00")
    assert scores[("E3", "sales_volume")] == D("100.00")
    assert scores[("E2", "sales_attainment")] == D("50.00")
    assert scores[("E3", "sales_attainment")] == D("100.00")
    assert Score.objects.filter(sheet__dealer__code="E1").count() == 6


def test_regrade_computes_totals_ranks_classes_and_changes(company):
    # given both rounds approved
    approve()
    # when
    services.regrade_quarter(quarter=Q3)
    # then
    g = grades()
    assert {c: g[c].total for c in g} == {
        "E1": D("78.00"),
        "E2": D("58.00"),
        "E3": D("88.00"),
        "E4": D("78.00"),
    }
    assert {c: g[c].company_rank for c in g} == {"E3": 1, "E1": 2, "E4": 2, "E2": 4}
    assert {c: g[c].office_rank for c in g} == {"E3": 1, "E1": 2, "E2": 3, "E4": 1}
    assert {c: g[c].final_class for c in g} == {"E1": "B", "E2": "C", "E3": "A", "E4": "B"}
    assert {c: g[c].change for c in g} == dict.fromkeys(g, "new")
    assert QuarterGrading.objects.get(quarter="2026Q3").status == GradingStatus.GRADED


@time_machine.travel("2027-01-05 10:00 +0800", tick=False)
def test_the_next_quarter_records_previous_class_and_change(company, office):
    # given Q3 graded
    approve()
    services.regrade_quarter(quarter=Q3)
    # when Q4 is graded with every manual score 100 and no sales (rule zero for the sales indicators)
    Indicator.objects.filter(code__startswith="sales_").update(missing_rule="zero")
    q4 = Q3.next()
    services.open_quarter(quarter=q4)
    fill_manual(quarter=q4, value=D(100))
    approve(quarter=q4)
    services.regrade_quarter(quarter=q4)
    # then 60 × 100 / 100 = 60.00 → C
    g = {x.dealer.code: x for x in Grade.objects.filter(quarter="2026Q4").select_related("dealer")}
    assert g["E3"].total == D("60.00")
    assert (g["E3"].previous_class, g["E3"].final_class, g["E3"].change) == ("A", "C", "down")
    assert (g["E2"].previous_class, g["E2"].change) == ("C", "same")


def test_a_dealer_whose_round_is_not_approved_keeps_its_previous_class(company, other_office):
    # given E4 was A last quarter, and only SH is approved
    Grade.objects.create(
        quarter="2026Q2", dealer=company["E4"], office=other_office, kind="exclusive", final_class="A"
    )
    approve(office=company["E1"].office)
    # when
    services.regrade_quarter(quarter=Q3)
    # then E4 is not evaluated, keeps A and takes no part in ranks
    e4 = grades()["E4"]
    assert (e4.evaluated, e4.final_class, e4.total, e4.company_rank, e4.computed_class, e4.change) == (
        False,
        "A",
        None,
        None,
        "",
        "",
    )
    assert {c: g.company_rank for c, g in grades().items() if c != "E4"} == {"E3": 1, "E1": 2, "E2": 3}


def test_quarter_sales_need_all_three_months_and_a_zero_month_is_data(office):
    # given sales of 10 + 0 + 5.5 against targets of 10 a month, a month without a row, three zero months
    full = dealer_with_sales(office=office, code="Z1", sales=("10", 0, "5.5"), targets=(10, 10, 10))
    gap = dealer_with_sales(office=office, code="Z2", sales=(10, None, 5))
    zeros = dealer_with_sales(office=office, code="Z3", sales=(0, 0, 0))
    # when
    scores = services.computed_scores(Q3)
    # then the gap has no quarter sales; 15.5 and 0 are ranked (N = 2: 100 and 0)
    assert scores[gap.pk] == {Method.PERCENTILE: None, Method.ATTAINMENT: None}
    assert scores[full.pk][Method.PERCENTILE] == D("100.00")
    assert scores[zeros.pk] == {Method.PERCENTILE: D("0.00"), Method.ATTAINMENT: D("0.00")}
    # and attainment is 100 × 15.5 / 30 = 51.67
    assert scores[full.pk][Method.ATTAINMENT] == D("51.67")


def test_exclude_renormalises_when_quarter_sales_are_missing(office):
    # given E5 lacks a sales month; sales indicators excluded when missing
    Indicator.objects.filter(code__startswith="sales_").update(missing_rule="exclude")
    dealer_with_sales(office=office, code="E5", sales=(100, None, 100))
    services.open_quarter(quarter=Q3)
    fill_manual(
        values={"store_display": 90, "promotion_effort": 80, "price_discipline": 70, "relations_credit": 61}
    )
    approve()
    # when
    services.regrade_quarter(quarter=Q3)
    # then (90 + 80 + 70 + 61) × 15 / 60 = 75.25
    assert grades()["E5"].total == D("75.25")


def test_a_missing_computed_score_under_the_manual_rule_blocks_the_sheet(office, office_manager):
    # given a dealer without targets: attainment missing, rule manual
    dealer_with_sales(office=office, code="E6", targets=(None, None, None))
    services.open_quarter(quarter=Q3)
    fill_manual()
    office_round = EvaluationRound.objects.get(office=office, quarter="2026Q3")
    EvaluationRound.objects.update(chair=office_manager, meeting_date=datetime.date(2026, 10, 9))
    # when / then
    with pytest.raises(ScoringError):
        services.submit_round(round=office_round, user=office_manager)
    # when the office manager overrides it with a reason
    score = Score.objects.get(indicator__code="sales_attainment")
    services.override_score(score=score, value="70", reason="目标延迟签订", user=office_manager)
    services.submit_round(round=office_round, user=office_manager)
    approve()
    services.regrade_quarter(quarter=Q3)
    # then 20 × 100 (N = 1) + 20 × 70 + 60 × 80 = 8200 → 82.00
    assert grades()["E6"].total == D("82.00")


def test_regrading_twice_gives_identical_rows_and_one_notification(company, planner):
    # given
    approve()
    services.regrade_quarter(quarter=Q3)
    first = snapshot()
    history = Grade.history.count()
    # when
    services.regrade_quarter(quarter=Q3)
    # then
    assert snapshot() == first
    assert Grade.history.count() == history
    assert Notification.objects.filter(user=planner, key="scoring:graded:2026Q3").count() == 1


def test_opening_twice_notifies_each_office_manager_once(company, office_manager):
    # when
    services.open_quarter(quarter=Q3)
    # then
    assert Notification.objects.filter(user=office_manager).count() == 1
    assert EvaluationRound.objects.filter(quarter="2026Q3").count() == 2


def test_new_weights_from_a_later_quarter_leave_graded_grades_unchanged(company):
    # given graded
    approve()
    services.regrade_quarter(quarter=Q3)
    before = snapshot()
    scheme = Grade.objects.filter(kind="exclusive").values_list("scheme_id", flat=True).first()
    # when a new scheme takes effect from 2026Q4 and Q3 is re-graded
    new = WeightScheme.objects.create(kind="exclusive", effective_from="2026Q4")
    for w in IndicatorWeight.objects.filter(scheme_id=scheme):
        IndicatorWeight.objects.create(
            scheme=new, indicator=w.indicator, weight=D(50) if w.indicator.code == "sales_volume" else D(10)
        )
    services.regrade_quarter(quarter=Q3)
    # then
    assert snapshot() == before
    assert set(Grade.objects.values_list("scheme_id", flat=True)) == {scheme}


def test_a_published_quarter_refuses_regrading(company, planner):
    # given
    approve()
    services.regrade_quarter(quarter=Q3)
    services.publish_quarter(quarter=Q3, user=planner)
    # when / then
    with pytest.raises(ScoringError):
        services.regrade_quarter(quarter=Q3)
    with pytest.raises(ScoringError):
        services.grade_offices(quarter=Q3, office_ids=[company["E1"].office_id])


def test_a_failure_inside_an_office_leaves_it_as_it_was_and_a_rerun_completes(
    company, monkeypatch, other_office
):
    # given graded once; then E4's sales change so BJ's computed score would change
    approve()
    services.regrade_quarter(quarter=Q3)
    before = snapshot()
    company["E4"].sales.update(amount=D(1000))
    real = services._mark_offices_done

    def failing(quarter, office_ids, run=None, **kwargs):
        # after the office's scores and grades were written, before its commit
        if other_office.pk in office_ids:
            raise RuntimeError("disk full")
        return real(quarter, office_ids, run, **kwargs)

    monkeypatch.setattr(grading, "_mark_offices_done", failing)
    # when
    with pytest.raises(RuntimeError):
        services.regrade_quarter(quarter=Q3)
    # then BJ's computed score and grade are as they were
    assert Score.objects.get(sheet__dealer__code="E4", indicator__code="sales_volume").value == D("50.00")
    assert [r for r in snapshot() if r[0] == "E4"] == [r for r in before if r[0] == "E4"]
    # when re-run
    monkeypatch.setattr(grading, "_mark_offices_done", real)
    services.regrade_quarter(quarter=Q3)
    # then E4 leads: sales_volume 100 → 20×100 + 20×100 + 4800 = 88.00
    assert grades()["E4"].total == D("88.00")
    assert grades()["E4"].company_rank == 1


def test_quota_policy_is_company_wide_within_kind(company):
    # given quota 20/30 over 4 exclusive dealers: A = round(0.8) = 1, up to B = round(2) = 2
    ClassificationPolicy.objects.create(effective_from="2026Q1", method="quota")
    approve()
    # when
    services.regrade_quarter(quarter=Q3)
    # then E1 and E4 tie on 78.00 and on sales_volume 50: code decides
    assert {c: g.final_class for c, g in grades().items()} == {"E3": "A", "E1": "B", "E4": "C", "E2": "C"}


def test_an_override_survives_regrading_and_is_flagged(company, planner):
    # given
    approve()
    services.regrade_quarter(quarter=Q3)
    e2 = grades()["E2"]
    # when
    with pytest.raises(ScoringError):
        services.override_class(grade=e2, final_class="A", reason="  ", user=planner)
    services.override_class(grade=e2, final_class="B", reason="新开市场扶持", user=planner)
    services.regrade_quarter(quarter=Q3)
    # then
    e2 = grades()["E2"]
    assert (e2.computed_class, e2.final_class, e2.overridden, e2.change) == ("C", "B", True, "new")
    assert e2.override_reason == "新开市场扶持"


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_an_office_held_by_another_run_is_left_alone(catalogue, make_staff):
    # given an office whose round another run holds
    office = OfficeFactory(code="SH")
    make_staff("om", Role.OFFICE_MANAGER, office=office)
    dealer_with_sales(office=office, code="E1")
    services.open_quarter(quarter=Q3)
    services.start_grading(quarter=Q3)
    held, release = threading.Event(), threading.Event()

    def other_run():
        with transaction.atomic():
            EvaluationRound.objects.select_for_update().get(office=office)
            held.set()
            release.wait(10)
        connection.close()

    thread = threading.Thread(target=other_run)
    thread.start()
    held.wait(10)
    # when
    try:
        outcome = services.grade_offices(quarter=Q3, office_ids=[office.pk])
    finally:
        release.set()
        thread.join()
    # then it did nothing
    assert outcome == {"graded": 0, "busy": 1}
    assert not Grade.objects.exists()
    assert services.grade_offices(quarter=Q3, office_ids=[office.pk]) == {"graded": 1, "busy": 0}


@pytest.mark.parametrize("probed_rounds", [5, 0], ids=["probed", "hashed"])
def test_round_progress_counts_sheets_without_a_blocking_missing_score(
    office, other_office, probed_rounds, monkeypatch
):
    # both ways of finding the incomplete sheets: probing each (a few rounds), hashing the blanks (many)
    from scoring.services import rounds as rounds_service

    monkeypatch.setattr(rounds_service, "PROBED_ROUNDS", probed_rounds)
    # given three dealers in one office and one in another, their quarter opened
    from scoring.models import MissingRule, ScoreSheet

    a = dealer_with_sales(office=office, code="P1", sales=(100, 100, 100))
    b = dealer_with_sales(office=office, code="P2", sales=(100, 100, 100))
    c = dealer_with_sales(office=office, code="P3", sales=(100, 100, 100))
    dealer_with_sales(office=other_office, code="P4", sales=(100, 100, 100))
    services.open_quarter(quarter=Q3)
    # P1 fully scored; P2 with one score only overridden; P3 missing one score whose rule is "zero"
    fill_manual(dealer=a)
    fill_manual(dealer=b)
    Score.objects.filter(sheet__dealer=b, computed=False).filter(
        pk=Score.objects.filter(sheet__dealer=b, computed=False).values("pk")[:1]
    ).update(value=None, override_value=D("70"), override_reason="committee")
    fill_manual(dealer=c)
    lenient = Score.objects.filter(sheet__dealer=c, computed=False).first().indicator
    lenient.missing_rule = MissingRule.ZERO
    lenient.save()
    Score.objects.filter(sheet__dealer=c, indicator=lenient).update(value=None)
    rounds = list(EvaluationRound.objects.filter(quarter=str(Q3)).order_by("office__code"))
    # when
    progress = services.progress_by_round(rounds=rounds)
    # then the other office's dealer, with nothing entered, is the only incomplete sheet
    by_office = {r.office.code: progress[r.pk] for r in rounds}
    assert by_office == {office.code: (3, 3), other_office.code: (0, 1)}
    assert ScoreSheet.objects.count() == 4
    # cached under the versions of what it reads: a score blanked, a rule relaxed, a dealer
    # churned before the quarter's end each show at once
    own = next(r for r in rounds if r.office_id == office.pk)
    Score.objects.filter(sheet__dealer=a, computed=False).update(value=None)
    assert services.progress_by_round(rounds=rounds)[own.pk] == (2, 3)
    Indicator.objects.filter(missing_rule=MissingRule.MANUAL).update(missing_rule=MissingRule.ZERO)
    assert services.progress_by_round(rounds=rounds)[own.pk] == (3, 3)
    type(a).objects.filter(pk=b.pk).update(status="churned", churned_on=datetime.date(2026, 8, 1))
    assert services.progress_by_round(rounds=rounds)[own.pk] == (2, 2)
