"""The Content-Security-Policy holds in a real browser: pages, charts and the admin run with no
violation in the console (issue 11, DESIGN.md §7)."""

import datetime

import pytest

from dealers.tests.factories import DealerFactory, SalesFactory


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_pages_charts_and_the_admin_raise_no_policy_violation(
    page, login, live_server, office, office_manager, planner
):
    # given: a dealer with sales, so the customer file draws its chart
    dealer = DealerFactory(code="SH001", office=office)
    SalesFactory(dealer=dealer, month=datetime.date(2026, 1, 1))
    violations = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    # when: the office manager goes through his pages, then an administrator through the admin
    login(page, office_manager)
    drawn = {}
    for url in ("/", "/dealers/", "/dealers/SH001/", "/abc/", "/network/visits/new/", "/network/metrics/"):
        page.goto(f"{live_server.url}{url}")
        page.wait_for_load_state("networkidle")
        drawn[url] = page.evaluate(
            "() => [...document.querySelectorAll('canvas')].filter((c) => Chart.getChart(c)).length"
            if page.locator("canvas").count()
            else "() => 0"
        )
    with page.expect_navigation():
        page.get_by_test_id("language").select_option("en")  # a select that submits itself (data-autosubmit)
    assert page.locator("html").get_attribute("lang") == "en"
    planner.is_staff = planner.is_superuser = True
    planner.save()
    page.context.clear_cookies()
    login(page, planner)
    for url in (
        "/admin/",
        "/admin/dealers/dealer/",
        f"/admin/dealers/dealer/{dealer.pk}/change/",
        "/admin/dealers/dealer/export/",
        "/admin/auth/user/",
    ):
        page.goto(f"{live_server.url}{url}")
        page.wait_for_load_state("networkidle")
    # then: the charts were drawn by the app's own scripts, and nothing was refused
    assert drawn["/dealers/SH001/"] == 1
    assert violations == []
