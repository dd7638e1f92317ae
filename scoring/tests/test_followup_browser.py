"""The follow-through in the system Chromium: the office manager's plan, the planner's decisions."""

import datetime

import pytest
from django.utils import timezone

from dealers.models import Notification
from dealers.tests.factories import DealerFactory
from evalsys.periods import Quarter
from scoring.followup.models import Appeal, ProgressNote, WatchEntry
from scoring.models import Grade

from .factories import grade_quarter


def _two_published_quarters(office):
    last = Quarter.containing(timezone.localdate()).previous()
    dealers = [DealerFactory(office=office, code=code) for code in ("SH001", "SH002")]
    grade_quarter(last.previous(), dict.fromkeys(dealers, "C"), published=True)
    grade_quarter(last, dict.fromkeys(dealers, "C"), published=True)
    return dealers


@pytest.mark.browser
def test_the_office_manager_writes_a_rectification_plan_from_the_dashboard(
    page, login, live_server, office, office_manager
):
    # given two dealers at C in the last two published quarters: both on the watch list
    _two_published_quarters(office)
    due = timezone.localdate() + datetime.timedelta(days=30)

    # when the office manager opens the dashboard, the panel lists the plans to write
    login(page, office_manager)
    panel = page.locator("[data-testid=followup-panel]")
    assert "SH001" in panel.inner_text() and "SH002" in panel.inner_text()
    panel.locator("a", has_text="SH001").click()

    # and writes the plan, first forgetting the owner
    page.fill("textarea[name=problems]", "样品陈列不足，价格执行不到位")
    page.fill("textarea[name=actions]", "两周内补齐样品；业务经理每周巡访")
    page.fill("input[name=plan_due]", due.isoformat())
    page.click("[data-testid=plan-form] button[type=submit]")
    # then nothing is saved and nothing typed is lost
    assert page.input_value("textarea[name=problems]") == "样品陈列不足，价格执行不到位"
    assert WatchEntry.objects.get(dealer__code="SH001").problems == ""

    # when the owner is added and the plan saved
    page.fill("input[name=owner]", "张伟")
    page.click("[data-testid=plan-form] button[type=submit]")
    page.wait_for_selector(".alert-success")
    # then the plan is shown, and a progress note can be added
    assert "两周内补齐样品" in page.locator("[data-testid=plan-actions]").inner_text()
    assert due.isoformat() in page.locator("[data-testid=plan-due]").inner_text()
    page.fill("[data-testid=note-form] textarea[name=text]", "已补齐一半样品")
    page.click("[data-testid=note-form] button[type=submit]")
    page.wait_for_selector(".alert-success")
    assert "已补齐一半样品" in page.locator("[data-testid=notes]").inner_text()
    entry = WatchEntry.objects.get(dealer__code="SH001")
    assert (entry.owner, entry.plan_due) == ("张伟", due)
    assert ProgressNote.objects.get(entry=entry).written_by == office_manager
    page.screenshot(path="/tmp/follow-watch-entry.png", full_page=True)


@pytest.mark.browser
def test_the_planner_decides_an_elimination_proposal_and_an_appeal(
    browser, page, login, live_server, office, office_manager, planner
):
    # given SH001 escalated to an elimination proposal, and an open appeal on a graded quarter
    dealers = _two_published_quarters(office)
    entry = WatchEntry.objects.get(dealer=dealers[0])
    WatchEntry.objects.filter(pk=entry.pk).update(
        status="escalated", closed_quarter="2099Q1", proposal="pending"
    )
    current = Quarter.containing(timezone.localdate())
    appealed = DealerFactory(office=office, code="SH009")
    grade_quarter(current, {appealed: "C"})
    appeal = Appeal.objects.create(
        dealer=appealed,
        quarter=str(current),
        computed_class="C",
        reason="新店开业",
        requested_by=office_manager,
    )

    # when the planner opens the proposal from the dashboard and rejects it with a reason
    login(page, planner)
    page.locator("[data-testid=proposals] a", has_text="SH001").click()
    page.check("input[name=decision][value=rejected]")
    page.fill("[data-testid=decision-form] textarea[name=reason]", "新负责人配合，继续观察")
    page.click("[data-testid=decision-form] button[type=submit]")
    page.wait_for_selector(".alert-success")
    # then the decision is shown and kept
    assert "新负责人配合" in page.locator("[data-testid=decision]").inner_text()
    entry.refresh_from_db()
    assert (entry.proposal, entry.decided_by) == ("rejected", planner)

    # when the planner grants the appeal from the dashboard
    page.goto(f"{live_server.url}/")
    page.locator("[data-testid=appeals-to-decide] a", has_text="SH009").click()
    page.check("input[name=final_class][value=B]")
    page.fill("[data-testid=appeal-decision-form] textarea[name=reason]", "核实属实")
    page.click("[data-testid=appeal-decision-form] button[type=submit]")
    page.wait_for_selector(".alert-success")
    # then the class is B with the reason, and the office manager is told of both decisions
    assert "B" in page.locator("[data-testid=final-class]").inner_text()
    assert Grade.objects.get(dealer=appealed, quarter=str(current)).final_class == "B"
    assert Notification.objects.filter(user=office_manager, key__startswith="watch:decided:").exists()
    assert Notification.objects.filter(user=office_manager, key=f"appeal:decided:{appeal.pk}").exists()
    page.screenshot(path="/tmp/follow-appeal.png", full_page=True)
