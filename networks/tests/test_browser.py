import pytest
from django.contrib.auth.models import Group

from dealers.roles import Role
from dealers.tests.factories import DealerFactory
from networks.models import NetworkSummary, SummaryStatus, Visit


@pytest.fixture(autouse=True)
def _role_groups(transactional_db):
    """A transactional test before this one may have flushed the groups the migrations made."""
    for role in Role.values:
        Group.objects.get_or_create(name=role)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_business_manager_logs_a_visit_on_a_phone(browser, live_server, login, office, make_staff):
    # given
    business_manager = make_staff("bm", Role.BUSINESS_MANAGER, office=office)
    dealer = DealerFactory(office=office, business_manager=business_manager, name="上海恒达家电商行")
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(15000)
    login(page, business_manager)
    # the dashboard opens with the visits panel on the first screen, above the counters
    panel = page.get_by_test_id("visit-reminder").bounding_box()
    assert panel["y"] + panel["height"] < 844
    # when: from the dashboard, in a few taps
    page.get_by_role("link", name="登记巡访").last.click()
    page.select_option("select[name=dealer]", label=f"{dealer.code} {dealer.name}")
    page.click("label[for=effect-4]")
    page.get_by_role("button", name="例行巡访").click()
    page.fill("textarea[name=findings]", "库存偏高")
    page.get_by_test_id("save-visit").click()
    # then
    page.wait_for_selector(".alert-success")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    visit = Visit.objects.get()
    assert (visit.dealer_id, visit.effect, visit.purpose, visit.findings) == (
        dealer.pk,
        4,
        "例行巡访",
        "库存偏高",
    )
    context.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_double_tap_on_save_visit_stores_one_visit(page, live_server, login, office, make_staff):
    business_manager = make_staff("bm", Role.BUSINESS_MANAGER, office=office)
    dealer = DealerFactory(office=office, business_manager=business_manager)
    login(page, business_manager)
    page.goto(f"{live_server.url}/network/visits/new/?dealer={dealer.code}")
    page.click("label[for=effect-3]")
    page.fill("input[name=purpose]", "例行巡访")
    page.get_by_test_id("save-visit").dblclick()
    page.wait_for_selector(".alert-success")
    assert Visit.objects.count() == 1


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_office_manager_submits_the_quarterly_summary(page, live_server, login, office, make_staff):
    # given
    office_manager = make_staff("om", Role.OFFICE_MANAGER, office=office)
    DealerFactory(office=office)
    login(page, office_manager)
    # when
    page.goto(f"{live_server.url}/network/summaries/")
    page.get_by_role("link", name="上海办事处").click()
    page.wait_for_url("**/network/summaries/SH/**")
    page.fill("textarea[name=analysis]", "网络稳定")
    page.fill("textarea[name=problems]", "覆盖不足")
    page.fill("textarea[name=next_steps]", "加强巡访")
    page.get_by_test_id("submit-summary").click()
    # then
    page.wait_for_selector(".alert-success")
    assert page.get_by_test_id("summary-status").inner_text().startswith("已提交")
    summary = NetworkSummary.objects.get()
    assert (summary.status, summary.submitted_by_id) == (SummaryStatus.SUBMITTED, office_manager.pk)
    assert summary.metrics["active_end"] == 1
