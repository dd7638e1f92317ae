"""The customer file on a phone (390×844): sections folded to their headers, no sideways scrolling,
no column squeezed to a character per line; on a desktop everything stays open."""

import pytest
from django.utils import timezone

from dealers.tests.factories import AgreementFactory, DealerFactory, SalesFactory, TargetFactory
from evalsys.periods import add_months

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def long_file(office):
    """A dealer with a signed agreement and twelve months of agreed targets and sales."""
    dealer = DealerFactory(code="SH001", name="上海浦东新区某某家用电器有限责任公司", office=office)
    this_month = timezone.localdate().replace(day=1)
    AgreementFactory(dealer=dealer, year=this_month.year)
    for back in range(1, 13):
        month = add_months(this_month, -back)
        TargetFactory(dealer=dealer, month=month, agreed_amount=1234567)
        SalesFactory(dealer=dealer, month=month, amount=1111111)
    return dealer


def test_on_a_phone_the_customer_file_is_short_and_each_section_opens_with_a_tap(
    browser, live_server, login, office_manager, long_file
):
    context = browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True, has_touch=True)
    context.set_default_timeout(15000)
    page = context.new_page()
    login(page, office_manager)
    # when the office manager opens the file on his phone
    page.goto(f"{live_server.url}/dealers/SH001/")
    page.wait_for_load_state("networkidle")
    # then it is not wider than the phone, the master data is open and the rest is a list of headers
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.get_by_text("基本资料").is_visible()
    agreement = page.locator("#agreement")
    months = page.get_by_test_id("agreement-months")
    assert agreement.locator(".card-header").is_visible() and not months.is_visible()
    assert page.evaluate("document.documentElement.scrollHeight") < 3 * PHONE["height"]
    # when he taps the agreement's header
    agreement.locator(".card-header").tap()
    # then its twelve months are cards that fit the phone
    assert months.is_visible()
    assert agreement.locator(".card-header").get_attribute("aria-expanded") == "true"
    card = months.locator("tbody tr").first
    box = card.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert card.locator("td").nth(2).inner_text().endswith("1,234,567.00")
    # and the trend table, opened too, needs no sideways scrolling and no column is one character wide
    page.locator("#trend .card-header").tap()
    table = page.get_by_test_id("trend-table")
    assert table.is_visible()
    assert table.evaluate("t => t.parentElement.scrollWidth <= t.parentElement.clientWidth")
    assert (
        table.evaluate(
            "t => Math.min(...[...t.querySelectorAll('tbody tr:first-child td')].filter((td) => td.offsetWidth).map((td) => td.offsetWidth))"
        )
        > 40
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # when he taps the agreement's header again, it folds
    agreement.locator(".card-header").tap()
    assert not months.is_visible()
    context.close()


def test_on_a_desktop_every_section_of_the_customer_file_is_open(
    page, live_server, login, office_manager, long_file
):
    login(page, office_manager)
    page.goto(f"{live_server.url}/dealers/SH001/")
    assert page.get_by_test_id("agreement-months").is_visible()
    assert page.get_by_test_id("trend-table").is_visible()
    assert page.locator("#agreement .card-header").get_attribute("role") is None
