from django.core.management.base import CommandError

from evalsys.commands import ExportCommand
from scoring.exports import ABC_COLUMNS, abc_rows, quarter_grades
from scoring.models import GradingStatus, QuarterGrading


class Command(ExportCommand):
    help = (
        "Export the quarter's ABC list: one row per dealer graded, with its total, ranks, classes "
        "and change (columns in scoring/exports.py)."
    )
    period_help = "quarter, e.g. 2026Q3"

    def table(self, period):
        graded = QuarterGrading.objects.filter(
            quarter=str(period), status__in=[GradingStatus.GRADED, GradingStatus.PUBLISHED]
        ).exists()
        if not graded:
            raise CommandError(f"{period} has not been graded: there is no ABC list to export.")
        return ABC_COLUMNS, abc_rows(quarter_grades(period))
