"""The command-line interface of DESIGN.md §6.2 for the quarterly evaluation."""

import csv
import datetime
import io
from decimal import Decimal as D

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import translation

from scoring.models import EvaluationRound, Grade, GradingStatus, QuarterGrading, RoundStatus, Score
from scoring.tasks import quarter_just_ended

from .factories import Q3, approve, dealer_with_sales, fill_manual


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def small(office, other_office):
    a = dealer_with_sales(office=office, code="E1", name="=恒达", sales=(100, 100, 100))
    b = dealer_with_sales(office=other_office, code="L1", kind="logistics", sales=(50, 50, 50))
    return a, b


def test_open_regrade_publish_and_export(small, tmp_path):
    # given
    assert "2 rounds open" in run("open_quarter", "2026Q3")
    fill_manual()
    approve()
    # when
    run("regrade", "2026Q3")
    run("publish_quarter", "2026Q3")
    out = run("export_abc", "2026Q3")
    # then
    rows = list(csv.reader(io.StringIO(out.lstrip("\ufeff"))))
    assert rows[0] == [
        "quarter",
        "dealer",
        "name",
        "office",
        "kind",
        "total",
        "office_rank",
        "company_rank",
        "computed_class",
        "final_class",
        "previous_class",
        "change",
        "overridden",
        "evaluated",
    ]
    # E1: 20 × 100 + 20 × 100 + 60 × 80 = 88.00; L1 (N = 1 → 100, attainment 50): 12×100 + 12×50 + 76×80 = 78.80
    assert rows[1] == [
        "2026Q3",
        "E1",
        "'=恒达",
        "SH",
        "exclusive",
        "88.00",
        "1",
        "1",
        "A",
        "A",
        "",
        "new",
        "no",
        "yes",
    ]
    assert rows[2] == [
        "2026Q3",
        "L1",
        rows[2][2],
        "BJ",
        "logistics",
        "78.80",
        "1",
        "1",
        "B",
        "B",
        "",
        "new",
        "no",
        "yes",
    ]
    assert QuarterGrading.objects.get().status == GradingStatus.PUBLISHED
    with pytest.raises(CommandError, match="2026Q3"):
        run("regrade", "2026Q3")
    target = tmp_path / "abc.xlsx"
    run("export_abc", "2026Q3", "-o", str(target))
    assert target.read_bytes()[:2] == b"PK"


def test_a_bad_quarter_is_refused():
    with pytest.raises(CommandError, match="2026Q3"):
        run("regrade", "2026-09")


def _scores_file(tmp_path, lines, name="scores.csv"):
    path = tmp_path / name
    path.write_text("经销商编码,季度,指标,得分\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


MANUAL = ["store_display", "promotion_effort", "price_discipline", "relations_credit"]


def test_import_scores_approves_complete_rounds_and_names_incomplete_ones(small, tmp_path, office_manager):
    # given E1 (SH) fully scored, L1 (BJ) missing its logistics indicators
    run("open_quarter", "2026Q3")
    EvaluationRound.objects.update(chair=office_manager, meeting_date=datetime.date(2026, 10, 9))
    lines = [f"E1,2026Q3,{code},80" for code in MANUAL]
    lines += ["L1,2026Q3,价格维护,70"]
    # when
    out = run("import_scores", _scores_file(tmp_path, lines), "--approve", "--by", office_manager.username)
    # then
    lacking = next(line for line in out.splitlines() if line.startswith("BJ 2026Q3"))
    assert "L1 (" in lacking and "配送服务" in lacking and "价格维护" not in lacking
    assert any(line.startswith("SH 2026Q3") for line in out.splitlines())
    sh = EvaluationRound.objects.get(office__code="SH")
    assert (sh.status, sh.approved_by) == (RoundStatus.APPROVED, office_manager)
    assert EvaluationRound.objects.get(office__code="BJ").status == RoundStatus.OPEN
    assert Score.objects.get(sheet__dealer__code="L1", indicator__code="price_discipline").value == D("70")


def test_import_scores_is_all_or_nothing_with_line_numbers(small, tmp_path):
    # given one bad score among good ones
    run("open_quarter", "2026Q3")
    path = _scores_file(
        tmp_path, ["E1,2026Q3,store_display,80", "E1,2026Q3,主推力度,101", "X9,2026Q3,主推力度,1"]
    )
    err = io.StringIO()
    # when
    with pytest.raises(CommandError):
        call_command("import_scores", path, stdout=io.StringIO(), stderr=err)
    # then
    assert "line 3" in err.getvalue() and "主推力度" in err.getvalue() and "E1" in err.getvalue()
    assert "line 4" in err.getvalue()
    assert not Score.objects.filter(value__isnull=False, computed=False).exists()


def test_import_scores_refuses_computed_indicators(small, tmp_path):
    path = _scores_file(tmp_path, ["E1,2026Q3,sales_volume,80"])
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_scores", path, stdout=io.StringIO(), stderr=err)
    assert "computed" in err.getvalue() or "计算" in err.getvalue()


def test_beat_runs_the_jobs_quarterly_in_shanghai_time():
    schedule = settings.CELERY_BEAT_SCHEDULE
    opening = schedule["scoring-open-quarter"]["schedule"]
    regrade = schedule["scoring-regrade-quarter"]["schedule"]
    assert (opening.hour, opening.minute, opening.day_of_month, opening.month_of_year) == (
        {1},
        {0},
        {1},
        {1, 4, 7, 10},
    )
    assert (regrade.hour, regrade.day_of_month, regrade.month_of_year) == ({2}, {15}, {1, 4, 7, 10})
    assert settings.CELERY_TIMEZONE == "Asia/Shanghai"


def test_the_jobs_grade_the_quarter_just_ended():
    import datetime

    assert str(quarter_just_ended(datetime.date(2026, 10, 1))) == "2026Q3"
    assert str(quarter_just_ended(datetime.date(2026, 1, 15))) == "2025Q4"


def test_regrade_without_approved_rounds_marks_everyone_not_evaluated(small):
    run("open_quarter", "2026Q3")
    assert "2 not evaluated" in run("regrade", "2026Q3")
    assert sorted(Grade.objects.values_list("quarter", "evaluated")) == [(str(Q3), False), (str(Q3), False)]
