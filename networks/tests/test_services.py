import datetime
import random
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection

from dealers.models import DealerStatus, Notification
from dealers.tests.factories import DealerFactory, OfficeFactory, SalesFactory
from evalsys.periods import Quarter
from networks import rules, services
from networks.models import ChurnReason, NetworkSummary, SummaryStatus, Verification
from networks.tests.factories import ChurnReportFactory, VisitFactory

Q3 = Quarter(2026, 3)
D = datetime.date
M = Decimal


def make_typical_office(office, visitor):
    """The office of test_rules.typical_office, in the database."""
    a = DealerFactory(code="A", office=office, joined=D(2020, 1, 1))
    b = DealerFactory(code="B", office=office, joined=D(2026, 8, 15))
    c = DealerFactory(
        code="C", office=office, joined=D(2019, 5, 1), status="churned", churned_on=D(2026, 8, 1)
    )
    d = DealerFactory(code="D", office=office, joined=D(2025, 10, 1))
    DealerFactory(code="E", office=office, joined=D(2020, 1, 1), status="churned", churned_on=D(2025, 3, 1))
    for month, amount in [(D(2026, 7, 1), "100"), (D(2026, 9, 1), "200"), (D(2026, 4, 1), "200")]:
        SalesFactory(dealer=a, month=month, amount=M(amount))
    SalesFactory(dealer=a, month=D(2025, 8, 1), amount=M("100"))
    SalesFactory(dealer=a, month=D(2026, 10, 1), amount=M("5000"))  # next quarter: ignored
    SalesFactory(dealer=b, month=D(2026, 9, 1), amount=M("50"))
    SalesFactory(dealer=c, month=D(2026, 7, 1), amount=M("999"))
    SalesFactory(dealer=d, month=D(2026, 5, 1), amount=M("40"))
    VisitFactory(dealer=a, visitor=visitor, date=D(2026, 7, 1), effect=3)
    VisitFactory(dealer=a, visitor=visitor, date=D(2026, 9, 30), effect=5)
    VisitFactory(dealer=a, visitor=visitor, date=D(2026, 6, 30), effect=1)  # previous quarter
    VisitFactory(dealer=b, visitor=visitor, date=D(2026, 8, 20), effect=5)
    VisitFactory(dealer=c, visitor=visitor, date=D(2026, 7, 15), effect=2)


@pytest.mark.django_db
def test_metrics_from_the_database_match_the_hand_computed_example(office, other_office, business_manager):
    # given
    make_typical_office(office, business_manager)
    # when
    metrics = services.compute_metrics(quarter=Q3)
    # then
    mine = metrics[office.pk]
    assert mine.values() == [
        3,
        3,
        2,
        M("0.00"),
        M("50.00"),
        1,
        1,
        M("350.00"),
        M("240.00"),
        M("100.00"),
        M("45.83"),
        M("250.00"),
        M("0.44"),
        M("66.67"),
        M("3.75"),
        None,  # churn_report_days: C churned within the quarter without a report
    ]
    assert metrics[other_office.pk].active_end == 0  # an office without dealers is listed too


@pytest.mark.django_db
def test_metrics_take_the_same_number_of_queries_for_many_offices_and_dealers(
    django_assert_num_queries, business_manager
):
    def populate(n):
        for _office in range(n):
            office = OfficeFactory()
            for _ in range(n):
                dealer = DealerFactory(office=office)
                SalesFactory(dealer=dealer, month=D(2026, 8, 1))
                VisitFactory(dealer=dealer, visitor=business_manager)

    # the five of the docstring, and the data versions on PostgreSQL
    computing = 6 if connection.vendor == "postgresql" else 5
    populate(2)
    with django_assert_num_queries(computing):
        services.compute_metrics(quarter=Q3)
    populate(5)
    with django_assert_num_queries(computing):
        assert len(services.compute_metrics(quarter=Q3)) == 8  # with the business manager's office


@pytest.mark.django_db
@time_machine.travel("2026-09-15 10:00 +0800", tick=False)
def test_marking_a_dealer_churned_requires_a_reason(office, office_manager):
    # given
    dealer = DealerFactory(office=office)
    # when
    with pytest.raises(ValidationError) as error:
        services.report_churn(
            dealer=dealer,
            reason="",
            narrative="转投竞争对手",
            last_sales_month=D(2026, 8, 1),
            churned_on=D(2026, 9, 1),
            by=office_manager,
        )
    # then
    assert "reason" in error.value.message_dict
    dealer.refresh_from_db()
    assert dealer.status == DealerStatus.ACTIVE and dealer.churned_on is None


@pytest.mark.django_db
@time_machine.travel("2026-09-15 10:00 +0800", tick=False)
def test_a_churn_report_needs_a_narrative_a_last_sales_month_and_a_churn_date(office, office_manager):
    dealer = DealerFactory(office=office)
    with pytest.raises(ValidationError) as error:
        services.report_churn(
            dealer=dealer, reason=ChurnReason.CREDIT, narrative=" ", last_sales_month=None, by=office_manager
        )
    assert set(error.value.message_dict) == {"narrative", "last_sales_month", "churned_on"}


@pytest.mark.django_db
@time_machine.travel("2026-09-15 10:00 +0800", tick=False)
def test_a_complete_churn_report_marks_the_dealer_churned(office, office_manager):
    # given
    dealer = DealerFactory(office=office)
    # when
    report = services.report_churn(
        dealer=dealer,
        reason=ChurnReason.PRICE_DISPUTE,
        narrative="价格争议，停止进货",
        last_sales_month=D(2026, 8, 1),
        churned_on=D(2026, 9, 1),
        by=office_manager,
    )
    # then
    dealer.refresh_from_db()
    assert (dealer.status, dealer.churned_on) == (DealerStatus.CHURNED, D(2026, 9, 1))
    assert report.verification == Verification.PENDING
    assert report.history.count() == 1
    assert services.compute_metrics(quarter=Q3)[office.pk].churned == 1


@pytest.mark.django_db
def test_a_verified_churn_report_cannot_be_changed(office, office_manager, planner):
    report = ChurnReportFactory(dealer__office=office, reported_by=office_manager)
    services.verify_churn_report(
        report=report, verification=Verification.CONFIRMED, comment="", countermeasures="", by=planner
    )
    with pytest.raises(ValidationError):
        services.report_churn(
            dealer=report.dealer,
            reason=ChurnReason.OTHER,
            narrative="x",
            last_sales_month=D(2026, 7, 1),
            by=office_manager,
        )


@pytest.mark.django_db
def test_disputing_a_report_needs_a_comment_and_tells_the_reporter(
    office, office_manager, planner, django_capture_on_commit_callbacks
):
    # given
    report = ChurnReportFactory(dealer__office=office, reported_by=office_manager)
    # when / then
    with pytest.raises(ValidationError):
        services.verify_churn_report(
            report=report, verification=Verification.DISPUTED, comment=" ", countermeasures="", by=planner
        )
    with django_capture_on_commit_callbacks(execute=True):
        services.verify_churn_report(
            report=report,
            verification=Verification.DISPUTED,
            comment="该客户仍在进货",
            countermeasures="走访确认",
            by=planner,
        )
    report.refresh_from_db()
    assert (report.verification, report.verified_by) == (Verification.DISPUTED, planner)
    assert Notification.objects.filter(user=office_manager).count() == 1


@pytest.mark.django_db
def test_an_audit_freezes_the_metrics_of_the_moment(office, vp, business_manager):
    # given
    dealer = DealerFactory(office=office, joined=D(2020, 1, 1))
    VisitFactory(dealer=dealer, visitor=business_manager)
    # when
    audit = services.record_audit(
        office=office,
        quarter=Q3,
        customer_growth_rating=M("80"),
        key_customer_growth_rating=M("70"),
        maintenance_rating=M("91"),
        findings="覆盖率良好",
        by=vp,
    )
    VisitFactory(dealer=dealer, visitor=business_manager)
    # then
    audit.refresh_from_db()
    assert audit.score == M("80.33")
    assert audit.metrics["visits"] == 1
    assert audit.metrics["visit_coverage"] == "100.00"


@pytest.mark.django_db
def test_ratings_outside_0_to_100_are_refused(office, vp):
    with pytest.raises(ValidationError):
        services.record_audit(
            office=office,
            quarter=Q3,
            customer_growth_rating=M("101"),
            key_customer_growth_rating=M("70"),
            maintenance_rating=M("70"),
            findings="",
            by=vp,
        )


@pytest.mark.django_db
def test_summaries_are_drafted_for_every_office_with_metrics_and_churn_list(office, other_office):
    # given
    ChurnReportFactory(dealer__office=office, dealer__code="LOST1")
    # when
    summaries = services.draft_summaries(quarter=Q3)
    # then
    assert {s.office for s in summaries} == {office, other_office}
    mine = next(s for s in summaries if s.office == office)
    assert mine.metrics["churned"] == 1
    assert [(c["dealer"], c["reason"], c["verification"]) for c in mine.churn_list] == [
        ("LOST1", "competitor", "pending")
    ]
    assert mine.abc_movements == []


@pytest.mark.django_db
def test_submitting_needs_every_text_and_freezes_the_summary(
    office, office_manager, planner, django_capture_on_commit_callbacks
):
    # given
    summary = services.summary_for(office=office, quarter=Q3)
    # when / then
    with pytest.raises(ValidationError) as error:
        services.save_summary(
            summary=summary, analysis="网络稳定", problems="", next_steps="", submit=True, by=office_manager
        )
    assert set(error.value.message_dict) == {"problems", "next_steps"}
    with django_capture_on_commit_callbacks(execute=True):
        summary = services.save_summary(
            summary=summary,
            analysis="网络稳定",
            problems="覆盖不足",
            next_steps="加强巡访",
            submit=True,
            by=office_manager,
        )
    summary.refresh_from_db()
    assert summary.status == SummaryStatus.SUBMITTED and summary.submitted_by == office_manager
    assert Notification.objects.filter(user=planner).count() == 1
    DealerFactory(office=office, joined=D(2020, 1, 1))
    services.draft_summaries(quarter=Q3)
    assert NetworkSummary.objects.get(pk=summary.pk).metrics["active_end"] == 0
    with pytest.raises(ValidationError):
        services.save_summary(
            summary=summary, analysis="a", problems="b", next_steps="c", submit=False, by=office_manager
        )
    with django_capture_on_commit_callbacks(execute=True):
        services.comment_summary(summary=summary, comment="请落实", by=planner)
    assert Notification.objects.filter(user=office_manager, body="请落实").count() == 1


@pytest.mark.django_db
def test_only_a_submitted_summary_takes_a_planning_comment(office, planner):
    summary = services.summary_for(office=office, quarter=Q3)
    with pytest.raises(ValidationError):
        services.comment_summary(summary=summary, comment="好", by=planner)


@pytest.mark.django_db
@time_machine.travel("2026-09-15 10:00 +0800", tick=False)
def test_a_visit_in_the_future_or_with_an_effect_outside_1_to_5_is_refused(office, business_manager):
    dealer = DealerFactory(office=office)
    with pytest.raises(ValidationError) as error:
        services.log_visit(
            dealer=dealer, visitor=business_manager, date=D(2026, 9, 16), purpose="巡访", effect=6
        )
    assert set(error.value.message_dict) == {"date", "effect"}


@pytest.mark.django_db
def test_the_quarterly_task_drafts_last_quarters_summaries_and_tells_office_managers_once(
    office, other_office, office_manager
):
    from networks.tasks import draft_network_summaries_task

    # given
    with time_machine.travel("2026-10-01 06:00 +0800", tick=False):
        # when
        assert draft_network_summaries_task.delay().get() == 2
        draft_network_summaries_task.delay().get()
    # then
    assert set(NetworkSummary.objects.values_list("quarter", flat=True)) == {"2026Q3"}
    assert Notification.objects.filter(user=office_manager).count() == 1


def test_the_beat_schedule_drafts_summaries_on_the_first_day_of_each_quarter(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["draft-network-summaries"]
    assert entry["task"] == "networks.tasks.draft_network_summaries_task"
    assert entry["schedule"].month_of_year == {1, 4, 7, 10} and entry["schedule"].day_of_month == {1}


@pytest.mark.django_db
def test_sql_metrics_agree_with_the_dealer_by_dealer_definition_on_a_random_network(business_manager):
    # given: three offices of random dealers, sales and visits around 2026Q3
    rng = random.Random(7)
    days = [D(2024, 1, 1) + datetime.timedelta(days=n) for n in range(0, 1100, 9)]
    facts = {}
    for office in [OfficeFactory(code=c) for c in ("X1", "X2", "X3")]:
        facts[office.pk] = []
        for n in range(rng.randint(15, 30)):
            joined = rng.choice(days)
            churned_on = rng.choice([None, None, *[d for d in days if d > joined]])
            dealer = DealerFactory(
                office=office,
                code=f"{office.code}-{n:02d}",
                joined=joined,
                status="churned" if churned_on else "active",
                churned_on=churned_on,
            )
            sales = {}
            for quarter in (Q3, Q3.previous(), Q3.year_before()):
                for month in quarter.months:
                    if rng.random() < 0.6:
                        amount = M(rng.choice([0, 100, 250, 250, 999, 1000]))
                        SalesFactory(dealer=dealer, month=month, amount=amount)
                        sales[quarter] = sales.get(quarter, M(0)) + amount
            effects = [rng.randint(1, 5) for _ in range(rng.choice([0, 0, 1, 2]))]
            for effect in effects:
                VisitFactory(dealer=dealer, visitor=business_manager, effect=effect, date=D(2026, 8, 1))
            facts[office.pk].append(
                rules.DealerFacts(
                    dealer.code,
                    joined,
                    churned_on,
                    sales.get(Q3, M(0)),
                    sales.get(Q3.previous(), M(0)),
                    sales.get(Q3.year_before(), M(0)),
                    visits=len(effects),
                    effect_total=sum(effects),
                )
            )
    # when
    computed = services.compute_metrics(quarter=Q3, office_ids=list(facts))
    # then
    for office_id, dealers in facts.items():
        assert computed[office_id] == rules.office_metrics(Q3, dealers)


@pytest.mark.django_db
def test_sql_key_customers_break_ties_at_the_20th_place_by_code(office):
    # given: 19 clear leaders, three dealers tied for 20th place, one churned big seller
    for n in range(19):
        SalesFactory(
            dealer=DealerFactory(office=office, code=f"L{n:02d}"), month=D(2026, 8, 1), amount=M(1000 + n)
        )
    for code in ("T3", "T1", "T2"):
        SalesFactory(dealer=DealerFactory(office=office, code=code), month=D(2026, 8, 1), amount=M(100))
    gone = DealerFactory(office=office, code="A0", status="churned", churned_on=D(2026, 9, 1))
    SalesFactory(dealer=gone, month=D(2026, 8, 1), amount=M(99999))
    # when
    metrics = services.compute_metrics(quarter=Q3)[office.pk]
    # then
    assert len(metrics.key_customers) == 20
    assert metrics.key_customers[-1] == "T1" and "A0" not in metrics.key_customers
    assert metrics.key_sales == M(sum(1000 + n for n in range(19)) + 100)


@pytest.mark.django_db
def test_the_drafted_summary_lists_the_quarters_class_movements_but_not_unchanged_classes(office):
    # given three graded dealers: one moved up, one down, one stayed
    from scoring.models import Grade

    for code, previous, final, change in [
        ("UP1", "B", "A", "up"),
        ("DN1", "A", "C", "down"),
        ("EQ1", "B", "B", "same"),
    ]:
        dealer = DealerFactory(office=office, code=code)
        Grade.objects.create(
            quarter=str(Q3),
            dealer=dealer,
            office=office,
            kind=dealer.kind,
            evaluated=True,
            previous_class=previous,
            computed_class=final,
            final_class=final,
            change=change,
        )
    # when
    (summary,) = services.draft_summaries(quarter=Q3, office_ids=[office.id])
    # then
    assert [
        (m["dealer"], m["previous_class"], m["final_class"], m["change"]) for m in summary.abc_movements
    ] == [
        ("DN1", "A", "C", "down"),
        ("UP1", "B", "A", "up"),
    ]
