"""A past quarter's network figures read each dealer in its office on the quarter's last day
(DESIGN.md §3.4, §5): a dealer moved later leaves them as they were."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from dealers.models import DealerMove
from dealers.tests.factories import DealerFactory, OfficeFactory, SalesFactory
from evalsys.periods import Quarter
from networks import selectors, services
from networks.tests.factories import ChurnReportFactory, VisitFactory

D = datetime.date
Q3, Q4 = Quarter(2026, 3), Quarter(2026, 4)


def move(dealer, to_office, on):
    """What import_dealers records: the move, and the dealer's office now."""
    DealerMove.objects.create(dealer=dealer, from_office=dealer.office, to_office=to_office, moved_on=on)
    dealer.office = to_office
    dealer.save()


@pytest.fixture
def shanghai_and_beijing(db, business_manager):
    sh, bj = OfficeFactory(code="SH"), OfficeFactory(code="BJ")
    # SH001 is in Shanghai through 2026Q3 and moves to Beijing on 10 October
    mover = DealerFactory(code="SH001", office=sh, joined=D(2020, 1, 1))
    SalesFactory(dealer=mover, month=D(2026, 8, 1), amount=Decimal("500000"))
    VisitFactory(dealer=mover, visitor=business_manager, date=D(2026, 9, 5), effect=5)
    VisitFactory(dealer=mover, visitor=business_manager, date=D(2026, 11, 5), effect=1)
    # BJ002 moved from Beijing to Shanghai on 1 August, and churned there on 15 September
    churned = DealerFactory(code="BJ002", office=bj, joined=D(2020, 1, 1))
    churned.status, churned.churned_on = "churned", D(2026, 9, 15)
    churned.save()
    ChurnReportFactory(dealer=churned)
    # a dealer that stays in Beijing
    DealerFactory(code="BJ003", office=bj, joined=D(2020, 1, 1))
    move(churned, sh, D(2026, 8, 1))
    move(mover, bj, D(2026, 10, 10))
    return sh, bj


@pytest.mark.django_db
@time_machine.travel("2026-11-20 10:00 +0800", tick=False)
def test_past_quarter_metrics_count_each_dealer_in_its_office_at_the_quarters_end(shanghai_and_beijing):
    sh, bj = shanghai_and_beijing
    # when
    q3 = services.compute_metrics(quarter=Q3)
    q4 = services.compute_metrics(quarter=Q4)
    # then in 2026Q3 SH001 is Shanghai's, with its visit and its sales; BJ002 churned as Shanghai's
    assert (q3[sh.pk].active_end, q3[bj.pk].active_end) == (1, 1)
    assert (q3[sh.pk].churned, q3[bj.pk].churned) == (1, 0)
    assert list(q3[sh.pk].key_customers) == ["SH001"] and q3[sh.pk].key_sales == Decimal("500000.00")
    assert q3[sh.pk].visit_coverage == Decimal("100.00") and q3[sh.pk].mean_effect == Decimal("5.00")
    assert q3[bj.pk].visit_coverage == Decimal("0.00")
    # at the end of 2026Q2 SH001 was Shanghai's and BJ002 Beijing's
    assert (q3[sh.pk].active_prev, q3[bj.pk].active_prev) == (1, 2)
    # in 2026Q4 SH001 is Beijing's, with the November visit
    assert (q4[sh.pk].active_end, q4[bj.pk].active_end) == (0, 2)
    assert q4[bj.pk].mean_effect == Decimal("1.00")
    # at the end of 2026Q3 SH001 was still Shanghai's, BJ002 had churned
    assert (q4[sh.pk].active_prev, q4[bj.pk].active_prev) == (1, 1)


@pytest.mark.django_db
@time_machine.travel("2026-11-20 10:00 +0800", tick=False)
def test_the_summary_and_the_company_page_of_a_past_quarter_follow_the_office_at_its_end(
    client, shanghai_and_beijing, planner
):
    sh, bj = shanghai_and_beijing
    # the summary's churn list
    assert [row["dealer"] for row in services.churn_lists(office_ids=[sh.pk, bj.pk], quarter=Q3)[sh.pk]] == [
        "BJ002"
    ]
    assert bj.pk not in services.churn_lists(office_ids=[sh.pk, bj.pk], quarter=Q3)
    assert set(selectors.churn_reasons_by_office(quarter=Q3, office_ids=[sh.pk, bj.pk])) == {sh.pk}
    # the office comparison
    client.force_login(planner)
    rows = {
        row["office"].code: row
        for row in client.get(reverse("networks:company_metrics"), {"quarter": "2026Q3"}).context["rows"]
    }
    assert rows["SH"]["metrics"].active_end == 1 and rows["SH"]["no_report"] == 0
    assert rows["BJ"]["metrics"].active_end == 1


@pytest.mark.django_db
@time_machine.travel("2026-11-20 10:00 +0800", tick=False)
def test_the_metrics_read_a_fixed_number_of_queries_whatever_the_moves(
    shanghai_and_beijing, django_assert_max_num_queries
):
    sh, bj = shanghai_and_beijing
    for n in range(5):
        dealer = DealerFactory(office=sh, joined=D(2020, 1, 1))
        move(dealer, bj, D(2026, 10, 1 + n))
    with django_assert_max_num_queries(6):  # five, and the data versions on PostgreSQL
        services.compute_metrics(quarter=Q3)
