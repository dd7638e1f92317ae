from dealers.models import Office
from evalsys.commands import ExportCommand
from networks.services import metrics_table


class Command(ExportCommand):
    help = (
        "Export the network metrics per office for a quarter: active dealers, growth, new, churned, "
        "… (columns: METRIC_NAMES in networks/rules.py)."
    )
    period_help = "quarter, e.g. 2026Q3"

    def table(self, period):
        return metrics_table(quarter=period, offices=Office.objects.all())
