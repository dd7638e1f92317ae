"""The PostgreSQL statements of scoring/sql.py grade exactly as the pure rules do."""

import random
from decimal import Decimal as D

import pytest

from dealers.tests.factories import OfficeFactory
from scoring import services
from scoring.engines import engine_for
from scoring.models import ClassificationPolicy, Grade, Indicator, QuarterGrading, Score

from .factories import Q3, dealer_with_sales, graded_rows


def _snapshot():
    return graded_rows(Q3)


@pytest.mark.postgresql
@pytest.mark.parametrize("policy", ["bands", "quota"])
def test_sql_engine_matches_the_python_rules(db, policy):
    # given a company with ties, missing months and targets, every missing-data rule, an unapproved office
    rng = random.Random(7)
    Indicator.objects.filter(code="sales_attainment").update(missing_rule="exclude")
    Indicator.objects.filter(code="store_display").update(missing_rule="zero")
    if policy == "quota":
        ClassificationPolicy.objects.create(
            effective_from="2026Q1", method="quota", quota_a=D(25), quota_b=D(35)
        )
    offices = [OfficeFactory(code=c) for c in ("SH", "BJ", "GZ")]
    dealers = []
    for i in range(45):
        sales = [rng.choice([0, 100, 100, 250, 400, None if i % 9 == 0 else 300]) for _ in range(3)]
        targets = [rng.choice([300, 500, None if i % 11 == 0 else 400]) for _ in range(3)]
        kind = "logistics" if i % 3 == 0 else "exclusive"
        dealers.append(
            dealer_with_sales(
                office=offices[i % 3], code=f"Z{i:03d}", kind=kind, sales=sales, targets=targets
            )
        )
    for dealer in dealers[::4]:
        Grade.objects.create(
            quarter="2026Q2",
            dealer=dealer,
            office=dealer.office,
            kind=dealer.kind,
            final_class=rng.choice("ABC"),
        )
    services.open_quarter(quarter=Q3, engine="python")
    for score in Score.objects.filter(computed=False):
        if rng.random() < 0.06:
            continue
        score.value = D(rng.randint(4000, 10000)) / 100
        score.save()
    Score.objects.filter(indicator__code="sales_volume", sheet__dealer__code="Z005").update(
        override_value=D("12.34"), override_reason="test"
    )
    from scoring.models import EvaluationRound

    EvaluationRound.objects.filter(office__code__in=["SH", "BJ"]).update(status="approved")

    def office_by_office():
        # as the Celery tasks do: stage once, each office on its own, then the company-wide finish
        services.start_grading(quarter=Q3)
        engine = engine_for("sql")
        engine.stage(quarter=Q3)
        for office in offices:
            services.grade_offices(quarter=Q3, office_ids=[office.pk], staged=True, engine=engine)
        services.finish_grading(quarter=Q3, engine="sql")

    def run(engine):
        Grade.objects.filter(quarter=str(Q3)).delete()
        QuarterGrading.objects.all().delete()
        Score.objects.filter(computed=True).update(value=None)
        regrade = (
            office_by_office
            if engine == "sql-offices"
            else lambda: services.regrade_quarter(quarter=Q3, engine=engine)
        )
        regrade()
        grade = Grade.objects.filter(quarter=str(Q3), evaluated=True).order_by("dealer__code").first()
        services.override_class(grade=grade, final_class="C", reason="test", user=None)
        regrade()
        return _snapshot()

    # when
    by_python = run("python")
    by_sql = run("sql")
    by_sql_offices = run("sql-offices")
    # then
    assert by_sql == by_python
    assert by_sql_offices == by_python
    grades = by_python[0]
    assert {g[3] for g in grades} == {True, False}
    assert len({g[9] for g in grades if g[3]}) > 1


@pytest.mark.postgresql
def test_an_absent_score_row_counts_as_a_missing_score(db):
    # given approved rounds whose sheets lack some score rows (as a sheet of a locked round does when
    # an indicator is added later): a required manual one, a `zero` one, an `exclude` one, all of one sheet
    from scoring.insight.calibration import office_sums
    from scoring.models import EvaluationRound

    Indicator.objects.filter(code="sales_attainment").update(missing_rule="exclude")
    Indicator.objects.filter(code="store_display").update(missing_rule="zero")
    offices = [OfficeFactory(code=c) for c in ("SH", "BJ")]
    for i in range(12):
        dealer_with_sales(
            office=offices[i % 2],
            code=f"Z{i:03d}",
            kind="logistics" if i % 3 == 0 else "exclusive",
            sales=[100 + 10 * i, 200, 300],
            targets=[300, 300, 300],
        )
    services.open_quarter(quarter=Q3, engine="python")
    for n, score in enumerate(Score.objects.filter(computed=False).order_by("pk")):
        score.value = D(60 + n % 40)
        score.save()
    EvaluationRound.objects.update(status="approved")
    manual = Score.objects.filter(computed=False).exclude(indicator__code="store_display")
    absent = [
        manual.filter(sheet__dealer__code="Z001").first(),
        Score.objects.get(sheet__dealer__code="Z002", indicator__code="store_display"),
        Score.objects.get(sheet__dealer__code="Z004", indicator__code="sales_attainment"),
        *Score.objects.filter(sheet__dealer__code="Z005"),
    ]
    Score.objects.filter(pk__in=[s.pk for s in absent]).delete()
    # when the SQL engine grades them as they are
    services.regrade_quarter(quarter=Q3, engine="sql")
    by_sql = _snapshot()[0]
    calibration = QuarterGrading.objects.get(quarter=str(Q3)).calibration
    sums = office_sums(quarter=Q3)
    # then they grade as the rules grade a NULL score, which the Python engine gives them
    Grade.objects.filter(quarter=str(Q3)).delete()
    QuarterGrading.objects.all().delete()
    services.regrade_quarter(quarter=Q3, engine="python")
    assert by_sql == _snapshot()[0]
    evaluated = {g.dealer.code: g.evaluated for g in Grade.objects.filter(quarter=str(Q3))}
    assert evaluated["Z001"] is False and evaluated["Z005"] is False
    assert evaluated["Z002"] is True and evaluated["Z004"] is True
    # and the calibration the grading statement summed is the one read from the scores
    assert {int(o): [D(x) for x in v["sums"]] for o, v in calibration.items()} == {
        o: [D(x) for x in (s.dealers, s.manual_sum, s.manual_count, s.computed_sum, s.computed_count)]
        for o, s in sums.items()
    }
