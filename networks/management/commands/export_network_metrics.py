from dealers.models import Office
from evalsys.commands import ExportCommand
from evalsys.periods import Quarter
from networks.rules import METRIC_NAMES
from networks.services import compute_metrics


class Command(ExportCommand):
    help = "Export DESIGN §5's network metrics per office for a quarter."
    period_help = "quarter, e.g. 2026Q3"

    def parse_period(self, text):
        return Quarter.parse(text)

    def table(self, period):
        metrics = compute_metrics(quarter=period)
        codes = dict(Office.objects.values_list("pk", "code"))
        rows = sorted(
            ([str(period), codes[pk], *m.values()] for pk, m in metrics.items()), key=lambda r: r[1]
        )
        return ["quarter", "office", *METRIC_NAMES], rows
