import datetime
import io

from dealers.tests.factories import DealerFactory
from scoring.demo import seed_graded_quarters
from scoring.models import Grade, GradingStatus, QuarterGrading


def test_demo_grades_eight_quarters_idempotently(office, other_office):
    # given dealers in two offices
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
