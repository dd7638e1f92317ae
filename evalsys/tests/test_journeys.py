"""End-to-end journeys in the system Chromium, from login to the result a user checks.

They run against the live server on the test database; the quarter journey also runs
a real Celery worker on Redis, so the jobs sales planning starts from the web are
queued on Redis and run by that worker (the other two journeys start no job: sales
imports and churn reports are saved within the request).
"""

import csv
import datetime
import io
import time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import translation

from dealers.models import MonthlyTarget, Notification, PointsEntry
from dealers.tests.factories import AgreementFactory, DealerFactory
from evalsys.periods import format_month
from networks.models import ChurnReport, Verification
from scoring.models import EvaluationRound, Grade, GradingStatus, QuarterGrading, RoundStatus
from scoring.tests.factories import Q3, dealer_with_sales

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _new_page(browser, locale="zh-CN"):
    page = browser.new_context(locale=locale, viewport={"width": 1366, "height": 900}).new_page()
    page.set_default_timeout(15000)
    return page


def _wait_until(check, timeout=60, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def _switch_to_english(page):
    with page.expect_navigation():
        page.select_option("[data-testid=language]", "en")
    assert page.locator("html").get_attribute("lang") == "en"


def test_a_quarter_from_opening_to_the_published_abc_list(
    browser, page, login, live_server, worker_process, office, office_manager, planner
):
    # given two dealers with their quarter's sales, and a Celery worker on Redis
    dealer_with_sales(office=office, code="E1", sales=(100, 100, 100))
    dealer_with_sales(office=office, code="E2", sales=(50, 50, 50))
    worker_process()
    planning = _new_page(browser)
    login(planning, planner)

    # when sales planning opens the quarter from the web
    planning.goto(f"{live_server.url}/evaluation/?quarter={Q3}")
    planning.click("button[name=action][value=open]")
    planning.wait_for_selector(".alert-success")
    # then the worker opens the round and tells the office manager (its last step)
    _wait_until(
        lambda: Notification.objects.filter(
            user=office_manager, key__startswith="scoring:round-opened"
        ).exists(),
        what="the worker to open the quarter",
    )
    office_round = EvaluationRound.objects.get(office=office, quarter=str(Q3))

    # when the office manager fills the grid with the keyboard, submits and approves
    login(page, office_manager)
    page.goto(f"{live_server.url}/evaluation/rounds/{office_round.pk}/grid/")
    cells = page.locator("[data-testid=grid-exclusive] input.score-input")
    assert cells.count() == 8
    cells.first.click()
    for value in ["80", "80", "80", "80", "70", "70", "70", "70"]:
        page.keyboard.type(value)
        page.keyboard.press("Enter")
    page.click("[data-testid=save-grid]")
    page.wait_for_selector(".alert-success")
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

    # when sales planning re-grades (on the worker) and publishes
    planning.goto(f"{live_server.url}/evaluation/?quarter={Q3}")
    planning.click("[data-testid=regrade]")
    planning.wait_for_selector(".alert-success")
    planning.wait_for_selector("[data-testid=job-status][data-state=graded]", timeout=60000)
    planning.goto(f"{live_server.url}/abc/?quarter={Q3}")
    planning.click("[data-testid=publish]")
    planning.click("[data-testid=confirm-publish]")
    planning.wait_for_selector(".alert-success")

    # then the ABC list is published and shows each dealer's class
    with translation.override("zh-hans"):
        published = str(GradingStatus.PUBLISHED.label)
    assert planning.locator("[data-testid=grading-status]").inner_text() == published
    rows = planning.locator("[data-testid=abc-table] tbody tr")
    assert rows.count() == 2
    assert "88.00" in rows.nth(0).inner_text() and "A" in rows.nth(0).inner_text()
    assert "52.00" in rows.nth(1).inner_text() and "C" in rows.nth(1).inner_text()
    assert dict(Grade.objects.values_list("dealer__code", "final_class")) == {"E1": "A", "E2": "C"}
    assert QuarterGrading.objects.get(quarter=str(Q3)).status == GradingStatus.PUBLISHED
    # and the jobs ran on the worker, not in the web process
    from evalsys.celery import app

    ran = {}
    for info in (app.control.inspect(timeout=2).stats() or {}).values():
        for name, count in info.get("total", {}).items():
            ran[name] = ran.get(name, 0) + count
    assert ran.get("scoring.tasks.open_quarter_task") == 1
    assert ran.get("scoring.tasks.regrade_offices_task") == 1
    assert ran.get("scoring.tasks.finish_grading_task") == 1
    # and the office manager sees the class in the customer file's quarterly history
    page.goto(f"{live_server.url}/dealers/E1/")
    history = page.locator("[data-testid=quarterly-history]").inner_text()
    assert str(Q3) in history and "88.00" in history


def test_a_month_from_target_negotiation_to_points(
    browser, page, login, live_server, office, business_manager, statistician, time_machine
):
    # given a dealer of the business manager with this year's agreement, on 20 October when
    # November is negotiated (a month that has begun can no longer be negotiated)
    time_machine.move_to(datetime.datetime(2026, 10, 20, 10, tzinfo=SHANGHAI))
    month = datetime.date(2026, 11, 1)
    dealer = DealerFactory(
        code="SH501", name="上海恒达家电商行", office=office, business_manager=business_manager
    )
    AgreementFactory(dealer=dealer, year=month.year)
    dealer.history.update(history_user=business_manager)

    # when the business manager proposes, records the counter-proposal and agrees
    login(page, business_manager)
    page.goto(f"{live_server.url}/targets/?month={format_month(month)}")
    for step, value in (("提议", "120000"), ("还价", "100000"), ("确认", "110000")):
        row = page.locator("#dealer-SH501")
        row.locator("input[name=amount]").fill(value)
        with page.expect_navigation():
            row.get_by_role("button", name=step).click()
        page.wait_for_selector(".alert-success")
    assert MonthlyTarget.objects.get(dealer=dealer, month=month).status == "agreed"

    # when, in November (sales are imported for a month that has begun), the statistician
    # imports the month's sales in the browser: 121,000 of 110,000
    time_machine.move_to(datetime.datetime(2026, 11, 16, 10, tzinfo=SHANGHAI))
    statistics = _new_page(browser)
    login(statistics, statistician)
    statistics.goto(f"{live_server.url}/sales/import/")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows([["经销商编码", "月份", "销售额"], ["SH501", format_month(month), "121000"]])
    statistics.set_input_files(
        "input[type=file]",
        {"name": "sales.csv", "mimeType": "text/csv", "buffer": buffer.getvalue().encode("utf-8-sig")},
    )
    statistics.locator("form button[type=submit]").last.click()
    statistics.wait_for_selector("[data-testid=import-preview]")
    statistics.click("[data-testid=confirm-import]")
    statistics.wait_for_selector(".alert-success")

    # then attainment is 110 %, so the month earns 1.0 × 121,000 / 1000 = 121.00 points,
    # shown on the customer file and in the points export (signed in again: a month has passed)
    login(page, business_manager)
    page.goto(f"{live_server.url}/dealers/SH501/")
    assert page.locator("[data-testid=points-balance]").inner_text() == "121.00"
    export = page.request.get(f"{live_server.url}/targets/points.csv?month={format_month(month)}")
    assert export.status == 200
    rows = list(csv.reader(io.StringIO(export.body().decode("utf-8-sig"))))
    assert rows[1][1] == "SH501"
    assert rows[1][4:] == ["110000.00", "121000.00", "110.00", "121.00", "121.00"]
    assert PointsEntry.objects.filter(dealer=dealer, month=month).count() == 1


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@time_machine.travel("2026-11-16 10:00 +0800")
def test_a_churn_from_report_to_verification(
    browser, page, login, live_server, office, business_manager, planner, language
):
    # given an active dealer of the business manager
    dealer = DealerFactory(
        code="SH601", name="上海远航电器", office=office, business_manager=business_manager
    )
    last_month = "2026-11"

    # when the business manager marks it churned from the customer file, with a report
    login(page, business_manager)
    if language == "en":
        _switch_to_english(page)
    page.goto(f"{live_server.url}/dealers/SH601/")
    page.click("[data-testid=mark-churned]")
    page.check("input[name=reason][value=competitor]")
    page.fill("textarea[name=narrative]", "转投竞争对手,价格更低")
    page.fill("input[name=last_sales_month]", last_month)
    page.locator("[data-testid=churn-form] button[type=submit]").click()
    page.wait_for_selector(".alert-success")
    report = ChurnReport.objects.get(dealer=dealer)
    assert report.verification == Verification.PENDING
    dealer.refresh_from_db()
    assert dealer.status == "churned"

    # when sales planning opens it from the reports awaiting verification and confirms it
    planning = _new_page(browser, locale="en-US" if language == "en" else "zh-CN")
    login(planning, planner)
    if language == "en":
        _switch_to_english(planning)
    planning.goto(f"{live_server.url}/network/churn/?verification=pending")
    planning.locator(f"[data-testid=churn-reports] a[href='{report.get_absolute_url()}']").first.click()
    planning.check("input[name=verification][value=confirmed]")
    planning.fill("textarea[name=countermeasures]", "加强价格支持")
    planning.locator("[data-testid=verify-form] button[type=submit]").click()
    planning.wait_for_selector(".alert-success")

    # then the report is verified, and the customer file says so in the user's language
    report.refresh_from_db()
    assert (report.verification, report.verified_by) == (Verification.CONFIRMED, planner)
    page.goto(f"{live_server.url}/dealers/SH601/")
    with translation.override(language):
        confirmed = str(Verification.CONFIRMED.label)
    assert confirmed in page.locator("[data-testid=dealer-churn]").inner_text()
