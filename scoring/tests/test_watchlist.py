"""The watch list at publishing, rectification plans, elimination proposals and their reminders."""

import datetime
import random

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.utils import translation

from dealers.models import Notification
from dealers.roles import Role
from dealers.tests.factories import DealerFactory
from evalsys.periods import Quarter
from scoring import services
from scoring.followup import rules, watchlist
from scoring.followup.models import PlanReminder, ProgressNote, WatchEntry, WatchRule
from scoring.followup.reminders import send_plan_reminders
from scoring.models import GradingStatus, QuarterGrading
from scoring.services import ScoringError
from scoring.tests.factories import grade_quarter

Q1, Q2, Q3, Q4 = Quarter(2026, 1), Quarter(2026, 2), Quarter(2026, 3), Quarter(2026, 4)
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def _republish(quarter):
    """An administrator reopened the quarter (classes may change), and it is published again."""
    QuarterGrading.objects.filter(quarter=str(quarter)).update(status=GradingStatus.GRADED)


def _states():
    return {
        (e.dealer.code, e.opened_quarter): (e.status, e.closed_quarter, e.proposal)
        for e in WatchEntry.objects.select_related("dealer")
    }


@pytest.fixture
def dealers(office):
    return [DealerFactory(office=office, code=f"SH{n:03d}") for n in range(4)]


def test_a_dealer_c_in_this_and_the_previous_published_quarter_goes_on_the_watch_list(dealers):
    d0, d1, d2, _d3 = dealers
    # given Q1 published with d0 and d1 at C
    grade_quarter(Q1, {d0: "C", d1: "C", d2: "B"}, published=True)
    assert WatchEntry.objects.count() == 0  # one quarter is not enough
    # when Q2 is published with d0 at C again, d1 at B, d2 at C
    grade_quarter(Q2, {d0: "C", d1: "B", d2: "C"}, published=True)
    # then only d0 is on the list, opened in Q2
    assert _states() == {("SH000", "2026Q2"): ("open", "", "")}


def test_the_previous_published_quarter_counts_not_the_calendar_one(dealers):
    d0 = dealers[0]
    # given Q1 published, Q2 graded but never published, Q3 published
    grade_quarter(Q1, {d0: "C"}, published=True)
    grade_quarter(Q2, {d0: "A"})
    grade_quarter(Q3, {d0: "C"}, published=True)
    # then the dealer is on the list: C in Q3 and in Q1, the previous published quarter
    assert _states() == {("SH000", "2026Q3"): ("open", "", "")}


def test_the_next_publication_improves_or_escalates_and_tells_sales_planning(dealers, make_staff, office):
    d0, d1 = dealers[:2]
    planner = make_staff("planner", Role.SALES_PLANNING)
    make_staff("om", Role.OFFICE_MANAGER, office=office)
    grade_quarter(Q1, {d0: "C", d1: "C"}, published=True)
    grade_quarter(Q2, {d0: "C", d1: "C"}, published=True)
    # when Q3 is published with d0 still C and d1 at B
    grade_quarter(Q3, {d0: "C", d1: "B"}, published=True)
    # then d0's entry is escalated to a pending elimination proposal and d0 is not listed again;
    # d1's entry is closed as improved
    assert _states() == {
        ("SH000", "2026Q2"): ("escalated", "2026Q3", "pending"),
        ("SH001", "2026Q2"): ("improved", "2026Q3", ""),
    }
    assert Notification.objects.filter(user=planner, key="watch:escalated:2026Q3").exists()
    assert Notification.objects.filter(user__username="om", key=f"watch:opened:2026Q2:{office.pk}").exists()


def test_publishing_again_gives_the_same_rows(dealers):
    d0, d1, d2 = dealers[:3]
    grade_quarter(Q1, {d0: "C", d1: "C", d2: "C"}, published=True)
    grade_quarter(Q2, {d0: "C", d1: "C", d2: "C"}, published=True)
    grade_quarter(Q3, {d0: "C", d1: "B", d2: "C"}, published=True)
    before = _states()
    ids = set(WatchEntry.objects.values_list("pk", flat=True))
    # when Q3 is reopened and published again unchanged
    _republish(Q3)
    services.publish_quarter(quarter=Q3)
    # then the same rows, the same ids
    assert _states() == before
    assert set(WatchEntry.objects.values_list("pk", flat=True)) == ids


def test_republishing_after_an_override_rejudges_the_entries(dealers):
    d0, d1 = dealers[:2]
    grade_quarter(Q1, {d0: "C", d1: "B"}, published=True)
    grade_quarter(Q2, {d0: "C", d1: "C"}, published=True)
    grade_quarter(Q3, {d0: "C", d1: "C"}, published=True)
    assert _states() == {
        ("SH000", "2026Q2"): ("escalated", "2026Q3", "pending"),
        ("SH001", "2026Q3"): ("open", "", ""),
    }
    # when Q3 is reopened, both are overridden to B, and it is published again
    _republish(Q3)
    grade_quarter(Q3, {d0: "B", d1: "B"}, published=True)
    # then d0 improved instead of escalated, and d1's entry of Q3 is gone
    assert _states() == {("SH000", "2026Q2"): ("improved", "2026Q3", "")}


def test_the_admin_edited_rule_applies(dealers):
    d0, d1 = dealers[:2]
    WatchRule.objects.update(grade_class="B", quarters=3)
    grade_quarter(Q1, {d0: "B", d1: "C"}, published=True)
    grade_quarter(Q2, {d0: "C", d1: "C"}, published=True)
    assert WatchEntry.objects.count() == 0
    grade_quarter(Q3, {d0: "B", d1: "A"}, published=True)
    assert _states() == {("SH000", "2026Q3"): ("open", "", "")}


def test_the_selection_query_equals_the_rule(office):
    # given 60 dealers with random classes over three published quarters
    rng = random.Random(7)
    dealers = [DealerFactory(office=office) for _ in range(60)]
    history = {d: [rng.choice("ABC") for _ in range(3)] for d in dealers}
    for index, quarter in enumerate((Q1, Q2, Q3)):
        grade_quarter(quarter, {d: h[index] for d, h in history.items()})
        QuarterGrading.objects.filter(quarter=str(quarter)).update(status=GradingStatus.PUBLISHED)
    for rule_class, quarters in (("C", 2), ("B", 2), ("C", 3)):
        rule = WatchRule(grade_class=rule_class, quarters=quarters)
        # when the query selects for Q3
        got = watchlist.qualifying_dealers(quarter=Q3, rule=rule)
        # then it is what the rule says for each dealer's newest-first classes
        want = {
            d.pk
            for d, h in history.items()
            if rules.qualifies(h[::-1], rule_class=rule_class, quarters=quarters)
        }
        assert got == want


def test_the_publish_command_runs_the_watch_list_step(dealers):
    d0 = dealers[0]
    grade_quarter(Q1, {d0: "C"}, published=True)
    grade_quarter(Q2, {d0: "C"})
    call_command("publish_quarter", "2026Q2")
    assert WatchEntry.objects.filter(dealer=d0, opened_quarter="2026Q2").exists()


# The plan ------------------------------------------------------------------------------------


@pytest.fixture
def entry(dealers):
    grade_quarter(Q1, {dealers[0]: "C"}, published=True)
    grade_quarter(Q2, {dealers[0]: "C"}, published=True)
    return WatchEntry.objects.get()


PLAN = {
    "problems": "陈列不足",
    "actions": "补齐样品",
    "owner": "张伟",
    "plan_due": datetime.date(2026, 8, 31),
}


@time_machine.travel("2026-07-20 10:00 +0800")
def test_the_office_manager_records_the_plan_with_history(entry, office_manager):
    watchlist.save_plan(entry=entry, user=office_manager, **PLAN)
    entry.refresh_from_db()
    assert (entry.problems, entry.actions, entry.owner, entry.plan_due) == tuple(PLAN.values())
    assert entry.history.order_by("-history_id").first().history_user == office_manager
    # a double click is not a conflict and writes nothing
    watchlist.save_plan(entry=entry, user=office_manager, **PLAN)
    assert entry.history.count() == 2


@time_machine.travel("2026-07-20 10:00 +0800")
@pytest.mark.parametrize(
    "change, message",
    [
        ({"problems": ""}, "Problems"),
        ({"owner": "  "}, "Owner"),
        ({"plan_due": None}, "Due date"),
        ({"plan_due": datetime.date(2026, 7, 1)}, "past"),
        ({"owner": "x" * 101}, "100"),
    ],
)
def test_a_bad_plan_is_refused_and_nothing_is_saved(entry, office_manager, change, message):
    with pytest.raises(ScoringError, match=message):
        watchlist.save_plan(entry=entry, user=office_manager, **{**PLAN, **change})
    entry.refresh_from_db()
    assert entry.problems == "" and entry.history.count() == 1


def test_another_office_or_role_cannot_touch_the_plan(entry, make_staff, other_office, business_manager):
    stranger = make_staff("om_bj", Role.OFFICE_MANAGER, office=other_office)
    for user in (stranger, business_manager):
        with pytest.raises(ScoringError):
            watchlist.save_plan(entry=entry, user=user, **PLAN)


@time_machine.travel("2026-07-20 10:00 +0800")
def test_a_closed_entry_keeps_its_plan(entry, office_manager):
    WatchEntry.objects.filter(pk=entry.pk).update(status="improved", closed_quarter="2026Q3")
    with pytest.raises(ScoringError, match="closed"):
        watchlist.save_plan(entry=entry, user=office_manager, **PLAN)
    with pytest.raises(ScoringError, match="closed"):
        watchlist.add_note(entry=entry, date=datetime.date(2026, 7, 20), text="进展", user=office_manager)


@time_machine.travel("2026-07-20 10:00 +0800")
def test_progress_notes_are_added_once_and_not_in_the_future(entry, office_manager):
    watchlist.add_note(entry=entry, date=datetime.date(2026, 7, 19), text="已面谈", user=office_manager)
    watchlist.add_note(entry=entry, date=datetime.date(2026, 7, 19), text="已面谈", user=office_manager)
    assert ProgressNote.objects.count() == 1
    with pytest.raises(ScoringError, match="future"):
        watchlist.add_note(entry=entry, date=datetime.date(2026, 7, 21), text="x", user=office_manager)
    with pytest.raises(ScoringError):
        watchlist.add_note(entry=entry, date=datetime.date(2026, 7, 19), text=" ", user=office_manager)
    assert ProgressNote.objects.count() == 1


# The decision --------------------------------------------------------------------------------


@pytest.fixture
def proposal(dealers):
    for quarter in (Q1, Q2, Q3):
        grade_quarter(quarter, {dealers[0]: "C"}, published=True)
    return WatchEntry.objects.get(proposal="pending")


def test_sales_planning_accepts_with_a_reason_and_the_office_and_vp_are_told(
    proposal, planner, office_manager, vp
):
    watchlist.decide_proposal(entry=proposal, accept=True, reason="整改无效", user=planner)
    proposal.refresh_from_db()
    assert (proposal.proposal, proposal.proposal_reason, proposal.decided_by) == (
        "accepted",
        "整改无效",
        planner,
    )
    assert Notification.objects.filter(user=office_manager, key=f"watch:decided:{proposal.pk}").exists()
    assert Notification.objects.filter(user=vp, key=f"watch:decided:{proposal.pk}").exists()
    # the same decision again is a double click; another decision is refused
    watchlist.decide_proposal(entry=proposal, accept=True, reason="整改无效", user=planner)
    with pytest.raises(ScoringError, match="no elimination proposal"):
        watchlist.decide_proposal(entry=proposal, accept=False, reason="改主意", user=planner)


def test_a_decision_needs_a_reason_and_sales_planning(proposal, planner, office_manager):
    with pytest.raises(ScoringError, match="reason"):
        watchlist.decide_proposal(entry=proposal, accept=False, reason="  ", user=planner)
    with pytest.raises(ScoringError):
        watchlist.decide_proposal(entry=proposal, accept=False, reason="不", user=office_manager)
    proposal.refresh_from_db()
    assert proposal.proposal == "pending"


def test_the_export_lists_the_watch_list_by_dealer_code(dealers, tmp_path):
    d0, d1 = dealers[:2]
    grade_quarter(Q1, {d0: "C", d1: "B"}, published=True)
    grade_quarter(Q2, {d0: "C", d1: "C"}, published=True)
    grade_quarter(Q3, {d0: "C", d1: "C"}, published=True)
    WatchEntry.objects.filter(dealer=d1, opened_quarter="2026Q3").update(plan_due=datetime.date(2026, 12, 1))
    out = tmp_path / "watch.csv"
    call_command("export_watchlist", "-o", str(out))
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    assert lines == [
        "dealer,name,office,opened_quarter,status,plan_due,proposal",
        f"SH000,{d0.name},SH,2026Q2,escalated,,pending",
        f"SH001,{d1.name},SH,2026Q3,open,2026-12-01,",
    ]


# Reminders -----------------------------------------------------------------------------------


def _plan(entry, due):
    WatchEntry.objects.filter(pk=entry.pk).update(problems="p", actions="a", owner="o", plan_due=due)


def test_a_plan_due_within_7_days_is_reminded_once_by_mail_and_in_app(entry, office_manager):
    _plan(entry, datetime.date(2026, 8, 10))
    # a week and a day before: nothing
    assert send_plan_reminders(today=datetime.date(2026, 8, 2))["sent"] == 0
    # a week before: one e-mail and one notification; again the same day or later: nothing
    assert send_plan_reminders(today=datetime.date(2026, 8, 3))["sent"] == 1
    assert send_plan_reminders(today=datetime.date(2026, 8, 3))["sent"] == 0
    assert send_plan_reminders(today=datetime.date(2026, 8, 9))["sent"] == 0
    assert len(mail.outbox) == 1 and "SH000" in mail.outbox[0].body
    assert (
        Notification.objects.filter(user=office_manager, key__startswith="watch-plan-reminder:").count() == 1
    )
    # overdue: one more, once
    assert send_plan_reminders(today=datetime.date(2026, 8, 11))["sent"] == 1
    assert send_plan_reminders(today=datetime.date(2026, 8, 20))["sent"] == 0
    assert len(mail.outbox) == 2 and "overdue" in mail.outbox[1].subject.lower()


def test_a_new_due_date_arms_the_reminders_again(entry, office_manager):
    _plan(entry, datetime.date(2026, 8, 10))
    send_plan_reminders(today=datetime.date(2026, 8, 5))
    _plan(entry, datetime.date(2026, 8, 12))
    assert send_plan_reminders(today=datetime.date(2026, 8, 6))["sent"] == 1


def test_a_failed_mail_is_sent_by_the_next_run(entry, office_manager, monkeypatch):
    _plan(entry, datetime.date(2026, 8, 10))

    def refuse(*args, **kwargs):
        raise OSError("mail server down")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    with pytest.raises(OSError):
        send_plan_reminders(today=datetime.date(2026, 8, 5))
    assert PlanReminder.objects.count() == 0
    monkeypatch.undo()
    assert send_plan_reminders(today=datetime.date(2026, 8, 5))["sent"] == 1


def test_closed_entries_are_not_reminded(entry, office_manager):
    _plan(entry, datetime.date(2026, 8, 10))
    WatchEntry.objects.filter(pk=entry.pk).update(status="improved", closed_quarter="2026Q3")
    assert send_plan_reminders(today=datetime.date(2026, 8, 11))["sent"] == 0


def test_the_reminders_run_daily_from_beat(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["watch-plan-reminders"]
    assert entry["task"] == "scoring.tasks.send_plan_reminders_task"
    assert entry["schedule"].hour == {9}
