from dealers.targets.services import POINTS_EXPORT_COLUMNS, points_export_rows
from evalsys.commands import ExportCommand


class Command(ExportCommand):
    help = "Export a month's targets, actuals, attainment and points per dealer."
    period_help = "month, e.g. 2026-09"
    period_kind = "month"

    def table(self, period):
        return POINTS_EXPORT_COLUMNS, points_export_rows(month=period)
