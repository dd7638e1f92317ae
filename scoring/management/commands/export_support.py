from evalsys.commands import ExportCommand
from scoring.followup.support import EXPORT_COLUMNS, export_rows


class Command(ExportCommand):
    help = "Export the quarter's support by office, final class and kind (DESIGN.md §6.2)."
    period_help = "quarter, e.g. 2026Q3"

    def table(self, period):
        return EXPORT_COLUMNS, export_rows(quarter=period)
