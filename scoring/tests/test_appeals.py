"""Appeals: an office manager asks for a review of a class; sales planning decides before publishing."""

import pytest
from django.utils import translation

from dealers.models import Notification
from dealers.roles import Role
from dealers.tests.factories import DealerFactory
from evalsys.periods import Quarter
from scoring import services
from scoring.followup import appeals
from scoring.followup.models import Appeal
from scoring.models import Grade
from scoring.services import ScoringError
from scoring.tests.factories import grade_quarter

Q3 = Quarter(2026, 3)
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def grade(office):
    dealer = DealerFactory(office=office, code="SH001")
    grade_quarter(Q3, {dealer: "C"})
    return Grade.objects.get(dealer=dealer)


def test_the_office_manager_appeals_and_sales_planning_overrides_with_a_reason(
    grade, office_manager, planner
):
    # when the office manager appeals, sales planning is told
    appeal = appeals.request_review(grade=grade, requested_class="B", reason="新店开业", user=office_manager)
    assert (appeal.status, appeal.computed_class, appeal.requested_class) == ("open", "C", "B")
    assert Notification.objects.filter(user=planner, key=f"appeal:new:{appeal.pk}").exists()
    # when sales planning overrides
    appeals.decide(appeal=appeal, final_class="B", reason="核实属实", user=planner)
    # then the final class is B with the reason, computed C is kept, the office manager is told
    grade.refresh_from_db()
    assert (grade.computed_class, grade.final_class, grade.overridden, grade.override_reason) == (
        "C",
        "B",
        True,
        "核实属实",
    )
    appeal.refresh_from_db()
    assert (appeal.status, appeal.decided_class, appeal.decided_by) == ("overridden", "B", planner)
    assert Notification.objects.filter(user=office_manager, key=f"appeal:decided:{appeal.pk}").exists()


def test_a_rejection_keeps_the_class_and_tells_the_office_manager(grade, office_manager, planner):
    appeal = appeals.request_review(grade=grade, reason="不公平", user=office_manager)
    appeals.decide(appeal=appeal, reason="规则一致", user=planner)
    grade.refresh_from_db()
    appeal.refresh_from_db()
    assert grade.final_class == "C" and not grade.overridden
    assert appeal.status == "rejected"
    assert Notification.objects.get(user=office_manager, key=f"appeal:decided:{appeal.pk}").body == "规则一致"
    # a double click is no conflict; a different decision afterwards is refused
    appeals.decide(appeal=appeal, reason="规则一致", user=planner)
    with pytest.raises(ScoringError, match="already been decided"):
        appeals.decide(appeal=appeal, final_class="A", reason="改判", user=planner)


def test_bad_requests_are_refused_and_nothing_saved(grade, office_manager, planner, make_staff, other_office):
    stranger = make_staff("om_bj", Role.OFFICE_MANAGER, office=other_office)
    with pytest.raises(ScoringError, match="reason"):
        appeals.request_review(grade=grade, reason="  ", user=office_manager)
    with pytest.raises(ScoringError, match="may not"):
        appeals.request_review(grade=grade, reason="x", user=stranger)
    with pytest.raises(ScoringError, match="may not"):
        appeals.request_review(grade=grade, reason="x", user=planner)
    with pytest.raises(ScoringError, match="A, B or C"):
        appeals.request_review(grade=grade, requested_class="D", reason="x", user=office_manager)
    assert Appeal.objects.count() == 0
    appeal = appeals.request_review(grade=grade, reason="x", user=office_manager)
    assert appeals.request_review(grade=grade, reason="x", user=office_manager) == appeal  # double click
    with pytest.raises(ScoringError, match="already open"):
        appeals.request_review(grade=grade, reason="another", user=office_manager)
    with pytest.raises(ScoringError, match="reason"):
        appeals.decide(appeal=appeal, final_class="B", reason="", user=planner)
    with pytest.raises(ScoringError, match="Only sales planning"):
        appeals.decide(appeal=appeal, reason="no", user=office_manager)
    grade.refresh_from_db()
    assert grade.final_class == "C" and Appeal.objects.get().status == "open"


def test_publishing_names_open_appeals_then_they_lapse_and_cannot_be_decided(grade, office_manager, planner):
    appeal = appeals.request_review(grade=grade, reason="x", user=office_manager)
    assert list(appeals.open_appeals(Q3)) == [appeal]
    # publishing names the open appeal, and goes ahead only once confirmed
    assert services.unfinished_for_publish(Q3)["open_appeals"]["count"] == 1
    with pytest.raises(ScoringError, match="open appeals: 1"):
        services.publish_quarter(quarter=Q3, user=planner)
    services.publish_quarter(quarter=Q3, user=planner, allow_unfinished=True)
    appeal.refresh_from_db()
    assert appeal.status == "lapsed" and not appeals.open_appeals(Q3).exists()
    assert Notification.objects.filter(user=office_manager, key=f"appeal:decided:{appeal.pk}").exists()
    with pytest.raises(ScoringError, match="already been decided"):
        appeals.decide(appeal=appeal, final_class="B", reason="late", user=planner)
    with pytest.raises(ScoringError, match="published"):
        appeals.request_review(grade=grade, reason="again", user=office_manager)
