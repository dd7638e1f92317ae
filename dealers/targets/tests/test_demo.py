import datetime
import io

import pytest

from dealers.models import AnnualAgreement, MonthlySales, MonthlyTarget, PointsEntry, TargetVersion
from dealers.targets.demo import seed_targets
from dealers.targets.reminders import dealers_missing_target
from dealers.tests.factories import DealerFactory

TODAY = datetime.date(2026, 11, 20)


@pytest.mark.django_db
def test_the_demo_targets_are_complete_varied_and_idempotent(office, business_manager):
    # given
    for n in range(6):
        DealerFactory(code=f"SH{n:03d}", office=office, business_manager=business_manager)
    # when
    seed_targets(stdout=io.StringIO(), today=TODAY)
    counts = [
        m.objects.count() for m in (AnnualAgreement, MonthlyTarget, MonthlySales, TargetVersion, PointsEntry)
    ]
    seed_targets(stdout=io.StringIO(), today=TODAY)
    # then
    assert [
        m.objects.count() for m in (AnnualAgreement, MonthlyTarget, MonthlySales, TargetVersion, PointsEntry)
    ] == counts
    assert set(AnnualAgreement.objects.values_list("year", flat=True)) == {2024, 2025, 2026}
    agreed = MonthlyTarget.objects.filter(status="agreed", month__lte=datetime.date(2026, 11, 1))
    assert agreed.count() == 6 * 24
    assert MonthlySales.objects.filter(month=datetime.date(2026, 10, 1)).exists()
    assert not MonthlySales.objects.filter(month=datetime.date(2026, 11, 1)).exists()
    assert dealers_missing_target(datetime.date(2026, 12, 1)).count() == 4
    assert PointsEntry.objects.filter(points__gt=0).exists()
