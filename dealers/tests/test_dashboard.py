import datetime

import pytest
import time_machine
from django.urls import reverse

from dealers.models import Dealer, DealerKind, DealerStatus
from dealers.tests.factories import DealerFactory, SalesFactory


@pytest.fixture
def dealers(office, other_office):
    DealerFactory(office=office, kind=DealerKind.EXCLUSIVE)
    DealerFactory(office=office, kind=DealerKind.EXCLUSIVE, status=DealerStatus.SUSPENDED)
    DealerFactory(office=office, kind=DealerKind.LOGISTICS)
    DealerFactory(
        office=office, kind=DealerKind.LOGISTICS, status=DealerStatus.CHURNED, churned_on="2026-01-31"
    )
    DealerFactory.create_batch(5, office=other_office, kind=DealerKind.LOGISTICS)


def counts_panel(response):
    return next(p for p in response.context["panels"] if p["template"] == "dealers/panels/dealer_counts.html")


@pytest.mark.django_db
@pytest.mark.parametrize("role_fixture", ["office_manager", "business_manager", "statistician"])
def test_office_staff_see_their_offices_dealers_by_kind_and_status(client, dealers, role_fixture, request):
    # given
    client.force_login(request.getfixturevalue(role_fixture))
    # when
    panel = counts_panel(client.get("/"))
    # then
    assert panel["totals"] == {
        "total": 4,
        "exclusive": 2,
        "logistics": 2,
        "active": 2,
        "suspended": 1,
        "churned": 1,
    }
    assert [(row["kind"], row["statuses"]) for row in panel["by_kind"]] == [
        ("exclusive", [1, 1, 0]),
        ("logistics", [1, 0, 1]),
    ]
    assert panel["offices"] == []


@pytest.mark.django_db
@pytest.mark.parametrize("role_fixture", ["planner", "vp"])
def test_sales_planning_and_the_vp_see_every_office(client, dealers, role_fixture, request):
    # given
    client.force_login(request.getfixturevalue(role_fixture))
    # when
    response = client.get("/")
    # then
    panel = counts_panel(response)
    assert panel["totals"]["total"] == 9
    assert [(o["code"], o["total"], o["logistics"]) for o in panel["offices"]] == [("BJ", 5, 5), ("SH", 4, 2)]
    assert 'data-testid="office-counts"' in response.text
    assert "vendor/chart.js/chart.umd.js" in response.text


@pytest.mark.django_db
def test_the_dashboard_says_who_is_logged_in_and_for_which_office(client, office, office_manager):
    client.force_login(office_manager)
    whoami = client.get("/").text.split('data-testid="whoami">')[1].split("</div>")[0]
    assert "办事处经理" in whoami
    assert "上海办事处" in whoami


@pytest.mark.django_db
def test_the_dashboard_queries_do_not_grow_with_dealers(client, office, planner, count_queries):
    client.force_login(planner)
    DealerFactory.create_batch(3, office=office)
    client.get("/")
    queries_few, _ = count_queries(lambda: client.get("/"))
    DealerFactory.create_batch(60)
    # the first view after the change counts the dealers again (cached under their version)
    queries_changed, _ = count_queries(lambda: client.get("/"))
    queries_many, _ = count_queries(lambda: client.get("/"))
    assert queries_many == queries_few
    assert queries_changed <= queries_few + 1


@pytest.mark.django_db
def test_the_statistician_sees_how_many_of_his_offices_dealers_lack_last_months_sales(
    client, office, other_office, statistician, business_manager
):
    # given three dealers of his office in the network, one with August's sales, and one elsewhere
    with_sales, *_ = DealerFactory.create_batch(3, office=office)
    SalesFactory(dealer=with_sales, month=datetime.date(2026, 8, 1))
    DealerFactory(office=other_office)
    client.force_login(statistician)

    # when he opens the dashboard in September
    with time_machine.travel("2026-09-10 10:00 +0800", tick=False):
        panels = client.get("/").context["panels"]

    # then the sales panel counts the two dealers without August's figure and links the import
    panel = next(p for p in panels if p["template"] == "dealers/panels/sales.html")
    assert (panel["month_label"], panel["missing"]) == ("2026-08", 2)
    assert panel["import_url"] == reverse("targets:sales_import")
    # and a business manager is not shown the panel
    client.force_login(business_manager)
    with time_machine.travel("2026-09-10 10:00 +0800", tick=False):
        templates = [p["template"] for p in client.get("/").context["panels"]]
    assert "dealers/panels/sales.html" not in templates


@pytest.mark.django_db
def test_the_counts_follow_every_change_of_the_dealers_at_once(
    client, dealers, office, planner, office_manager
):
    # the counts are cached under the dealers' version: a bulk update or a delete is seen too
    client.force_login(planner)
    assert counts_panel(client.get("/"))["totals"]["suspended"] == 1
    Dealer.objects.filter(office=office, status=DealerStatus.ACTIVE).update(status=DealerStatus.SUSPENDED)
    response = client.get("/")
    assert counts_panel(response)["totals"]["suspended"] == 3
    # the panel is rendered once per content (evalsys.fragments): the page shows the new count
    suspended = response.text.split('data-testid="count-suspended"')[1].split('stat-value">')[1]
    assert suspended.startswith("3<")
    client.force_login(office_manager)  # another scope, counted apart
    assert counts_panel(client.get("/"))["totals"]["total"] == 4
    Dealer.objects.filter(office=office, status=DealerStatus.CHURNED).delete()
    assert counts_panel(client.get("/"))["totals"]["total"] == 3
