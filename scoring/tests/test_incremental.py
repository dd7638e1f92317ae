"""A re-grade grades only the offices whose inputs changed (DESIGN.md §7), and its result is the full
re-grade's, row for row (scoring/services/grading.py `plan_regrade`, scoring/sql.py
`input_fingerprints`)."""

import datetime
import random
from decimal import Decimal as D

import pytest
from django.utils import timezone

from dealers.models import Dealer, MonthlySales
from dealers.moves import record_moves
from dealers.tests.factories import OfficeFactory, UserFactory
from scoring import services
from scoring.insight import calibration
from scoring.models import (
    EvaluationRound,
    Grade,
    Indicator,
    Method,
    MissingRule,
    QuarterGrading,
    RoundStatus,
    Score,
)

from .factories import Q3, dealer_with_sales, graded_rows

pytestmark = pytest.mark.postgresql


def snapshot():
    """Every grade of the quarter, the computed scores and the quarter's figures."""
    grades, scores = graded_rows(Q3)
    grading = QuarterGrading.objects.get(quarter=str(Q3))
    return grades, scores, grading.status, grading.distribution, grading.movements, grading.calibration


def mark_approved(office_round):
    """What `approve_round` writes (its committee checks are tested elsewhere)."""
    EvaluationRound.objects.filter(pk=office_round.pk).update(
        status=RoundStatus.APPROVED, approved_at=timezone.now()
    )


@pytest.fixture
def company(db):
    """Four offices of twelve dealers with sales and targets, scored, approved and graded once; a
    quarter before with classes for some."""
    rng = random.Random(5)
    offices = [OfficeFactory(code=code) for code in ("SH", "BJ", "GZ", "CD")]
    for i in range(48):
        dealer_with_sales(
            office=offices[i % 4],
            code=f"Z{i:03d}",
            kind="logistics" if i % 3 == 0 else "exclusive",
            sales=[rng.choice([100, 250, 400, 300]) for _ in range(3)],
            targets=[rng.choice([300, 500, 400]) for _ in range(3)],
        )
    for dealer in Dealer.objects.all()[::3]:
        Grade.objects.create(
            quarter="2026Q2",
            dealer=dealer,
            office=dealer.office,
            kind=dealer.kind,
            final_class=rng.choice("ABC"),
        )
    services.open_quarter(quarter=Q3)
    for score in Score.objects.filter(computed=False):
        score.value = D(rng.randint(6000, 10000)) / 100
        score.save()
    for office_round in EvaluationRound.objects.filter(quarter=str(Q3)).exclude(office__code="CD"):
        mark_approved(office_round)
    services.regrade_quarter(quarter=Q3)
    return offices


def test_nothing_changed_grades_no_office_and_changes_nothing(company):
    # given a graded quarter
    before = snapshot()
    # when re-graded again with nothing changed
    outcome = services.regrade_quarter(quarter=Q3)
    # then no office was graded and everything stands
    assert outcome == {"graded": 0, "busy": 0, "unchanged": 4}
    assert snapshot() == before


def test_one_office_rescored_grades_that_office_only(company):
    # given SH's round reopened, one score changed, approved again
    sh = EvaluationRound.objects.get(quarter=str(Q3), office__code="SH")
    services.reopen_round(round=sh, reason="recount", user=UserFactory())
    score = Score.objects.filter(sheet__round=sh, computed=False).order_by("pk").first()
    score.value = D("12.00")
    score.save()
    mark_approved(sh)
    # when
    outcome = services.regrade_quarter(quarter=Q3)
    # then only SH was graded, and the dealer's total fell
    assert outcome == {"graded": 1, "busy": 0, "unchanged": 3}
    incremental = snapshot()
    QuarterGrading.objects.filter(quarter=str(Q3)).update(fingerprints={})
    assert services.regrade_quarter(quarter=Q3)["graded"] == 4
    assert snapshot() == incremental


def test_the_grading_sums_the_calibration_itself_as_reading_every_score_would(company, monkeypatch):
    # given missing manual scores under each rule, and overridden ones
    manual = list(Indicator.objects.filter(method=Method.MANUAL).order_by("pk"))
    for indicator, rule in zip(
        manual, (MissingRule.MANUAL, MissingRule.ZERO, MissingRule.EXCLUDE), strict=False
    ):
        Indicator.objects.filter(pk=indicator.pk).update(missing_rule=rule)
    scores = list(Score.objects.filter(computed=False, sheet__round__quarter=str(Q3)).order_by("pk"))
    Score.objects.filter(pk__in=[x.pk for x in scores[::7]]).update(value=None)
    Score.objects.filter(pk__in=[x.pk for x in scores[3::11]]).update(override_value=D("55.55"))
    MonthlySales.objects.filter(pk=MonthlySales.objects.order_by("pk").first().pk).update(amount=D(999))
    # when every office is graded again (the rules and sales changed), with no score read at the finish
    read = []
    real = calibration.office_sums
    monkeypatch.setattr(calibration, "office_sums", lambda **kw: read.append(kw) or real(**kw))
    assert services.regrade_quarter(quarter=Q3)["graded"] == 4
    # then the figures are those of reading every score, for the three offices approved
    grading = QuarterGrading.objects.get(quarter=str(Q3))
    assert read == []
    assert grading.calibration == calibration.snapshot(quarter=Q3)
    assert sorted(grading.calibration) == sorted(str(o.pk) for o in company if o.code != "CD")
    assert grading.calibration_sums == {}
    # and when one office is rescored, only the kept figures of the others are reused
    read.clear()
    sh = EvaluationRound.objects.get(quarter=str(Q3), office__code="SH")
    services.reopen_round(round=sh, reason="recount", user=UserFactory())
    Score.objects.filter(sheet__round=sh, computed=False).update(value=D("61.00"))
    mark_approved(sh)
    assert services.regrade_quarter(quarter=Q3)["graded"] == 1
    assert read == []
    assert QuarterGrading.objects.get(quarter=str(Q3)).calibration == calibration.snapshot(quarter=Q3)


def test_a_move_grades_both_offices_and_a_sales_change_grades_every_office(company):
    # a dealer of SH moved to BJ during the quarter: both offices
    dealer = Dealer.objects.filter(office__code="SH").order_by("code").first()
    dealer.office = company[1]
    dealer.save()
    record_moves(moves=[(dealer, company[0].pk, datetime.date(2026, 8, 15))])
    assert services.regrade_quarter(quarter=Q3) == {"graded": 2, "busy": 0, "unchanged": 2}
    # one month's sales of one dealer: percentiles move company-wide, every office
    MonthlySales.objects.filter(dealer__code="Z007", month=Q3.months[0]).update(amount=D(9999))
    assert services.regrade_quarter(quarter=Q3) == {"graded": 4, "busy": 0, "unchanged": 0}


def test_grades_deleted_outside_grading_make_the_next_grade_every_office(company):
    # given grades deleted by hand (not by grading)
    before = snapshot()
    Grade.objects.filter(quarter=str(Q3), office=company[0]).delete()
    # when re-graded with nothing else changed
    outcome = services.regrade_quarter(quarter=Q3)
    # then every office was graded and the grades are back
    assert outcome["graded"] == 4
    assert snapshot() == before


def test_a_failed_run_makes_the_next_grade_every_office(company):
    # given a re-grade that failed part-way (its error shown on the jobs card)
    QuarterGrading.objects.filter(quarter=str(Q3)).update(status="grading", error="disk full")
    # when re-graded with nothing changed since
    outcome = services.regrade_quarter(quarter=Q3)
    # then every office was graded again: what the failed run left is described by no hash
    assert outcome["graded"] == 4


def _rescore(rng, offices):
    office_round = EvaluationRound.objects.get(quarter=str(Q3), office=rng.choice(offices))
    if office_round.status != RoundStatus.OPEN:
        services.reopen_round(round=office_round, reason="recount", user=UserFactory())
    for score in Score.objects.filter(sheet__round=office_round, computed=False).order_by("?")[:3]:
        score.value = D(rng.randint(0, 10000)) / 100
        score.save()
    if rng.random() < 0.8:
        mark_approved(office_round)


def _reopen(rng, offices):
    office_round = EvaluationRound.objects.get(quarter=str(Q3), office=rng.choice(offices))
    if office_round.status != RoundStatus.OPEN:
        services.reopen_round(round=office_round, reason="recount", user=UserFactory())


def _approve(rng, offices):
    for office_round in EvaluationRound.objects.filter(quarter=str(Q3)).exclude(status=RoundStatus.APPROVED):
        mark_approved(office_round)


def _sales(rng, offices):
    sale = MonthlySales.objects.filter(month__in=Q3.months).order_by("?").first()
    sale.amount = D(rng.randint(0, 900))
    sale.save()


def _move(rng, offices):
    dealer = Dealer.objects.filter(churned_on__isnull=True).order_by("?").first()
    from_office = dealer.office_id
    dealer.office = rng.choice([o for o in offices if o.pk != from_office])
    dealer.save()
    # inside the quarter (its office at quarter end changes) or after it (it does not)
    day = rng.choice([datetime.date(2026, 9, 1), datetime.date(2026, 10, 20)])
    if not Dealer.objects.filter(pk=dealer.pk, moves__moved_on__gte=day).exists():
        record_moves(moves=[(dealer, from_office, day)])


def _churn(rng, offices):
    dealer = Dealer.objects.filter(churned_on__isnull=True).order_by("?").first()
    dealer.status, dealer.churned_on = "churned", datetime.date(2026, 9, 10)
    dealer.save()


def _override(rng, offices):
    grade = Grade.objects.filter(quarter=str(Q3), evaluated=True).order_by("?").first()
    services.override_class(grade=grade, final_class=rng.choice("ABC"), reason="committee", user=None)


def _previous_class(rng, offices):
    Grade.objects.filter(
        quarter="2026Q2", pk=Grade.objects.filter(quarter="2026Q2").order_by("?")[0].pk
    ).update(final_class=rng.choice("ABC"))


def _recode(rng, offices):
    dealer = Dealer.objects.filter(churned_on__isnull=True).order_by("?").first()
    dealer.code = f"Y{rng.randint(100, 999)}{dealer.pk}"
    dealer.save()


def _nothing(rng, offices):
    pass


CHANGES = [_rescore, _reopen, _approve, _sales, _move, _churn, _override, _previous_class, _recode, _nothing]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_incremental_regrades_equal_full_ones_after_random_changes(company, seed):
    rng = random.Random(seed)
    seen = {"partial": 0}
    for _step in range(14):
        # given a random change of what grading reads (and sometimes two)
        changes = rng.sample(CHANGES, rng.choice([1, 1, 2]))
        for change in changes:
            change(rng, company)
        # when re-graded incrementally
        outcome = services.regrade_quarter(quarter=Q3)
        incremental = snapshot()
        # then a full re-grade of the same inputs gives the same rows
        QuarterGrading.objects.filter(quarter=str(Q3)).update(fingerprints={})
        services.regrade_quarter(quarter=Q3)
        assert snapshot() == incremental, [c.__name__ for c in changes]
        seen["partial"] += outcome["unchanged"] > 0
    # the incremental path was taken, not just the full one
    assert seen["partial"] > 0
