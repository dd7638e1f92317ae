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
