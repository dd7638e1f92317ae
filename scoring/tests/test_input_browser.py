"""Nothing typed is lost, in the system Chromium: double clicks, overrides without a reload, unsaved warnings."""

import pytest

from scoring import services
from scoring.models import EvaluationRound, Score, ScoreSheet

from .factories import Q3, dealer_with_sales

pytestmark = pytest.mark.browser


@pytest.fixture
def grid_url(catalogue, live_server, office):
    dealer_with_sales(office=office, code="E1")
    services.open_quarter(quarter=Q3)
    return f"{live_server.url}/evaluation/rounds/{EvaluationRound.objects.get(office=office).pk}/grid/"


def _cell(page, indicator_name):
    return page.get_by_label(f"E1 {indicator_name}")


def test_a_double_click_on_save_saves_once_without_a_conflict(page, login, grid_url, office_manager):
    # given a typed score
    login(page, office_manager)
    page.goto(grid_url)
    _cell(page, "卖场布置与样品展示").fill("85")
    # when "save all scores" is double-clicked
    page.get_by_test_id("save-grid").dblclick()
    # then the save succeeds, with no conflict message
    page.wait_for_selector(".alert-success")
    assert page.locator(".alert-danger:visible").count() == 0
    sheet = ScoreSheet.objects.get(dealer__code="E1")
    assert sheet.version == 2


def test_an_override_is_saved_without_a_reload_and_typed_scores_stay(page, login, grid_url, office_manager):
    # given a score typed but not yet saved
    login(page, office_manager)
    page.goto(grid_url)
    _cell(page, "卖场布置与样品展示").fill("77")
    page.evaluate("window.notReloaded = true")
    # when a computed indicator is overridden in the dialog
    page.get_by_test_id("override-E1-sales_volume").click()
    page.fill("#override-value", "66")
    page.fill("#override-reason", "返利抵扣")
    page.get_by_test_id("save-override").click()
    # then the dialog closes, the cell shows the override, and the typed score is still there
    page.wait_for_selector("#override", state="hidden")
    assert page.get_by_test_id("computed-E1-sales_volume").inner_text() == "66.00"
    assert _cell(page, "卖场布置与样品展示").input_value() == "77"
    assert page.evaluate("window.notReloaded") is True
    assert Score.objects.get(sheet__dealer__code="E1", indicator__code="sales_volume").override_value == 66


def test_leaving_with_unsaved_scores_asks_first(page, login, grid_url, office_manager):
    login(page, office_manager)
    page.goto(grid_url)
    _cell(page, "卖场布置与样品展示").fill("85")
    dialogs = []

    def stay(dialog):
        dialogs.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", stay)
    # when a link away is followed
    page.get_by_role("link", name="评估与评估小组").click()
    page.wait_for_timeout(500)
    # then the browser asked, and the typed score is still on the page
    assert dialogs == ["beforeunload"]
    assert page.url == grid_url
    assert _cell(page, "卖场布置与样品展示").input_value() == "85"


def test_the_grid_marks_minus_five_and_reads_full_width_digits(page, login, grid_url, office_manager):
    login(page, office_manager)
    page.goto(grid_url)
    minus = _cell(page, "卖场布置与样品展示")
    minus.fill("-5")
    full_width = _cell(page, "主推力度")
    full_width.fill("８５")
    assert minus.input_value() == "-5"
    assert "is-invalid" in minus.get_attribute("class")
    assert full_width.input_value() == "85"
    assert "is-invalid" not in full_width.get_attribute("class")
    assert page.get_by_test_id("total-E1").inner_text() == "?"


def test_the_abc_override_dialog_starts_empty_for_a_dealer_not_evaluated(
    page, login, catalogue, live_server, office, planner
):
    # given E1 scored and E2 without scores, graded
    from scoring.models import Grade

    from .factories import approve, fill_manual

    dealer_with_sales(office=office, code="E1")
    dealer_with_sales(office=office, code="E2")
    services.open_quarter(quarter=Q3)
    fill_manual(dealer=ScoreSheet.objects.get(dealer__code="E1").dealer)
    approve()
    services.regrade_quarter(quarter=Q3)
    assert Grade.objects.get(dealer__code="E2").final_class == ""
    page.emulate_media(reduced_motion="reduce")  # dialogs open and close without a transition
    login(page, planner)
    page.goto(f"{live_server.url}/abc/?quarter=2026Q3")
    # when the override dialog is opened for E2, nothing is chosen for it
    page.get_by_test_id("override-E2").click()
    assert page.locator("#grade-override-class").input_value() == ""
    page.click("#grade-override .btn-close")
    page.wait_for_selector("#grade-override", state="hidden")
    # and for E1 its class is chosen; a reason and a class save it
    page.get_by_test_id("override-E1").click()
    current = Grade.objects.get(dealer__code="E1").final_class
    assert page.locator("#grade-override-class").input_value() == current
    page.select_option("#grade-override-class", "C" if current != "C" else "A")
    page.fill("#grade-override-reason", "市场萎缩")
    page.get_by_test_id("save-grade-override").click()
    page.wait_for_selector(".alert-success")
    assert Grade.objects.get(dealer__code="E1").override_reason == "市场萎缩"
