import datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from dealers.models import Dealer, DealerStatus
from dealers.roles import Role
from dealers.tests.factories import DealerFactory, SalesFactory
from evalsys.periods import Quarter
from networks import services
from networks.models import ChurnReport, NetworkSummary, OfficeAudit, SummaryStatus, Verification, Visit
from networks.tests.factories import ChurnReportFactory, VisitFactory

D = datetime.date
TODAY = "2026-09-15 10:00 +0800"
Q3 = Quarter(2026, 3)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(TODAY, tick=False):
        yield


def populate(office, n, visitor):
    """n dealers with sales, visits and churn of every kind."""
    for _ in range(n):
        dealer = DealerFactory(office=office, business_manager=visitor)
        SalesFactory(dealer=dealer, month=D(2026, 7, 1))
        SalesFactory(dealer=dealer, month=D(2026, 4, 1))
        VisitFactory(dealer=dealer, visitor=visitor, date=D(2026, 7, 20))
        ChurnReportFactory(dealer__office=office, dealer__business_manager=visitor, reported_by=visitor)
        DealerFactory(office=office, status=DealerStatus.CHURNED, churned_on=D(2026, 8, 1))
    services.record_audit(
        office=office,
        quarter=Q3,
        customer_growth_rating=Decimal(80),
        key_customer_growth_rating=Decimal(80),
        maintenance_rating=Decimal(80),
        findings="",
        by=visitor,
    )
    # the customer file's history section needs the user behind each change
    Dealer.history.filter(history_user__isnull=True).update(history_user=visitor)


@pytest.fixture
def bj_manager(make_staff, other_office):
    return make_staff("om_bj", Role.OFFICE_MANAGER, office=other_office)


# Every page answers within a fixed number of queries ------------------------------


def page_urls(office):
    audit = OfficeAudit.objects.filter(office=office).first()
    report = ChurnReport.objects.filter(dealer__office=office).first()
    dealer = Dealer.objects.filter(office=office, churned_on__isnull=True).first()
    return [
        reverse("dashboard"),
        reverse("networks:visits"),
        reverse("networks:visit_create"),
        reverse("networks:not_visited") + "?all=1",
        reverse("networks:churn_list"),
        reverse("networks:churn_report", args=[report.pk]),
        reverse("networks:churn_create", args=[dealer.code]),
        reverse("networks:office_metrics") + f"?office={office.code}&quarter=2026Q3",
        reverse("networks:company_metrics") + "?quarter=2026Q3",
        reverse("networks:audits") + "?quarter=2026Q3",
        reverse("networks:audit_create") + f"?office={office.code}&quarter=2026Q3",
        reverse("networks:audit", args=[audit.pk]),
        reverse("networks:summaries") + "?quarter=2026Q3",
        reverse("networks:summary", args=[office.code, "2026Q3"]),
        dealer.get_absolute_url(),
    ]


@pytest.mark.parametrize("page", range(15))
def test_query_count_does_not_grow_with_rows(
    client, make_staff, office, other_office, page, django_assert_max_num_queries
):
    # given: a user holding every role, so that every panel and page shows
    user = make_staff("all", *Role.values, office=office)
    client.force_login(user)
    populate(office, 2, user)
    populate(other_office, 2, user)
    small = page_urls(office)[page]
    client.get(small)  # drafts the summary on first sight
    with django_assert_max_num_queries(60) as small_queries:
        assert client.get(small).status_code == 200
    small_count = len(small_queries)
    # when
    populate(office, 12, user)
    populate(other_office, 5, user)
    url = page_urls(office)[page]
    client.get(url)  # refreshes the drafted summary
    # then
    with django_assert_max_num_queries(small_count):
        assert client.get(url).status_code == 200


# Scoping: another office's objects are 404 ------------------------------------------


def test_another_offices_objects_are_404(client, office, other_office, office_manager, business_manager):
    # given
    theirs = DealerFactory(office=other_office)
    report = ChurnReportFactory(dealer__office=other_office)
    audit = OfficeAudit.objects.create(
        office=other_office,
        quarter="2026Q3",
        metrics={},
        customer_growth_rating=1,
        key_customer_growth_rating=1,
        maintenance_rating=1,
        score=1,
        audited_at="2026-09-01T00:00:00+08:00",
    )
    client.force_login(office_manager)
    # then
    for url in [
        reverse("networks:churn_report", args=[report.pk]),
        reverse("networks:churn_create", args=[theirs.code]),
        reverse("networks:office_metrics") + "?office=BJ",
        reverse("networks:not_visited") + "?office=BJ",
        reverse("networks:audit", args=[audit.pk]),
        reverse("networks:summary", args=["BJ", "2026Q3"]),
        reverse("networks:company_metrics"),
        reverse("networks:audit_create") + "?office=SH",
    ]:
        assert client.get(url).status_code == 404, url
        assert client.post(url).status_code == 404, url
    assert not NetworkSummary.objects.filter(office=other_office).exists()


def test_lists_show_only_the_users_office(client, office, other_office, office_manager, business_manager):
    # given
    VisitFactory(dealer__office=office, dealer__name="我的客户", visitor=business_manager)
    VisitFactory(dealer__office=other_office, dealer__name="别人的客户")
    ChurnReportFactory(dealer__office=other_office, dealer__name="别人流失")
    DealerFactory(office=other_office, name="别人未报", status="churned", churned_on=D(2026, 8, 1))
    client.force_login(office_manager)
    # then
    for name in ["visits", "churn_list", "summaries", "audits", "not_visited"]:
        content = client.get(reverse(f"networks:{name}")).content.decode()
        assert "别人" not in content and "北京" not in content, name
    assert "我的客户" in client.get(reverse("networks:visits")).content.decode()


# Visits -----------------------------------------------------------------------------


def test_a_business_manager_logs_a_visit_to_his_dealer(client, office, business_manager):
    # given
    dealer = DealerFactory(office=office, business_manager=business_manager)
    client.force_login(business_manager)
    # when
    response = client.post(
        reverse("networks:visit_create"),
        {
            "dealer": dealer.pk,
            "date": "2026-09-15",
            "purpose": "例行巡访",
            "effect": "5",
            "findings": "库存偏高",
        },
    )
    # then
    assert response.status_code == 302
    visit = Visit.objects.get()
    assert (visit.dealer, visit.visitor, visit.effect, visit.findings) == (
        dealer,
        business_manager,
        5,
        "库存偏高",
    )


def test_the_visit_form_sent_twice_stores_one_visit(client, office, business_manager):
    # given the form as loaded, with its one-time token
    dealer = DealerFactory(office=office, business_manager=business_manager)
    client.force_login(business_manager)
    token = client.get(reverse("networks:visit_create")).context["form"]["token"].value()
    data = {"dealer": dealer.pk, "date": "2026-09-15", "purpose": "例行巡访", "effect": "4", "token": token}
    # when it is sent twice (a double tap, a resend after a slow network)
    first = client.post(reverse("networks:visit_create"), data)
    second = client.post(reverse("networks:visit_create"), data)
    # then one visit is stored and both answers say it is saved
    assert (first.status_code, second.status_code) == (302, 302)
    assert Visit.objects.count() == 1
    # and a fresh form has a new token
    assert client.get(reverse("networks:visit_create")).context["form"]["token"].value() != token


def test_a_business_manager_cannot_log_a_visit_to_a_colleagues_dealer(
    client, office, make_staff, business_manager
):
    colleague = make_staff("bm2", Role.BUSINESS_MANAGER, office=office)
    dealer = DealerFactory(office=office, business_manager=colleague)
    client.force_login(business_manager)
    response = client.post(
        reverse("networks:visit_create"),
        {"dealer": dealer.pk, "date": "2026-09-15", "purpose": "巡访", "effect": "3"},
    )
    assert response.status_code == 200
    assert "dealer" in response.context["form"].errors
    assert not Visit.objects.exists()


def test_a_visit_form_without_an_effect_keeps_what_was_typed(client, office, business_manager):
    dealer = DealerFactory(office=office, business_manager=business_manager)
    client.force_login(business_manager)
    response = client.post(
        reverse("networks:visit_create"),
        {"dealer": dealer.pk, "date": "2026-09-15", "purpose": "回款", "findings": "对方要求延期"},
    )
    assert response.status_code == 200
    assert "effect" in response.context["form"].errors
    assert "对方要求延期" in response.content.decode()


def test_the_not_visited_list_shows_dealers_without_a_visit_for_30_days(client, office, business_manager):
    # given
    recent = DealerFactory(office=office, business_manager=business_manager, name="最近拜访")
    VisitFactory(dealer=recent, visitor=business_manager, date=D(2026, 8, 20))
    old = DealerFactory(office=office, business_manager=business_manager, name="很久没去")
    VisitFactory(dealer=old, visitor=business_manager, date=D(2026, 8, 15))
    DealerFactory(office=office, business_manager=business_manager, name="从未拜访")
    DealerFactory(
        office=office,
        business_manager=business_manager,
        name="已流失",
        status="churned",
        churned_on=D(2026, 1, 1),
    )
    client.force_login(business_manager)
    # when
    content = client.get(reverse("networks:not_visited")).content.decode()
    # then
    assert "很久没去" in content and "从未拜访" in content
    assert "最近拜访" not in content and "已流失" not in content


# Churn ------------------------------------------------------------------------------


def test_marking_churned_without_a_reason_saves_nothing(client, office, office_manager):
    # given
    dealer = DealerFactory(office=office)
    client.force_login(office_manager)
    # when
    response = client.post(
        reverse("networks:churn_create", args=[dealer.code]),
        {"churned_on": "2026-09-01", "narrative": "转投竞品", "last_sales_month": "2026-08"},
    )
    # then
    assert response.status_code == 200
    assert "reason" in response.context["form"].errors
    dealer.refresh_from_db()
    assert dealer.status == DealerStatus.ACTIVE and not ChurnReport.objects.exists()


def test_marking_churned_with_a_complete_report_takes_the_dealer_out(client, office, office_manager, planner):
    # given
    dealer = DealerFactory(office=office)
    client.force_login(office_manager)
    # when
    response = client.post(
        reverse("networks:churn_create", args=[dealer.code]),
        {
            "churned_on": "2026-09-01",
            "reason": "competitor",
            "narrative": "转投竞品",
            "last_sales_month": "2026-08",
        },
    )
    # then
    report = ChurnReport.objects.get()
    assert response["Location"] == report.get_absolute_url()
    dealer.refresh_from_db()
    assert (dealer.status, dealer.churned_on) == (DealerStatus.CHURNED, D(2026, 9, 1))
    assert report.last_sales_month == D(2026, 8, 1)
    client.force_login(planner)
    assert dealer.code in client.get(reverse("dashboard")).content.decode()


def test_sales_planning_verifies_and_the_report_leaves_the_dashboards(
    client, office, office_manager, planner
):
    # given
    report = ChurnReportFactory(dealer__office=office, dealer__code="LOST9", reported_by=office_manager)
    client.force_login(planner)
    assert "LOST9" in client.get(reverse("dashboard")).content.decode()
    # when
    response = client.post(
        report.get_absolute_url(),
        {"verification": "confirmed", "comment": "属实", "countermeasures": "开发替代客户"},
    )
    # then
    assert response.status_code == 302
    report.refresh_from_db()
    assert (report.verification, report.countermeasures) == (Verification.CONFIRMED, "开发替代客户")
    assert "LOST9" not in client.get(reverse("dashboard")).content.decode()
    client.force_login(office_manager)
    assert "LOST9" not in client.get(reverse("dashboard")).content.decode()


def test_only_sales_planning_may_verify(client, office, office_manager):
    report = ChurnReportFactory(dealer__office=office)
    client.force_login(office_manager)
    assert client.get(report.get_absolute_url()).status_code == 200
    assert client.post(report.get_absolute_url(), {"verification": "confirmed"}).status_code == 404
    report.refresh_from_db()
    assert report.verification == Verification.PENDING


def test_a_churned_dealer_without_report_stays_on_the_office_dashboard_until_reported(
    client, office, office_manager
):
    # given
    dealer = DealerFactory(office=office, code="GONE1", status="churned", churned_on=D(2026, 8, 1))
    client.force_login(office_manager)
    assert "GONE1" in client.get(reverse("dashboard")).content.decode()
    # when
    client.post(
        reverse("networks:churn_create", args=[dealer.code]),
        {"reason": "closed", "narrative": "歇业", "last_sales_month": "2026-07"},
    )
    # then: it moves to the reports awaiting verification
    assert ChurnReport.objects.get().dealer == dealer
    panel = client.get(reverse("dashboard")).context["panels"]
    worklist = next(p for p in panel if p["template"].endswith("churn_worklist.html"))
    assert worklist["without_report_count"] == 0 and worklist["pending_count"] == 1


# Metrics, audits, summaries ---------------------------------------------------------


def test_the_office_metrics_page_shows_the_quarters_figures(client, office, office_manager):
    DealerFactory(office=office, joined=D(2026, 8, 1))
    DealerFactory(office=office, joined=D(2020, 1, 1))
    client.force_login(office_manager)
    response = client.get(reverse("networks:office_metrics") + "?quarter=2026Q3")
    assert response.context["metrics"].active_end == 2
    assert response.context["metrics"].growth_qoq == Decimal("100.00")
    assert 'src="/static/vendor/chart.js/chart.umd.js"' in response.content.decode()


def test_the_vp_records_an_audit_and_offices_are_ranked_by_score(client, office, other_office, vp):
    client.force_login(vp)
    for code, rating in [("SH", "70"), ("BJ", "90")]:
        response = client.post(
            reverse("networks:audit_create") + f"?office={code}&quarter=2026Q3",
            {
                "customer_growth_rating": rating,
                "key_customer_growth_rating": rating,
                "maintenance_rating": rating,
                "findings": "",
            },
        )
        assert response.status_code == 302
    audits = client.get(reverse("networks:audits") + "?quarter=2026Q3").context["audits"]
    assert [a.office.code for a in audits] == ["BJ", "SH"]


def test_an_audit_with_a_rating_over_100_is_refused(client, office, vp):
    client.force_login(vp)
    response = client.post(
        reverse("networks:audit_create") + "?office=SH&quarter=2026Q3",
        {"customer_growth_rating": "120", "key_customer_growth_rating": "80", "maintenance_rating": "80"},
    )
    assert response.status_code == 200 and not OfficeAudit.objects.exists()


def test_the_office_manager_submits_and_sales_planning_comments(client, office, office_manager, planner):
    # given
    url = reverse("networks:summary", args=["SH", "2026Q3"])
    client.force_login(office_manager)
    # when: submitting without every text keeps the draft and the text
    response = client.post(url, {"analysis": "网络稳定", "problems": "", "next_steps": "", "submit": ""})
    assert response.status_code == 200 and "网络稳定" in response.content.decode()
    response = client.post(
        url, {"analysis": "网络稳定", "problems": "覆盖不足", "next_steps": "加强巡访", "submit": ""}
    )
    # then
    assert response.status_code == 302
    summary = NetworkSummary.objects.get()
    assert summary.status == SummaryStatus.SUBMITTED
    assert client.post(url, {"analysis": "改"}).status_code == 404
    client.force_login(planner)
    client.post(url, {"comment": "分析到位"})
    summary.refresh_from_db()
    assert summary.planning_comment == "分析到位"


def test_reading_a_summary_shows_todays_figures_and_saves_nothing(client, office, office_manager):
    # given a dealer in the network and no summary drafted yet
    DealerFactory(office=office, joined=datetime.date(2020, 1, 1))
    url = reverse("networks:summary", args=["SH", "2026Q3"])
    client.force_login(office_manager)
    # when the office manager reads it, twice
    first, second = client.get(url), client.get(url)
    # then it shows the draft with the current figures, and nothing is stored
    assert first.status_code == second.status_code == 200
    assert first.context["summary"].metrics["active_end"] == 1
    assert not NetworkSummary.objects.exists() and not NetworkSummary.history.exists()
    # and an existing draft is shown with fresh figures but not rewritten
    (draft,) = services.draft_summaries(quarter=Q3, office_ids=[office.pk])
    DealerFactory(office=office, joined=datetime.date(2020, 1, 1))
    assert client.get(url).context["summary"].metrics["active_end"] == 2
    assert NetworkSummary.objects.get().metrics["active_end"] == 1
    assert NetworkSummary.history.count() == 1
    # saving the draft stores it, with the figures of the moment
    client.post(url, {"analysis": "稳定", "problems": "", "next_steps": ""})
    saved = NetworkSummary.objects.get()
    assert (saved.analysis, saved.metrics["active_end"], saved.status) == ("稳定", 2, SummaryStatus.DRAFT)


def test_a_future_quarters_summary_does_not_exist(client, office, office_manager):
    client.force_login(office_manager)
    assert client.get(reverse("networks:summary", args=["SH", "2027Q1"])).status_code == 404
    assert client.get(reverse("networks:summary", args=["SH", "nonsense"])).status_code == 404


def test_the_customer_file_shows_the_dealers_visits_and_churn(
    client, office, office_manager, business_manager
):
    # given
    dealer = DealerFactory(office=office, business_manager=business_manager)
    VisitFactory(dealer=dealer, visitor=business_manager, purpose="催收货款", findings="回款承诺月底")
    Dealer.history.update(history_user=office_manager)
    client.force_login(office_manager)
    # when
    content = client.get(dealer.get_absolute_url()).content.decode()
    # then
    assert "催收货款" in content and "回款承诺月底" in content
    assert reverse("networks:churn_create", args=[dealer.code]) in content


def test_visits_are_imported_in_the_browser_only_for_the_users_office(
    client, office, other_office, office_manager, business_manager
):
    # given
    DealerFactory(code="SH001", office=office)
    DealerFactory(code="BJ001", office=other_office)
    client.force_login(office_manager)
    content = "dealer,date,visitor,purpose,effect\nSH001,2026-09-01,bm,巡访,4\nBJ001,2026-09-01,bm,巡访,4\n"
    upload = SimpleUploadedFile("v.csv", content.encode("utf-8"), content_type="text/csv")
    # when
    response = client.post(reverse("networks:visit_import"), {"file": upload})
    # then
    assert response.status_code == 200
    assert [line for line, _message in response.context["result"].errors] == [3]
    assert not Visit.objects.exists()


def test_the_metrics_export_holds_only_the_offices_the_user_sees(
    client, office, other_office, office_manager
):
    client.force_login(office_manager)
    response = client.get(reverse("networks:metrics_export") + "?quarter=2026Q3")
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("quarter,office,active_end,active_prev")
    assert [line.split(",")[1] for line in lines[1:]] == ["SH"]


def test_the_admin_lists_network_records(admin_client, office, business_manager):
    # given a visit, a churn report, an audit and a summary
    visit = VisitFactory(dealer__office=office, dealer__code="SH-V1", visitor=business_manager)
    report = ChurnReportFactory(dealer__office=office, dealer__code="SH-C1")
    (summary,) = services.draft_summaries(quarter=Q3, office_ids=[office.pk])
    audit = services.record_audit(
        office=office,
        quarter=Q3,
        customer_growth_rating=Decimal(80),
        key_customer_growth_rating=Decimal(70),
        maintenance_rating=Decimal(90),
        findings="",
        by=business_manager,
    )
    # when / then each changelist lists its record
    for model, obj in [
        ("visit", visit),
        ("churnreport", report),
        ("officeaudit", audit),
        ("networksummary", summary),
    ]:
        response = admin_client.get(f"/admin/networks/{model}/")
        assert response.status_code == 200, model
        assert list(response.context["cl"].result_list) == [obj], model
    # and the visits export holds the visit
    fields = {"visitresource_dealer": "on", "visitresource_purpose": "on"}
    export = admin_client.post("/admin/networks/visit/export/", {"format": "0", "resource": "0", **fields})
    assert export.status_code == 200
    assert export.content.decode("utf-8-sig").splitlines() == ["dealer,purpose", f"SH-V1,{visit.purpose}"]


def test_a_business_manager_cannot_report_churn_of_a_colleagues_dealer(
    client, office, make_staff, business_manager
):
    colleague = make_staff("bm2", Role.BUSINESS_MANAGER, office=office)
    dealer = DealerFactory(office=office, business_manager=colleague)
    client.force_login(business_manager)
    url = reverse("networks:churn_create", args=[dealer.code])
    assert client.get(url).status_code == 404
    response = client.post(
        url,
        {"churned_on": "2026-09-01", "reason": "closed", "narrative": "歇业", "last_sales_month": "2026-08"},
    )
    assert response.status_code == 404
    dealer.refresh_from_db()
    assert dealer.status == DealerStatus.ACTIVE


def test_the_visit_list_offers_the_dealer_import_only_to_those_who_may_import_dealers(
    client, office, office_manager
):
    # given an office manager, who may import visits but not dealers
    client.force_login(office_manager)

    # when he opens the visit list
    html = client.get(reverse("networks:visits")).content.decode()

    # then it offers the visit import and the navigation does not offer the dealer import
    assert reverse("networks:visit_import") in html
    assert reverse("dealers:import") not in html


def test_the_vps_dashboard_lists_the_offices_not_yet_audited_last_quarter(client, office, other_office, vp):
    # given the VP has audited Shanghai's network for 2026Q3 (today is in 2026Q3, so last quarter is Q2)
    client.force_login(vp)
    ratings = {"customer_growth_rating": "80", "key_customer_growth_rating": "80", "maintenance_rating": "80"}
    client.post(reverse("networks:audit_create") + "?office=SH&quarter=2026Q2", {**ratings, "findings": ""})

    # when he opens the dashboard
    panels = client.get(reverse("dashboard")).context["panels"]

    # then only Beijing awaits its audit of 2026Q2
    panel = next(p for p in panels if p["template"] == "networks/panels/audit_status.html")
    assert (str(panel["quarter"]), [o.code for o in panel["unaudited"]]) == ("2026Q2", ["BJ"])


@pytest.mark.django_db
def test_the_office_comparison_renders_each_change_of_its_rows(client, office, planner):
    # the table is rendered once per content (evalsys.fragments): any change shows at once
    DealerFactory(office=office, joined=datetime.date(2020, 1, 1))
    client.force_login(planner)
    url = reverse("networks:company_metrics") + "?quarter=2026Q3"
    assert "上海办事处" in client.get(url).text
    office.name = "浦东办事处"
    office.save()
    assert "浦东办事处" in client.get(url).text
    NetworkSummary.objects.create(office=office, quarter="2026Q3", drafted_at=timezone.now())
    assert "草稿" in client.get(url).text.split('data-testid="offices"')[1]
    OfficeAudit.objects.create(
        office=office,
        quarter="2026Q3",
        metrics={},
        customer_growth_rating=80,
        key_customer_growth_rating=80,
        maintenance_rating=80,
        score=Decimal("87.65"),
        audited_at=timezone.now(),
    )
    assert "87.65" in client.get(url).text
