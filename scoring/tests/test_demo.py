import datetime
import io

from dealers.roles import Role
from dealers.tests.factories import DealerFactory
from scoring.demo import seed_graded_quarters
from scoring.models import EvaluationRound, Grade, GradingStatus, QuarterGrading, RoundStatus


def test_demo_grades_eight_quarters_idempotently(office, other_office, make_staff):
    # given dealers in two offices and the first office's staff
    om = make_staff("om_demo", Role.OFFICE_MANAGER, office=office)
    st = make_staff("st_demo", Role.STATISTICIAN, office=office)
    make_staff("om_elsewhere", Role.OFFICE_MANAGER, office=other_office)
    for _ in range(3):
        DealerFactory(office=office, joined=datetime.date(2020, 1, 1))
        DealerFactory(office=other_office, joined=datetime.date(2020, 1, 1), kind="logistics")
    today = datetime.date(2026, 11, 28)
    # when seeded twice
    seed_graded_quarters(stdout=io.StringIO(), today=today)
    first = sorted(Grade.objects.values_list("quarter", "dealer_id", "total", "final_class", "change"))
    seed_graded_quarters(stdout=io.StringIO(), today=today)
    # then
    assert (
        sorted(Grade.objects.values_list("quarter", "dealer_id", "total", "final_class", "change")) == first
    )
    gradings = dict(QuarterGrading.objects.values_list("quarter", "status"))
    assert len(gradings) == 8 and gradings["2026Q3"] == GradingStatus.GRADED
    assert gradings["2024Q4"] == GradingStatus.PUBLISHED
    assert Grade.objects.filter(quarter="2026Q3", evaluated=False).exists()
    assert Grade.objects.filter(quarter="2026Q2", evaluated=True).count() == 6
    assert set(Grade.objects.filter(quarter="2026Q2").values_list("change", flat=True)) <= {
        "up",
        "down",
        "same",
    }
    # and each approved round records its meeting: a date after the quarter, the chair, the office's staff
    held = EvaluationRound.objects.get(quarter="2026Q2", office=office)
    assert held.meeting_date == datetime.date(2026, 7, 10)
    assert held.chair == om and held.approved_by == om
    assert set(held.participants.all()) == {om, st}
    last = EvaluationRound.objects.get(quarter="2026Q3", office=office)  # still in progress
    assert last.status == RoundStatus.OPEN and last.meeting_date is None
