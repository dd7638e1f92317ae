import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Group

from dealers.models import MonthlyTarget
from dealers.roles import Role
from dealers.tests.factories import AgreementFactory, DealerFactory
from evalsys.periods import format_month

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def role_groups(db):
    """The role groups, which an earlier transactional test may have flushed with the rest."""
    for role in Role:
        Group.objects.get_or_create(name=role)


def amount(text):
    return text.replace(",", "").strip()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_business_manager_agrees_a_target_and_sees_it_on_the_customer_file(
    request, role_groups, page, live_server, login, business_manager, office
):
    # given a dealer of his with this year's agreement, on a day in March (after today, so
    # that the browser keeps the session cookie) when April is negotiated
    traveller = time_machine.travel(datetime.datetime(2027, 3, 10, 10, tzinfo=SHANGHAI), tick=True)
    traveller.start()
    request.addfinalizer(traveller.stop)
    month = datetime.date(2027, 4, 1)
    dealer = DealerFactory(
        code="SH501", name="上海恒达家电商行", office=office, business_manager=business_manager
    )
    AgreementFactory(dealer=dealer, year=month.year)
    # (recorded as entered by a person: the skeleton's history section needs a user)
    dealer.history.update(history_user=business_manager)
    login(page, business_manager)
    # when he proposes, records the counter-proposal and agrees on the targets page
    page.goto(f"{live_server.url}/targets/?month={format_month(month)}")
    for button, value in (("提议", "120000"), ("还价", "100000"), ("确认", "110000")):
        row = page.locator("#dealer-SH501")
        row.locator("input[name=amount]").fill(value)
        with page.expect_navigation():
            row.get_by_role("button", name=button).click()
        page.wait_for_load_state()
    # then the page shows the agreed target
    assert amount(page.locator("#dealer-SH501 [data-testid=agreed]").inner_text()) == "110000.00"
    # and the customer file shows it in the agreement and its negotiation
    page.click("#dealer-SH501 a")
    agreement = page.locator("#agreement")
    assert amount(agreement.locator("[data-testid=agreed-total]").inner_text()) == "110000.00"
    assert "v3" in agreement.inner_text()
    target = MonthlyTarget.objects.get(dealer=dealer, month=month)
    assert (target.status, target.agreed_by) == ("agreed", business_manager)
