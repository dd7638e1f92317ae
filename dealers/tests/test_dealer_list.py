import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dealers.models import DealerKind, DealerStatus
from dealers.tests.factories import DealerFactory, UserFactory


def codes_on(response):
    return [dealer.code for dealer in response.context["page"]]


def make_dealers(count, office):
    managers = UserFactory.create_batch(3)
    for n in range(count):
        DealerFactory(office=office, business_manager=managers[n % 3])


@pytest.mark.django_db
@pytest.mark.parametrize("role_fixture", ["office_manager", "planner"])
def test_the_dealer_list_issues_the_same_number_of_queries_for_10_and_200_dealers(
    client, office, role_fixture, request, django_assert_num_queries
):
    # given
    client.force_login(request.getfixturevalue(role_fixture))
    make_dealers(10, office)
    with CaptureQueriesContext(connection) as few:
        assert client.get("/dealers/", {"sort": "-name"}).status_code == 200
    # when
    make_dealers(190, office)
    # then
    with django_assert_num_queries(len(few)):
        response = client.get("/dealers/", {"sort": "-name"})
    assert len(response.context["page"]) == 50


@pytest.mark.django_db
def test_the_dealer_list_searches_code_and_name(client, office, office_manager):
    DealerFactory(code="SH001", name="上海恒达家电商行", office=office)
    DealerFactory(code="SH002", name="苏州宏远电器城", office=office)
    client.force_login(office_manager)
    assert codes_on(client.get("/dealers/", {"q": "恒达"})) == ["SH001"]
    assert codes_on(client.get("/dealers/", {"q": "sh002"})) == ["SH002"]


@pytest.mark.django_db
def test_the_dealer_list_filters_by_kind_status_and_tier(client, office, office_manager):
    DealerFactory(code="A", office=office, kind=DealerKind.LOGISTICS, tier="一级")
    DealerFactory(code="B", office=office, kind=DealerKind.EXCLUSIVE, tier="二级")
    DealerFactory(code="C", office=office, status=DealerStatus.SUSPENDED, tier="二级")
    client.force_login(office_manager)
    assert codes_on(client.get("/dealers/", {"kind": "logistics"})) == ["A"]
    assert codes_on(client.get("/dealers/", {"status": "suspended"})) == ["C"]
    assert codes_on(client.get("/dealers/", {"tier": "二级"})) == ["B", "C"]


@pytest.mark.django_db
def test_the_dealer_list_sorts_by_a_column_both_ways(client, office, office_manager):
    DealerFactory(code="A", name="乙", office=office)
    DealerFactory(code="B", name="甲", office=office)
    DealerFactory(code="C", name="丙", office=office)
    client.force_login(office_manager)
    assert codes_on(client.get("/dealers/", {"sort": "-code"})) == ["C", "B", "A"]
    assert codes_on(client.get("/dealers/", {"sort": "name"})) == sorted(
        ["A", "B", "C"], key={"A": "乙", "B": "甲", "C": "丙"}.get
    )


@pytest.mark.django_db
def test_sales_planning_filters_the_list_by_office(client, office, other_office, planner):
    # given
    DealerFactory(code="SH1", office=office)
    DealerFactory(code="BJ1", office=other_office)
    client.force_login(planner)
    # when
    everyone = client.get("/dealers/")
    beijing = client.get("/dealers/", {"office": other_office.pk})
    # then
    assert codes_on(everyone) == ["BJ1", "SH1"]
    assert codes_on(beijing) == ["BJ1"]
    assert 'name="office"' in everyone.text


@pytest.mark.django_db
def test_an_office_manager_has_no_office_filter_and_cannot_pick_another_office(
    client, office, other_office, office_manager
):
    DealerFactory(code="SH1", office=office)
    DealerFactory(code="BJ1", office=other_office)
    client.force_login(office_manager)
    response = client.get("/dealers/", {"office": other_office.pk})
    assert 'name="office"' not in response.text
    assert "BJ1" not in codes_on(response)


@pytest.mark.django_db
def test_the_list_is_paginated_by_50(client, office, office_manager):
    make_dealers(60, office)
    client.force_login(office_manager)
    second = client.get("/dealers/", {"page": 2})
    assert len(second.context["page"]) == 10


@pytest.mark.django_db
def test_the_tier_filter_offers_the_tiers_in_use_and_ignores_an_unknown_one(client, office, office_manager):
    # given
    DealerFactory(code="A", office=office, tier="一级")
    DealerFactory(code="B", office=office, tier="二级")
    client.force_login(office_manager)
    # when
    response = client.get("/dealers/", {"tier": "五级", "q": "B"})
    # then
    assert [value for value, _label in response.context["form"].fields["tier"].choices] == [
        "",
        "一级",
        "二级",
    ]
    assert codes_on(response) == ["B"]
