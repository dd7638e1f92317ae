"""The benchmark command measures the real work of DESIGN.md §7 on a company it builds."""

import io

from django.core.management.base import OutputWrapper

from evalsys.periods import Quarter
from scoring.management.commands.benchmark import PREFIX, Command, peak_rss_kib
from scoring.models import Grade, Score

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
    bench.step_regrade(quarter=Q, repeat=1)
    grades = Grade.objects.filter(quarter=str(Q))
    assert grades.count() == 600 and not grades.filter(evaluated=False).exists()
    assert set(grades.values_list("change", flat=True)) >= {"up", "down", "same"}
    computed = Score.objects.filter(sheet__round__quarter=str(Q), computed=True)
    # two computed indicators (sales volume, attainment) per dealer
    assert computed.count() == 1200 and not computed.filter(value=None).exists()
    # when it is reused for another first grading
    assert bench.build(dealers=600, quarter=Q, fresh_grades=True) == "reused"
    # then nothing of the quarter's grading is left, as before a real first grading
    assert not Grade.objects.filter(quarter=str(Q)).exists()
    assert not computed.exclude(value=None).exists()
    assert not Score.history.filter(id__in=computed.values("id")).exists()


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
