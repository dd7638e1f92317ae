import pytest

from dealers.models import DealerKind, DealerStatus
from dealers.tests.factories import DealerFactory


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
    queries_many, _ = count_queries(lambda: client.get("/"))
    assert queries_many == queries_few
