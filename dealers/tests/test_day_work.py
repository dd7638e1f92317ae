"""Pages ready for a day's work: money with separators, metric defaults, visit filters, attainment totals."""

import datetime
from decimal import Decimal as D

import pytest
import time_machine
from django.urls import reverse

from dealers.models import TargetStatus
from dealers.roles import Role
from dealers.templatetags.evalsys_tags import is_running, money, percent, query_pairs
from dealers.tests.factories import AgreementFactory, DealerFactory, SalesFactory, TargetFactory
from networks.tests.factories import VisitFactory

AUGUST = datetime.date(2026, 8, 1)


def test_money_has_thousand_separators_and_marks_negatives():
    assert money(D("1234567.891")) == "1,234,567.89"
    assert money(0) == "0.00"
    assert money(None) == "–"
    assert money(D("-1234.5")) == '<span class="text-danger">−1,234.50</span>'


def test_percent_has_its_sign_and_marks_negatives():
    assert percent(D("95.5")) == "95.50%"
    assert percent(D("-61.654")) == '<span class="text-danger">−61.65%</span>'
    assert percent(None) == "–"


def test_a_query_string_becomes_hidden_fields():
    assert query_pairs("who=mine&q=%E4%B8%8A%E6%B5%B7&page=2") == [
        ("who", "mine"),
        ("q", "上海"),
        ("page", "2"),
    ]


@time_machine.travel(datetime.datetime(2026, 11, 20, 9, tzinfo=datetime.UTC))
def test_a_quarter_is_running_until_it_ends():
    assert is_running("2026Q4") and not is_running("2026Q3")


def _dealer_with_month(office, manager, code, target, actual):
    dealer = DealerFactory(code=code, office=office, business_manager=manager)
    AgreementFactory(dealer=dealer, year=2026)
    if target is not None:
        TargetFactory(dealer=dealer, month=AUGUST, status=TargetStatus.AGREED, agreed_amount=D(target))
    if actual is not None:
        SalesFactory(dealer=dealer, month=AUGUST, amount=D(actual))
    return dealer


@pytest.mark.django_db
def test_the_attainment_page_totals_sorts_and_searches(client, office, office_manager, business_manager):
    # given three dealers: 120 %, 50 %, and one without a target
    _dealer_with_month(office, business_manager, "SH001", "1000000", "1200000")
    _dealer_with_month(office, business_manager, "SH002", "1000000", "500000")
    _dealer_with_month(office, business_manager, "SH003", None, "234567.89")
    client.force_login(office_manager)
    # when
    response = client.get("/targets/attainment/", {"month": "2026-08", "sort": "-attainment"})
    # then the totals cover every dealer, the attainment only those with both figures
    totals = response.context["totals"]
    assert totals["target"] == D("2000000") and totals["actual"] == D("1934567.89")
    assert totals["attainment"] == D("85.00")  # 1,700,000 / 2,000,000
    assert totals["bands"] == [1, 0, 0, 1] and totals["no_target"] == 1  # 50 % and 120 %
    html = response.content.decode()
    assert "1,934,567.89" in html and "85.00%" in html
    assert [row["dealer"].code for row in response.context["rows"]] == ["SH001", "SH002", "SH003"]
    assert "达成率 ▼" in html
    searched = client.get("/targets/attainment/", {"month": "2026-08", "q": "SH002"})
    assert [row["dealer"].code for row in searched.context["rows"]] == ["SH002"]


@pytest.mark.django_db
@pytest.mark.parametrize("n", [2, 20])
def test_the_attainment_page_query_count_is_flat(
    client, office, office_manager, business_manager, n, django_assert_max_num_queries
):
    for i in range(n):
        _dealer_with_month(office, business_manager, f"SH{i:03d}", "1000", "900")
    client.force_login(office_manager)
    with django_assert_max_num_queries(14):
        assert client.get("/targets/attainment/", {"month": "2026-08", "sort": "-actual"}).status_code == 200


@pytest.mark.django_db
def test_the_targets_page_shows_money_with_separators_and_both_amounts_on_phones(
    client, office, business_manager
):
    dealer = DealerFactory(code="SH001", office=office, business_manager=business_manager)
    AgreementFactory(dealer=dealer, year=2026)
    TargetFactory(
        dealer=dealer,
        month=datetime.date(2026, 10, 1),
        status=TargetStatus.PROPOSED,
        proposed_amount=D("1234567.89"),
        counter_amount=D("1200000"),
    )
    client.force_login(business_manager)
    html = client.get("/targets/", {"month": "2026-10"}).content.decode()
    assert "1,234,567.89" in html and "1,200,000.00" in html
    # the proposal columns are no longer hidden below the md breakpoint
    assert 'data-testid="proposed">1,234,567.89' in html and 'data-testid="counter">1,200,000.00' in html


@pytest.mark.django_db
@time_machine.travel(datetime.datetime(2026, 11, 20, 9, tzinfo=datetime.UTC))
def test_metric_pages_open_on_the_last_ended_quarter_and_mark_a_running_one(
    client, office, office_manager, planner
):
    client.force_login(office_manager)
    response = client.get(reverse("networks:office_metrics"))
    assert str(response.context["quarter"]) == "2026Q3"
    assert 'data-testid="quarter-running"' not in response.content.decode()
    running = client.get(reverse("networks:office_metrics"), {"quarter": "2026Q4"}).content.decode()
    assert 'data-testid="quarter-running"' in running and "（进行中）" in running
    client.force_login(planner)
    assert str(client.get(reverse("networks:company_metrics")).context["quarter"]) == "2026Q3"


@pytest.mark.django_db
def test_a_business_manager_starts_on_his_own_visits_and_everyone_filters(
    client, office, other_office, business_manager, make_staff, office_manager
):
    # given visits by two business managers of the office
    colleague = make_staff("bm2", Role.BUSINESS_MANAGER, office=office)
    VisitFactory(
        dealer__office=office, dealer__code="SH001", visitor=business_manager, date=datetime.date(2026, 9, 1)
    )
    VisitFactory(
        dealer__office=office, dealer__code="SH002", visitor=colleague, date=datetime.date(2026, 9, 20)
    )
    VisitFactory(dealer__office=other_office, dealer__code="BJ001", date=datetime.date(2026, 9, 2))
    # then the business manager starts on his own, and may look at all of his office
    client.force_login(business_manager)
    assert [v.dealer.code for v in client.get("/network/visits/").context["page"]] == ["SH001"]
    everyone = client.get("/network/visits/", {"who": "all"}).context["page"]
    assert sorted(v.dealer.code for v in everyone) == ["SH001", "SH002"]
    # and the office manager filters by business manager, dealer and dates
    client.force_login(office_manager)
    by_visitor = client.get("/network/visits/", {"visitor": colleague.pk}).context["page"]
    assert [v.dealer.code for v in by_visitor] == ["SH002"]
    by_dealer = client.get("/network/visits/", {"q": "SH001"}).context["page"]
    assert [v.dealer.code for v in by_dealer] == ["SH001"]
    by_dates = client.get("/network/visits/", {"date_from": "2026-09-10", "date_to": "2026-09-30"}).context[
        "page"
    ]
    assert [v.dealer.code for v in by_dates] == ["SH002"]


@pytest.mark.django_db
def test_the_visit_list_offers_a_page_jump_keeping_the_filters(client, office, business_manager):
    dealer = DealerFactory(office=office)
    VisitFactory.create_batch(101, dealer=dealer, visitor=business_manager, date=datetime.date(2026, 9, 1))
    client.force_login(business_manager)
    html = client.get("/network/visits/", {"date_from": "2026-07-01"}).content.decode()
    assert 'data-testid="page-jump"' in html
    assert '<input type="hidden" name="date_from" value="2026-07-01">' in html


@pytest.mark.django_db
@time_machine.travel(datetime.datetime(2026, 11, 20, 9, tzinfo=datetime.UTC))
def test_the_attainment_page_opens_on_the_last_complete_month(client, office_manager):
    client.force_login(office_manager)
    assert client.get("/targets/attainment/").context["month_label"] == "2026-10"
