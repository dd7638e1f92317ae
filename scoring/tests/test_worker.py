"""A re-grade on real Celery workers over Redis, fanned out by batches of offices."""

import time

import pytest

from dealers.tests.factories import OfficeFactory
from scoring import services
from scoring.insight import calibration
from scoring.models import Grade, GradingStatus, QuarterGrading
from scoring.tasks import office_batches, regrade_quarter_task

from .factories import Q3, approve, dealer_with_sales, fill_manual


@pytest.mark.celery_worker
def test_a_real_worker_regrades_a_quarter_office_by_office(catalogue, worker_process):
    # given two offices with approved rounds
    start = worker_process
    for code in ("SH", "BJ"):
        office = OfficeFactory(code=code)
        dealer_with_sales(office=office, code=f"{code}1", sales=(100, 100, 100))
        dealer_with_sales(office=office, code=f"{code}2", sales=(50, 50, 50))
    services.open_quarter(quarter=Q3)
    fill_manual()
    approve()
    start(concurrency=2)
    # when
    assert regrade_quarter_task.delay("2026Q3").get(timeout=60) == 2
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        grading = QuarterGrading.objects.get(quarter="2026Q3")
        if grading.status == GradingStatus.GRADED:
            break
        time.sleep(0.3)
    # then
    assert grading.status == GradingStatus.GRADED and len(grading.offices_done) == 2
    totals = dict(Grade.objects.values_list("dealer__code", "total"))
    # sales_volume over 150, 150, 300, 300: 16.67 and 83.33 (ties); attainment 50 and 100
    assert {code: str(total) for code, total in totals.items()} == {
        "SH1": "84.67",
        "BJ1": "84.67",
        "SH2": "61.33",
        "BJ2": "61.33",
    }
    assert set(Grade.objects.values_list("company_rank", flat=True)) == {1, 3}
    # and the calibration the batches summed, one office each, is what reading every score gives
    assert grading.calibration == calibration.snapshot(quarter=Q3)
    assert len(grading.calibration) == 2 and grading.calibration_sums == {}


@pytest.mark.parametrize(
    ("offices", "sizes"),
    [
        (0, []),
        (3, [1, 1, 1]),  # few offices: one task each, for several workers to share
        (8, [1] * 8),
        (17, [3, 3, 3, 3, 3, 2]),
        (200, [10] * 20),  # many: batches of ten, each read through the indexes
        (205, [10] * 20 + [5]),
    ],
)
def test_offices_are_batched_at_most_ten_to_a_task_and_in_at_least_eight_tasks(offices, sizes):
    # when
    batches = office_batches(list(range(offices)))
    # then every office once, in order, in batches of these sizes
    assert [len(b) for b in batches] == sizes
    assert [o for b in batches for o in b] == list(range(offices))


def test_a_failing_batch_is_shown_on_the_jobs_card_instead_of_grading_for_ever(
    db, office, planner, client, monkeypatch
):
    # given a re-grade under way whose batch of offices fails
    from scoring.tasks import regrade_offices_task

    dealer_with_sales(office=office, code="F1", sales=(100, 100, 100))
    services.open_quarter(quarter=Q3)
    services.start_grading(quarter=Q3)

    def fail(**kwargs):
        raise RuntimeError("could not extend file: No space left on device")

    monkeypatch.setattr(services, "grade_offices", fail)
    # when
    with pytest.raises(RuntimeError):
        regrade_offices_task("2026Q3", [office.pk])
    # then the jobs card stops polling and says why
    client.force_login(planner)
    status = client.get("/evaluation/jobs/2026Q3/status/").json()
    assert status["running"] is False
    assert "No space left on device" in status["error"]
    # and a new run starts clean
    services.start_grading(quarter=Q3)
    assert QuarterGrading.objects.get(quarter="2026Q3").error == ""
