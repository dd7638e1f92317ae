"""An office's evaluation from empty grid to the ABC list, in the system Chromium."""

import pytest

from scoring import services
from scoring.models import EvaluationRound, Grade, RoundStatus

from .factories import Q3, dealer_with_sales


@pytest.mark.browser
def test_office_manager_scores_and_approves_then_planning_regrades(
    catalogue, browser, page, login, live_server, office, office_manager, planner
):
    # given an opened quarter with two dealers: E1 sells 300 of 300, E2 150 of 300
    dealer_with_sales(office=office, code="E1", sales=(100, 100, 100))
    dealer_with_sales(office=office, code="E2", sales=(50, 50, 50))
    services.open_quarter(quarter=Q3)
    office_round = EvaluationRound.objects.get(office=office)

    # when the office manager types the scores, moving with Enter
    login(page, office_manager)
    page.goto(f"{live_server.url}/evaluation/rounds/{office_round.pk}/grid/")
    cells = page.locator("[data-testid=grid-exclusive] input.score-input")
    assert cells.count() == 8
    cells.first.click()
    for value in ["80", "80", "80", "80", "70", "70", "70", "70"]:
        page.keyboard.type(value)
        page.keyboard.press("Enter")
    # then the running totals follow the rule: 20×100 + 20×100 + 60×80 = 88.00; 20×0 + 20×50 + 60×70 = 52.00
    assert page.locator("[data-testid=total-E1]").inner_text() == "88.00"
    assert page.locator("[data-testid=total-E2]").inner_text() == "52.00"
    page.click("[data-testid=save-grid]")
    page.wait_for_selector(".alert-success")
    assert "2 / 2" in page.locator("[data-testid=grid-progress]").inner_text()

    # when the office manager submits and approves the round
    page.goto(f"{live_server.url}/evaluation/rounds/{office_round.pk}/")
    page.fill("#id_meeting_date", "2026-10-09")
    page.select_option("#id_chair", str(office_manager.pk))
    page.click("[data-testid=save-committee]")
    page.wait_for_selector(".alert-success")
    confirmations = []
    page.on("dialog", lambda dialog: (confirmations.append(dialog.message), dialog.accept()))
    page.click("[data-testid=submit-round]")
    page.wait_for_selector(".alert-success")
    page.click("[data-testid=approve-round]")
    page.wait_for_selector(".alert-success")
    # each step was confirmed first, naming the dealers it covers
    assert len(confirmations) == 2 and all("2" in text for text in confirmations)
    office_round.refresh_from_db()
    assert office_round.status == RoundStatus.APPROVED

    # when sales planning re-grades the quarter from the web
    planning = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900}).new_page()
    login(planning, planner)
    planning.goto(f"{live_server.url}/evaluation/?quarter=2026Q3")
    planning.click("[data-testid=regrade]")
    planning.wait_for_selector(".alert-success")
    planning.wait_for_selector("[data-testid=job-status][data-state=graded]")
    # then the ABC list shows the classes
    planning.goto(f"{live_server.url}/abc/?quarter=2026Q3")
    rows = planning.locator("[data-testid=abc-table] tbody tr")
    assert rows.count() == 2
    assert "88.00" in rows.nth(0).inner_text() and "A" in rows.nth(0).inner_text()
    assert "52.00" in rows.nth(1).inner_text()
    assert dict(Grade.objects.values_list("dealer__code", "final_class")) == {"E1": "A", "E2": "C"}
    planning.screenshot(path="/tmp/abc_list.png", full_page=True)
    page.goto(f"{live_server.url}/evaluation/rounds/{office_round.pk}/grid/")
    page.screenshot(path="/tmp/grid.png", full_page=True)
