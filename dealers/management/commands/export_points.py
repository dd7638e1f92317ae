from dealers.targets.services import POINTS_EXPORT_COLUMNS, points_export_rows
from evalsys.commands import ExportCommand
from evalsys.periods import parse_month


class Command(ExportCommand):
    help = "Export a month's targets, actuals, attainment and points per dealer."
    period_help = "month, e.g. 2026-09"

    def parse_period(self, text):
        return parse_month(text)

    def table(self, period):
        return POINTS_EXPORT_COLUMNS, points_export_rows(month=period)
