"""Scoring's answer to `dealers.freeze`: which published quarter covers some months."""

import datetime

from django.db import transaction

from evalsys.periods import Quarter

from .models import GradingStatus, QuarterGrading


def published_quarter_covering(months: set[datetime.date]) -> str | None:
    """The first published quarter among those containing `months`, in one query.

    Inside a transaction the quarters' grading rows are locked (FOR NO KEY UPDATE, which
    publishing's FOR UPDATE waits for), so a quarter published while a write runs either
    waits for it or is seen as published by it.
    """
    quarters = sorted({str(Quarter.containing(month)) for month in months})
    gradings = QuarterGrading.objects.filter(quarter__in=quarters).order_by("quarter")
    if transaction.get_connection().in_atomic_block:
        gradings = gradings.select_for_update(no_key=True)
    for quarter, status in gradings.values_list("quarter", "status"):
        if status == GradingStatus.PUBLISHED:
            return quarter
    return None
