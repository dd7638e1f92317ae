"""Pages offer only what the services would accept, and ask before the steps that lock."""

import datetime

import pytest
from django.urls import reverse

from scoring import services
from scoring.models import EvaluationRound, Grade, GradingStatus, QuarterGrading, RoundStatus

from .factories import Q3, approve, dealer_with_sales, fill_manual

pytestmark = pytest.mark.django_db


@pytest.fixture
def office_round(office):
    dealer_with_sales(office=office, code="E1", sales=(100, 100, 100))
    dealer_with_sales(office=office, code="E2", sales=(50, 50, 50))
    services.open_quarter(quarter=Q3)
    return EvaluationRound.objects.get(office=office)


def _page(client, office_round):
    return client.get(reverse("scoring:round", args=[office_round.pk])).content.decode()


def test_an_open_incomplete_round_offers_no_submit_or_approve_and_says_what_is_missing(
    client, office_round, office_manager
):
    client.force_login(office_manager)
    html = _page(client, office_round)
    assert 'data-testid="approve-round"' not in html and 'data-testid="submit-round"' not in html
    assert 'data-testid="round-unfinished"' in html and "2 家经销商" in html


def test_a_complete_round_is_submitted_then_approved_each_after_a_confirmation(
    client, office_round, office_manager
):
    fill_manual()
    client.force_login(office_manager)
    # without the committee's chair and date, submitting is not offered and the page says why
    html = _page(client, office_round)
    assert 'data-testid="submit-round"' not in html and 'data-testid="committee-missing"' in html
    EvaluationRound.objects.update(chair=office_manager, meeting_date=datetime.date(2026, 10, 9))
    html = _page(client, office_round)
    assert 'data-testid="submit-round"' in html and 'data-testid="approve-round"' not in html
    assert "data-confirm=" in html and "全部 2 家" in html
    client.post(reverse("scoring:round_action", args=[office_round.pk, "submit"]))
    html = _page(client, office_round)
    assert 'data-testid="approve-round"' in html and 'data-testid="submit-round"' not in html


def test_no_reopen_form_once_the_quarter_is_published(client, office_round, planner):
    fill_manual()
    approve()
    services.regrade_quarter(quarter=Q3)
    client.force_login(planner)
    assert 'data-testid="reopen-form"' in _page(client, office_round)
    QuarterGrading.objects.filter(quarter=str(Q3)).update(status=GradingStatus.PUBLISHED)
    assert 'data-testid="reopen-form"' not in _page(client, office_round)
    office_round.refresh_from_db()
    assert office_round.status == RoundStatus.APPROVED


def test_the_abc_list_has_one_override_dialog_that_preselects_nothing_for_an_unevaluated_dealer(
    client, office, office_round, planner
):
    # given E1 complete and E2 without scores, graded
    fill_manual(dealer=office_round.sheets.get(dealer__code="E1").dealer)
    approve()
    services.regrade_quarter(quarter=Q3)
    client.force_login(planner)
    html = client.get(reverse("scoring:abc_list"), {"quarter": "2026Q3"}).content.decode()
    # then one form for the page, and the rows carry their class for the dialog
    assert html.count('name="final_class"') == 2  # the filter's and the dialog's
    assert html.count('id="grade-override-form"') == 1
    e2 = Grade.objects.get(dealer__code="E2")
    assert not e2.evaluated
    assert f'data-grade="{e2.pk}" data-class="{e2.final_class}"' in html
    assert '<option value="">' in html


def test_the_total_sorts_highest_first_and_its_arrow_says_so(client, office_round, planner):
    fill_manual()
    approve()
    services.regrade_quarter(quarter=Q3)
    client.force_login(planner)
    descending = client.get(reverse("scoring:abc_list"), {"quarter": "2026Q3", "sort": "-total"})
    ascending = client.get(reverse("scoring:abc_list"), {"quarter": "2026Q3", "sort": "total"})
    down = [g.dealer.code for g in descending.context["page"]]
    up = [g.dealer.code for g in ascending.context["page"]]
    assert down == ["E1", "E2"] and up == ["E2", "E1"]
    assert "合计 ▼" in descending.content.decode() or "总分 ▼" in descending.content.decode()
    assert "sort=-total" in client.get(reverse("scoring:abc_list"), {"quarter": "2026Q3"}).content.decode()
