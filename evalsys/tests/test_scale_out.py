"""A re-grade fanned out over two Celery worker processes equals a single-worker run (DESIGN.md §3.5, §7)."""

import datetime
import time
import uuid
from decimal import Decimal

import pytest
from django.db.models import F

from dealers.models import Dealer, DealerKind, MonthlySales, MonthlyTarget, Office, TargetStatus
from evalsys.celery import app
from scoring import services, tasks
from scoring.models import EvaluationRound, Grade, GradingStatus, QuarterGrading, RoundStatus, Score
from scoring.tests.factories import Q3

OFFICES = 8
DEALERS_PER_OFFICE = 300
GRADE_FIELDS = (
    "dealer__code",
    "office__code",
    "kind",
    "evaluated",
    "total",
    "sales_volume",
    "office_rank",
    "company_rank",
    "computed_class",
    "final_class",
    "change",
)


def _company():
    """OFFICES offices of DEALERS_PER_OFFICE dealers of both kinds, with sales, targets and
    manual scores spread so that many totals tie."""
    offices = Office.objects.bulk_create(
        [Office(code=f"S{n:02d}", name=f"办事处{n}") for n in range(OFFICES)]
    )
    dealers = Dealer.objects.bulk_create(
        [
            Dealer(
                code=f"{office.code}-{i:04d}",
                name=f"经销商{office.code}{i}",
                kind=DealerKind.LOGISTICS if i % 4 == 0 else DealerKind.EXCLUSIVE,
                office=office,
                tier="一级",
                joined=datetime.date(2020, 1, 1),
            )
            for office in offices
            for i in range(DEALERS_PER_OFFICE)
        ],
        batch_size=2000,
    )
    sales, targets = [], []
    for n, dealer in enumerate(dealers):
        for month in Q3.months:
            if n % 17 != 0:  # some dealers lack sales: the missing-data rules apply
                sales.append(
                    MonthlySales(dealer=dealer, month=month, amount=Decimal((n * 7919) % 50000 + 100))
                )
            targets.append(
                MonthlyTarget(
                    dealer=dealer, month=month, status=TargetStatus.AGREED, agreed_amount=Decimal(30000)
                )
            )
    MonthlySales.objects.bulk_create(sales, batch_size=5000)
    MonthlyTarget.objects.bulk_create(targets, batch_size=5000)
    services.open_quarter(quarter=Q3)
    Score.objects.filter(computed=False).update(value=(F("sheet_id") * 13 + F("indicator_id")) % 41 + 60)
    EvaluationRound.objects.update(status=RoundStatus.APPROVED)


def _regrade_on_workers():
    tasks.regrade_quarter_task.delay(str(Q3)).get(timeout=120)
    deadline = time.monotonic() + 180
    while QuarterGrading.objects.get(quarter=str(Q3)).status != GradingStatus.GRADED:
        assert time.monotonic() < deadline, "the re-grade did not finish"
        time.sleep(0.5)
    return sorted(Grade.objects.filter(quarter=str(Q3)).values_list(*GRADE_FIELDS))


def _office_tasks_by_worker(names):
    """Office batches run by each of the workers `names` (other test runs may share the broker)."""
    stats = app.control.inspect(timeout=2).stats() or {}
    return {
        name: info.get("total", {}).get("scoring.tasks.regrade_offices_task", 0)
        for name, info in stats.items()
        if name.split("@")[0] in names
    }


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_regrade_split_across_two_workers_equals_a_single_worker_run(worker_process):
    # given a company of 2,400 dealers in 8 offices, scored and approved
    _company()
    dealer_count = OFFICES * DEALERS_PER_OFFICE

    # when one worker re-grades it
    start = worker_process
    names = [f"scale{n}-{uuid.uuid4().hex[:8]}" for n in (1, 2)]
    start(name=names[0])
    single = _regrade_on_workers()
    assert len(single) == dealer_count
    # and, from scratch, two worker processes re-grade it together
    Grade.objects.filter(quarter=str(Q3)).delete()
    start(name=names[1])
    before = _office_tasks_by_worker(names)
    shared = _regrade_on_workers()

    # then both workers graded offices, and every grade is identical to the single-worker run
    done = {name: n - before.get(name, 0) for name, n in _office_tasks_by_worker(names).items()}
    assert len(done) == 2 and all(n > 0 for n in done.values()), done
    assert sum(done.values()) == OFFICES
    assert shared == single
    assert {cls for *_, cls, _change in single} >= {"A", "B", "C"}
