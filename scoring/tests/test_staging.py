"""Staging the sales indicators is skipped while what it reads and what it left are unchanged."""

from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dealers.models import MonthlySales
from dealers.tests.factories import OfficeFactory
from scoring import services, sql
from scoring.models import Grade, QuarterGrading, SalesScore, StagedSales

from .factories import Q3, approve, dealer_with_sales, fill_manual, graded_rows

pytestmark = pytest.mark.postgresql


@pytest.fixture
def company(db):
    offices = [OfficeFactory(code=c) for c in ("SH", "BJ")]
    dealers = [
        dealer_with_sales(
            office=offices[i % 2],
            code=f"S{i:02d}",
            kind="logistics" if i % 3 == 0 else "exclusive",
            sales=[100 + 10 * i, 200, 300],
            targets=[400, 400, 400],
        )
        for i in range(8)
    ]
    services.open_quarter(quarter=Q3, engine="sql")
    return dealers


def _staged():
    return sorted(
        SalesScore.objects.filter(quarter=str(Q3)).values_list(
            "dealer__code", "sales_volume", "sales_attainment"
        )
    )


def _stage():
    """Stage in a transaction as the engine does; (staged?, the staging statements run)."""
    from django.db import transaction

    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        staged = sql.stage_sales_scores(quarter=Q3)
    writes = [q["sql"] for q in queries if 'INTO "scoring_salesscore"' in q["sql"]]
    return staged, writes


def test_opening_keeps_what_it_staged_from_and_staging_again_is_skipped(company):
    # given a quarter just opened
    kept = StagedSales.objects.get(quarter=str(Q3))
    assert kept.inputs.endswith(sql.sales_fingerprint(quarter=Q3))
    before = _staged()
    # when it is staged again with nothing changed
    staged, writes = _stage()
    # then nothing is computed or written
    assert staged is False and writes == []
    assert _staged() == before


def test_a_changed_sale_is_staged_again(company):
    before = {code: (v, a) for code, v, a in _staged()}
    sale = MonthlySales.objects.filter(dealer=company[1]).order_by("month").first()
    sale.amount = D(5000)
    sale.save()
    staged, writes = _stage()
    assert staged is True and writes
    after = {code: (v, a) for code, v, a in _staged()}
    assert after["S01"] != before["S01"]
    assert after["S01"][1] == D(100)  # 5,500 sold against 1,200 agreed: capped at 100
    # and the next staging, with nothing changed since, is skipped again
    assert _stage() == (False, [])


@pytest.mark.parametrize("how", ["changed", "deleted"])
def test_staged_rows_changed_by_other_means_are_staged_again(company, how):
    before = _staged()
    rows = SalesScore.objects.filter(quarter=str(Q3), dealer=company[2])
    if how == "changed":
        rows.update(sales_volume=D("1.23"))
    else:
        rows.delete()
    staged, writes = _stage()
    assert staged is True and writes
    assert _staged() == before


def test_new_staging_rules_stage_again(company, monkeypatch):
    monkeypatch.setattr(sql, "STAGING_RULES", "next")
    assert _stage()[0] is True
    assert StagedSales.objects.get(quarter=str(Q3)).inputs.startswith("next:")


def test_a_first_grading_that_skips_staging_grades_as_one_that_stages(company):
    # given the quarter as opening left it, scored and approved
    fill_manual(quarter=Q3)
    approve(quarter=Q3)
    # when it is graded, staging skipped (opening staged the same inputs)
    with CaptureQueriesContext(connection) as queries:
        services.regrade_quarter(quarter=Q3, engine="sql")
    assert not [q for q in queries if 'INTO "scoring_salesscore"' in q["sql"]]
    skipped = graded_rows(Q3)
    # then the grades are those of a grading that staged everything afresh
    Grade.objects.filter(quarter=str(Q3)).delete()
    QuarterGrading.objects.all().delete()
    StagedSales.objects.all().delete()
    SalesScore.objects.all().delete()
    services.regrade_quarter(quarter=Q3, engine="sql")
    assert graded_rows(Q3) == skipped
    assert len(skipped[0]) == 8 and all(g[3] for g in skipped[0])
