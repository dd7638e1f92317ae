import pytest

from dealers.models import DealerKind
from dealers.tests.factories import DealerFactory


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_office_manager_filters_the_dealer_list_and_opens_a_customer_file(
    page, login, live_server, office, other_office, office_manager
):
    # given
    DealerFactory(code="SH001", name="上海恒达家电商行", office=office, kind=DealerKind.EXCLUSIVE)
    DealerFactory(code="SH002", name="苏州顺发物流有限公司", office=office, kind=DealerKind.LOGISTICS)
    DealerFactory(code="BJ001", name="北京汇通物流有限公司", office=other_office, kind=DealerKind.LOGISTICS)
    login(page, office_manager)
    # when: the manager filters his list to logistics distributors
    page.goto(f"{live_server.url}/dealers/")
    table = page.get_by_test_id("dealer-table")
    assert table.locator("tbody tr").count() == 2
    page.select_option("#id_kind", "logistics")
    page.get_by_test_id("dealer-filter").locator("button[type=submit]").click()
    page.wait_for_url("**/dealers/?*kind=logistics*")
    # then: only his own logistics distributor is listed
    rows = table.locator("tbody tr")
    assert rows.count() == 1
    assert "SH002" in rows.first.inner_text()
    assert "BJ001" not in table.inner_text()
    # when: he opens its customer file
    page.get_by_role("link", name="苏州顺发物流有限公司").click()
    page.wait_for_url(f"{live_server.url}/dealers/SH002/")
    # then: in Chinese, with the master data
    assert page.locator("h1").inner_text().startswith("苏州顺发物流有限公司")
    master = page.locator("#master-data")
    assert "物流商" in master.inner_text()
    assert "上海办事处" in master.inner_text()
