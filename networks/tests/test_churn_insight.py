"""Churn caught early: sales planning told of each report, days to report, suspected churn (DESIGN.md §5)."""

import datetime
import smtplib
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from dealers.models import Notification
from dealers.tests.factories import DealerFactory, SalesFactory
from evalsys.periods import Quarter
from networks import rules, selectors, services
from networks.models import ChurnReason, ChurnReport
from networks.tests.factories import ChurnReportFactory

D = datetime.date
Q3 = Quarter(2026, 3)


SEPT_1 = D(2026, 9, 1)
LONG_AGO = D(2025, 1, 1)


def _report(dealer, by, churned_on=SEPT_1):
    return services.report_churn(
        dealer=dealer,
        reason=ChurnReason.COMPETITOR,
        narrative="转投竞争对手",
        last_sales_month=D(2026, 8, 1),
        churned_on=churned_on,
        by=by,
    )


@pytest.mark.django_db
@time_machine.travel("2026-09-15 10:00 +0800", tick=False)
def test_filing_a_churn_report_tells_sales_planning_by_mail_and_in_app_once(
    office, office_manager, planner, make_staff, django_capture_on_commit_callbacks
):
    # given a second planner and the dealer lost on 1 September
    other = make_staff("planner2", "sales_planning")
    dealer = DealerFactory(office=office, code="SH009")
    # when the office manager files the report, then corrects it
    with django_capture_on_commit_callbacks(execute=True):
        report = _report(dealer, office_manager)
    filed_at = report.reported_at
    with (
        time_machine.travel("2026-09-16 10:00 +0800", tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        report = _report(dealer, office_manager)
    # then each planner got one notification and one e-mail naming the dealer and the 14 days
    for user in (planner, other):
        notes = Notification.objects.filter(user=user)
        assert notes.count() == 1 and "SH009" in notes.get().title
        assert notes.get().url == report.get_absolute_url()
    assert sorted(m.to[0] for m in mail.outbox) == ["planner2@example.com", "planner@example.com"]
    assert "SH009" in mail.outbox[0].subject and "14" in mail.outbox[0].body
    # and the correction keeps the day the report was filed
    assert report.reported_at == filed_at and report.days_to_report == 14


@pytest.mark.django_db
@time_machine.travel("2026-09-15 10:00 +0800", tick=False)
def test_a_mail_server_that_is_down_loses_neither_the_report_nor_the_notification(
    office, office_manager, planner, monkeypatch, django_capture_on_commit_callbacks
):
    def refuse(*args, **kwargs):
        raise smtplib.SMTPServerDisconnected("down")

    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", refuse)
    dealer = DealerFactory(office=office)
    with django_capture_on_commit_callbacks(execute=True):
        _report(dealer, office_manager)
    assert ChurnReport.objects.filter(dealer=dealer).exists()
    assert Notification.objects.filter(user=planner).count() == 1


@pytest.mark.django_db
def test_the_office_median_days_to_report_is_a_network_metric(office, other_office):
    # given SH's dealers churned in Q3 reported after 2, 10 and 5 days (one at 23:30 local time, still
    # that day), one churned in Q3 without a report, one churned in Q2 reported after 90 days
    tz = timezone.get_current_timezone()

    def churned(code, on, reported=None):
        dealer = DealerFactory(office=office, code=code, status="churned", churned_on=on)
        if reported:
            ChurnReportFactory(dealer=dealer, reported_at=reported)

    churned("A", D(2026, 7, 10), datetime.datetime(2026, 7, 12, 9, 0, tzinfo=tz))
    churned("B", D(2026, 8, 1), datetime.datetime(2026, 8, 11, 23, 30, tzinfo=tz))
    churned("C", D(2026, 9, 28), datetime.datetime(2026, 10, 3, 8, 0, tzinfo=tz))
    churned("D", D(2026, 9, 1))
    churned("E", D(2026, 6, 1), datetime.datetime(2026, 8, 30, 8, 0, tzinfo=tz))
    # when
    metrics = services.compute_metrics(quarter=Q3)
    # then the median of 2, 5 and 10 is 5; BJ has no reports
    assert metrics[office.pk].churn_report_days == Decimal("5.00")
    assert metrics[other_office.pk].churn_report_days is None
    assert rules.office_metrics(
        Q3,
        [
            rules.DealerFacts("A", D(2020, 1, 1), D(2026, 7, 10), reported_on=D(2026, 7, 12)),
            rules.DealerFacts("B", D(2020, 1, 1), D(2026, 8, 1), reported_on=D(2026, 8, 11)),
        ],
    ).churn_report_days == Decimal("6.00")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("today", "expected"),
    [
        # on 30 June the last two complete months are April and May
        ("2026-06-30 23:00 +0800", {"NONE", "JUNE"}),
        # on 1 July they are May and June
        ("2026-07-01 00:30 +0800", {"NONE", "APRIL"}),
    ],
)
def test_suspected_churn_at_a_month_boundary(office, today, expected):
    # given dealers with sales rows only in April, only in June, in none (and a zero row in May), and a new one
    def dealer(code, months, joined=LONG_AGO):
        d = DealerFactory(office=office, code=code, joined=joined)
        for month, amount in months:
            SalesFactory(dealer=d, month=month, amount=Decimal(amount))

    dealer("APRIL", [(D(2026, 4, 1), "10")])
    dealer("JUNE", [(D(2026, 6, 1), "10")])
    dealer("ZERO", [(D(2026, 5, 1), "0")])
    dealer("NONE", [])
    dealer("NEW", [], joined=D(2026, 5, 20))
    DealerFactory(office=office, code="GONE", status="churned", churned_on=D(2026, 6, 1))
    # when
    with time_machine.travel(today, tick=False):
        found = selectors.suspected_churn(office.dealers.all(), today=timezone.localdate())
        codes = set(found.values_list("code", flat=True))
    # then a zero row is data, and a dealer new within those months or churned is not suspected
    assert codes == expected


@pytest.mark.django_db
@time_machine.travel("2026-07-10 10:00 +0800", tick=False)
def test_the_suspected_churn_page_lists_only_visible_dealers_in_a_fixed_number_of_queries(
    client, office, other_office, office_manager, planner, django_assert_max_num_queries
):
    for n in range(3):
        DealerFactory(office=office, code=f"SH{n}", joined=D(2025, 1, 1))
    DealerFactory(office=other_office, code="BJ1", joined=D(2025, 1, 1))
    client.force_login(office_manager)
    with django_assert_max_num_queries(12):
        page = client.get(reverse("networks:suspected_churn")).content.decode()
    assert "SH0" in page and "SH2" in page and "BJ1" not in page
    assert client.get(reverse("networks:suspected_churn"), {"office": "BJ"}).status_code == 404
    for n in range(3, 30):
        DealerFactory(office=office, code=f"SH{n}", joined=D(2025, 1, 1))
    with django_assert_max_num_queries(12):
        client.get(reverse("networks:suspected_churn"))
    # sales planning sees every office, filtered to one by ?office=
    client.force_login(planner)
    page = client.get(reverse("networks:suspected_churn"), {"office": "BJ"}).content.decode()
    assert "BJ1" in page and "SH0" not in page


@pytest.mark.django_db
@time_machine.travel("2026-07-10 10:00 +0800", tick=False)
def test_the_office_dashboard_shows_suspected_churn(client, office, office_manager, business_manager):
    DealerFactory(office=office, code="SH7", joined=D(2025, 1, 1), business_manager=business_manager)
    DealerFactory(office=office, code="SH8", joined=D(2025, 1, 1))
    client.force_login(office_manager)
    page = client.get(reverse("dashboard")).content.decode()
    assert 'data-testid="suspected-churn"' in page and "SH7" in page and "SH8" in page
    # a business manager sees his own dealers
    client.force_login(business_manager)
    page = client.get(reverse("dashboard")).content.decode()
    assert "SH7" in page and "SH8" not in page
