"""The quarterly record: each dealer in its office at quarter end, late churn, late joins
(DESIGN.md §3.3, §3.4), with both grading engines."""

import datetime
from decimal import Decimal as D

import pytest
import time_machine

from dealers.imports import DealerImporter
from dealers.models import DealerStatus
from dealers.tests.factories import DealerFactory
from scoring import services
from scoring.models import EvaluationRound, Grade, RoundStatus, Score, ScoreSheet

from .factories import Q3, approve, dealer_with_sales, fill_manual

pytestmark = pytest.mark.django_db
ENGINES = [pytest.param("sql", marks=pytest.mark.postgresql), "python"]


@pytest.fixture(autouse=True)
def _november_2026():
    with time_machine.travel("2026-11-20 10:00 +0800", tick=False):
        yield


@pytest.fixture
def company(office, other_office):
    """SH: E1, E2, E3; BJ: E4 (as in test_grading: totals E1 78, E2 58, E3 88, E4 78)."""
    dealers = {
        "E1": dealer_with_sales(office=office, code="E1", sales=(100, 100, 100)),
        "E2": dealer_with_sales(office=office, code="E2", sales=(50, 50, 50)),
        "E3": dealer_with_sales(office=office, code="E3", sales=(200, 200, 200)),
        "E4": dealer_with_sales(office=other_office, code="E4", sales=(100, 100, 100)),
    }
    return dealers


def grades():
    return {
        g.dealer.code: g for g in Grade.objects.filter(quarter=str(Q3)).select_related("dealer", "office")
    }


def move(planner, code, office_code, moved_on):
    line = f"{code},{code},exclusive,{office_code},2020-01-01,{moved_on}"
    result = DealerImporter(user=planner).run(
        f"code,name,kind,office,joined,moved_on\n{line}\n".encode(), "d.csv"
    )
    assert result.saved, result.errors


def graded(engine):
    services.open_quarter(quarter=Q3, engine=engine)
    fill_manual()
    approve()
    services.regrade_quarter(quarter=Q3, engine=engine)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_dealer_moved_after_the_quarter_stays_graded_in_its_office_at_quarter_end(
    engine, company, office, other_office, planner
):
    # given Q3 graded, then E3 (SH's best) moved to BJ in October
    graded(engine)
    before = {c: (g.office_id, g.office_rank, g.company_rank) for c, g in grades().items()}
    move(planner, "E3", "BJ", "2026-10-15")
    # when re-graded
    services.regrade_quarter(quarter=Q3, engine=engine)
    # then the quarter still reads E3 in SH, with the same ranks
    after = grades()
    assert {c: (g.office_id, g.office_rank, g.company_rank) for c, g in after.items()} == before
    assert after["E3"].office == office
    # and a re-opening leaves its sheet in SH's round
    EvaluationRound.objects.filter(quarter=str(Q3)).update(status=RoundStatus.OPEN)
    services.open_quarter(quarter=Q3, engine=engine)
    assert list(
        ScoreSheet.objects.filter(dealer__code="E3").values_list("round__office__code", flat=True)
    ) == ["SH"]


@pytest.mark.parametrize("engine", ENGINES)
def test_a_move_dated_back_into_the_quarter_grades_the_dealer_in_its_new_office(
    engine, company, office, other_office, planner
):
    # given Q3 opened, then E3's move to BJ recorded as of 2026-09-01
    services.open_quarter(quarter=Q3, engine=engine)
    move(planner, "E3", "BJ", "2026-09-01")
    # when the quarter is opened again, scored, approved and graded
    services.open_quarter(quarter=Q3, engine=engine)
    fill_manual()
    approve()
    services.regrade_quarter(quarter=Q3, engine=engine)
    # then E3 is BJ's, ranked there; its old SH sheet no longer counts
    g = grades()
    assert g["E3"].office == other_office
    assert {c: g[c].office_rank for c in g} == {"E1": 1, "E2": 2, "E3": 1, "E4": 2}
    sh_round = EvaluationRound.objects.get(quarter=str(Q3), office=office)
    assert services.round_progress(round=sh_round) == (2, 2)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_churn_found_late_removes_the_grade_and_ranks_without_it(engine, company, office):
    # given Q3 graded: company ranks E3 1, E1 2, E4 2, E2 4
    graded(engine)
    assert grades()["E2"].company_rank == 4
    # when E3 is found to have churned on 2026-09-15, and Q3 is re-graded
    company["E3"].status, company["E3"].churned_on = DealerStatus.CHURNED, datetime.date(2026, 9, 15)
    company["E3"].save()
    services.regrade_quarter(quarter=Q3, engine=engine)
    # then E3 has no grade any more, and the others rank without it
    g = grades()
    assert "E3" not in g
    assert {c: g[c].company_rank for c in g} == {"E1": 1, "E4": 1, "E2": 3}
    assert {c: g[c].office_rank for c in g} == {"E1": 1, "E2": 2, "E4": 1}
    deleted = Grade.history.filter(dealer_id=company["E3"].pk, history_type="-")
    assert deleted.count() == 1


def test_the_sheet_of_a_churned_dealer_does_not_block_submitting(company, office, office_manager):
    # given Q3 open, every manual score entered except E2's
    services.open_quarter(quarter=Q3)
    fill_manual()
    Score.objects.filter(sheet__dealer=company["E2"], computed=False).update(value=None)
    office_round = EvaluationRound.objects.get(quarter=str(Q3), office=office)
    assert services.round_progress(round=office_round) == (2, 3)
    # when E2 turns out to have churned inside the quarter
    company["E2"].status, company["E2"].churned_on = DealerStatus.CHURNED, datetime.date(2026, 8, 31)
    company["E2"].save()
    # then the round counts two sheets, both complete, and can be submitted
    assert services.round_progress(round=office_round) == (2, 2)
    assert services.sheet_missing(rounds=[office_round]) == {}
    office_round.meeting_date = datetime.date(2026, 10, 10)
    office_round.chair = office_manager
    office_round.save()
    services.submit_round(round=office_round, user=office_manager)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_regrade_never_adds_sheets_to_an_approved_round_nor_touches_its_manual_scores(
    engine, company, office
):
    # given SH approved with its three sheets
    graded(engine)
    sh_round = EvaluationRound.objects.get(quarter=str(Q3), office=office)
    manual = dict(Score.objects.filter(sheet__round=sh_round, computed=False).values_list("pk", "value"))
    # when a dealer that joined in September is imported late, and E1's September sales change
    late = DealerFactory(office=office, code="E9", joined=datetime.date(2026, 9, 20))
    company["E1"].sales.filter(month=datetime.date(2026, 9, 1)).update(amount=D(1))
    services.open_quarter(quarter=Q3, engine=engine)
    services.regrade_quarter(quarter=Q3, engine=engine)
    # then the round keeps its sheets, status and manual scores; E9 is listed as not evaluated
    sh_round.refresh_from_db()
    assert sh_round.status == RoundStatus.APPROVED
    assert services.round_progress(round=sh_round) == (3, 3)
    assert not ScoreSheet.objects.filter(dealer=late).exists()
    assert (
        dict(Score.objects.filter(sheet__round=sh_round, computed=False).values_list("pk", "value")) == manual
    )
    g = grades()
    assert g["E9"].evaluated is False and g["E9"].office == office
    # while the computed indicators follow the latest sales
    volume = Score.objects.get(sheet__dealer=company["E1"], indicator__code="sales_attainment")
    assert volume.value == D("67.00")
