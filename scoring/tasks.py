"""The quarterly jobs (DESIGN.md §3.5), fanned out by office."""

from celery import chord, shared_task
from django.utils import timezone

from dealers.models import Office
from evalsys.periods import Quarter

from . import services


def quarter_just_ended(today=None) -> Quarter:
    return Quarter.containing(today or timezone.localdate()).previous()


@shared_task
def open_quarter_task(quarter: str | None = None):
    quarter = Quarter.parse(quarter) if quarter else quarter_just_ended()
    return services.open_quarter(quarter=quarter)


@shared_task
def regrade_quarter_task(quarter: str | None = None):
    """Coordinate a re-grade: one `regrade_office_task` per office, then `finish_grading_task`."""
    quarter = Quarter.parse(quarter) if quarter else quarter_just_ended()
    services.start_grading(quarter=quarter)
    if services.default_engine() == "sql":
        services.stage(quarter=quarter)
    offices = list(Office.objects.order_by("code").values_list("pk", flat=True))
    chord(regrade_office_task.si(str(quarter), office_id) for office_id in offices)(
        finish_grading_task.si(str(quarter))
    )
    return len(offices)


@shared_task
def regrade_office_task(quarter: str, office_id: int):
    return services.grade_office(quarter=Quarter.parse(quarter), office_id=office_id, staged=True)


@shared_task
def finish_grading_task(quarter: str):
    return services.finish_grading(quarter=Quarter.parse(quarter))
