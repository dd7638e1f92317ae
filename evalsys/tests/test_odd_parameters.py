"""Odd parameters are a message or a 404, never a 500: every page of dealers, targets and
networks, with each odd value of the parameters they read (DESIGN.md §7)."""

import datetime

import pytest
import time_machine
from django.db import transaction
from django.utils import translation

from evalsys.periods import (
    PeriodOutOfRange,
    Quarter,
    parse_month,
    parse_month_input,
    parse_quarter_input,
    period_error,
)
from evalsys.tests.test_role_page_table import CASES, World, _make_staff

NAMESPACES = ("dealers", "targets", "networks")
ODD_QUERIES = [
    "quarter=9999Q4",
    "quarter=0001Q1",
    "quarter=2Q1",
    "quarter=2026Q9",
    "month=0001-01",
    "month=9999-12",
    "month=2026-13",
    "office=%00",
    "dealer=%00",
    "page=%00",
    "verification=%00",
    "sort=%00",
    "q=%00",
]
ODD_PATHS = [
    "/dealers/%00/",
    "/dealers/SH001%00/",
    "/network/summaries/SH/9999Q4/",
    "/network/summaries/SH/0001Q1/",
    "/network/summaries/SH/2Q1/",
    "/network/summaries/%00/2026Q1/",
    "/network/dealers/%00/churn/",
    "/network/churn/99999999999999999999/",
    "/targets/SH001/0001-01/",
    "/targets/SH001/9999-12/correct/",
]


@pytest.fixture(scope="module", autouse=True)
def mid_november():
    with time_machine.travel("2026-11-16 10:00 +0800", tick=False):
        yield


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        yield World(_make_staff)
        transaction.set_rollback(True)


def _get_pages():
    return [c for c in CASES if c.method == "get" and c.name.split(":")[0] in NAMESPACES]


def test_years_are_bounded_in_one_place():
    with time_machine.travel("2026-11-16 10:00 +0800", tick=False):
        assert parse_quarter_input("2000Q1") == Quarter(2000, 1)
        assert parse_quarter_input("2027Q4") == Quarter(2027, 4)
        for text in ("1999Q4", "2028Q1", "9999Q4", "0001Q1"):
            with pytest.raises(PeriodOutOfRange):
                parse_quarter_input(text)
        with pytest.raises(ValueError):
            parse_quarter_input("2Q1")
        for text in ("0001-01", "9999-12", "2028-01", datetime.date(1999, 12, 31)):
            with pytest.raises(PeriodOutOfRange):
                parse_month_input(text)
        # stored periods are read further: a weight scheme may take effect in 2030
        assert Quarter.parse("2030Q1") == Quarter(2030, 1)
        assert parse_month("2030-01") == datetime.date(2030, 1, 1)
        with translation.override("en"):
            assert period_error("9999Q4", quarter=True) == "9999Q4: the year must be between 2000 and 2027."
            assert period_error("2Q1", quarter=True) == "Not a quarter like 2026Q3: 2Q1"
        with translation.override("zh-hans"):
            assert period_error("0001-01") == "0001-01：年份须在 2000 至 2027 之间。"


@pytest.mark.django_db
@pytest.mark.parametrize("case", _get_pages(), ids=str)
def test_odd_query_parameters_are_never_a_server_error(client, world, case):
    failures = []
    for role in ("sales_planning", "office_manager", "business_manager"):
        user = world.users[role]
        client.force_login(user)
        path = case.path(world, "own", user)
        for query in ODD_QUERIES:
            response = client.get(f"{path}{'&' if '?' in path else '?'}{query}")
            if response.status_code not in (200, 302, 404):
                failures.append(f"{role} {path} ?{query}: {response.status_code}")
    assert not failures


@pytest.mark.django_db
@pytest.mark.parametrize("path", ODD_PATHS)
def test_odd_path_parameters_are_404s(client, world, path):
    client.force_login(world.users["sales_planning"])
    assert client.get(path).status_code in (404, 405)
    assert (
        client.post(path, {"amount": "1", "reason": "r", "version": "0", "step": "agreed"}).status_code == 404
    )


@pytest.mark.django_db
@time_machine.travel("2026-11-16 10:00 +0800", tick=False)
def test_a_bad_quarter_on_the_metrics_page_is_named_and_the_default_shown(client, world):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    client.force_login(world.users["sales_planning"])
    response = client.get("/network/company/?quarter=9999Q4")
    assert response.status_code == 200
    assert "9999Q4: the year must be between 2000 and 2027." in response.content.decode()
    assert response.context["quarter"] == Quarter(2026, 3)  # the last ended quarter, the default
