"""The quarterly jobs (DESIGN.md §3.5), fanned out by batches of offices."""

import datetime
import logging
import math
from contextlib import contextmanager

from celery import chord, shared_task
from django.utils import timezone

from evalsys.periods import Quarter, quarter_just_ended

from . import services, sql
from .engines import engine_for
from .followup.reminders import send_plan_reminders

logger = logging.getLogger(__name__)


@shared_task
def open_quarter_task(quarter: str | None = None):
    quarter = Quarter.parse(quarter) if quarter else quarter_just_ended()
    return services.open_quarter(quarter=quarter)


# Offices are graded in batches, each in one transaction: a task's fixed cost (Celery, the
# configuration, the locks) is paid once per batch, and a batch of up to `sql.FEW_OFFICES` offices
# reads its rows through the indexes. A company of few offices still gets one task per office, so
# that several workers share even a small re-grade.
TASKS_AT_LEAST = 8


def office_batches(office_ids: list[int]) -> list[list[int]]:
    size = max(1, min(sql.FEW_OFFICES, math.ceil(len(office_ids) / TASKS_AT_LEAST)))
    return [office_ids[i : i + size] for i in range(0, len(office_ids), size)]


@shared_task
def regrade_quarter_task(quarter: str | None = None):
    """Coordinate a re-grade: one `regrade_offices_task` per batch of the offices whose inputs
    changed (`services.plan_regrade`), then `finish_grading_task`. Returns the offices sent."""
    quarter = Quarter.parse(quarter) if quarter else quarter_just_ended()
    engine = engine_for()
    plan = services.plan_regrade(quarter=quarter, engine=engine)
    with _errors_shown(str(quarter)):
        if plan.full:
            engine.stage(quarter=quarter, inputs=plan.sales)  # once, for every batch's task
    if not plan.offices:
        finish_grading_task.delay(str(quarter), plan.run, True)
        return 0
    chord(regrade_offices_task.si(str(quarter), batch, plan.run) for batch in office_batches(plan.offices))(
        finish_grading_task.si(str(quarter), plan.run)
    )
    return len(plan.offices)


@shared_task
def regrade_offices_task(quarter: str, office_ids: list[int], run: str | None = None):
    """Grade a batch of offices in one transaction (offices another run holds are skipped)."""
    with _errors_shown(quarter):
        return services.grade_offices(
            quarter=Quarter.parse(quarter), office_ids=office_ids, staged=True, run=run
        )


@shared_task
def finish_grading_task(quarter: str, run: str | None = None, unchanged: bool = False):
    with _errors_shown(quarter):
        return services.finish_grading(quarter=Quarter.parse(quarter), run=run, unchanged=unchanged)


@contextmanager
def _errors_shown(quarter: str):
    """A failing part of a re-grade is logged and shown on the jobs card, then fails the task:
    the chord's finish never runs, and the quarter would otherwise read "grading" for ever."""
    try:
        yield
    except Exception as exc:
        logger.exception("re-grade of %s failed", quarter)
        services.record_grading_error(quarter=Quarter.parse(quarter), error=exc)
        raise


@shared_task(autoretry_for=(OSError,), retry_backoff=60, max_retries=5)
def send_plan_reminders_task(day: str | None = None) -> dict:
    """The rectification-plan reminders for `day` (ISO date; default today in Asia/Shanghai)."""
    today = datetime.date.fromisoformat(day) if day else timezone.localdate()
    return send_plan_reminders(today=today)
