"""The targets page on a phone (390×844): one card per dealer, everything in reach without sideways scrolling."""

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from dealers.models import MonthlyTarget
from dealers.roles import Role
from dealers.tests.factories import AgreementFactory, DealerFactory
from evalsys.periods import add_months, format_month

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def role_groups(db):
    for role in Role:
        Group.objects.get_or_create(name=role)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_on_a_phone_each_dealer_is_a_card_and_each_step_comes_back_to_it(
    role_groups, browser, live_server, login, business_manager, office
):
    # given twelve dealers of his, so that the last card is far down the page (next month: still open)
    month = add_months(timezone.localdate().replace(day=1), 1)
    for i in range(12):
        dealer = DealerFactory(code=f"SH5{i:02d}", office=office, business_manager=business_manager)
        AgreementFactory(dealer=dealer, year=month.year)
    context = browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(15000)
    login(page, business_manager)
    page.goto(f"{live_server.url}/targets/?month={format_month(month)}")
    # then nothing is wider than the phone, and the last card's amount box and buttons are in it
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    card = page.get_by_test_id("target-card-SH511")
    for control in (card.locator("input[name=amount]"), card.get_by_role("button", name="提议")):
        control.scroll_into_view_if_needed()
        box = control.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    # when he proposes on that card
    card.locator("input[name=amount]").fill("1234567.89")
    with page.expect_navigation():
        card.get_by_role("button", name="提议").click()
    # then the page comes back at that card, shows the message there, and both amounts with separators
    assert page.url.endswith("#dealer-SH511")
    card = page.get_by_test_id("target-card-SH511")
    page.wait_for_function(
        "card => { const top = card.getBoundingClientRect().top; return top >= 0 && top < window.innerHeight; }",
        arg=card.element_handle(),
    )
    assert card.locator(".alert-success").count() == 1
    assert card.get_by_test_id("proposed").inner_text().strip().endswith("1,234,567.89")
    assert str(MonthlyTarget.objects.get(dealer__code="SH511").proposed_amount) == "1234567.89"
    page.screenshot(path="/tmp/ux-targets-phone-test.png")
    context.close()
