"""The benchmark command measures the real work of DESIGN.md §7 on a company it builds."""

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError, OutputWrapper
from django.db.models import Count, Sum
from django.db.models import Q as Where

from dealers.models import Dealer
from dealers.tests.factories import OfficeFactory
from evalsys.periods import Quarter
from scoring.management.commands.benchmark import PREFIX, Command, peak_rss_kib
from scoring.models import Grade, QuarterGrading, SalesScore, Score

Q = Quarter.parse("2025Q3")


def command():
    c = Command()
    c.stdout = OutputWrapper(io.StringIO())
    return c


def test_a_first_grading_starts_from_an_ungraded_quarter_with_the_previous_one_graded(db):
    # given a built company, graded once
    bench = command()
    assert bench.build(dealers=600, quarter=Q) == "built"
    assert Grade.objects.filter(quarter="2025Q2", dealer__code__startswith=PREFIX).count() == 600
    # with the figures grading keeps, as the pages would find after a real grading
    previous = QuarterGrading.objects.get(quarter="2025Q2")
    assert previous.distribution and previous.movements and previous.calibration
    bench.step_regrade(quarter=Q, repeat=1)
    # one dealer in a hundred churned within the quarter and is not graded
    in_network = Dealer.objects.filter(code__startswith=PREFIX, churned_on__isnull=True).count()
    assert 590 <= in_network < 600
    grades = Grade.objects.filter(quarter=str(Q))
    assert grades.count() == in_network and not grades.filter(evaluated=False).exists()
    assert set(grades.values_list("change", flat=True)) >= {"up", "down", "same"}
    computed = Score.objects.filter(sheet__round__quarter=str(Q), computed=True)
    # two computed indicators (sales volume, attainment) per dealer
    assert computed.count() == 2 * in_network and not computed.filter(value=None).exists()
    values = sorted(computed.values_list("id", "value"))
    # when it is reused for another first grading
    assert bench.build(dealers=600, quarter=Q, fresh_grades=True) == "reused"
    # then no grade of the quarter is left, and its sheets hold the computed indicators as
    # opening the quarter copied them, as a real first grading finds them
    assert not Grade.objects.filter(quarter=str(Q)).exists()
    assert not QuarterGrading.objects.filter(quarter=str(Q)).exists()
    assert sorted(computed.values_list("id", "value")) == values
    # and when it is taken back further, to nothing staged
    bench.ungrade(Q, staged=False)
    # then the grading has every computed indicator to compute and copy again
    assert not computed.exclude(value=None).exists()
    assert not Score.history.filter(id__in=computed.values("id")).exists()
    assert not SalesScore.objects.filter(quarter=str(Q)).exists()
    bench.step_regrade(quarter=Q, repeat=1)
    assert sorted(computed.values_list("id", "value")) == values


def test_the_page_steps_count_queries_and_the_import_saves_a_month(db):
    # given
    bench = command()
    bench.build(dealers=600, quarter=Q)
    bench.step_regrade(quarter=Q, repeat=1)
    # when
    abc = bench.step_abc(quarter=Q, repeat=2)
    grid = bench.step_grid(quarter=Q, repeat=2)
    imported = bench.step_import(quarter=Q, repeat=1)
    # then
    assert abc["queries"] > 0 and grid["queries"] > 0 and imported["seconds"] > 0
    assert peak_rss_kib() > 10_000


@pytest.mark.postgresql  # the baseline is hand-written PostgreSQL
def test_the_hand_written_baseline_does_the_same_work_as_the_grading(db):
    # given a built company graded by the project
    bench = command()
    bench.build(dealers=600, quarter=Q)
    bench.step_regrade(quarter=Q, repeat=1)
    # when the two hand-written statements run
    result = bench.step_baseline(quarter=Q, repeat=1)
    # then they grade the same dealers with the same totals, classes and changes
    grades = Grade.objects.filter(quarter=str(Q)).aggregate(
        n=Count("id"),
        total=Sum("total"),
        a=Count("id", filter=Where(final_class="A")),
        b=Count("id", filter=Where(final_class="B")),
        c=Count("id", filter=Where(final_class="C")),
        up=Count("id", filter=Where(change="up")),
    )
    count, total, a, b, c, up = result["queries"], *result["checksum"]
    assert (count, Decimal(total), a, b, c, up) == (
        grades["n"],
        grades["total"],
        grades["a"],
        grades["b"],
        grades["c"],
        grades["up"],
    )
    # and its scratch tables are gone
    from django.db import connection

    assert not {"bench_baseline_indicators", "bench_baseline_grades"} & set(
        connection.introspection.table_names()
    )


def test_one_office_changed_regrades_that_office_s_new_totals(db):
    bench = command()
    bench.build(dealers=600, quarter=Q)
    bench.step_regrade(quarter=Q, repeat=1)
    before = dict(
        Grade.objects.filter(quarter=str(Q), office__code=f"{PREFIX}0000").values_list("dealer", "total")
    )
    # when
    bench.step_office(quarter=Q, repeat=1)
    # then the office's totals moved with its scores (a manual score of weight 15 moved by 0.01)
    after = dict(
        Grade.objects.filter(quarter=str(Q), office__code=f"{PREFIX}0000").values_list("dealer", "total")
    )
    assert after.keys() == before.keys() and any(after[d] != before[d] for d in after)


def test_it_refuses_a_database_holding_data_it_did_not_create(db):
    # given a real office (the demo's, say)
    OfficeFactory(code="SH", name="上海办事处")
    # when / then
    with pytest.raises(CommandError, match="did not create"):
        call_command("benchmark", "--dealers", "600", "--only", "abc", stdout=io.StringIO())
    assert not Dealer.objects.filter(code__startswith=PREFIX).exists()


def test_every_daily_page_is_timed_as_its_role(db):
    bench = command()
    bench.build(dealers=600, quarter=Q)
    bench.step_regrade(quarter=Q, repeat=1)
    # when
    result = bench.step_pages(quarter=Q, repeat=1)
    # then each role's dashboard and each daily page answered (a non-200 raises) with its query count
    names = [page["name"] for page in result["pages"]]
    assert len([n for n in names if n.startswith("dashboard")]) == 6
    assert {
        "customer file",
        "targets page",
        "attainment page",
        "visit list",
        "network metrics",
        "office comparison",
    } <= set(names)
    assert all(page["queries"] > 0 for page in result["pages"])


def test_the_follow_through_steps_publish_nothing_and_read_a_million_rows_scaled_down(db):
    # given a built, graded company and its support entries
    from scoring.followup.models import SupportEntry, WatchEntry
    from scoring.management.commands.benchmark import SUPPORT_PER_DEALER
    from scoring.models import GradingStatus, QuarterGrading

    bench = command()
    bench.build(dealers=600, quarter=Q)
    bench.step_regrade(quarter=Q, repeat=1)
    bench.build_support(quarter=Q)
    bench.build_support(quarter=Q)  # once only
    assert SupportEntry.objects.count() == 600 * SUPPORT_PER_DEALER
    # when the watch-list step and the report page are measured
    watch = bench.step_watchlist(quarter=Q, repeat=1)
    page = bench.step_support(quarter=Q, repeat=2)
    # then dealers qualified (C now and in the published quarter before), yet nothing stays published
    assert watch["outcome"]["opened"] > 0
    assert not WatchEntry.objects.exists()
    assert QuarterGrading.objects.get(quarter=str(Q)).status == GradingStatus.GRADED
    assert page["queries"] > 0
