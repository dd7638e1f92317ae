"""The ABC list on a phone (390×844): one card per dealer, no sideways scrolling, the override
as a dialog from the card, and back at that card after saving."""

import pytest

from scoring import services
from scoring.models import Appeal, Grade

from .factories import Q3, approve, dealer_with_sales, fill_manual

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def _inside_the_phone(locator):
    locator.scroll_into_view_if_needed()
    box = locator.bounding_box()
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]


def test_on_a_phone_each_dealer_of_the_abc_list_is_a_card_with_its_override(
    browser, login, catalogue, live_server, office, planner
):
    # given eight graded dealers (a long list), the last one with a long name
    for i in range(8):
        dealer_with_sales(office=office, code=f"E{i}")
    services.open_quarter(quarter=Q3)
    fill_manual()
    approve()
    services.regrade_quarter(quarter=Q3)
    grade = Grade.objects.select_related("dealer").get(dealer__code="E7")
    grade.dealer.name = "上海浦东新区某某家用电器有限责任公司第二分公司"
    grade.dealer.save()
    # and an appeal still open (its notice belongs at the top, not in a card)
    Appeal.objects.create(
        dealer=Grade.objects.get(dealer__code="E0").dealer,
        quarter=str(Q3),
        computed_class="C",
        reason="新店开业",
        requested_by=planner,
    )
    context = browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True, has_touch=True)
    context.set_default_timeout(15000)
    page = context.new_page()
    page.emulate_media(reduced_motion="reduce")
    login(page, planner)
    # when the planner opens the ABC list on a phone
    page.goto(f"{live_server.url}/abc/?quarter=2026Q3")
    # then nothing is wider than the phone, and the last dealer's card shows its figures by name
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    card = page.get_by_test_id("abc-card-E7")
    assert card.locator("thead").count() == 0
    assert _inside_the_phone(card)
    cell = card.get_by_test_id("final-class")
    assert cell.is_visible()
    assert cell.evaluate("td => getComputedStyle(td, '::before').content") == '"最终类别"'
    assert card.get_by_test_id("final-class").inner_text().endswith(grade.final_class)
    assert card.get_by_test_id("total").inner_text().endswith(f"{grade.total:.2f}")
    assert _inside_the_phone(card.get_by_test_id("override-E7"))
    # when he overrides the class from that card
    card.get_by_test_id("override-E7").click()
    page.wait_for_selector("#grade-override", state="visible")
    assert _inside_the_phone(page.get_by_test_id("save-grade-override"))
    new_class = "C" if grade.final_class != "C" else "A"
    page.select_option("#grade-override-class", new_class)
    page.fill("#grade-override-reason", "市场萎缩")
    with page.expect_navigation():
        page.get_by_test_id("save-grade-override").click()
    # then the page comes back at that card, with the message in it
    assert page.url.endswith("#grade-E7")
    card = page.get_by_test_id("abc-card-E7")
    page.wait_for_function(
        "card => { const top = card.getBoundingClientRect().top; return top >= 0 && top < window.innerHeight; }",
        arg=card.element_handle(),
    )
    assert card.locator(".alert-success").count() == 1
    assert card.locator(".alert").count() == 1 and page.get_by_test_id("open-appeals").count() == 1
    assert card.get_by_test_id("final-class").inner_text().endswith(new_class)
    assert Grade.objects.get(dealer__code="E7").final_class == new_class
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    context.close()
