"""The quarter's lifecycle as users try it: ended quarters only, published means frozen, the round
workflow, publishing with what is unfinished, jobs that fail (DESIGN.md §3.3–3.5)."""

import datetime
import io
from decimal import Decimal as D

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone, translation

from dealers.models import Notification
from scoring import services, tasks
from scoring.models import (
    EvaluationRound,
    Grade,
    GradingStatus,
    QuarterGrading,
    QuarterReopening,
    RoundStatus,
    Score,
    ScoreSheet,
)

from .factories import Q3, approve, dealer_with_sales, fill_manual

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _november_2026_in_english():
    with time_machine.travel("2026-11-20 10:00 +0800", tick=False), translation.override("en"):
        yield


@pytest.fixture
def company(office, other_office):
    return {
        "E1": dealer_with_sales(office=office, code="E1"),
        "E2": dealer_with_sales(office=other_office, code="E2"),
    }


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def refused(*args):
    with pytest.raises(CommandError) as caught:
        run(*args)
    return str(caught.value)


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def published_quarter():
    services.open_quarter(quarter=Q3)
    fill_manual()
    approve()
    services.regrade_quarter(quarter=Q3)
    services.publish_quarter(quarter=Q3)


# Ended quarters only ---------------------------------------------------------------------


@pytest.mark.parametrize("quarter", ["2026Q4", "2027Q1"])
@pytest.mark.parametrize("command", ["open_quarter", "regrade"])
def test_a_quarter_still_running_or_in_the_future_is_refused_and_creates_nothing(company, command, quarter):
    message = refused(command, quarter)
    assert "has not ended yet" in message and "2026Q3" in message
    assert not EvaluationRound.objects.exists()
    assert not QuarterGrading.objects.exists()
    assert not Notification.objects.exists()


def test_a_quarter_before_the_companys_first_data_is_refused(company):
    # the dealers joined on 2020-01-01
    assert "before the company's first data (2020Q1)" in refused("open_quarter", "2019Q4")
    assert not EvaluationRound.objects.exists()


@pytest.mark.parametrize(
    "text, message",
    [
        ("2026Q5", "Not a quarter like 2026Q3: 2026Q5"),
        ("soon", "Not a quarter like 2026Q3: soon"),
        ("0001Q1", "the year must be between"),
        ("9999Q4", "the year must be between"),
    ],
)
def test_a_malformed_quarter_is_one_clear_message(company, text, message):
    assert message in refused("open_quarter", text)


def test_the_beat_task_refuses_a_quarter_not_ended(company):
    with pytest.raises(services.ScoringError):
        tasks.open_quarter_task("2026Q4")
    assert not EvaluationRound.objects.exists()


def test_export_abc_of_a_quarter_never_graded_says_so(company):
    assert "has not been graded" in refused("export_abc", "2026Q2")


def test_the_jobs_form_offers_the_ended_quarters_and_refuses_others(client, company, planner):
    client.force_login(planner)
    page = client.get(reverse("scoring:rounds")).text
    form = page.split('id="job-quarter"')[1].split("</select>")[0]
    assert '<option value="2026Q3" selected>' in form
    assert "2020Q1" in form and "2026Q4" not in form and "2019Q4" not in form
    for typed in ("2030Q1", "2026Q4", "20Q1"):
        response = client.post(reverse("scoring:job_start"), {"action": "open", "quarter": typed})
        assert response.status_code == 302
        assert messages_of(response), typed
    assert not EvaluationRound.objects.exists()


@pytest.mark.parametrize("text", ["9999Q4", "0001Q1", "2026Q9"])
def test_an_out_of_range_quarter_in_an_address_is_a_404(client, company, planner, text):
    client.force_login(planner)
    assert client.get(reverse("scoring:abc_list") + f"?quarter={text}").status_code == 404
    assert client.get(reverse("scoring:abc_export") + f"?quarter={text}").status_code == 404


# Published means frozen -----------------------------------------------------------------------


def test_every_scoring_change_to_a_published_quarter_is_refused_naming_it(
    company, office, office_manager, planner, tmp_path
):
    # given a published quarter
    published_quarter()
    before = (
        sorted(Score.objects.values_list("pk", "value", "override_value", "comment")),
        sorted(Grade.objects.values_list("pk", "final_class", "total")),
        sorted(EvaluationRound.objects.values_list("pk", "status")),
    )
    office_round = EvaluationRound.objects.get(office=office)
    manual = Score.objects.filter(sheet__round=office_round, computed=False).first()
    computed = Score.objects.filter(sheet__round=office_round, computed=True).first()
    grade = Grade.objects.get(dealer=company["E1"])
    attempts = {
        "open": lambda: services.open_quarter(quarter=Q3),
        "regrade": lambda: services.regrade_quarter(quarter=Q3),
        "grid": lambda: services.save_grid(
            round=office_round,
            entries={
                manual.sheet_id: {"version": manual.sheet.version, "scores": {manual.indicator_id: "1"}}
            },
            user=office_manager,
        ),
        "override": lambda: services.override_score(
            score=computed, value="1", reason="x", user=office_manager
        ),
        "evidence": lambda: services.save_evidence(
            score=manual, comment="x", photo=None, user=office_manager
        ),
        "class": lambda: services.override_class(grade=grade, final_class="C", reason="x", user=planner),
        "reopen round": lambda: services.reopen_round(round=office_round, reason="x", user=planner),
        "committee": lambda: services.save_committee(
            round=office_round, meeting_date=None, chair=None, participants=[], user=office_manager
        ),
    }
    for name, attempt in attempts.items():
        with pytest.raises(services.ScoringError) as caught:
            attempt()
        assert "2026Q3 is published" in str(caught.value), name
    # the commands and the import say so too
    assert "2026Q3 is published" in refused("open_quarter", "2026Q3")
    assert "2026Q3 is published" in refused("regrade", "2026Q3")
    scores = tmp_path / "scores.csv"
    scores.write_text("dealer,quarter,indicator,score\nE1,2026Q3,store_display,1\n", encoding="utf-8")
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_scores", str(scores), stdout=io.StringIO(), stderr=err)
    assert "2026Q3 is published" in err.getvalue()
    # and nothing changed
    after = (
        sorted(Score.objects.values_list("pk", "value", "override_value", "comment")),
        sorted(Grade.objects.values_list("pk", "final_class", "total")),
        sorted(EvaluationRound.objects.values_list("pk", "status")),
    )
    assert after == before


def test_publish_quarter_refuses_an_unfinished_quarter_unless_allowed(company, office):
    # given SH approved, BJ still open: E2 not evaluated
    services.open_quarter(quarter=Q3)
    fill_manual()
    approve(office=office)
    services.regrade_quarter(quarter=Q3)
    # when / then
    message = refused("publish_quarter", "2026Q3")
    assert "rounds not approved: 1" in message and "dealers not evaluated: 1" in message
    assert "--allow-unfinished" in message
    assert QuarterGrading.objects.get().status == GradingStatus.GRADED
    out = run("publish_quarter", "2026Q3", "--allow-unfinished")
    assert "published with unfinished work: rounds not approved: 1, dealers not evaluated: 1" in out
    assert QuarterGrading.objects.get().status == GradingStatus.PUBLISHED


def test_the_web_publish_shows_what_is_unfinished_before_publishing(client, company, office, planner):
    services.open_quarter(quarter=Q3)
    fill_manual()
    approve(office=office)
    services.regrade_quarter(quarter=Q3)
    client.force_login(planner)
    client.cookies["django_language"] = "en"
    # a GET shows the counts and changes nothing
    page = client.get(reverse("scoring:publish") + "?quarter=2026Q3").text
    assert "Still unfinished" in page
    assert [c.split(">")[1].split("<")[0] for c in page.split('data-testid="unfinished-count"')[1:]] == [
        "1",
        "1",
        "0",
    ]
    assert QuarterGrading.objects.get().status == GradingStatus.GRADED
    # confirming publishes it
    client.post(reverse("scoring:publish"), {"quarter": "2026Q3"})
    assert QuarterGrading.objects.get().status == GradingStatus.PUBLISHED


def test_only_an_administrator_reopens_a_published_quarter_with_a_reason_that_is_kept(
    client, admin_client, admin_user, company, planner
):
    published_quarter()
    grading = QuarterGrading.objects.get()
    with pytest.raises(services.ScoringError):
        services.reopen_published_quarter(quarter=Q3, reason="x", user=planner)
    url = reverse("admin:scoring_quartergrading_changelist")
    # the action asks for the reason first
    form = admin_client.post(url, {"action": "reopen_published", "_selected_action": [grading.pk]})
    assert form.status_code == 200 and 'name="reason"' in form.text
    assert QuarterGrading.objects.get().status == GradingStatus.PUBLISHED
    # an empty reason is refused
    admin_client.post(
        url, {"action": "reopen_published", "_selected_action": [grading.pk], "apply": "1", "reason": ""}
    )
    assert QuarterGrading.objects.get().status == GradingStatus.PUBLISHED
    admin_client.post(
        url,
        {
            "action": "reopen_published",
            "_selected_action": [grading.pk],
            "apply": "1",
            "reason": "销售数据更正",
        },
    )
    assert QuarterGrading.objects.get().status == GradingStatus.GRADED
    assert QuarterReopening.objects.get().reason == "销售数据更正"
    assert QuarterReopening.objects.get().by == admin_user


def test_the_admin_shows_round_and_grading_status_read_only(admin_client, company, office):
    services.open_quarter(quarter=Q3)
    office_round = EvaluationRound.objects.get(office=office)
    response = admin_client.post(
        reverse("admin:scoring_evaluationround_change", args=[office_round.pk]), {"status": "approved"}
    )
    assert response.status_code == 403
    office_round.refresh_from_db()
    assert office_round.status == RoundStatus.OPEN


# The round workflow ---------------------------------------------------------------------------


def test_a_round_goes_open_submitted_approved_only_with_its_chair_and_meeting(
    company, office, office_manager
):
    services.open_quarter(quarter=Q3)
    fill_manual()
    office_round = EvaluationRound.objects.get(office=office)
    with pytest.raises(services.ScoringError, match="Only a submitted round"):
        services.approve_round(round=office_round, user=office_manager)
    with pytest.raises(services.ScoringError, match="chair.*meeting date"):
        services.submit_round(round=office_round, user=office_manager)
    with pytest.raises(services.ScoringError, match="future"):
        services.save_committee(
            round=office_round,
            meeting_date=datetime.date(2026, 11, 21),
            chair=office_manager,
            participants=[],
            user=office_manager,
        )
    services.save_committee(
        round=office_round,
        meeting_date=datetime.date(2026, 11, 20),
        chair=office_manager,
        participants=[],
        user=office_manager,
    )
    services.submit_round(round=office_round, user=office_manager)
    services.approve_round(round=office_round, user=office_manager)
    office_round.refresh_from_db()
    assert office_round.status == RoundStatus.APPROVED


def test_a_grid_save_cannot_commit_into_a_round_approved_meanwhile(company, office, office_manager):
    # given the grid was read while the round was open
    services.open_quarter(quarter=Q3)
    office_round = EvaluationRound.objects.get(office=office)
    score = Score.objects.filter(sheet__round=office_round, computed=False).first()
    # when the round is approved meanwhile, and the stale page saves
    EvaluationRound.objects.filter(pk=office_round.pk).update(status=RoundStatus.APPROVED)
    with pytest.raises(services.ScoringError, match="approved"):
        services.save_grid(
            round=office_round,
            entries={score.sheet_id: {"version": 1, "scores": {score.indicator_id: "90"}}},
            user=office_manager,
        )
    # then nothing was saved
    score.refresh_from_db()
    assert score.value is None


# Importing scores for a quarter not yet opened ---------------------------------------------------


def test_importing_scores_opens_the_quarter_for_the_importers_office_only(
    company, office, office_manager, tmp_path
):
    from scoring.imports import ScoreImporter

    content = b"dealer,quarter,indicator,score\nE1,2026Q3,store_display,80\n"
    result = ScoreImporter(user=office_manager).run(content, "s.csv")
    assert result.saved, result.errors
    assert list(EvaluationRound.objects.values_list("office__code", flat=True)) == ["SH"]
    assert ScoreSheet.objects.get().dealer == company["E1"]
    attainment = Score.objects.get(indicator__code="sales_attainment")
    assert attainment.value == D("100.00")
    assert Score.objects.get(indicator__code="store_display").value == D("80")


# Jobs that fail say so ------------------------------------------------------------------------


def test_a_regrade_without_progress_for_10_minutes_is_shown_as_stalled(client, company, planner):
    services.start_grading(quarter=Q3)
    client.force_login(planner)
    url = reverse("scoring:job_status", args=["2026Q3"])
    assert client.get(url).json()["running"] is True
    QuarterGrading.objects.update(progress_at=timezone.now() - datetime.timedelta(minutes=11))
    status = client.get(url).json()
    assert (status["running"], status["stalled"]) == (False, True)
    assert 'data-testid="rerun"' in client.get(reverse("scoring:rounds")).text
