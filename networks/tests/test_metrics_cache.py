"""The office metrics cached under the versions of what they read (dealers.versions):
every kind of change to those tables is seen at once, and nothing else recomputes them."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dealers.models import DealerMove
from dealers.tests.factories import DealerFactory, SalesFactory
from evalsys.periods import Quarter
from networks import services
from networks.models import ChurnReport, Visit
from networks.tests.factories import ChurnReportFactory, VisitFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgresql]

Q3 = Quarter(2026, 3)
D = datetime.date


def metrics(office):
    return services.compute_metrics(quarter=Q3, office_ids=[office.pk])[office.pk]


def queries_of(function):
    with CaptureQueriesContext(connection) as queries:
        result = function()
    return result, len(queries)


def test_unchanged_figures_come_from_the_cache_in_two_queries(office, business_manager):
    dealer = DealerFactory(office=office, joined=D(2020, 1, 1))
    VisitFactory(dealer=dealer, visitor=business_manager, date=D(2026, 8, 1), effect=4)
    first, computing = queries_of(lambda: metrics(office))
    again, cached = queries_of(lambda: metrics(office))
    assert again == first
    assert cached == 2 < computing


def test_a_visit_in_the_quarter_is_counted_at_once_one_in_another_quarter_keeps_the_cache(
    office, business_manager
):
    dealer = DealerFactory(office=office, joined=D(2020, 1, 1))
    assert metrics(office).visits == 0
    VisitFactory(dealer=dealer, visitor=business_manager, date=D(2026, 12, 1), effect=4)
    result, count = queries_of(lambda: metrics(office))
    assert (result.visits, count) == (0, 2)
    visit = VisitFactory(dealer=dealer, visitor=business_manager, date=D(2026, 8, 1), effect=4)
    assert metrics(office).visits == 1
    # moved out of the quarter by an update, then back by a bulk update, then deleted
    Visit.objects.filter(pk=visit.pk).update(date=D(2026, 10, 1))
    assert metrics(office).visits == 0
    Visit.objects.filter(pk=visit.pk).update(date=D(2026, 9, 30))
    assert metrics(office).visits == 1
    Visit.objects.filter(pk=visit.pk).delete()
    assert metrics(office).visits == 0


def test_dealers_sales_moves_and_churn_reports_are_seen_at_once(office, other_office, business_manager):
    dealer = DealerFactory(office=office, joined=D(2020, 1, 1))
    assert metrics(office).active_end == 1
    DealerFactory(office=office, joined=D(2026, 8, 1))
    assert (metrics(office).active_end, metrics(office).new) == (2, 1)
    SalesFactory(dealer=dealer, month=D(2026, 9, 1), amount=Decimal("700"))
    assert metrics(office).key_sales == Decimal("700.00")
    # moved to the other office after the quarter: still counted for `office` in Q3
    DealerMove.objects.create(
        dealer=dealer, moved_on=D(2026, 11, 1), from_office=office, to_office=other_office
    )
    type(dealer).objects.filter(pk=dealer.pk).update(office=other_office)
    assert metrics(office).active_end == 2
    # moved back into the quarter: now the other office's at the quarter's end
    DealerMove.objects.filter(dealer=dealer).update(moved_on=D(2026, 9, 1))
    assert metrics(office).active_end == 1
    churned = DealerFactory(office=office, joined=D(2020, 1, 1), status="churned", churned_on=D(2026, 8, 10))
    assert metrics(office).churn_report_days is None
    ChurnReportFactory(dealer=churned)
    assert metrics(office).churn_report_days is not None
    ChurnReport.objects.all().delete()
    assert metrics(office).churn_report_days is None
