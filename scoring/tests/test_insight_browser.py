"""The administrator's what-if, from the admin's weight schemes to a new scheme, in the system Chromium."""

from decimal import Decimal as D

import pytest

from conftest import PASSWORD
from scoring import services
from scoring.models import Grade, WeightScheme

from .factories import Q3, approve, dealer_with_sales, fill_manual

MANUAL = ("store_display", "promotion_effort", "price_discipline", "relations_credit")


@pytest.mark.browser
def test_administrator_tries_weights_and_saves_them_as_a_new_scheme(
    catalogue, page, login, live_server, office, other_office, django_user_model
):
    # given Q3 graded: E1 78 B, E2 58 C, E3 88 A (SH), E4 78 B (BJ)
    dealer_with_sales(office=office, code="E1", sales=(100, 100, 100))
    dealer_with_sales(office=office, code="E2", sales=(50, 50, 50))
    dealer_with_sales(office=office, code="E3", sales=(200, 200, 200))
    dealer_with_sales(office=other_office, code="E4", sales=(100, 100, 100))
    services.open_quarter(quarter=Q3)
    fill_manual()
    approve()
    services.regrade_quarter(quarter=Q3)
    graded = dict(Grade.objects.values_list("dealer__code", "final_class"))
    schemes = WeightScheme.objects.count()
    admin = django_user_model.objects.create_superuser("boss", "boss@example.com", PASSWORD)

    # when the administrator opens the what-if from the admin's weight schemes
    login(page, admin)
    page.goto(f"{live_server.url}/admin/scoring/weightscheme/")
    page.click("a[href='/insight/what-if/']")
    page.wait_for_selector("[data-testid=draft-form]")
    # then the draft starts as the weights the quarter was graded with, adding up to 100
    assert page.input_value("#id_w-exclusive-sales_volume") == "20.00"
    assert page.locator("[data-total-for=exclusive]").inner_text() == "100.00"

    # when he weighs attainment 60, drops the sales volume and gives each manual indicator 10
    page.fill("#id_w-exclusive-sales_volume", "0")
    assert page.locator("[data-total-for=exclusive]").inner_text() == "80.00"
    page.fill("#id_w-exclusive-sales_attainment", "60")
    for code in MANUAL:
        page.fill(f"#id_w-exclusive-{code}", "10")
    assert page.locator("[data-total-for=exclusive]").inner_text() == "100.00"
    page.click("[data-testid=try]")
    # then E1 and E4 would go up to A (60 × 100 + 40 × 80 = 92.00); nothing is saved yet
    rows = page.locator("[data-testid=changes] tbody tr")
    assert rows.count() == 2
    assert "E1" in rows.nth(0).inner_text() and "92.00" in rows.nth(0).inner_text()
    assert "E4" in rows.nth(1).inner_text()
    assert WeightScheme.objects.count() == schemes

    # when he saves the draft's exclusive weights as a new scheme from the first quarter offered
    effective = page.locator("#save-effective option").first.inner_text()
    page.select_option("#save-kind", "exclusive")
    page.click("[data-testid=save-scheme]")
    # then the admin shows the new scheme, its rows captioned with the indicators' names
    page.wait_for_url("**/admin/scoring/weightscheme/*/change/")
    scheme = WeightScheme.objects.get(kind="exclusive", effective_from=effective)
    assert {w.indicator.code: w.weight for w in scheme.weights.select_related("indicator")} == {
        "sales_attainment": D(60),
        **dict.fromkeys(MANUAL, D(10)),
    }
    assert page.locator("[data-testid=weights-total]").inner_text() == "100.00"
    # and the graded quarter keeps its classes
    assert dict(Grade.objects.values_list("dealer__code", "final_class")) == graded
    page.screenshot(path="/tmp/insight-journey.png", full_page=True)
