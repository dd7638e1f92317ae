from evalsys.commands import ExportCommand
from scoring.insight.calibration import calibration_table


class Command(ExportCommand):
    help = "Export the quarter's score calibration per office (DESIGN.md §5a, §6.2)."
    period_help = "quarter, e.g. 2026Q3"

    def table(self, period):
        return calibration_table(quarter=period)
